//! Host-side bindings for the `flowercore:tenant-sync/tenant-sync` world. WASI imports are the
//! wasmtime-wasi and wasmtime-wasi-http implementations; only the exports are generated here.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "tenant-sync",
    imports: { default: async | trappable },
    exports: { default: async },
    with: {
        "wasi": wasmtime_wasi::p2::bindings,
        "wasi:http": wasmtime_wasi_http::p2::bindings::http,
    },
});

pub use exports::flowercore::tenant_sync::{mapping, sync};
pub use flowercore::tenant_sync::types;
