//! `cargo bench -p tenant-sync --bench chaos`: the table of #21 for BENCHMARKS.md. Against the
//! real Authentik (`../shared/authentik`, held exclusively, as the chaos tests hold it), each
//! fault is injected mid-run, over 300 creates and over a run of 1,000 groups of which 10 %
//! drifted, and the table says: the groups in sync after that one run, the report lines that
//! disagree with what the server holds, duplicate names, and the wall time beside the same run
//! without the fault.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};
use support::Ran;
use support::chaos::{When, disagreements, in_sync, runs_through};
use support::job::Job;
use tenant_sync_peer::faults::{self, Exclusive};

const CREATES: usize = 300;
const DRIFT_GROUPS: usize = 1_000;

/// A fault: its name in the table, the run's extra flags, and how it is injected.
struct Fault {
    name: &'static str,
    extra: &'static [&'static str],
    inject: fn(&Exclusive),
}

const FAULTS: [Fault; 6] = [
    Fault {
        name: "none",
        extra: &[],
        inject: |_| {},
    },
    Fault {
        name: "PostgreSQL restart",
        extra: &[],
        inject: |held| held.inject("pg-restart", &[]),
    },
    Fault {
        name: "all workers killed",
        extra: &[],
        inject: |held| held.inject("workers-kill", &[]),
    },
    Fault {
        name: "paused 8 s (first-byte timeout 3 s)",
        extra: &["--response-timeout-secs", "3"],
        inject: |held| held.inject("pause", &["8"]),
    },
    Fault {
        name: "stopped, started again by `up`",
        extra: &[],
        inject: |held| {
            held.inject("server-stop", &[]);
            held.restore();
        },
    },
    Fault {
        name: "two runs at once, PostgreSQL restart",
        extra: &[],
        inject: |held| held.inject("pg-restart", &[]),
    },
];

fn main() {
    let held = faults::exclusive();
    // The first run compiles the component into the cache: not a figure of any fault.
    let warm_up = Job::on(held.peer, "bench-warm-up", &[("g", "acme", "user")]);
    assert_eq!(warm_up.run(&[]).code, 0, "the warm-up run");
    drop(warm_up);
    println!(
        "| workload | fault | in sync after one run | exit | report lines wrong | duplicates | wall time | without the fault |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|");
    for workload in [Workload::Creates, Workload::Drift] {
        let mut baseline = None;
        for fault in &FAULTS {
            let row = measure(&held, workload, fault);
            let base = *baseline.get_or_insert(row.wall);
            println!(
                "| {} | {} | {}/{} | {} | {} | {} | {:.1} s | {:.1} s |",
                workload.name(),
                fault.name,
                row.in_sync,
                workload.groups(),
                row.exit,
                row.wrong,
                row.duplicates,
                row.wall.as_secs_f64(),
                base.as_secs_f64()
            );
        }
    }
}

#[derive(Clone, Copy)]
enum Workload {
    Creates,
    Drift,
}

impl Workload {
    fn name(self) -> &'static str {
        match self {
            Workload::Creates => "300 creates",
            Workload::Drift => "1,000 groups, 10 % drifted",
        }
    }

    fn groups(self) -> usize {
        match self {
            Workload::Creates => CREATES,
            Workload::Drift => DRIFT_GROUPS,
        }
    }
}

struct Row {
    in_sync: usize,
    exit: i32,
    wrong: usize,
    duplicates: usize,
    wall: Duration,
}

fn measure(held: &Exclusive, workload: Workload, fault: &Fault) -> Row {
    let count = workload.groups();
    let names: Vec<String> = (0..count).map(|i| format!("g{i:04}")).collect();
    // The drift workload's groups exist first, every tenth with the role it drifts from.
    let role = |i: usize| match workload {
        Workload::Drift if i.is_multiple_of(10) => "admin",
        _ => "user",
    };
    let entries: Vec<(&str, &str, &str)> = names
        .iter()
        .enumerate()
        .map(|(i, name)| (name.as_str(), "acme", role(i)))
        .collect();
    let job = Job::on(held.peer, "bench-chaos", &entries);
    let mut extra = vec!["--concurrency", "8"];
    extra.extend_from_slice(fault.extra);
    let mapping_file;
    let when = match workload {
        Workload::Creates => When::Groups(40),
        Workload::Drift => {
            let seeded = job.run(&["--concurrency", "16"]);
            assert_eq!(seeded.code, 0, "seeding {count} groups");
            let desired: Vec<serde_json::Value> = names
                .iter()
                .map(|n| serde_json::json!({"authentikGroup": job.name(n), "fcTenantId": "acme", "fcRole": "user"}))
                .collect();
            let document = serde_json::json!({"version": 1, "mappings": desired});
            mapping_file = support::temp_file("drifted.json", document.to_string().as_bytes());
            extra.extend_from_slice(&["--mapping-file", mapping_file.to_str().unwrap()]);
            When::After(Duration::from_millis(1_500))
        }
    };
    let runs = if fault.name.starts_with("two runs") {
        2
    } else {
        1
    };
    let started = Instant::now();
    let ran: Vec<Ran> = runs_through(&job, runs, &extra, when, || (fault.inject)(held));
    let wall = started.elapsed();
    let block = job.block("acme", "user");
    let wrong: Vec<String> = ran
        .iter()
        .flat_map(|r| disagreements(&job, r, &block))
        .collect();
    let duplicates = job.stored().len().saturating_sub(count);
    Row {
        in_sync: ran.iter().map(in_sync).min().unwrap_or(0),
        exit: ran.iter().map(|r| r.code).max().unwrap_or(-1),
        wrong: wrong.len(),
        duplicates,
        wall,
    }
}
