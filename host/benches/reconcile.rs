//! `just bench`: figures for BENCHMARKS.md. Runs the real `tenant-sync` binary (release) against
//! the fakes with an injected per-request latency and prints, per scenario, the wall time, the
//! requests, the latency bound and the ratio to it, and the binary's peak RSS. Also: component
//! size, cold and warm start-up of `validate`, and validate + plan of 100,000 entries.
//!
//! `cargo bench -p tenant-sync --bench reconcile [-- --quick]` (`--quick`: 1,000 groups only).

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tenant_sync::runtime::{EMBEDDED_COMPONENT, Runtime, Wasm};
use tenant_sync::sandbox::Grants;
use tenant_sync_fakes::{FakeAuthentik, FakeOnePassword};
use tenant_sync_guest::sync_core::mapping;
use tenant_sync_guest::sync_core::plan::{self, ExistingGroup};

const BINARY: &str = env!("CARGO_BIN_EXE_tenant-sync");
const OP_TOKEN: &str = "bench-op-token";
const AUTHENTIK_TOKEN: &str = "bench-authentik-token";
const MANAGER: &str = "authentik-tenant-mapping-sync";
const LATENCY: Duration = Duration::from_millis(20);

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    // `--only 10000/all-create/16`: that one reconcile row, for investigating a figure.
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1).cloned());
    let scratch = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench");
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).unwrap();

    println!("# tenant-sync benchmarks");
    println!(
        "machine: {} ({} cores)",
        cpu_model(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "component: {} bytes ({:.1} KiB; limit 512 KiB)",
        EMBEDDED_COMPONENT.len(),
        EMBEDDED_COMPONENT.len() as f64 / 1024.0
    );
    println!();
    if let Some(only) = only {
        let warm = scratch.join("warm-cache");
        warm_up(&warm);
        reconcile_table_header();
        return run_only(&only, &warm);
    }
    startup(&scratch);
    println!();
    validate_and_plan();
    println!();
    reconcile(quick, &scratch.join("warm-cache"));
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned())
}

fn entries(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| json!({"authentikGroup": format!("tenant-{i:06}-users"), "fcTenantId": format!("tenant-{i:06}"), "fcRole": "user"}))
        .collect()
}

fn document(n: usize) -> String {
    json!({"version": 1, "mappings": entries(n)}).to_string()
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// Process wall time of `tenant-sync validate` of `file`, with the cache flags given.
fn validate(file: &Path, cache: &[&str]) -> Duration {
    let started = Instant::now();
    let status = Command::new(BINARY)
        .arg("validate")
        .arg(file)
        .args(cache)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    started.elapsed()
}

/// Populates the compilation cache in `dir`, so later runs measure no compilation.
fn warm_up(dir: &Path) {
    let file = dir.with_extension("mapping.json");
    std::fs::write(&file, document(1)).unwrap();
    validate(&file, &["--cache-dir", dir.to_str().unwrap()]);
}

/// Process wall time of `tenant-sync validate` on a 1,000-entry mapping.
fn startup(scratch: &Path) {
    let file = scratch.join("mapping-1000.json");
    std::fs::write(&file, document(1000)).unwrap();
    let validate = |cache: &[&str]| validate(&file, cache);
    let cold: Vec<Duration> = (0..5)
        .map(|i| {
            let dir = scratch.join(format!("cold-cache-{i}"));
            validate(&["--cache-dir", dir.to_str().unwrap()])
        })
        .collect();
    let warm_dir = scratch.join("warm-cache");
    warm_up(&warm_dir);
    let warm: Vec<Duration> = (0..30)
        .map(|_| validate(&["--cache-dir", warm_dir.to_str().unwrap()]))
        .collect();
    let uncached: Vec<Duration> = (0..5).map(|_| validate(&["--no-cache"])).collect();
    println!(
        "## start-up: `tenant-sync validate` of a 1,000-entry mapping (process wall time, median)"
    );
    println!(
        "cold (empty cache, compiles and stores): {} over {} runs",
        ms(median(cold)),
        5
    );
    println!(
        "warm (cache populated, no compilation): {} over {} runs",
        ms(median(warm)),
        30
    );
    println!(
        "no cache (compiles in memory every time): {} over {} runs",
        ms(median(uncached)),
        5
    );
}

/// Validate inside the component and, natively, validate + plan, for 100,000 entries.
fn validate_and_plan() {
    const N: usize = 100_000;
    let doc = document(N);
    let runtime = Runtime::new(&Wasm::embedded(), None).unwrap();
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let in_component: Vec<Duration> = (0..3)
        .map(|_| {
            let started = Instant::now();
            let state = tokio
                .block_on(runtime.validate(&doc, &Grants::default()))
                .unwrap()
                .unwrap();
            assert_eq!(state.groups.len(), N);
            started.elapsed()
        })
        .collect();
    let desired = mapping::validate(&doc).unwrap();
    // Every group exists; one in ten drifted.
    let existing: Vec<ExistingGroup> = desired
        .groups
        .iter()
        .enumerate()
        .map(|(i, g)| {
            let mut attributes = serde_json::Map::new();
            attributes.insert("fc:managed-by".into(), json!(MANAGER));
            attributes.insert("fc:tenant".into(), json!(g.tenant));
            attributes.insert(
                "fc:role".into(),
                json!(if i % 10 == 0 { "admin" } else { "user" }),
            );
            ExistingGroup {
                pk: format!("pk-{i}"),
                name: g.name.clone(),
                attributes,
            }
        })
        .collect();
    let native: Vec<Duration> = (0..3)
        .map(|_| {
            let started = Instant::now();
            let desired = mapping::validate(&doc).unwrap();
            let planned = plan::plan(&desired, &existing, MANAGER).unwrap();
            assert_eq!(planned.iter().filter(|p| p.write.is_some()).count(), N / 10);
            started.elapsed()
        })
        .collect();
    println!(
        "## validate + plan of {N} entries ({} MiB document), median of 3",
        doc.len() / (1024 * 1024)
    );
    println!(
        "inside the component (mapping.validate export, incl. copying the document in and the state out): {}",
        ms(median(in_component))
    );
    println!(
        "native core, validate + plan against {N} existing groups (10% drifted): {}",
        ms(median(native))
    );
}

#[derive(Clone, Copy)]
enum Scenario {
    NoOp,
    AllCreate,
    Drift10,
}

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Scenario::NoOp => "no-op",
            Scenario::AllCreate => "all-create",
            Scenario::Drift10 => "10%-drift",
        }
    }
}

fn reconcile_table_header() {
    println!(
        "## reconcile against the fakes, {} per request (warm compilation cache)",
        ms(LATENCY)
    );
    println!(
        "bound = (3 1Password reads + ⌈G/100⌉ list pages + ⌈writes ÷ concurrency⌉) × latency; an update is a re-read and a PATCH in sequence"
    );
    println!(
        "| groups | scenario | concurrency | wall | requests (1P + AK) | bound | ratio | peak RSS | of which component |"
    );
    println!("|---:|---|---:|---:|---:|---:|---:|---:|---:|");
}

/// Every run uses the warm compilation cache, so these figures are the reconcile itself.
fn reconcile(quick: bool, cache: &Path) {
    reconcile_table_header();
    let sizes: &[usize] = if quick { &[1000] } else { &[1000, 10_000] };
    for &groups in sizes {
        for scenario in [Scenario::NoOp, Scenario::AllCreate, Scenario::Drift10] {
            for concurrency in [1, 4, 8, 16] {
                run_scenario(groups, scenario, concurrency, cache);
            }
        }
    }
}

/// One row given as `GROUPS/SCENARIO/CONCURRENCY`, e.g. `10000/all-create/16`.
fn run_only(only: &str, cache: &Path) {
    let parts: Vec<&str> = only.split('/').collect();
    let [groups, scenario, concurrency] = parts[..] else {
        panic!("--only takes GROUPS/SCENARIO/CONCURRENCY, e.g. 10000/all-create/16");
    };
    let scenario = [Scenario::NoOp, Scenario::AllCreate, Scenario::Drift10]
        .into_iter()
        .find(|s| s.name() == scenario)
        .expect("SCENARIO is one of no-op, all-create, 10%-drift");
    run_scenario(
        groups.parse().expect("GROUPS is a number"),
        scenario,
        concurrency.parse().expect("CONCURRENCY is a number"),
        cache,
    );
}

fn run_scenario(groups: usize, scenario: Scenario, concurrency: usize, cache: &Path) {
    let op = FakeOnePassword::start(OP_TOKEN);
    let ak = FakeAuthentik::start(AUTHENTIK_TOKEN);
    let doc = document(groups);
    op.seed_mapping_field("IAmWorkin", "flowercore-tenant-mapping", "mapping", &doc);
    let desired = mapping::validate(&doc).unwrap();
    let mut drifted = 0;
    if !matches!(scenario, Scenario::AllCreate) {
        for (i, g) in desired.groups.iter().enumerate() {
            let drift = matches!(scenario, Scenario::Drift10) && i % 10 == 0;
            drifted += usize::from(drift);
            let role = if drift { "admin" } else { "user" };
            ak.seed_group(
                &g.name,
                json!({"fc:managed-by": MANAGER, "fc:tenant": g.tenant, "fc:role": role}),
                &[],
            );
        }
    }
    op.set_latency(LATENCY);
    ak.set_latency(LATENCY);

    let started = Instant::now();
    let child = Command::new(BINARY)
        .args([
            "run",
            "--output",
            "json",
            "--verbose",
            "--concurrency",
            &concurrency.to_string(),
        ])
        .arg("--cache-dir")
        .arg(cache)
        .env_clear()
        .env("OP_CONNECT_HOST", op.url())
        .env("AUTHENTIK_URL", ak.url())
        .env("OP_TOKEN", OP_TOKEN)
        .env("AUTHENTIK_TOKEN", AUTHENTIK_TOKEN)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let output = child.wait_with_output().unwrap();
    // The binary's own high-water mark after exec (rusage would include the forked parent).
    let events: Vec<Value> = String::from_utf8_lossy(&output.stderr)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let figure = |name: &str| {
        events
            .iter()
            .find_map(|e| e[name].as_u64())
            .unwrap_or_else(|| panic!("a verbose run reports {name}"))
    };
    let peak_rss_kib = figure("PeakRssKiB");
    let guest_kib = figure("GuestMemoryKiB");
    let output = output.stdout;
    let wall = started.elapsed();
    let report: Value = serde_json::from_slice(&output).expect("a JSON report");
    assert_eq!(report["summary"]["failed"], 0);
    let (onepassword, authentik) = (
        report["requests"]["onepassword"].as_u64().unwrap(),
        report["requests"]["authentik"].as_u64().unwrap(),
    );

    let writes = match scenario {
        Scenario::NoOp => 0,
        Scenario::AllCreate => groups,
        Scenario::Drift10 => drifted * 2,
    };
    let lists = groups.div_ceil(100).max(1);
    // Updates are two requests in sequence per group: the parallel part is per group.
    let parallel_rounds = match scenario {
        Scenario::Drift10 => drifted.div_ceil(concurrency) * 2,
        _ => writes.div_ceil(concurrency),
    };
    let bound = LATENCY * (3 + lists + parallel_rounds) as u32;
    println!(
        "| {groups} | {} | {concurrency} | {} | {} + {} | {} | {:.2} | {:.1} MiB | {:.1} MiB |",
        scenario.name(),
        ms(wall),
        onepassword,
        authentik,
        ms(bound),
        wall.as_secs_f64() / bound.as_secs_f64(),
        peak_rss_kib as f64 / 1024.0,
        guest_kib as f64 / 1024.0
    );
}
