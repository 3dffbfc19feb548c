//! `tenant-sync mcp` driven by a real MCP client: the official TypeScript SDK
//! (`tests/mcp-client`, pinned in its lock file), which also checks every structured answer
//! against the tool's output schema.

use super::shared_cache;
use serde_json::{Value, json};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// What the client saw.
pub struct Driven {
    /// `serverInfo` from the handshake.
    pub server: Value,
    pub instructions: String,
    /// One per step: what the SDK returned, or `{"thrown": message}`.
    pub results: Vec<Value>,
    /// The server's stderr.
    pub stderr: String,
}

fn package() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/mcp-client")
}

/// The client package with its pinned SDK installed.
fn client() -> &'static Path {
    static READY: OnceLock<PathBuf> = OnceLock::new();
    READY.get_or_init(|| {
        let package = package();
        let node = Command::new("node").arg("--version").output();
        assert!(
            node.as_ref().is_ok_and(|o| o.status.success()),
            "the MCP tests need Node.js 20+ on PATH (tests/mcp-client); install it"
        );
        if !package.join("node_modules/.package-lock.json").is_file() {
            let installed = Command::new("npm")
                .args(["ci", "--ignore-scripts", "--no-audit", "--no-fund"])
                .current_dir(&package)
                .output()
                .expect("running npm (install Node.js 20+ with npm)");
            assert!(
                installed.status.success(),
                "npm ci in tests/mcp-client failed:\n{}",
                String::from_utf8_lossy(&installed.stderr)
            );
        }
        package
    })
}

/// Starts `tenant-sync mcp ARGS` with exactly `env` under the SDK's client and runs `steps`.
/// Fails the test if any of `secrets` shows in anything the client or stderr saw, or stderr
/// carries anything but CLEF events.
pub fn drive(args: &[&str], env: &[(&str, &str)], steps: Value, secrets: &[&str]) -> Driven {
    let binary = std::env::var_os("TENANT_SYNC_BIN_UNDER_TEST")
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_tenant-sync").into());
    let mut server_env: serde_json::Map<String, Value> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), json!(v)))
        .collect();
    server_env.insert(
        "TENANT_SYNC_CACHE_DIR".into(),
        json!(shared_cache().to_str().unwrap()),
    );
    let mut full_args = vec!["mcp"];
    full_args.extend_from_slice(args);
    let input = json!({
        "command": binary.to_str().unwrap(),
        "args": full_args,
        "env": server_env,
        "steps": steps,
    });
    let mut child = Command::new("node")
        .arg(client().join("drive.mjs"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting node");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        output.status.success(),
        "the MCP client failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut seen: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("the client printed no JSON ({e}):\n{stdout}"));
    assert!(
        seen["failed"].is_null(),
        "the client could not talk to the server: {}\nstderr:\n{}",
        seen["failed"],
        seen["stderr"].as_str().unwrap_or_default()
    );
    let stderr = seen["stderr"].as_str().unwrap_or_default().to_owned();
    let without_stderr = {
        let mut copy = seen.clone();
        copy["stderr"] = Value::Null;
        copy.to_string()
    };
    tenant_sync_test_support::assert_clef_and_clean(&stderr, &[&without_stderr], secrets);
    Driven {
        server: seen["server"].take(),
        instructions: seen["instructions"].as_str().unwrap_or_default().to_owned(),
        results: seen["results"].as_array().cloned().unwrap_or_default(),
        stderr,
    }
}

/// A tool call step.
pub fn call(name: &str, arguments: Value) -> Value {
    json!({"op": "callTool", "name": name, "arguments": arguments})
}

/// A tool result's text blocks.
pub fn texts(result: &Value) -> Vec<String> {
    result["content"]
        .as_array()
        .unwrap_or_else(|| panic!("not a tool result: {result}"))
        .iter()
        .filter_map(|c| c["text"].as_str().map(str::to_owned))
        .collect()
}

/// A tool error's failure document (the CLI's `--output json` one).
pub fn failure(result: &Value) -> Value {
    assert_eq!(result["isError"], true, "not a tool error: {result}");
    let texts = texts(result);
    serde_json::from_str(texts.last().unwrap())
        .unwrap_or_else(|e| panic!("the last text is not the failure document ({e}): {result}"))
}
