//! Runs of the binary against the real Authentik while a fault is injected into it
//! (`tenant_sync_peer::faults`), and their reports compared with what the server holds: for
//! tests/chaos.rs and the chaos bench.

use super::Ran;
use super::job::{Job, decisions};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use tenant_sync_peer::faults;

/// When the fault is injected: once the server holds this many of the job's groups (a run of
/// creates), or this long after the runs started (a run that creates nothing).
pub enum When {
    Groups(u64),
    After(Duration),
}

/// `runs` runs of `job` at once, and `fault` injected mid-run (`when`), however fast the machine
/// is. The peer is back before this returns.
pub fn runs_through(
    job: &Job,
    runs: usize,
    extra: &[&str],
    when: When,
    fault: impl FnOnce(),
) -> Vec<Ran> {
    std::thread::scope(|scope| {
        let running: Vec<_> = (0..runs).map(|_| scope.spawn(|| job.run(extra))).collect();
        let started = Instant::now();
        let until = started + Duration::from_secs(120);
        let due = || match when {
            When::Groups(after) => job.peer().count_matching(&job.scratch.prefix) >= after,
            When::After(pause) => started.elapsed() >= pause,
        };
        while !due() {
            assert!(
                !running.iter().any(|run| run.is_finished()) && Instant::now() < until,
                "a run ended (or stalled) before the fault was due: it would not land mid-run"
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

/// The run waited at least once (a Warning per retry).
pub fn retried(ran: &Ran) -> bool {
    ran.events().iter().any(|e| {
        e["@l"] == "Warning" && e["@mt"].as_str().is_some_and(|t| t.starts_with("Retrying"))
    })
}

/// Every report line against what Authentik holds: a group the report says is in sync (applied,
/// or unchanged) must hold `block`, one it does not must not; and no name is there twice. The
/// lines that disagree, in words.
pub fn disagreements(job: &Job, ran: &Ran, block: &Value) -> Vec<String> {
    let listed = job.stored();
    let stored: BTreeMap<String, Value> = listed
        .iter()
        .map(|(name, group)| (job.name(name), group["attributes"].clone()))
        .collect();
    let mut wrong = Vec::new();
    if stored.len() != listed.len() {
        wrong.push(format!(
            "{} names are in Authentik twice",
            listed.len() - stored.len()
        ));
    }
    for (group, action, status) in decisions(ran) {
        let holds_block = stored.get(&group) == Some(block);
        let says_in_sync = status == "applied" || action == "unchanged";
        if says_in_sync != holds_block {
            wrong.push(format!(
                "{group}: {action} {status}, Authentik holds {:?}",
                stored.get(&group)
            ));
        }
    }
    wrong
}

/// The groups the report says are in sync: written by this run, or found in place.
pub fn in_sync(ran: &Ran) -> usize {
    decisions(ran)
        .iter()
        .filter(|(_, action, status)| status == "applied" || action == "unchanged")
        .count()
}

pub fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
