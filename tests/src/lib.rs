//! Support for the component tests: one compiled component per test process, fake services
//! seeded with canary tokens, and a run helper that checks every run's output is CLEF and free
//! of tokens before a test looks at anything else.

pub mod probe;
pub mod wasmtime_cli;

use serde_json::Value;
use std::sync::OnceLock;
use tenant_sync::bindings::types::{
    MappingSource, OnepasswordLocation, Report, SyncError, SyncOptions,
};
use tenant_sync::grants::{Allowlist, ServiceGrant};
use tenant_sync::logging::LogSink;
use tenant_sync::runtime::{RunFailure, Runtime, Wasm};
use tenant_sync::sandbox::{Grants, Limits};
pub use tenant_sync_fakes::{Content, FakeAuthentik, FakeOnePassword};

/// Canary tokens: a test fails if either appears in any output.
pub const OP_TOKEN: &str = "op-canary-token-7f3a9c1e0b";
pub const AUTHENTIK_TOKEN: &str = "ak-canary-token-51d0b2e8c4";
pub use tenant_sync_core::defaults::{FIELD, ITEM, MANAGER, VAULT};

/// The embedded component, compiled once for the whole test process.
pub fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| Runtime::new(&Wasm::embedded(), None).expect("compiling the component"))
}

/// Both fakes, with the canary tokens.
pub struct World {
    pub op: FakeOnePassword,
    pub ak: FakeAuthentik,
}

pub struct Run {
    pub result: Result<Result<Report, SyncError>, RunFailure>,
    pub logs: String,
}

impl Run {
    pub fn report(&self) -> &Report {
        match &self.result {
            Ok(Ok(report)) => report,
            other => panic!("expected a report, got {other:?}\nlogs:\n{}", self.logs),
        }
    }

    pub fn error(&self) -> &SyncError {
        match &self.result {
            Ok(Err(error)) => error,
            other => panic!("expected a sync error, got {other:?}\nlogs:\n{}", self.logs),
        }
    }

    /// Parsed log events.
    pub fn events(&self) -> Vec<Value> {
        self.logs
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

impl World {
    pub fn new() -> World {
        World {
            op: FakeOnePassword::start(OP_TOKEN),
            ak: FakeAuthentik::start(AUTHENTIK_TOKEN),
        }
    }

    /// A world whose 1Password holds `document` in the default vault/item/field.
    pub fn with_mapping(document: &str) -> World {
        let world = World::new();
        world
            .op
            .seed_mapping_field(VAULT, ITEM, "mapping", document);
        world
    }

    pub fn options(&self, dry_run: bool) -> SyncOptions {
        SyncOptions {
            source: MappingSource::Onepassword(OnepasswordLocation {
                connect_url: self.op.url(),
                vault: None,
                item: None,
                field: None,
                known: None,
            }),
            authentik_url: self.ak.url(),
            dry_run,
            concurrency: 0,
            manager_id: None,
            max_response_bytes: 0,
            // Long enough for the one-off faults the tests inject, short enough that a fault
            // that never ends fails the test in seconds.
            retry_budget_secs: 3,
            allow_superuser_groups: false,
            only_groups: Vec::new(),
            only_tenants: Vec::new(),
        }
    }

    pub fn grants(&self) -> Grants {
        Grants {
            allowlist: Allowlist::new([
                ServiceGrant::onepassword(&self.op.url()).unwrap(),
                ServiceGrant::authentik(&self.ak.url()).unwrap(),
            ]),
            env: vec![
                ("AUTHENTIK_TOKEN".into(), AUTHENTIK_TOKEN.into()),
                ("OP_TOKEN".into(), OP_TOKEN.into()),
            ],
            limits: Limits::default(),
            log: verbose_memory_log(),
            ..Grants::default()
        }
    }

    pub async fn run(&self, dry_run: bool) -> Run {
        self.run_with(&self.options(dry_run), &self.grants()).await
    }

    pub async fn run_with(&self, options: &SyncOptions, grants: &Grants) -> Run {
        let result = runtime().sync(grants, options).await;
        let run = Run {
            result,
            logs: grants.log.contents(),
        };
        assert_clean(&run.logs, &format!("{:?}", run.result));
        run
    }
}

impl Default for World {
    fn default() -> World {
        World::new()
    }
}

/// Every log line is a CLEF event, and no output carries a token.
pub fn assert_clean(logs: &str, other_output: &str) {
    tenant_sync_test_support::assert_clef_and_clean(
        logs,
        &[other_output],
        &[OP_TOKEN, AUTHENTIK_TOKEN],
    );
}

/// A mapping document from `(group, tenant, role)` entries.
pub fn mapping(entries: &[(&str, &str, &str)]) -> String {
    let mappings: Vec<Value> = entries
        .iter()
        .map(|(g, t, r)| serde_json::json!({"authentikGroup": g, "fcTenantId": t, "fcRole": r}))
        .collect();
    serde_json::json!({"version": 1, "mappings": mappings}).to_string()
}

/// A memory log with Debug events on (`--verbose`): one event per HTTP request.
fn verbose_memory_log() -> LogSink {
    let log = LogSink::memory();
    log.set_debug(true);
    log
}
