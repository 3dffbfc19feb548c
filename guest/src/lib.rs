//! tenant-sync guest: the WebAssembly component. Its decisions are `tenant_sync_core`'s; this
//! crate is the edge (bindings, HTTP clients, logging) and has code only on wasm targets.

#[cfg(target_family = "wasm")]
mod component;
