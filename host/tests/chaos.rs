//! Chaos against the real Authentik (`../shared/authentik/fault`): a nightly run that meets one
//! of the server's own faults mid-run still applies every group in that run, and its report says
//! what the server holds, line by line. Each test holds the peer exclusively
//! (`tenant_sync_peer::faults`): ordinary real-server tests hold it shared, so a fault never
//! lands on another test, and a test that stopped the server starts it again.

use support::Ran;
use support::chaos::*;
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

/// Runs `job` and injects the fault once the server holds `after` of its groups.
fn run_through(job: &Job, extra: &[&str], after: u64, fault: impl FnOnce()) -> Ran {
    runs_through(job, 1, extra, When::Groups(after), fault)
        .pop()
        .unwrap()
}

/// The run met the fault: it waited at least once. Not every fault makes a run wait: with
/// every worker killed, new connections queue until the master has started new ones, and a
/// pooled connection found closed is opened again.
fn assert_met_the_fault(ran: &Ran) {
    assert!(
        retried(ran),
        "the run never retried: the fault did not land mid-run, so this test proved nothing\n{}",
        tail(&ran.stderr, 30)
    );
}

/// Every group in sync in the same run (exit 0), and the report is what the server holds.
fn assert_converged_in_one_run(job: &Job, ran: &Ran, count: usize) {
    let wrong = disagreements(job, ran, &job.block("acme", "user"));
    assert!(
        wrong.is_empty(),
        "{} report lines disagree with the server:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert_eq!(
        (ran.code, in_sync(ran)),
        (0, count),
        "stderr (last lines):\n{}",
        tail(&ran.stderr, 30)
    );
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
    let ran = runs_through(&job, 2, &["--concurrency", "8"], When::Groups(40), || {
        held.inject("pg-restart", &[])
    });
    assert!(ran.iter().any(retried), "neither run met the fault");
    for ran in &ran {
        assert_converged_in_one_run(&job, ran, CREATES);
    }
}
