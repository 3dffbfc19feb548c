//! tenant-sync guest: the reconcile logic of the tenant-sync component.
//!
//! `sync_core` is pure and compiled natively for tests; `component` is the WebAssembly edge
//! (bindings, HTTP clients, logging) and exists only on wasm targets.

pub mod sync_core;

#[cfg(target_family = "wasm")]
mod component;
