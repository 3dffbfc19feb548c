//! Chaos against the real Authentik (`../shared/authentik/fault`): a nightly run that meets one
//! of the server's own faults mid-run still applies every group in that run, and its report says
//! what the server holds, line by line. Each test holds the peer exclusively
//! (`tenant_sync_peer::faults`): ordinary real-server tests hold it shared, so a fault never
//! lands on another test, and a test that stopped the server starts it again.

use serde_json::Value;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use support::Ran;
use support::job::*;
use tenant_sync_peer::faults::{self, Exclusive};

mod support;

/// As many creates as the measurements in `../shared/api/OBSERVED.md` ("Faults").
const CREATES: usize = 300;

fn entries(count: usize) -> Vec<(String, &'static str, &'static str)> {
    (0..count)
        .map(|i| (format!("g{i:03}"), "acme", "user"))
        .collect()
}

fn job(held: &Exclusive, test: &str, count: usize) -> Job {
    let entries = entries(count);
    let borrowed: Vec<(&str, &str, &str)> = entries
        .iter()
        .map(|(g, t, r)| (g.as_str(), *t, *r))
        .collect();
    Job::on(held.peer, test, &borrowed)
}

/// Runs `job` and injects the fault once the server holds `after` of its groups: the fault lands
/// mid-run, however fast the machine is.
fn run_through(job: &Job, extra: &[&str], after: u64, fault: impl FnOnce()) -> Ran {
    std::thread::scope(|scope| {
        let run = scope.spawn(|| job.run(extra));
        let until = Instant::now() + Duration::from_secs(120);
        while job.peer().count_matching(&job.scratch.prefix) < after {
            assert!(
                !run.is_finished() && Instant::now() < until,
                "the run ended (or stalled) before {after} groups were created"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        fault();
        run.join().unwrap()
    })
}

/// Every line of the report against what Authentik holds: an applied group is there with its
/// block, a group not applied is not there with it, and no name is there twice.
fn assert_report_is_what_the_server_holds(job: &Job, ran: &Ran) {
    let stored: BTreeMap<String, Value> = job
        .stored()
        .into_iter()
        .map(|(name, group)| (job.name(&name), group["attributes"].clone()))
        .collect();
    assert_eq!(
        stored.len(),
        job.stored().len(),
        "a name is in Authentik twice"
    );
    let block = job.block("acme", "user");
    let mut wrong = Vec::new();
    for (group, action, status) in decisions(ran) {
        let holds_block = stored.get(&group) == Some(&block);
        if (status == "applied") != holds_block {
            wrong.push(format!(
                "{group}: {action} {status}, Authentik holds {:?}",
                stored.get(&group)
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} report lines disagree with the server:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// All applied in the same run (exit 0), and the report is what the server holds.
fn assert_converged_in_one_run(job: &Job, ran: &Ran, count: usize) {
    assert_report_is_what_the_server_holds(job, ran);
    let applied = decisions(ran)
        .iter()
        .filter(|(_, action, status)| action == "create" && status == "applied")
        .count();
    assert_eq!(
        (ran.code, applied),
        (0, count),
        "stderr (last lines):\n{}",
        tail(&ran.stderr, 30)
    );
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[test]
fn a_postgresql_restart_mid_run_loses_no_write_and_misreports_none() {
    let held = faults::exclusive();
    let job = job(&held, "chaos-pg", CREATES);
    let ran = run_through(&job, &["--concurrency", "8"], 40, || {
        held.inject("pg-restart", &[])
    });
    assert_converged_in_one_run(&job, &ran, CREATES);
}
