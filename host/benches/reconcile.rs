//! `just bench`: figures for BENCHMARKS.md. Runs the real `tenant-sync` binary (release) against
//! the fakes with an injected per-request latency and prints, per scenario, the wall time, the
//! requests, the latency bound and the ratio to it, and the binary's peak RSS. Also: component
//! size, cold and warm start-up of `validate`, and validate + plan of 100,000 entries.
//!
//! `cargo bench -p tenant-sync --bench reconcile [-- --quick]` (`--quick`: 1,000 groups only;
//! `--round-trip`: only the comparison over a 20 ms network round trip, http and https, against
//! a keep-alive client of the same requests).

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tenant_sync::runtime::{EMBEDDED_COMPONENT, Runtime, Wasm};
use tenant_sync::sandbox::Grants;
use tenant_sync_core::defaults::{self, MANAGER};
use tenant_sync_core::mapping;
use tenant_sync_core::plan::{self, ExistingGroup};
use tenant_sync_fakes::latency::LatencyProxy;
use tenant_sync_fakes::tls::{Leaf, TestCa};
use tenant_sync_fakes::{FakeAuthentik, FakeOnePassword};

const BINARY: &str = env!("CARGO_BIN_EXE_tenant-sync");
const OP_TOKEN: &str = "bench-op-token";
const AUTHENTIK_TOKEN: &str = "bench-authentik-token";
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
        "component: {} bytes ({:.1} KiB; limit 896 KiB)",
        EMBEDDED_COMPONENT.len(),
        EMBEDDED_COMPONENT.len() as f64 / 1024.0
    );
    println!();
    // `--round-trip`: only the comparison over a network round trip (http and https).
    if args.iter().any(|a| a == "--round-trip") {
        let warm = scratch.join("warm-cache");
        warm_up(&warm);
        return round_trip(&scratch, &warm);
    }
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
    println!();
    round_trip(&scratch, &scratch.join("warm-cache"));
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
                is_superuser: false,
                parents: Vec::new(),
                ancestry: Default::default(),
            }
        })
        .collect();
    let native: Vec<Duration> = (0..3)
        .map(|_| {
            let started = Instant::now();
            let desired = mapping::validate(&doc).unwrap();
            let planned = plan::plan(&desired, &existing, &plan::Rules::new(MANAGER)).unwrap();
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
    op.seed_mapping_field(defaults::VAULT, defaults::ITEM, defaults::FIELD, &doc);
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

/// The round trip a network puts between the job and its services (`--round-trip` mode).
const RTT: Duration = Duration::from_millis(20);

/// Over a real round trip: a TCP proxy in front of each fake (every byte half an RTT late each
/// way, a connection's first bytes one RTT more), over http and over https with a CA made for
/// the run. Side by side: tenant-sync, and a keep-alive client sending the same requests.
fn round_trip(scratch: &Path, cache: &Path) {
    let ca = TestCa::new();
    let ca_file = scratch.join("round-trip-ca.pem");
    std::fs::write(&ca_file, ca.pem()).unwrap();
    println!(
        "## reconcile over a {} round trip (TCP proxy, 1,000 groups, warm compilation cache)",
        ms(RTT)
    );
    println!(
        "bound = (requests in sequence + connections opened in sequence × (1 + TLS handshake)) × RTT; the keep-alive client sends the same requests on pooled connections, its reads one after another (as a plain script does) and its writes at the same concurrency"
    );
    println!(
        "| transport | scenario | concurrency | tenant-sync | keep-alive client | bound | tenant-sync ÷ bound | client ÷ tenant-sync |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|");
    for https in [false, true] {
        for (scenario, concurrency) in [(Scenario::NoOp, 8), (Scenario::AllCreate, 8)] {
            let setup = || Services::new(&ca, https, scenario);
            let ours = {
                let services = setup();
                let mut args = vec!["run", "--output", "json", "--concurrency"];
                let concurrency = concurrency.to_string();
                args.push(&concurrency);
                let (wall, report) = services.run(&args, cache, https.then_some(&*ca_file));
                assert_eq!(report["summary"]["failed"], 0, "{report}");
                wall
            };
            let client = {
                let services = setup();
                keep_alive_client(&services, &ca, concurrency)
            };
            // 3 1Password reads, list page 1, then the other 9 pages (no-op) or the 1,000
            // creates `concurrency` at a time; connections: one to 1Password, one to
            // Authentik, then the extra ones for the concurrent requests, opened together.
            let after_page_one = match scenario {
                Scenario::NoOp => 9,
                _ => 1000,
            };
            let (requests_in_sequence, connections_in_sequence) =
                (3 + 1 + usize::div_ceil(after_page_one, concurrency), 3);
            let bound = RTT
                * (requests_in_sequence + connections_in_sequence * (1 + usize::from(https)))
                    as u32;
            println!(
                "| {} | {} | {concurrency} | {} | {} | {} | {:.2} | {:.2} |",
                if https { "https" } else { "http" },
                scenario.name(),
                ms(ours),
                ms(client),
                ms(bound),
                ours.as_secs_f64() / bound.as_secs_f64(),
                client.as_secs_f64() / ours.as_secs_f64()
            );
        }
    }
    let one_shot = one_tenant(cache, &ca, &ca_file);
    mcp_one_tenant(cache, &ca, &ca_file, one_shot);
}

/// `run --tenant ID` over the same round trip: the fast path a self-registering tenant's group
/// takes, start-up included (goal: under 250 ms at 20 ms RTT). One group to create per run, in a
/// mapping of 1,000.
fn one_tenant(cache: &Path, ca: &TestCa, ca_file: &Path) -> [Duration; 2] {
    let mut medians = [Duration::ZERO; 2];
    println!();
    println!(
        "## one tenant (`run --tenant ID`) over a {} round trip, start-up included (mapping of 1,000; its one group is created)",
        ms(RTT)
    );
    println!(
        "bound = (3 1Password reads + 1 lookup + 1 create + 2 connections × (1 + TLS handshake)) × RTT"
    );
    println!("| transport | median of 7 | fastest | bound | goal |");
    println!("|---|---:|---:|---:|---:|");
    for https in [false, true] {
        let services = Services::new(ca, https, Scenario::AllCreate);
        let walls: Vec<Duration> = (0..7)
            .map(|i| {
                let tenant = format!("tenant-{:06}", 100 + i);
                let args = ["run", "--output", "json", "--tenant", &tenant];
                let (wall, report) = services.run(&args, cache, https.then_some(ca_file));
                assert_eq!(report["summary"]["create"], 1, "{report}");
                assert_eq!(report["requests"]["authentik"], 2, "{report}");
                wall
            })
            .collect();
        let bound = RTT * (3 + 1 + 1 + 2 * (1 + u32::from(https)));
        medians[usize::from(https)] = median(walls.clone());
        println!(
            "| {} | {} | {} | {} | 250.0 ms |",
            if https { "https" } else { "http" },
            ms(median(walls.clone())),
            ms(*walls.iter().min().unwrap()),
            ms(bound)
        );
    }
    medians
}

/// The same one tenant through a running `tenant-sync mcp --listen` server: the time from a
/// `tools/call` request to its answer, on a client connection kept alive (the client and the
/// server share loopback; the services are a round trip away). The first call finds the
/// mapping item by name and opens the connections; later calls read the item by id over the
/// pooled connections: 3 round trips (item, lookup, create).
fn mcp_one_tenant(cache: &Path, ca: &TestCa, ca_file: &Path, one_shot: [Duration; 2]) {
    println!();
    println!(
        "## one tenant through `tenant-sync mcp` (streamable HTTP, warm server) over a {} round trip to the services, call to answer",
        ms(RTT)
    );
    println!(
        "bound (warm) = (1 item read + 1 lookup + 1 create) × RTT; cold = the server's first call: 3 1Password reads + lookup + create + 2 connections × (1 + TLS handshake); `run --tenant` from the table above"
    );
    println!(
        "| transport | cold call | warm call, median of 7 | fastest | bound | ÷ bound (goal ≤ 1.3) | keep-alive client, median of 7 | `run --tenant` ÷ warm call (goal ≥ 2) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for https in [false, true] {
        let services = Services::new(ca, https, Scenario::AllCreate);
        let server = McpServer::start(&services, cache, https.then_some(ca_file));
        let tokio = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let walls: Vec<Duration> = tokio.block_on(async {
            let client = McpClient::connect(&server.addr).await;
            let mut walls = Vec::new();
            for i in 0..8 {
                let tenant = format!("tenant-{:06}", 200 + i);
                let started = Instant::now();
                let answer = client.sync(&tenant).await;
                walls.push(started.elapsed());
                let report = &answer["result"]["structuredContent"];
                assert_eq!(report["summary"]["create"], 1, "{answer}");
                let op_reads = if i == 0 { 3 } else { 1 };
                assert_eq!(report["requests"]["onepassword"], op_reads, "{answer}");
                assert_eq!(report["requests"]["authentik"], 2, "{answer}");
            }
            walls
        });
        let warm = median(walls[1..].to_vec());
        let bound = RTT * 3;
        let run = one_shot[usize::from(https)];
        let others: Vec<String> = (0..7).map(|i| format!("tenant-{:06}", 300 + i)).collect();
        let client = median(keep_alive_one_tenant(&services, ca, &others));
        println!(
            "| {} | {} | {} | {} | {} | {:.2} | {} | {:.1} |",
            if https { "https" } else { "http" },
            ms(walls[0]),
            ms(warm),
            ms(*walls[1..].iter().min().unwrap()),
            ms(bound),
            warm.as_secs_f64() / bound.as_secs_f64(),
            ms(client),
            run.as_secs_f64() / warm.as_secs_f64(),
        );
    }
}

/// `tenant-sync mcp --listen 127.0.0.1:0 --allow-writes` against `services`, stopped on drop.
struct McpServer {
    child: std::process::Child,
    addr: String,
}

impl McpServer {
    fn start(services: &Services, cache: &Path, ca_file: Option<&Path>) -> McpServer {
        use std::io::BufRead;
        let mut command = Command::new(BINARY);
        command
            .args([
                "mcp",
                "--listen",
                "127.0.0.1:0",
                "--allow-writes",
                "--cache-dir",
            ])
            .arg(cache);
        if let Some(ca_file) = ca_file {
            command.arg("--ca-file").arg(ca_file);
        }
        let mut child = command
            .env_clear()
            .env("OP_CONNECT_HOST", services.op_url())
            .env("AUTHENTIK_URL", services.ak_url())
            .env("OP_TOKEN", OP_TOKEN)
            .env("AUTHENTIK_TOKEN", AUTHENTIK_TOKEN)
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
        let url = lines
            .by_ref()
            .map_while(Result::ok)
            .find_map(|line| {
                let event: Value = serde_json::from_str(&line).ok()?;
                event["Transport"].as_str().map(str::to_owned)
            })
            .expect("the server says where it listens");
        // The rest of its log is not read; drain it so the server never blocks on stderr.
        std::thread::spawn(move || for _ in lines {});
        let addr = url
            .strip_prefix("http://")
            .and_then(|rest| rest.strip_suffix("/mcp"))
            .unwrap()
            .to_owned();
        McpServer { child, addr }
    }
}

impl Drop for McpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A JSON-RPC client on one kept-alive HTTP/1 connection, as an MCP client holds it.
struct McpClient {
    sender: tokio::sync::Mutex<
        hyper::client::conn::http1::SendRequest<http_body_util::Full<bytes::Bytes>>,
    >,
    next_id: std::sync::atomic::AtomicU64,
}

impl McpClient {
    async fn connect(addr: &str) -> McpClient {
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        let (sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .unwrap();
        tokio::spawn(connection);
        let client = McpClient {
            sender: tokio::sync::Mutex::new(sender),
            next_id: 1.into(),
        };
        client
            .request("initialize", json!({"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "bench", "version": "0"}}))
            .await;
        client
    }

    async fn sync(&self, tenant: &str) -> Value {
        self.request(
            "tools/call",
            json!({"name": "authentik_sync_tenant_mapping", "arguments": {"tenants": [tenant]}}),
        )
        .await
    }

    async fn request(&self, method: &str, params: Value) -> Value {
        use http_body_util::BodyExt;
        let id = self
            .next_id
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        let request = http::Request::post("/mcp")
            .header("host", "127.0.0.1")
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2025-06-18")
            .body(http_body_util::Full::new(bytes::Bytes::from(
                body.to_string(),
            )))
            .unwrap();
        let mut sender = self.sender.lock().await;
        sender.ready().await.unwrap();
        let response = sender.send_request(request).await.unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        assert!(
            status.is_success(),
            "{status}: {}",
            String::from_utf8_lossy(&bytes)
        );
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&bytes)))
    }
}

/// Both fakes behind latency proxies; 1,000 groups in sync, or none (all to create).
struct Services {
    _op: FakeOnePassword,
    _ak: FakeAuthentik,
    op_proxy: LatencyProxy,
    ak_proxy: LatencyProxy,
    https: bool,
}

impl Services {
    fn new(ca: &TestCa, https: bool, scenario: Scenario) -> Services {
        let (op, ak) = if https {
            (
                FakeOnePassword::start_tls(OP_TOKEN, ca.server_config(Leaf::Sound)),
                FakeAuthentik::start_tls(AUTHENTIK_TOKEN, ca.server_config(Leaf::Sound)),
            )
        } else {
            (
                FakeOnePassword::start(OP_TOKEN),
                FakeAuthentik::start(AUTHENTIK_TOKEN),
            )
        };
        let doc = document(1000);
        op.seed_mapping_field(defaults::VAULT, defaults::ITEM, defaults::FIELD, &doc);
        if matches!(scenario, Scenario::NoOp) {
            for g in mapping::validate(&doc).unwrap().groups {
                ak.seed_group(
                    &g.name,
                    json!({"fc:managed-by": MANAGER, "fc:tenant": g.tenant, "fc:role": "user"}),
                    &[],
                );
            }
        }
        Services {
            op_proxy: LatencyProxy::start(op.addr(), RTT),
            ak_proxy: LatencyProxy::start(ak.addr(), RTT),
            _op: op,
            _ak: ak,
            https,
        }
    }

    fn url(&self, proxy: &LatencyProxy) -> String {
        match self.https {
            true => format!("https://localhost:{}", proxy.port()),
            false => format!("http://127.0.0.1:{}", proxy.port()),
        }
    }

    fn op_url(&self) -> String {
        self.url(&self.op_proxy)
    }

    /// The release binary with `args` against these services (warm `cache`; `ca_file` for
    /// https): its wall time, start-up included, and its JSON report.
    fn run(&self, args: &[&str], cache: &Path, ca_file: Option<&Path>) -> (Duration, Value) {
        let mut command = Command::new(BINARY);
        command.args(args).arg("--cache-dir").arg(cache);
        if let Some(ca_file) = ca_file {
            command.arg("--ca-file").arg(ca_file);
        }
        let started = Instant::now();
        let output = command
            .env_clear()
            .env("OP_CONNECT_HOST", self.op_url())
            .env("AUTHENTIK_URL", self.ak_url())
            .env("OP_TOKEN", OP_TOKEN)
            .env("AUTHENTIK_TOKEN", AUTHENTIK_TOKEN)
            .output()
            .unwrap();
        let wall = started.elapsed();
        let report = serde_json::from_slice(&output.stdout).expect("a JSON report");
        (wall, report)
    }

    fn ak_url(&self) -> String {
        self.url(&self.ak_proxy)
    }
}

/// What a plain script with keep-alive connections does for the same reconcile: the three
/// 1Password reads, every list page, then one POST per missing group, `concurrency` at a time.
/// Returns its wall time (it starts no process and compiles nothing).
fn keep_alive_client(services: &Services, ca: &TestCa, concurrency: usize) -> Duration {
    use http_body_util::{BodyExt, Full};
    use tenant_sync_core::onepassword as op_api;
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = pooled_client(ca);
    let get = |url: String, token: &'static str| {
        let client = client.clone();
        async move {
            let request = http::Request::get(url)
                .header("authorization", format!("Bearer {token}"))
                .body(Full::default())
                .unwrap();
            let response = client.request(request).await.unwrap();
            let body = response.into_body().collect().await.unwrap().to_bytes();
            serde_json::from_slice::<Value>(&body).unwrap()
        }
    };
    tokio.block_on(async {
        let started = Instant::now();
        let (op, ak) = (services.op_url(), services.ak_url());
        let vaults = get(format!("{op}{}", op_api::VAULTS_TARGET), OP_TOKEN).await;
        let vault = vaults[0]["id"].as_str().unwrap().to_owned();
        let items = get(
            format!("{op}{}", op_api::items_target(&vault, defaults::ITEM)),
            OP_TOKEN,
        )
        .await;
        let item = items[0]["id"].as_str().unwrap().to_owned();
        let item = get(
            format!("{op}{}", op_api::item_target(&vault, &item)),
            OP_TOKEN,
        )
        .await;
        let document = mapping_field(&item);
        let mut existing = std::collections::BTreeSet::new();
        let mut page = 1;
        loop {
            let body = get(
                format!("{ak}{}", tenant_sync_core::authentik::list_target(page)),
                AUTHENTIK_TOKEN,
            )
            .await;
            for group in body["results"].as_array().unwrap() {
                existing.insert(group["name"].as_str().unwrap().to_owned());
            }
            match body["pagination"]["next"].as_u64() {
                Some(next) if next > 0 => page = next,
                _ => break,
            }
        }
        let missing: Vec<String> = mapping::validate(&document)
            .unwrap()
            .groups
            .into_iter()
            .filter(|g| !existing.contains(&g.name))
            .map(|g| g.name)
            .collect();
        let queue = std::sync::Arc::new(std::sync::Mutex::new(missing));
        let workers: Vec<_> = (0..concurrency)
            .map(|_| {
                let (client, queue, ak) = (client.clone(), queue.clone(), ak.clone());
                tokio::spawn(async move {
                    loop {
                        let Some(name) = queue.lock().unwrap().pop() else {
                            break;
                        };
                        let body = json!({"name": name, "attributes": {"fc:managed-by": MANAGER}})
                            .to_string();
                        let request = http::Request::post(format!("{ak}/api/v3/core/groups/"))
                            .header("authorization", format!("Bearer {AUTHENTIK_TOKEN}"))
                            .header("content-type", "application/json")
                            .header("content-length", body.len())
                            .body(Full::new(bytes::Bytes::from(body)))
                            .unwrap();
                        let response = client.request(request).await.unwrap();
                        assert_eq!(response.status(), 201);
                        response.into_body().collect().await.unwrap();
                    }
                })
            })
            .collect();
        for worker in workers {
            worker.await.unwrap();
        }
        started.elapsed()
    })
}

type PooledClient = hyper_util::client::legacy::Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    http_body_util::Full<bytes::Bytes>,
>;

/// A hyper client with keep-alive connections that trusts `ca`.
fn pooled_client(ca: &TestCa) -> PooledClient {
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(
        rustls::pki_types::CertificateDer::pem_slice_iter(ca.pem().as_bytes()).map(Result::unwrap),
    );
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tenant_sync::trust::client_config(roots))
        .https_or_http()
        .enable_http1()
        .build();
    Client::builder(TokioExecutor::new()).build(connector)
}

/// What a hand-written warm service does for one tenant, on connections kept alive and with
/// the item's ids already known: read the item, validate the mapping, look the tenant's group
/// up, create it. The floor the MCP server's warm call is measured against. One duration per
/// tenant.
fn keep_alive_one_tenant(services: &Services, ca: &TestCa, tenants: &[String]) -> Vec<Duration> {
    use http_body_util::{BodyExt, Full};
    use tenant_sync_core::onepassword as op_api;
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = pooled_client(ca);
    let send = |request: http::Request<Full<bytes::Bytes>>| {
        let client = client.clone();
        async move {
            let response = client.request(request).await.unwrap();
            let status = response.status();
            let body = response.into_body().collect().await.unwrap().to_bytes();
            (status, serde_json::from_slice::<Value>(&body).unwrap())
        }
    };
    let get = |url: String, token: &str| {
        http::Request::get(url)
            .header("authorization", format!("Bearer {token}"))
            .body(Full::default())
            .unwrap()
    };
    let (op, ak) = (services.op_url(), services.ak_url());
    tokio.block_on(async {
        // Warm: the ids, and one connection to each service.
        let (_, vaults) = send(get(format!("{op}{}", op_api::VAULTS_TARGET), OP_TOKEN)).await;
        let vault = vaults[0]["id"].as_str().unwrap().to_owned();
        let items_target = op_api::items_target(&vault, defaults::ITEM);
        let (_, items) = send(get(format!("{op}{items_target}"), OP_TOKEN)).await;
        let item = items[0]["id"].as_str().unwrap().to_owned();
        let item_url = format!("{op}{}", op_api::item_target(&vault, &item));
        let lookup = |name: &str| {
            format!("{ak}{}", tenant_sync_core::authentik::by_name_target(name))
        };
        send(get(lookup("warm-up"), AUTHENTIK_TOKEN)).await;
        let mut walls = Vec::new();
        for tenant in tenants {
            let started = Instant::now();
            let (_, item) = send(get(item_url.clone(), OP_TOKEN)).await;
            let document = mapping_field(&item);
            let group = mapping::validate(&document)
                .unwrap()
                .groups
                .into_iter()
                .find(|g| &g.tenant == tenant)
                .unwrap();
            let (_, found) = send(get(lookup(&group.name), AUTHENTIK_TOKEN)).await;
            assert_eq!(found["results"], json!([]), "{found}");
            let body = json!({"name": group.name, "attributes": {"fc:managed-by": MANAGER, "fc:tenant": group.tenant, "fc:role": group.role}}).to_string();
            let create = http::Request::post(format!("{ak}/api/v3/core/groups/"))
                .header("authorization", format!("Bearer {AUTHENTIK_TOKEN}"))
                .header("content-type", "application/json")
                .header("content-length", body.len())
                .body(Full::new(bytes::Bytes::from(body)))
                .unwrap();
            let (status, _) = send(create).await;
            assert_eq!(status, 201);
            walls.push(started.elapsed());
        }
        walls
    })
}

/// The mapping document in a full 1Password item, as the fakes store it.
fn mapping_field(item: &Value) -> String {
    item["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["label"] == defaults::FIELD)
        .unwrap()["value"]
        .as_str()
        .unwrap()
        .to_owned()
}
