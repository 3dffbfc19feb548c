//! The fingerprint that names a component's compiled artifact in the cache: its SHA-256, so two
//! different components (crafted to collide or not) never share an artifact. Shared with
//! build.rs, which fingerprints the embedded component once at build time so a warm start does
//! not hash half a megabyte first.

use sha2::{Digest, Sha256};

/// The SHA-256 of `wasm`, in lower-case hex.
pub fn fingerprint(wasm: &[u8]) -> String {
    hex(&Sha256::digest(wasm))
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
