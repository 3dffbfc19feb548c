//! Running the `tenant-sync` binary from the host's tests: a shared compilation cache, and
//! checks every run must pass before a test looks at anything (stderr is CLEF only, no secret
//! in any output).

#![allow(dead_code)] // Each test file uses part of this.

pub mod chaos;
pub mod job;
pub mod mcp;
pub mod pushgateway;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// One compilation cache (and scratch space) for these tests, inside cargo's target directory,
/// so only the first run ever compiles.
pub fn shared_cache() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cli");
        std::fs::create_dir_all(&dir).unwrap();
        dir
    })
}

/// A file in the shared scratch space, for tests that pass a path to the binary.
pub fn temp_file(name: &str, contents: &[u8]) -> PathBuf {
    let path = shared_cache().join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

pub struct Ran {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Ran {
    pub fn json(&self) -> Value {
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}):\n{}", self.stdout))
    }

    pub fn events(&self) -> Vec<Value> {
        self.stderr
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

/// Runs the binary with exactly `env`; fails the test if any of `secrets` shows in its output
/// or stderr carries anything but CLEF events.
pub fn tenant_sync(args: &[&str], env: &[(&str, &str)], secrets: &[&str]) -> Ran {
    checked(command(args, env).output().unwrap(), secrets)
}

/// The binary with `args` and exactly `env` (and the shared cache), stdin closed.
/// `TENANT_SYNC_BIN_UNDER_TEST` names another build (an earlier commit's, to watch a new test
/// fail without its fix).
pub fn command(args: &[&str], env: &[(&str, &str)]) -> Command {
    let binary = std::env::var_os("TENANT_SYNC_BIN_UNDER_TEST")
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_tenant-sync").into());
    let mut command = Command::new(binary);
    command
        .args(args)
        .env_clear()
        .env("TENANT_SYNC_CACHE_DIR", shared_cache())
        .stdin(std::process::Stdio::null());
    for (k, v) in env {
        command.env(k, v);
    }
    command
}

/// What a finished run printed, after the checks every run must pass: stderr is CLEF only and
/// none of `secrets` shows anywhere.
pub fn checked(output: Output, secrets: &[&str]) -> Ran {
    let Output {
        status,
        stdout,
        stderr,
    } = output;
    let ran = Ran {
        code: status.code().expect("exited, not killed"),
        stdout: String::from_utf8(stdout).unwrap(),
        stderr: String::from_utf8(stderr).unwrap(),
    };
    tenant_sync_test_support::assert_clef_and_clean(&ran.stderr, &[&ran.stdout], secrets);
    ran
}
