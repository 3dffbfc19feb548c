//! The fingerprint that names a component's compiled artifact in the cache. Shared with
//! build.rs, which fingerprints the embedded component once at build time so a warm start does
//! not hash half a megabyte first.

use std::hash::{DefaultHasher, Hash, Hasher};

pub fn fingerprint(wasm: &[u8]) -> u64 {
    let mut hasher = DefaultHasher::new();
    wasm.hash(&mut hasher);
    hasher.finish()
}
