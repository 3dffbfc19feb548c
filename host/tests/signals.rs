//! SIGTERM (a CronJob's deadline, a node drain) and SIGINT in the middle of the writes: no
//! write starts after the signal, the writes in flight finish and are verified, the report
//! marks the rest `not-attempted`, a Warning names the signal, and the exit code is 143 / 130.

use serde_json::{Value, json};
use std::process::Stdio;
use std::time::{Duration, Instant};
use support::{Ran, temp_file};
use tenant_sync_fakes::FakeAuthentik;

mod support;

const AUTHENTIK_TOKEN: &str = "ak-canary-signals-7c2e91";
const GROUPS: usize = 16;

/// Starts a run of `GROUPS` creates, four at a time against a slow Authentik, sends `signal`
/// once the first create has been answered, and returns how the run ended.
fn interrupted_run(signal: libc::c_int, label: &str) -> (Ran, FakeAuthentik) {
    let authentik = FakeAuthentik::start(AUTHENTIK_TOKEN);
    // Slow enough that writes are still in flight when the signal lands.
    authentik.set_latency(Duration::from_millis(300));
    let mappings: Vec<Value> = (0..GROUPS)
        .map(|i| json!({"authentikGroup": format!("g{i:02}"), "fcTenantId": "t", "fcRole": "user"}))
        .collect();
    let mapping = temp_file(
        &format!("signals-{label}.json"),
        json!({"version": 1, "mappings": mappings})
            .to_string()
            .as_bytes(),
    );
    let url = authentik.url();
    let child = support::command(
        &[
            "run",
            "--output",
            "json",
            "--concurrency",
            "4",
            "--mapping-file",
            mapping.to_str().unwrap(),
        ],
        &[
            ("AUTHENTIK_URL", &url),
            ("AUTHENTIK_TOKEN", AUTHENTIK_TOKEN),
        ],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let waiting = Instant::now();
    while authentik.writes().is_empty() {
        assert!(
            waiting.elapsed() < Duration::from_secs(120),
            "no write arrived"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    // SAFETY: kill(2) on our own child's pid, which has not been reaped yet.
    assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, signal) }, 0);
    let ran = support::checked(child.wait_with_output().unwrap(), &[AUTHENTIK_TOKEN]);
    (ran, authentik)
}

fn assert_stopped_cleanly(ran: &Ran, authentik: &FakeAuthentik, signal: &str) {
    let report = ran.json();
    let statuses: Vec<&str> = report["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["status"].as_str().unwrap())
        .collect();
    let count = |status| statuses.iter().filter(|s| **s == status).count();
    let (applied, not_attempted) = (count("applied"), count("not-attempted"));
    assert_eq!(
        applied + not_attempted,
        GROUPS,
        "{statuses:?}\n{}\n{}",
        ran.stdout,
        ran.stderr
    );
    assert!(applied >= 1 && not_attempted >= 1, "{statuses:?}");
    // Every create that reached Authentik finished and was verified; none started after.
    let created = authentik.writes().len();
    assert_eq!(created, applied, "{statuses:?}");
    assert_eq!(authentik.groups().len(), applied);
    assert_eq!(report["summary"]["notAttempted"], not_attempted);
    let skipped = report["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["status"] == "not-attempted")
        .unwrap();
    let error = skipped["error"].as_str().unwrap();
    assert!(
        error.starts_with("not attempted, nothing was sent"),
        "{error}"
    );

    let warnings: Vec<String> = ran
        .events()
        .into_iter()
        .filter(|e| e["@l"] == "Warning")
        .map(|e| e["@mt"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        warnings.iter().any(|w| w.starts_with("Received {Signal}")),
        "{warnings:?}"
    );
    let stopped = ran
        .events()
        .into_iter()
        .find(|e| {
            e["@mt"]
                .as_str()
                .unwrap()
                .starts_with("The run was stopped by")
        })
        .expect("a closing Warning names the signal");
    assert_eq!(stopped["Signal"], signal);
    assert_eq!(stopped["NotAttempted"], not_attempted);
}

#[test]
fn sigterm_mid_run_finishes_the_writes_in_flight_and_starts_no_more() {
    let (ran, authentik) = interrupted_run(libc::SIGTERM, "term");
    assert_eq!(ran.code, 143, "{}\n{}", ran.stdout, ran.stderr);
    assert_stopped_cleanly(&ran, &authentik, "SIGTERM");
}

#[test]
fn sigint_mid_run_stops_the_same_way_with_exit_130() {
    let (ran, authentik) = interrupted_run(libc::SIGINT, "int");
    assert_eq!(ran.code, 130, "{}\n{}", ran.stdout, ran.stderr);
    assert_stopped_cleanly(&ran, &authentik, "SIGINT");
}

#[test]
fn sigterm_while_the_component_compiles_ends_the_run_with_143_and_sends_nothing() {
    // A fresh cache: the component is compiled, which takes seconds, before anything is sent.
    let authentik = FakeAuthentik::start(AUTHENTIK_TOKEN);
    let mapping = temp_file(
        "signals-compiling.json",
        br#"{"version": 1, "mappings": [{"authentikGroup": "g", "fcTenantId": "t", "fcRole": "user"}]}"#,
    );
    let cache =
        std::env::temp_dir().join(format!("tenant-sync-signals-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&cache);
    let mut child = support::command(
        &["run", "--mapping-file", mapping.to_str().unwrap()],
        &[
            ("AUTHENTIK_URL", &authentik.url()),
            ("AUTHENTIK_TOKEN", AUTHENTIK_TOKEN),
        ],
    )
    .env("TENANT_SYNC_CACHE_DIR", &cache)
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    // The first event (where the token came from) is logged before the component is loaded.
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut first = String::new();
    std::io::BufRead::read_line(&mut stderr, &mut first).unwrap();
    assert!(first.contains("comes from"), "{first}");
    // SAFETY: kill(2) on our own child's pid, which has not been reaped yet.
    assert_eq!(
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) },
        0
    );
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    let status = child.wait().unwrap();
    let _ = std::fs::remove_dir_all(&cache);
    assert_eq!(status.code(), Some(143), "{first}{rest}");
    assert!(
        rest.contains("Received {Signal}: stopping"),
        "{first}{rest}"
    );
    assert!(!rest.contains(AUTHENTIK_TOKEN));
    assert!(authentik.requests().is_empty(), "nothing was sent");
}
