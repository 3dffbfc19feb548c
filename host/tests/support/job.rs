//! One real-server test's job: its mapping in a fake 1Password, its own manager id and group
//! prefix on the real Authentik, the `tenant-sync` binary run against it, and what the run and
//! the server say afterwards.

use super::mcp::{Driven, drive};
use super::{Ran, tenant_sync};
use serde_json::{Value, json};
use tenant_sync_core::defaults::{FIELD, ITEM, VAULT};
use tenant_sync_fakes::FakeOnePassword;
use tenant_sync_peer::{Peer, Scratch, authentik};

pub const OP_TOKEN: &str = "op-canary-real-5e0c7a21d9";

/// One test's job: its mapping in a fake 1Password, its own manager id, its own groups.
pub struct Job {
    pub op: FakeOnePassword,
    pub scratch: Scratch,
    pub manager: String,
}

impl Job {
    /// `entries` are `(group, tenant, role)` with group names relative to the test's prefix.
    pub fn new(test: &str, entries: &[(&str, &str, &str)]) -> Job {
        Job::on(authentik(), test, entries)
    }

    /// The same on `peer` (a chaos test's, held exclusively).
    pub fn on(peer: &'static Peer, test: &str, entries: &[(&str, &str, &str)]) -> Job {
        let scratch = Scratch::new(peer, test);
        let mappings: Vec<Value> = entries
            .iter()
            .map(|(g, t, r)| json!({"authentikGroup": scratch.name(g), "fcTenantId": t, "fcRole": r}))
            .collect();
        Job::with_document(scratch, &json!({"version": 1, "mappings": mappings}))
    }

    pub fn with_document(scratch: Scratch, document: &Value) -> Job {
        let op = FakeOnePassword::start(OP_TOKEN);
        op.seed_mapping_field(VAULT, ITEM, FIELD, &document.to_string());
        let manager = format!("{}sync", scratch.prefix);
        Job {
            op,
            scratch,
            manager,
        }
    }

    pub fn peer(&self) -> &'static Peer {
        self.scratch.peer
    }

    pub fn name(&self, name: &str) -> String {
        self.scratch.name(name)
    }

    pub fn block(&self, tenant: &str, role: &str) -> Value {
        json!({"fc:managed-by": self.manager, "fc:tenant": tenant, "fc:role": role})
    }

    pub fn run(&self, extra: &[&str]) -> Ran {
        self.run_against(&self.peer().url, &self.peer().token, extra)
    }

    pub fn run_against(&self, authentik_url: &str, token: &str, extra: &[&str]) -> Ran {
        let mut args = vec![
            "run",
            "--output",
            "json",
            "--verbose",
            "--manager-id",
            &self.manager,
        ];
        args.extend_from_slice(extra);
        tenant_sync(
            &args,
            &[
                ("OP_CONNECT_HOST", &self.op.url()),
                ("AUTHENTIK_URL", authentik_url),
                ("OP_TOKEN", OP_TOKEN),
                ("AUTHENTIK_TOKEN", token),
            ],
            &[OP_TOKEN, &self.peer().token, token],
        )
    }

    /// `tenant-sync mcp ARGS` (verbose, with this job's manager id) under the official MCP
    /// client, running `steps`; its stderr as a run's, to count requests.
    pub fn mcp(&self, args: &[&str], steps: Value) -> (Driven, Ran) {
        let peer = self.peer();
        let mut full = vec!["--verbose", "--manager-id", &self.manager];
        full.extend_from_slice(args);
        let driven = drive(
            &full,
            &[
                ("OP_CONNECT_HOST", &self.op.url()),
                ("AUTHENTIK_URL", &peer.url),
                ("OP_TOKEN", OP_TOKEN),
                ("AUTHENTIK_TOKEN", &peer.token),
            ],
            steps,
            &[OP_TOKEN, &peer.token],
        );
        let ran = Ran {
            code: 0,
            stdout: String::new(),
            stderr: driven.stderr.clone(),
        };
        (driven, ran)
    }

    /// The test's groups as Authentik stores them, by name relative to the prefix.
    pub fn stored(&self) -> Vec<(String, Value)> {
        self.scratch
            .groups()
            .into_iter()
            .map(|g| {
                let name = g["name"].as_str().unwrap()[self.scratch.prefix.len()..].to_owned();
                (name, g)
            })
            .collect()
    }

    pub fn stored_group(&self, name: &str) -> Value {
        self.peer()
            .group(&self.name(name))
            .unwrap_or_else(|| panic!("{name} is not in Authentik"))
    }
}

/// The requests the host sent to Authentik, as `METHOD path`, from its verbose events.
pub fn authentik_requests(ran: &Ran, peer_url: &str) -> Vec<String> {
    ran.events()
        .iter()
        .filter(|e| {
            e["@mt"]
                .as_str()
                .is_some_and(|t| t.starts_with("HTTP {Method}"))
        })
        .filter(|e| e["Origin"] == peer_url)
        .map(|e| {
            format!(
                "{} {}",
                e["Method"].as_str().unwrap(),
                e["Path"].as_str().unwrap()
            )
        })
        .collect()
}

pub fn writes(ran: &Ran, peer_url: &str) -> Vec<String> {
    authentik_requests(ran, peer_url)
        .into_iter()
        .filter(|r| !r.starts_with("GET "))
        .collect()
}

/// `(group, action, status)` for each group of the report.
pub fn decisions(ran: &Ran) -> Vec<(String, String, String)> {
    let report = ran.json();
    report["changes"]
        .as_array()
        .unwrap_or_else(|| panic!("no report on stdout:\n{}\n{}", ran.stdout, ran.stderr))
        .iter()
        .map(|g| {
            (
                g["group"].as_str().unwrap().to_owned(),
                g["action"].as_str().unwrap().to_owned(),
                g["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

pub fn assert_exit(ran: &Ran, code: i32) {
    assert_eq!(
        ran.code, code,
        "exit code\nstdout:\n{}\nstderr:\n{}",
        ran.stdout, ran.stderr
    );
}
