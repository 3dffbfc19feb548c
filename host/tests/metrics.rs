//! `run --metrics-push`: each run's metrics in a real Prometheus Pushgateway (Debian's
//! `prometheus-pushgateway`, started here on a loopback port), read back from it; and a push that
//! fails changes nothing but a Warning.

use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use support::Ran;
use support::pushgateway::Pushgateway;
use tenant_sync_core::defaults;
use tenant_sync_fakes::{FakeAuthentik, FakeOnePassword};

mod support;

const OP_TOKEN: &str = "op-canary-metrics-5d2e81c0aa";
const AUTHENTIK_TOKEN: &str = "ak-canary-metrics-7f3b92d4bb";

struct Services {
    op: FakeOnePassword,
    ak: FakeAuthentik,
}

impl Services {
    fn start() -> Services {
        let op = FakeOnePassword::start(OP_TOKEN);
        let mappings: Vec<Value> = ["a", "b"]
            .iter()
            .map(|t| json!({"authentikGroup": format!("{t}-users"), "fcTenantId": t, "fcRole": "user"}))
            .collect();
        let document = json!({"version": 1, "mappings": mappings}).to_string();
        op.seed_mapping_field(defaults::VAULT, defaults::ITEM, defaults::FIELD, &document);
        Services {
            op,
            ak: FakeAuthentik::start(AUTHENTIK_TOKEN),
        }
    }

    /// `run --output json` pushing to `push_url`, with `authentik_token`.
    fn run(&self, push_url: &str, authentik_token: &str, extra: &[&str]) -> Ran {
        let mut args = vec!["run", "--output", "json", "--metrics-push", push_url];
        args.extend_from_slice(extra);
        support::tenant_sync(
            &args,
            &[
                ("OP_CONNECT_HOST", &self.op.url()),
                ("AUTHENTIK_URL", &self.ak.url()),
                ("OP_TOKEN", OP_TOKEN),
                ("AUTHENTIK_TOKEN", authentik_token),
            ],
            &[OP_TOKEN, AUTHENTIK_TOKEN],
        )
    }
}

type Samples = BTreeMap<String, (f64, BTreeMap<String, String>)>;

fn value(samples: &Samples, key: &str) -> f64 {
    samples
        .get(key)
        .unwrap_or_else(|| panic!("no {key} in {samples:#?}"))
        .0
}

/// The sum of `tenant_sync_last_report_groups` over every status, for `action`.
fn groups(samples: &Samples, action: &str) -> f64 {
    samples
        .iter()
        .filter(|(k, _)| {
            k.starts_with(&format!(
                "tenant_sync_last_report_groups{{action=\"{action}\","
            ))
        })
        .map(|(_, (v, _))| v)
        .sum()
}

fn warnings(ran: &Ran) -> Vec<Value> {
    ran.events()
        .into_iter()
        .filter(|e| e["@l"] == "Warning")
        .collect()
}

#[test]
fn each_run_is_in_the_pushgateway_and_a_failure_keeps_the_last_success() {
    let pushgateway = Pushgateway::start();
    let services = Services::start();

    // 1. Two groups created.
    let created = services.run(&pushgateway.url(), AUTHENTIK_TOKEN, &[]);
    assert_eq!(created.code, 0, "{}", created.stderr);
    assert!(warnings(&created).is_empty(), "{}", created.stderr);
    let report = created.json();
    let first = pushgateway.samples("tenant-sync", defaults::MANAGER);
    assert_eq!(value(&first, "tenant_sync_last_run_exit_code"), 0.0);
    assert_eq!(value(&first, "tenant_sync_last_run_dry_run"), 0.0);
    assert_eq!(
        value(
            &first,
            r#"tenant_sync_last_report_groups{action="create",status="applied"}"#
        ),
        2.0
    );
    assert_eq!(
        value(&first, "tenant_sync_last_report_mapping_entries"),
        2.0
    );
    for service in ["onepassword", "authentik"] {
        assert_eq!(
            value(
                &first,
                &format!("tenant_sync_last_report_requests{{service=\"{service}\"}}")
            ),
            report["requests"][service].as_f64().unwrap(),
            "{service}"
        );
    }
    let success = value(&first, "tenant_sync_last_success_timestamp_seconds");
    assert_eq!(
        success,
        value(&first, "tenant_sync_last_run_timestamp_seconds")
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!((now - success).abs() < 120.0, "{success} vs now {now}");
    let duration = value(&first, "tenant_sync_last_run_duration_seconds");
    assert!(duration > 0.0 && duration < 120.0, "{duration}");
    // Grouped under the job and the manager id.
    let (_, grouping) = &first["tenant_sync_last_run_exit_code"];
    assert_eq!(grouping["manager"], defaults::MANAGER, "{grouping:?}");

    // 2. Authentik refuses the token: exit 4, and the last success stays.
    let failed = services.run(&pushgateway.url(), "not-the-right-token", &[]);
    assert_eq!(failed.code, 4, "{}", failed.stderr);
    let second = pushgateway.samples("tenant-sync", defaults::MANAGER);
    assert_eq!(value(&second, "tenant_sync_last_run_exit_code"), 4.0);
    assert_eq!(
        value(&second, "tenant_sync_last_success_timestamp_seconds"),
        success
    );
    assert!(value(&second, "tenant_sync_last_run_timestamp_seconds") > success);
    // No report: what the last report said stands (its alerts are not cleared by an outage).
    for kept in [
        r#"tenant_sync_last_report_groups{action="create",status="applied"}"#,
        "tenant_sync_last_report_mapping_entries",
        r#"tenant_sync_last_report_requests{service="authentik"}"#,
    ] {
        assert_eq!(value(&second, kept), value(&first, kept), "{kept}");
    }

    // 3. A no-op in sync: a new last success, both groups unchanged.
    let again = services.run(&pushgateway.url(), AUTHENTIK_TOKEN, &[]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    let third = pushgateway.samples("tenant-sync", defaults::MANAGER);
    assert_eq!(value(&third, "tenant_sync_last_run_exit_code"), 0.0);
    assert!(value(&third, "tenant_sync_last_success_timestamp_seconds") > success);
    assert_eq!(groups(&third, "unchanged"), 2.0, "{third:#?}");
    assert_eq!(groups(&third, "create"), 0.0);

    // 4. A dry run is pushed, and is no success.
    let last_success = value(&third, "tenant_sync_last_success_timestamp_seconds");
    let dry = services.run(&pushgateway.url(), AUTHENTIK_TOKEN, &["--dry-run"]);
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    let fourth = pushgateway.samples("tenant-sync", defaults::MANAGER);
    assert_eq!(value(&fourth, "tenant_sync_last_run_dry_run"), 1.0);
    assert_eq!(
        value(&fourth, "tenant_sync_last_success_timestamp_seconds"),
        last_success
    );

    // A run limited to a tenant says nothing about the whole mapping: not pushed.
    let limited = services.run(&pushgateway.url(), AUTHENTIK_TOKEN, &["--tenant", "a"]);
    assert_eq!(limited.code, 0, "{}", limited.stderr);
    assert!(
        limited.stderr.contains("metrics are not pushed"),
        "{}",
        limited.stderr
    );
    assert_eq!(
        pushgateway.samples("tenant-sync", defaults::MANAGER),
        fourth
    );

    // Nothing the Pushgateway holds carries a token.
    let held = pushgateway.exposition();
    for token in [OP_TOKEN, AUTHENTIK_TOKEN] {
        assert!(!held.contains(token));
    }
}

/// What a run prints and exits with, without the events that carry times and durations.
fn outcome(ran: &Ran) -> (i32, Value) {
    let mut report = ran.json();
    if let Some(groups) = report.get_mut("groups") {
        groups
            .as_array_mut()
            .unwrap()
            .sort_by_key(|g| g["group"].to_string());
    }
    (ran.code, report)
}

/// A server on loopback that answers one request with `status`; it hands back what it received.
fn refusing(status: u16) -> (String, std::thread::JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let thread = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        let mut request = Vec::new();
        let mut buffer = vec![0; 64 * 1024];
        // The head and the body; the push is a few KiB.
        while let Ok(n) = stream.read(&mut buffer) {
            request.extend_from_slice(&buffer[..n]);
            let text = String::from_utf8_lossy(&request);
            let complete = text.split_once("\r\n\r\n").is_some_and(|(head, body)| {
                head.lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length: ")
                            .map(|v| v.trim().parse::<usize>().unwrap())
                    })
                    .is_some_and(|length| body.len() >= length)
            });
            if n == 0 || complete {
                break;
            }
        }
        let body = "push refused here";
        let answer = format!(
            "HTTP/1.1 {status} Refused\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = stream.write_all(answer.as_bytes());
        String::from_utf8_lossy(&request).into_owned()
    });
    (url, thread)
}

#[test]
fn a_push_that_fails_is_a_warning_and_changes_nothing_else() {
    let services = Services::start();
    // The reference: the same runs with a Pushgateway that takes the push.
    let pushgateway = Pushgateway::start();
    let fine = services.run(&pushgateway.url(), AUTHENTIK_TOKEN, &["--dry-run"]);
    assert!(warnings(&fine).is_empty(), "{}", fine.stderr);

    let nothing_there = {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        format!("http://127.0.0.1:{port}")
    };
    let unreachable = services.run(&nothing_there, AUTHENTIK_TOKEN, &["--dry-run"]);
    let (refusing_url, refused) = refusing(503);
    let refusing = services.run(&refusing_url, AUTHENTIK_TOKEN, &["--dry-run"]);
    // The push, as it went out: the metrics in the text format, and no token anywhere in it.
    let sent = refused.join().unwrap();
    assert!(
        sent.starts_with("POST /metrics/job/tenant-sync/manager@base64/"),
        "{sent}"
    );
    assert!(sent.contains("tenant_sync_last_run_dry_run 1"), "{sent}");
    assert!(
        sent.to_ascii_lowercase()
            .contains("content-type: text/plain; version=0.0.4"),
        "{sent}"
    );
    for token in [OP_TOKEN, AUTHENTIK_TOKEN] {
        assert!(!sent.contains(token), "{sent}");
    }
    for (ran, shows) in [
        (&unreachable, nothing_there.as_str()),
        (&refusing, "HTTP 503"),
    ] {
        assert_eq!(outcome(ran), outcome(&fine), "{}", ran.stderr);
        let warnings = warnings(ran);
        assert_eq!(warnings.len(), 1, "{}", ran.stderr);
        let said = warnings[0].to_string();
        assert!(
            said.contains("Pushing the run's metrics") && said.contains(shows),
            "{said}"
        );
    }
    // A failed run's exit code survives a failed push too.
    let failed = services.run(&nothing_there, "not-the-right-token", &[]);
    assert_eq!(failed.code, 4, "{}", failed.stderr);
    assert!(services.ak.writes().is_empty());
}

#[test]
fn a_pushgateway_url_that_cannot_be_one_is_a_usage_error_before_anything_runs() {
    let services = Services::start();
    for bad in [
        "pushgateway:9091",
        "ftp://pushgateway",
        "http://pushgateway:9091/?x=1",
    ] {
        let ran = services.run(bad, AUTHENTIK_TOKEN, &[]);
        assert_eq!(ran.code, 2, "{bad}: {}", ran.stderr);
        assert!(ran.stderr.contains("--metrics-push"), "{}", ran.stderr);
    }
    assert!(services.ak.writes().is_empty());
}

/// The push trusts what the run trusts: a Pushgateway over https with a certificate from the
/// cluster's CA takes it with `--ca-file`, and without it the push is refused by the run's own
/// TLS checks (a Warning; the run's outcome unchanged).
#[test]
fn the_push_goes_over_https_with_the_runs_trust() {
    let ca = tenant_sync_fakes::tls::TestCa::new();
    let dir = support::shared_cache().join("pushgateway-tls");
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = ca.leaf_pem();
    let pushgateway = Pushgateway::start_tls(&dir, &cert, &key);
    let ca_file = support::temp_file("pushgateway-ca.pem", ca.pem().as_bytes());
    let services = Services::start();

    let trusted = services.run(
        &pushgateway.url(),
        AUTHENTIK_TOKEN,
        &["--dry-run", "-v", "--ca-file", ca_file.to_str().unwrap()],
    );
    assert_eq!(trusted.code, 0, "{}", trusted.stderr);
    assert!(warnings(&trusted).is_empty(), "{}", trusted.stderr);
    assert!(
        trusted.stderr.contains("Pushed the run's metrics"),
        "{}",
        trusted.stderr
    );

    let untrusted = services.run(&pushgateway.url(), AUTHENTIK_TOKEN, &["--dry-run"]);
    assert_eq!(outcome(&untrusted), outcome(&trusted));
    // One Warning that says why; no Error (an alert on errors is for the services, not this).
    let said: Vec<String> = warnings(&untrusted).iter().map(Value::to_string).collect();
    assert_eq!(said.len(), 1, "{}", untrusted.stderr);
    assert!(
        said[0].contains("Pushing the run's metrics") && said[0].contains("issuer"),
        "{}",
        said[0]
    );
    assert!(
        !untrusted.events().iter().any(|e| e["@l"] == "Error"),
        "{}",
        untrusted.stderr
    );
}

/// A run a SIGTERM stops (a node drain, the CronJob's deadline) still pushes, with its exit code
/// 143 and its report's not-attempted groups, and is no success.
#[test]
fn a_run_stopped_by_sigterm_still_pushes_its_outcome() {
    let pushgateway = Pushgateway::start();
    let authentik = FakeAuthentik::start(AUTHENTIK_TOKEN);
    authentik.set_latency(std::time::Duration::from_millis(300));
    let mappings: Vec<Value> = (0..12)
        .map(|i| json!({"authentikGroup": format!("g{i:02}"), "fcTenantId": "t", "fcRole": "user"}))
        .collect();
    let mapping = support::temp_file(
        "metrics-sigterm.json",
        json!({"version": 1, "mappings": mappings})
            .to_string()
            .as_bytes(),
    );
    let child = support::command(
        &[
            "run",
            "--output",
            "json",
            "--concurrency",
            "2",
            "--mapping-file",
            mapping.to_str().unwrap(),
            "--metrics-push",
            &pushgateway.url(),
        ],
        &[
            ("AUTHENTIK_URL", &authentik.url()),
            ("AUTHENTIK_TOKEN", AUTHENTIK_TOKEN),
        ],
    )
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .unwrap();
    let waiting = std::time::Instant::now();
    while authentik.writes().is_empty() {
        assert!(waiting.elapsed().as_secs() < 120, "no write arrived");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    // SAFETY: kill(2) on our own child's pid, which has not been reaped yet.
    assert_eq!(
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) },
        0
    );
    let ran = support::checked(child.wait_with_output().unwrap(), &[AUTHENTIK_TOKEN]);
    assert_eq!(ran.code, 143, "{}", ran.stderr);
    let held = pushgateway.samples("tenant-sync", defaults::MANAGER);
    assert_eq!(value(&held, "tenant_sync_last_run_exit_code"), 143.0);
    assert!(!held.contains_key("tenant_sync_last_success_timestamp_seconds"));
    let not_attempted: f64 = held
        .iter()
        .filter(|(k, _)| k.contains(r#"status="not-attempted""#))
        .map(|(_, (v, _))| v)
        .sum();
    assert_eq!(
        not_attempted,
        ran.json()["summary"]["notAttempted"].as_f64().unwrap(),
        "{held:#?}"
    );
    assert!(not_attempted >= 1.0);
}
