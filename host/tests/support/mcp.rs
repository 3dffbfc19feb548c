//! `tenant-sync mcp` driven by a real MCP client: the official TypeScript SDK
//! (`tests/mcp-client`, pinned in its lock file), which also checks every structured answer
//! against the tool's output schema.

use super::shared_cache;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock, mpsc};
use std::time::Duration;

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
    let mut seen = client_run(json!({
        "command": binary.to_str().unwrap(),
        "args": full_args,
        "env": server_env,
        "steps": steps,
    }));
    assert!(
        seen["failed"].is_null(),
        "the client could not talk to the server: {}\nstderr:\n{}",
        seen["failed"],
        seen["stderr"].as_str().unwrap_or_default()
    );
    let stderr = seen["stderr"].as_str().unwrap_or_default().to_owned();
    seen["stderr"] = Value::Null;
    tenant_sync_test_support::assert_clef_and_clean(&stderr, &[&seen.to_string()], secrets);
    Driven {
        server: seen["server"].take(),
        instructions: seen["instructions"].as_str().unwrap_or_default().to_owned(),
        results: seen["results"].as_array().cloned().unwrap_or_default(),
        stderr,
    }
}

/// Runs the client on `input` (drive.mjs's stdin) and returns what it printed.
fn client_run(input: Value) -> Value {
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
    serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("the client printed no JSON ({e}):\n{stdout}"))
}

/// `tenant-sync mcp --listen 127.0.0.1:0 ARGS` running in the background: clients reach it at
/// `url`. Dropping it kills it; `stop` ends it with SIGTERM as Kubernetes would.
pub struct HttpServer {
    child: Child,
    pub url: String,
    stderr: Arc<Mutex<String>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl HttpServer {
    pub fn start(args: &[&str], env: &[(&str, &str)]) -> HttpServer {
        let mut full = vec!["mcp", "--listen", "127.0.0.1:0"];
        full.extend_from_slice(args);
        let mut child = super::command(&full, env)
            .stderr(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("starting tenant-sync mcp");
        let stderr = Arc::new(Mutex::new(String::new()));
        let (found, url) = mpsc::channel();
        let lines = BufReader::new(child.stderr.take().unwrap());
        let collected = stderr.clone();
        let reader = std::thread::spawn(move || {
            for line in lines.lines() {
                let Ok(line) = line else { break };
                let event: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
                if let Some(at) = event["Transport"].as_str() {
                    let _ = found.send(at.to_owned());
                }
                collected.lock().unwrap().push_str(&(line + "\n"));
            }
        });
        let url = url
            .recv_timeout(Duration::from_secs(120))
            .unwrap_or_else(|_| {
                let _ = child.kill();
                panic!(
                    "tenant-sync mcp --listen never said where it serves:\n{}",
                    stderr.lock().unwrap()
                )
            });
        HttpServer {
            child,
            url,
            stderr,
            reader: Some(reader),
        }
    }

    /// Runs `steps` with the SDK's streamable HTTP client sending `headers`; the test fails if
    /// the client could not connect or any of `secrets` shows in what it saw.
    pub fn drive(&self, headers: &[(&str, &str)], steps: Value, secrets: &[&str]) -> Driven {
        let mut seen = self.client(headers, steps);
        assert!(
            seen["failed"].is_null(),
            "the client could not talk to the server: {}\nstderr:\n{}",
            seen["failed"],
            self.stderr()
        );
        tenant_sync_test_support::assert_clef_and_clean("", &[&seen.to_string()], secrets);
        Driven {
            server: seen["server"].take(),
            instructions: seen["instructions"].as_str().unwrap_or_default().to_owned(),
            results: seen["results"].as_array().cloned().unwrap_or_default(),
            stderr: self.stderr(),
        }
    }

    /// Why the SDK's client could not connect when it sends `headers`.
    pub fn refused(&self, headers: &[(&str, &str)]) -> String {
        let seen = self.client(headers, json!([]));
        seen["failed"]
            .as_str()
            .unwrap_or_else(|| panic!("the client connected: {seen}"))
            .to_owned()
    }

    fn client(&self, headers: &[(&str, &str)], steps: Value) -> Value {
        let headers: serde_json::Map<String, Value> = headers
            .iter()
            .map(|(k, v)| ((*k).to_owned(), json!(v)))
            .collect();
        client_run(json!({"url": self.url, "headers": headers, "steps": steps}))
    }

    /// A raw HTTP/1.1 POST of `body` with `headers`: the status line's code, the response's
    /// head and its body.
    pub fn post(&self, headers: &[(&str, &str)], body: &str) -> (u16, String, String) {
        let authority = self
            .url
            .strip_prefix("http://")
            .and_then(|rest| rest.split('/').next())
            .unwrap();
        let mut stream = TcpStream::connect(authority).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        let mut request = format!(
            "POST /mcp HTTP/1.1\r\nConnection: close\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: {}\r\n",
            body.len()
        );
        if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
            request.push_str(&format!("Host: {authority}\r\n"));
        }
        for (k, v) in headers {
            request.push_str(&format!("{k}: {v}\r\n"));
        }
        request.push_str("\r\n");
        request.push_str(body);
        stream.write_all(request.as_bytes()).unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("not an HTTP answer: {answer}"));
        (status, head.to_owned(), body.to_owned())
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything the server logged so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Sends SIGTERM and waits for the server to exit: its exit code and its whole stderr,
    /// which must be CLEF without any of `secrets`.
    pub fn stop(mut self, secrets: &[&str]) -> (i32, String) {
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let status = self.child.wait().unwrap();
        if let Some(reader) = self.reader.take() {
            reader.join().unwrap();
        }
        let stderr = self.stderr();
        tenant_sync_test_support::assert_clef_and_clean(&stderr, &[], secrets);
        (status.code().expect("exited, not killed"), stderr)
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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
