//! tenant-sync host: runs the tenant-sync component in a capability-scoped wasmtime sandbox.
//!
//! `grants` decides what a run may touch, `sandbox` enforces it, `runtime` compiles and calls
//! the component, `cli` is the command-line contract and `output` renders its results.

pub mod bindings;
pub mod cache;
pub mod cli;
pub mod contract;
pub mod convert;
pub mod credentials;
#[cfg(feature = "demo")]
pub mod demo;
mod fingerprint;
pub mod grants;
pub mod held;
pub mod in_flight;
pub mod loading;
pub mod logging;
pub mod mcp;
pub mod outcome;
pub mod output;
pub mod pushgateway;
pub mod runtime;
pub mod sandbox;
pub mod session;
pub mod stdout;
// Used by build.rs; compiled here so its decisions are unit-tested.
pub mod stop;
#[cfg(test)]
mod toolchain;
pub mod transport;
pub mod trust;
pub mod watched;
