//! Builds the guest component (`component` profile: size-optimized release, wasm32-wasip2) and
//! hands its path to the crate, so the
//! binary carries the component it was tested with. Set TENANT_SYNC_COMPONENT_WASM to embed a
//! component built elsewhere instead.

#[path = "src/fingerprint.rs"]
mod fingerprint;
#[path = "src/toolchain.rs"]
mod toolchain;

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=TENANT_SYNC_COMPONENT_WASM");
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").unwrap());
    let embedded = out_dir.join("tenant_sync.wasm");
    let built = match env::var_os("TENANT_SYNC_COMPONENT_WASM") {
        Some(path) => PathBuf::from(path),
        None => build_guest(),
    };
    std::fs::copy(&built, &embedded)
        .unwrap_or_else(|e| panic!("copying the component from {}: {e}", built.display()));
    println!(
        "cargo:rustc-env=TENANT_SYNC_EMBEDDED_COMPONENT={}",
        embedded.display()
    );
    let wasm = std::fs::read(&embedded).expect("reading the embedded component");
    println!(
        "cargo:rustc-env=TENANT_SYNC_EMBEDDED_FINGERPRINT={}",
        fingerprint::fingerprint(&wasm)
    );
}

/// Makes sure the toolchain can build for wasm32-wasip2: a fresh machine (rustup without
/// auto-install) gets the target added instead of failing minutes later in the guest build.
fn ensure_target(workspace: &Path) {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let installed = Command::new(rustc)
        .args(["--print", "target-libdir", "--target", toolchain::TARGET])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
        .is_some_and(|libdir| libdir.is_dir());
    // Asked only when it matters: the usual build has the target already.
    let rustup = !installed
        && Command::new("rustup")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
    let toolchain = env::var("RUSTUP_TOOLCHAIN").ok();
    match toolchain::next_step(installed, rustup, toolchain.as_deref()) {
        toolchain::Step::Ready => {}
        toolchain::Step::Install(args) => {
            println!(
                "cargo:warning=the {} target was missing; installing it: rustup {}",
                toolchain::TARGET,
                args.join(" ")
            );
            let status = Command::new("rustup")
                .args(&args)
                .current_dir(workspace)
                .status()
                .expect("running rustup");
            assert!(
                status.success(),
                "rustup {} failed; run it yourself and build again",
                args.join(" ")
            );
        }
        toolchain::Step::Stop(message) => panic!("{message}"),
    }
}

fn build_guest() -> PathBuf {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let workspace = manifest_dir.parent().unwrap().to_path_buf();
    ensure_target(&workspace);
    // The root manifest holds the `component` profile the guest is built with.
    for watched in [
        "guest/src",
        "guest/Cargo.toml",
        "guest/core/src",
        "guest/core/Cargo.toml",
        "wit",
        "Cargo.lock",
        "Cargo.toml",
    ] {
        println!(
            "cargo:rerun-if-changed={}",
            workspace.join(watched).display()
        );
    }
    // A target directory of its own: the outer cargo holds the lock on its own.
    let target_dir = env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.join("target"))
        .join("component");
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(&workspace)
        .args([
            "build",
            "--profile",
            "component",
            "--target",
            "wasm32-wasip2",
            "-p",
            "tenant-sync-guest",
        ])
        .arg("--target-dir")
        .arg(&target_dir);
    // The outer build's flags and target are for the host, not for the component.
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_BUILD_TARGET",
        "CARGO_TARGET_DIR",
        "CARGO_MAKEFLAGS",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_LLVM_COV",
    ] {
        command.env_remove(var);
    }
    let status = command
        .status()
        .expect("running cargo to build the guest component");
    assert!(
        status.success(),
        "building the guest component failed; is the wasm32-wasip2 target installed? (rustup target add wasm32-wasip2)"
    );
    let wasm: &Path = &target_dir.join("wasm32-wasip2/component/tenant_sync_guest.wasm");
    wasm.to_path_buf()
}
