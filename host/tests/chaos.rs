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
    runs_through(job, 1, extra, after, fault).pop().unwrap()
}

/// `runs` runs of `job` at once, and the fault as in `run_through`.
fn runs_through(
    job: &Job,
    runs: usize,
    extra: &[&str],
    after: u64,
    fault: impl FnOnce(),
) -> Vec<Ran> {
    std::thread::scope(|scope| {
        let running: Vec<_> = (0..runs).map(|_| scope.spawn(|| job.run(extra))).collect();
        let until = Instant::now() + Duration::from_secs(120);
        while job.peer().count_matching(&job.scratch.prefix) < after {
            assert!(
                !running.iter().any(|run| run.is_finished()) && Instant::now() < until,
                "a run ended (or stalled) before {after} groups were created: the fault would not land mid-run"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        fault();
        assert!(
            !running.iter().any(|run| run.is_finished()),
            "a run ended while the fault was injected: it did not land mid-run"
        );
        let ran: Vec<Ran> = running.into_iter().map(|run| run.join().unwrap()).collect();
        // Back before anything reads the end state or cleans up.
        faults::wait_until_up(job.peer());
        ran
    })
}

fn retried(ran: &Ran) -> bool {
    ran.events().iter().any(|e| {
        e["@l"] == "Warning" && e["@mt"].as_str().is_some_and(|t| t.starts_with("Retrying"))
    })
}

/// The run met the fault: it waited at least once (a Warning per retry). Not every fault
/// makes a run wait: with every worker killed, new connections queue until the master has
/// started new ones, and a pooled connection found closed is opened again.
fn assert_met_the_fault(ran: &Ran) {
    let retried = ran.events().iter().any(|e| {
        e["@l"] == "Warning" && e["@mt"].as_str().is_some_and(|t| t.starts_with("Retrying"))
    });
    assert!(
        retried,
        "the run never retried: the fault did not land mid-run, so this test proved nothing\n{}",
        tail(&ran.stderr, 30)
    );
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
        let says_in_sync = status == "applied" || action == "unchanged";
        if says_in_sync != holds_block {
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

/// Every group in sync in the same run (exit 0), and the report is what the server holds.
fn assert_converged_in_one_run(job: &Job, ran: &Ran, count: usize) {
    assert_report_is_what_the_server_holds(job, ran);
    // Created by this run, or (with another run at once) found in place.
    let in_sync = decisions(ran)
        .iter()
        .filter(|(_, action, status)| status == "applied" || action == "unchanged")
        .count();
    assert_eq!(
        (ran.code, in_sync),
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
    assert_met_the_fault(&ran);
    assert_converged_in_one_run(&job, &ran, CREATES);
}

#[test]
fn all_workers_killed_mid_run_lose_no_write_and_misreport_none() {
    let held = faults::exclusive();
    let job = job(&held, "chaos-workers", CREATES);
    let ran = run_through(&job, &["--concurrency", "8"], 40, || {
        held.inject("workers-kill", &[])
    });
    assert_converged_in_one_run(&job, &ran, CREATES);
}

/// Paused longer than a request may wait for its first byte: the requests in flight time out
/// (their outcome unknown), and the server then finishes them.
#[test]
fn a_server_paused_past_the_first_byte_timeout_loses_no_write_and_misreports_none() {
    let held = faults::exclusive();
    let job = job(&held, "chaos-pause", CREATES);
    let extra = ["--concurrency", "8", "--response-timeout-secs", "3"];
    let ran = run_through(&job, &extra, 40, || held.inject("pause", &["8"]));
    assert_met_the_fault(&ran);
    assert_converged_in_one_run(&job, &ran, CREATES);
}

/// Stopped, then started again by `up` (connections refused for 15 s or more): a restart or
/// rolling update of Authentik.
#[test]
fn a_server_stopped_and_started_again_mid_run_loses_no_write_and_misreports_none() {
    let held = faults::exclusive();
    let job = job(&held, "chaos-restart", CREATES);
    let ran = run_through(&job, &["--concurrency", "8"], 40, || {
        held.inject("server-stop", &[]);
        held.restore();
    });
    assert_met_the_fault(&ran);
    assert_converged_in_one_run(&job, &ran, CREATES);
}

/// The nightly run and an on-demand one at once, through a PostgreSQL restart: one group per
/// name, and both reports say what the server holds.
#[test]
fn two_runs_at_once_through_a_postgresql_restart_create_each_group_once() {
    let held = faults::exclusive();
    let job = job(&held, "chaos-two", CREATES);
    let ran = runs_through(&job, 2, &["--concurrency", "8"], 40, || {
        held.inject("pg-restart", &[])
    });
    assert!(ran.iter().any(retried), "neither run met the fault");
    for ran in &ran {
        assert_converged_in_one_run(&job, ran, CREATES);
    }
}
