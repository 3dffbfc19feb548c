//! The `tenant-sync` binary's contract, end to end: exit codes, stdout documents, CLEF-only
//! stderr, canary tokens and sandbox limits (code loading: code_loading.rs).

use serde_json::{Value, json};
use std::net::TcpListener;
use support::{Ran, shared_cache, temp_file};
use tenant_sync_core::defaults;
use tenant_sync_fakes::{FakeAuthentik, FakeOnePassword};

mod support;

const OP_TOKEN: &str = "op-canary-cli-93b1d7e2aa";
const AUTHENTIK_TOKEN: &str = "ak-canary-cli-40c6f5e1bb";

fn tenant_sync(args: &[&str], env: &[(&str, &str)]) -> Ran {
    support::tenant_sync(args, env, &[OP_TOKEN, AUTHENTIK_TOKEN])
}

fn mapping(entries: &[(&str, &str, &str)]) -> String {
    let mappings: Vec<Value> = entries
        .iter()
        .map(|(g, t, r)| json!({"authentikGroup": g, "fcTenantId": t, "fcRole": r}))
        .collect();
    json!({"version": 1, "mappings": mappings}).to_string()
}

struct Services {
    op: FakeOnePassword,
    ak: FakeAuthentik,
}

impl Services {
    fn with_mapping(document: &str) -> Services {
        let op = FakeOnePassword::start(OP_TOKEN);
        op.seed_mapping_field(defaults::VAULT, defaults::ITEM, defaults::FIELD, document);
        Services {
            op,
            ak: FakeAuthentik::start(AUTHENTIK_TOKEN),
        }
    }

    fn run(&self, extra: &[&str]) -> Ran {
        let mut args = vec!["run"];
        args.extend_from_slice(extra);
        tenant_sync(
            &args,
            &[
                ("OP_CONNECT_HOST", &self.op.url()),
                ("AUTHENTIK_URL", &self.ak.url()),
                ("OP_TOKEN", OP_TOKEN),
                ("AUTHENTIK_TOKEN", AUTHENTIK_TOKEN),
                ("UNRELATED_SECRET", "must-not-matter"),
            ],
        )
    }
}

#[test]
fn a_successful_run_prints_the_json_report_and_exits_0() {
    let services =
        Services::with_mapping(&mapping(&[("a", "t", "user"), ("s", "*", "SuperAdmin")]));
    let ran = services.run(&["--output", "json"]);
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    let report = ran.json();
    assert_eq!(report["dryRun"], false);
    let summary = report["summary"].as_object().unwrap();
    let keys: Vec<&str> = summary.keys().map(String::as_str).collect();
    let mut expected = [
        "create",
        "update",
        "adopt",
        "unchanged",
        "conflict",
        "orphan",
        "skipped",
        "failed",
        "notAttempted",
    ];
    expected.sort();
    let mut keys_sorted = keys.clone();
    keys_sorted.sort();
    assert_eq!(keys_sorted, expected);
    assert!(summary.values().all(Value::is_u64));
    assert_eq!(report["summary"]["create"], 1);
    assert_eq!(
        report["requests"],
        json!({"onepassword": 3, "authentik": 2})
    );
    let change = &report["changes"][0];
    assert_eq!(change["group"], "a");
    assert_eq!(change["action"], "create");
    assert_eq!(change["status"], "applied");
    assert_eq!(
        change["changes"]["fc:role"],
        json!({"from": null, "to": "user"})
    );
    for change in report["changes"].as_array().unwrap() {
        let action = change["action"].as_str().unwrap();
        assert!(
            [
                "create",
                "update",
                "adopt",
                "unchanged",
                "conflict",
                "orphan",
                "skipped"
            ]
            .contains(&action)
        );
        let status = change["status"].as_str().unwrap();
        assert!(["planned", "applied", "failed", "skipped"].contains(&status));
    }
    assert_eq!(services.ak.groups().len(), 1);

    let again = services.run(&[]);
    assert_eq!(again.code, 0);
    assert!(again.stdout.contains("1 unchanged"), "{}", again.stdout);
}

#[test]
fn dry_run_exits_0_and_writes_nothing() {
    let services = Services::with_mapping(&mapping(&[("a", "t", "user")]));
    let ran = services.run(&["--dry-run"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(
        ran.stdout.contains("dry run: 1 to create"),
        "{}",
        ran.stdout
    );
    assert!(services.ak.writes().is_empty());
}

#[test]
fn a_conflict_or_a_failed_write_exits_5() {
    let services = Services::with_mapping(&mapping(&[
        ("theirs", "t", "user"),
        ("broken", "t", "user"),
    ]));
    services
        .ak
        .seed_group("theirs", json!({"fc:managed-by": "other"}), &[]);
    let ran = services.run(&["--output", "json", "--dry-run"]);
    assert_eq!(ran.code, 5, "a conflict is not in sync, dry run or not");
    services.ak.fail_writes_to("broken", 503);
    let ran = services.run(&["--output", "json"]);
    assert_eq!(ran.code, 5);
    let report = ran.json();
    assert_eq!(report["summary"]["failed"], 1);
    assert_eq!(report["changes"][0]["status"], "failed");
    assert!(
        report["changes"][0]["error"]
            .as_str()
            .unwrap()
            .contains("HTTP 503")
    );
}

#[test]
fn usage_and_configuration_errors_exit_2_as_clef() {
    let unknown = tenant_sync(&["run", "--frobnicate"], &[]);
    assert_eq!(unknown.code, 2);
    assert!(
        unknown.events()[0]["Message"]
            .as_str()
            .unwrap()
            .contains("--frobnicate")
    );

    let no_url = tenant_sync(&["run", "--op-connect-url", "http://127.0.0.1:9"], &[]);
    assert_eq!(no_url.code, 2);
    assert!(no_url.stderr.contains("AUTHENTIK_URL"), "{}", no_url.stderr);

    let services = Services::with_mapping(&mapping(&[("a", "t", "user")]));
    let no_kubectl = shared_cache().join("no-kubectl");
    std::fs::create_dir_all(&no_kubectl).unwrap();
    let no_token = tenant_sync(
        &[
            "run",
            "--op-connect-url",
            &services.op.url(),
            "--authentik-url",
            &services.ak.url(),
        ],
        // A PATH with no kubectl (without PATH, the system's default one may have a real one).
        &[
            ("OP_TOKEN", OP_TOKEN),
            ("PATH", no_kubectl.to_str().unwrap()),
        ],
    );
    assert_eq!(no_token.code, 2);
    // Nothing to read the Secret with (credentials.rs has the kubectl tests).
    assert!(
        no_token.stderr.contains("AUTHENTIK_TOKEN is not set, and reading it from Secret authentik/authentik-credentials key BOOTSTRAP_ADMIN_TOKEN failed: kubectl is not on PATH"),
        "{}",
        no_token.stderr
    );
    assert!(
        services.op.requests().is_empty(),
        "nothing is read before the configuration is complete"
    );

    let missing_file = tenant_sync(&["validate", "/nonexistent/mapping.json"], &[]);
    assert_eq!(missing_file.code, 2);
    assert!(missing_file.stderr.contains("cannot read the mapping file"));

    let help = tenant_sync(&["run", "--help"], &[]);
    assert_eq!(help.code, 0);
    assert!(help.stdout.contains("--dry-run") && help.stderr.is_empty());
}

#[test]
fn an_invalid_mapping_exits_3_and_names_every_problem() {
    let services = Services::with_mapping(
        r#"{"version": 2, "mappings": [{"authentikGroup": "g", "fcRole": "r"}]}"#,
    );
    let ran = services.run(&["--output", "json"]);
    assert_eq!(ran.code, 3);
    let texts: Vec<String> = ran.json()["error"]["issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["text"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        texts,
        [
            "version: must be the number 1 (the only schema this tool reads), got 2",
            "mappings[0] (group \"g\"): fcTenantId: missing; it is required"
        ]
    );
    assert!(services.ak.requests().is_empty());

    let file = temp_file("bad.json", b"{\"version\": 1, \"mappings\": []}");
    let ran = tenant_sync(&["validate", file.to_str().unwrap()], &[]);
    assert_eq!(ran.code, 3);
    assert!(ran.stdout.contains("mappings: is empty"), "{}", ran.stdout);
    let binary = temp_file("binary.json", &[0xff, 0xfe, b'{']);
    assert_eq!(
        tenant_sync(&["validate", binary.to_str().unwrap()], &[]).code,
        3
    );
}

#[test]
fn validate_prints_the_normalized_desired_state() {
    let file = temp_file(
        "good.json",
        mapping(&[
            ("b", "t", "user"),
            ("a", "t", "admin"),
            ("s", "*", "SuperAdmin"),
        ])
        .as_bytes(),
    );
    let ran = tenant_sync(
        &["validate", file.to_str().unwrap(), "--output", "json"],
        &[],
    );
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let state = ran.json();
    assert_eq!(state["groups"][0]["authentikGroup"], "a");
    assert_eq!(state["groups"][1]["authentikGroup"], "b");
    assert_eq!(state["skipped"][0]["authentikGroup"], "s");
}

#[test]
fn an_upstream_failure_before_any_write_exits_4() {
    let services = Services::with_mapping(&mapping(&[("a", "t", "user")]));
    let ran = tenant_sync(
        &["run", "--output", "json"],
        &[
            ("OP_CONNECT_HOST", &services.op.url()),
            ("AUTHENTIK_URL", &services.ak.url()),
            ("OP_TOKEN", OP_TOKEN),
            ("AUTHENTIK_TOKEN", "not-the-right-token"),
        ],
    );
    assert_eq!(ran.code, 4);
    assert_eq!(ran.json()["error"]["kind"], "upstream");
    assert!(services.ak.writes().is_empty());
    let unreachable = tenant_sync(
        &[
            "run",
            "--retry-budget-secs",
            "2",
            "--mapping-file",
            temp_file("one.json", mapping(&[("a", "t", "u")]).as_bytes())
                .to_str()
                .unwrap(),
        ],
        &[
            ("AUTHENTIK_URL", "http://127.0.0.1:9"),
            ("AUTHENTIK_TOKEN", AUTHENTIK_TOKEN),
        ],
    );
    assert_eq!(unreachable.code, 4, "{}", unreachable.stdout);
    assert!(
        unreachable
            .stdout
            .contains("127.0.0.1:9 refused the connection; is the service running there"),
        "{}",
        unreachable.stdout
    );
}

#[test]
fn a_mapping_file_grants_no_1password_access() {
    let services = Services::with_mapping("{}");
    let file = temp_file(
        "inline.json",
        mapping(&[("from-file", "t", "user")]).as_bytes(),
    );
    let ran = services.run(&["--mapping-file", file.to_str().unwrap()]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(services.op.requests().is_empty());
    assert!(services.ak.group("from-file").is_some());
}

#[test]
fn exceeding_the_memory_limit_exits_6_and_writes_nothing() {
    // A large but valid document: parsing it needs far more than 16 MiB.
    let entries: Vec<(String, String, String)> = (0..15_000)
        .map(|i| {
            (
                format!("group-{i:05}-{}", "x".repeat(200)),
                format!("tenant-{i}"),
                "user".to_owned(),
            )
        })
        .collect();
    let refs: Vec<(&str, &str, &str)> = entries
        .iter()
        .map(|(a, b, c)| (a.as_str(), b.as_str(), c.as_str()))
        .collect();
    let file = temp_file("huge.json", mapping(&refs).as_bytes());
    let ak = FakeAuthentik::start(AUTHENTIK_TOKEN);
    let ran = tenant_sync(
        &[
            "run",
            "--memory-limit-mib",
            "16",
            "--mapping-file",
            file.to_str().unwrap(),
        ],
        &[
            ("AUTHENTIK_URL", &ak.url()),
            ("AUTHENTIK_TOKEN", AUTHENTIK_TOKEN),
        ],
    );
    assert_eq!(ran.code, 6, "{}\n{}", ran.stdout, ran.stderr);
    assert!(ran.stdout.contains("16 MiB memory limit"), "{}", ran.stdout);
    assert!(ak.writes().is_empty());
}

#[test]
fn exceeding_the_deadline_exits_6_instead_of_hanging() {
    // A server that accepts connections and never answers.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", silent.local_addr().unwrap());
    let file = temp_file("deadline.json", mapping(&[("a", "t", "u")]).as_bytes());
    let started = std::time::Instant::now();
    let ran = tenant_sync(
        &[
            "run",
            "--deadline-secs",
            "2",
            "--mapping-file",
            file.to_str().unwrap(),
        ],
        &[
            ("AUTHENTIK_URL", &url),
            ("AUTHENTIK_TOKEN", AUTHENTIK_TOKEN),
        ],
    );
    assert_eq!(ran.code, 6, "{}\n{}", ran.stdout, ran.stderr);
    assert!(ran.stdout.contains("2 s deadline"), "{}", ran.stdout);
    // Generous: the machine may be loaded; what matters is that a 2 s deadline ends the run
    // instead of the 30 s response timeout or a hang.
    assert!(
        started.elapsed().as_secs() < 60,
        "the deadline must stop the run"
    );
}

#[test]
fn verbose_logs_each_request_without_headers() {
    let services = Services::with_mapping(&mapping(&[("a", "t", "user")]));
    let ran = services.run(&["--verbose", "--dry-run"]);
    assert_eq!(ran.code, 0);
    let requests: Vec<Value> = ran
        .events()
        .into_iter()
        .filter(|e| e["@l"] == "Debug" && e["@mt"].as_str().unwrap().starts_with("HTTP "))
        .collect();
    assert_eq!(requests.len(), 4, "3 to 1Password, 1 to Authentik");
    for event in &requests {
        for key in ["Method", "Origin", "Path", "StatusCode", "Elapsed"] {
            assert!(event.get(key).is_some(), "{event}");
        }
        assert!(!event.to_string().to_lowercase().contains("bearer"));
    }
    // The closing figures the benchmarks read.
    let events = ran.events();
    let figure = |name: &str| events.iter().find_map(|e| e[name].as_u64());
    assert!(figure("GuestMemoryKiB").is_some_and(|kib| kib > 0));
    assert!(figure("PeakRssKiB").is_some_and(|kib| kib > 0));
    let quiet = services.run(&["--dry-run"]);
    assert!(
        !quiet.stderr.contains("\"Debug\""),
        "no Debug events without --verbose"
    );
}

#[test]
fn the_demo_shows_dry_run_apply_and_a_no_op_rerun() {
    let started = std::time::Instant::now();
    let ran = tenant_sync(&["demo"], &[]);
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    for section in ["1. Dry run", "2. Apply", "3. Run again"] {
        assert!(ran.stdout.contains(section), "{}", ran.stdout);
    }
    assert!(
        ran.stdout.contains("(0 writes to Authentik)")
            && ran.stdout.contains("(3 writes to Authentik)")
    );
    assert!(started.elapsed().as_secs() < 60);
}

/// Any variable that is not UTF-8 used to panic the host (exit 101) and print its value. Now
/// only the granted variables are read: another one is ignored, a granted one is a usage error
/// that does not show the value.
#[test]
fn an_environment_that_is_not_text_neither_panics_nor_echoes() {
    use std::os::unix::ffi::OsStringExt;
    let ak = FakeAuthentik::start(AUTHENTIK_TOKEN);
    let mapping = temp_file("env.json", mapping(&[("a", "t", "u")]).as_bytes());
    let run = |token: std::ffi::OsString, other: std::ffi::OsString| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_tenant-sync"))
            .args(["run", "--output", "json", "--mapping-file"])
            .arg(&mapping)
            .env_clear()
            .env("TENANT_SYNC_CACHE_DIR", shared_cache())
            .env("AUTHENTIK_URL", ak.url())
            .env("AUTHENTIK_TOKEN", token)
            .env("LEGACY_LATIN1", other)
            .output()
            .unwrap();
        (
            output.status.code().unwrap(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let latin1 = || std::ffi::OsString::from_vec(b"caf\xe9-secret-value".to_vec());
    let (code, stdout, stderr) = run(AUTHENTIK_TOKEN.into(), latin1());
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(!format!("{stdout}{stderr}").contains("secret-value"));

    let (code, stdout, stderr) = run(latin1(), "plain".into());
    assert_eq!(code, 2, "{stdout}\n{stderr}");
    assert!(
        stderr.contains("AUTHENTIK_TOKEN is not valid UTF-8"),
        "{stderr}"
    );
    assert!(
        !format!("{stdout}{stderr}").contains("secret-value"),
        "{stdout}{stderr}"
    );
}

#[test]
fn schema_prints_the_mappings_json_schema() {
    let ran = tenant_sync(&["schema"], &[]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(ran.json(), tenant_sync_core::mapping_schema::json_schema());
    assert_eq!(
        ran.json()["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
}

#[test]
fn a_closed_stdout_neither_panics_nor_changes_the_exit_code() {
    // The report's reader went away (a closed pipe): the writes were done, so the run's own
    // exit code stands, and a Warning says the report was lost.
    let services = Services::with_mapping(&mapping(&[("a", "t", "user")]));
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let output = support::command(
        &["run", "--output", "json"],
        &[
            ("OP_CONNECT_HOST", &services.op.url()),
            ("AUTHENTIK_URL", &services.ak.url()),
            ("OP_TOKEN", OP_TOKEN),
            ("AUTHENTIK_TOKEN", AUTHENTIK_TOKEN),
        ],
    )
    .stdout(writer)
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let warning = stderr
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .find(|event| event["@l"] == "Warning")
        .unwrap_or_else(|| panic!("no Warning: {stderr}"));
    assert!(
        warning["@mt"]
            .as_str()
            .unwrap()
            .starts_with("The output could not be written to stdout"),
        "{warning}"
    );
    assert!(services.ak.group("a").is_some(), "the write was done");
}

/// Whether `text` holds a character that hides or passes for another (a newline aside).
fn has_invisible(text: &str) -> bool {
    text.chars()
        .any(|c| c != '\n' && tenant_sync_core::untrusted::is_invisible(c))
}

#[test]
fn server_text_is_cut_and_escaped_in_the_report_the_table_and_the_events() {
    // A managed group whose label Authentik holds as 3 MB with bidi and line-separator
    // characters in it: the update shows an excerpt of it, escaped, everywhere.
    let document = json!({"version": 1, "mappings": [
        {"authentikGroup": "a", "fcTenantId": "t", "fcRole": "user", "label": "Tenant A"}]});
    let services = Services::with_mapping(&document.to_string());
    let label = format!("\u{202e}\u{2028}{}", "l".repeat(3_000_000));
    services.ak.seed_group(
        "a",
        json!({"fc:managed-by": defaults::MANAGER, "fc:tenant": "t", "fc:role": "user", "fc:label": label}),
        &[],
    );
    for format in ["json", "text"] {
        let ran = services.run(&["--output", format, "--dry-run", "--verbose"]);
        assert_eq!(ran.code, 0, "{}", ran.stderr);
        assert!(
            ran.stdout.len() < 4_000,
            "{format}: {} bytes",
            ran.stdout.len()
        );
        assert!(
            ran.stderr.len() < 64_000,
            "{format}: {} bytes of events",
            ran.stderr.len()
        );
        assert!(!has_invisible(&ran.stdout), "{format}: {}", ran.stdout);
        assert!(!has_invisible(&ran.stderr), "{format}: {}", ran.stderr);
    }
}

#[test]
fn validate_escapes_what_a_mapping_hides_in_keys_it_ignores() {
    let document = "{\"version\": 1, \"x\u{202e}\": 2, \"mappings\": [{\"authentikGroup\": \"ok\", \
        \"fcTenantId\": \"t\", \"fcRole\": \"user\", \"zz\u{2028}y\": 1}]}";
    let file = temp_file("invisible-keys.json", document.as_bytes());
    for format in ["text", "json"] {
        let ran = tenant_sync(
            &["validate", "--output", format, file.to_str().unwrap()],
            &[],
        );
        assert_eq!(ran.code, 0, "{}", ran.stderr);
        assert!(ran.stdout.contains("202e"), "{format}: {}", ran.stdout);
        assert!(!has_invisible(&ran.stdout), "{format}: {}", ran.stdout);
    }
}

/// A server that answers every request with a 1 MB body it sends one byte every 100 ms, until
/// the client hangs up or `stop` is set.
fn dripping_server(stop: std::sync::Arc<std::sync::atomic::AtomicBool>) -> String {
    use std::io::{Read, Write};
    use std::sync::atomic::Ordering;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        while !stop.load(Ordering::SeqCst) {
            let Ok((mut conn, _)) = listener.accept() else {
                std::thread::sleep(std::time::Duration::from_millis(20));
                continue;
            };
            let stop = stop.clone();
            std::thread::spawn(move || {
                conn.set_nonblocking(false).unwrap();
                let mut seen = Vec::new();
                let mut byte = [0u8; 1];
                while !seen.ends_with(b"\r\n\r\n") && conn.read(&mut byte).is_ok_and(|n| n == 1) {
                    seen.push(byte[0]);
                }
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1000000\r\n\r\n";
                let mut sent = conn.write_all(head.as_bytes());
                while sent.is_ok() && !stop.load(Ordering::SeqCst) {
                    std::thread::sleep(std::time::Duration::from_millis(100));
                    sent = conn.write_all(b" ");
                }
            });
        }
    });
    url
}

#[test]
fn a_server_dripping_its_answer_is_cut_off_by_the_per_request_limit() {
    // Each byte comes well within the between-bytes limit; the whole answer never does.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let url = dripping_server(stop.clone());
    let file = temp_file("drip.json", mapping(&[("a", "t", "u")]).as_bytes());
    let ran = tenant_sync(
        &[
            "run",
            "--request-timeout-secs",
            "2",
            "--response-timeout-secs",
            "1",
            "--deadline-secs",
            "40",
            "--retry-budget-secs",
            "5",
            "--mapping-file",
            file.to_str().unwrap(),
        ],
        &[
            ("AUTHENTIK_URL", &url),
            ("AUTHENTIK_TOKEN", AUTHENTIK_TOKEN),
        ],
    );
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    // An upstream failure after the retries (each attempt cut at 2 s), not the run's deadline.
    assert_eq!(ran.code, 4, "{}\n{}", ran.stdout, ran.stderr);
    assert!(ran.stdout.contains("read timeout"), "{}", ran.stdout);
}

#[test]
fn a_retry_budget_the_deadline_would_cut_short_is_a_usage_error() {
    let file = temp_file("budget.json", mapping(&[("a", "t", "u")]).as_bytes());
    let ran = tenant_sync(
        &[
            "run",
            "--retry-budget-secs",
            "60",
            "--deadline-secs",
            "60",
            "--mapping-file",
            file.to_str().unwrap(),
        ],
        &[
            ("AUTHENTIK_URL", "http://127.0.0.1:9"),
            ("AUTHENTIK_TOKEN", AUTHENTIK_TOKEN),
        ],
    );
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(
        ran.stderr
            .contains("--retry-budget-secs 60 is not shorter than --deadline-secs 60"),
        "{}",
        ran.stderr
    );
}
