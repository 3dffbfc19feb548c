//! The hostile component (`tests/probe`): built once per test process for wasm32-wasip2 and run
//! as a `wasi:cli` command in the host's own sandbox state, so the host's grants, not the
//! tenant-sync component's good manners, decide what reaches a server.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use tenant_sync::sandbox::{Grants, HostState};
use wasmtime::component::{Component, Linker};
use wasmtime::{Engine, Store};
use wasmtime_wasi::p2::bindings::Command as WasiCommand;

/// What the probe reports for a request the host refused.
pub const REFUSED: &str = "refused ErrorCode::HttpRequestDenied";

/// One probe request's fate, as the probe saw it.
#[derive(Debug)]
pub struct Probed {
    pub request: String,
    pub outcome: String,
}

/// The probe component, built once per test process (for other hosts to load, too).
pub fn wasm() -> &'static Path {
    static WASM: OnceLock<PathBuf> = OnceLock::new();
    WASM.get_or_init(|| {
        let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        let target_dir = workspace.join("target").join("probe");
        // A target directory of its own: the outer cargo may still hold the main one's lock.
        let status = Command::new(env!("CARGO"))
            .current_dir(&workspace)
            .args([
                "build",
                "--release",
                "--target",
                "wasm32-wasip2",
                "-p",
                "tenant-sync-probe",
            ])
            .arg("--target-dir")
            .arg(&target_dir)
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .status()
            .expect("running cargo to build tests/probe");
        assert!(
            status.success(),
            "building tests/probe for wasm32-wasip2 failed"
        );
        target_dir.join("wasm32-wasip2/release/tenant-sync-probe.wasm")
    })
}

fn compiled() -> &'static (Engine, Component) {
    static PROBE: OnceLock<(Engine, Component)> = OnceLock::new();
    PROBE.get_or_init(|| {
        let engine = Engine::default();
        let component = Component::from_file(&engine, wasm())
            .unwrap_or_else(|e| panic!("compiling {}: {e}", wasm().display()));
        (engine, component)
    })
}

/// Runs the probe under `grants` (whose environment must hold `PROBE_REQUESTS`) and returns
/// what it reported for each request.
pub async fn probe(grants: &Grants) -> Vec<Probed> {
    let (engine, component) = compiled();
    let mut linker = Linker::<HostState>::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker).unwrap();
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker).unwrap();
    let mut store = Store::new(engine, HostState::new(grants));
    let command = WasiCommand::instantiate_async(&mut store, component, &linker)
        .await
        .expect("instantiating the probe");
    let _ = command.wasi_cli_run().call_run(&mut store).await;
    grants
        .log
        .contents()
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|event| event["@mt"] == "Probe")
        .map(|event| Probed {
            request: event["Request"].as_str().unwrap().to_owned(),
            outcome: event["Outcome"].as_str().unwrap().to_owned(),
        })
        .collect()
}
