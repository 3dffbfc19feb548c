//! `tenant-sync run --output json` held to the hosts' table of expectations
//! (tests/vectors/hosts.json), which the Node host and the stock wasmtime CLI are held to too:
//! against the fakes and against the real Authentik.

use support::command;
use tenant_sync_test_support::host_table::{self, Call, Host, Printed};

mod support;

struct TenantSync;

impl Host for TenantSync {
    fn name(&self) -> &'static str {
        "tenant-sync"
    }

    fn run(&self, call: &Call) -> Printed {
        let mut args = vec!["run", "--output", "json"];
        if call.dry_run {
            args.push("--dry-run");
        }
        if let Some(manager) = call.manager_id {
            args.extend(["--manager-id", manager]);
        }
        let output = command(
            &args,
            &[
                ("OP_CONNECT_HOST", call.op_connect_host),
                ("AUTHENTIK_URL", call.authentik_url),
                ("OP_TOKEN", call.op_token),
                ("AUTHENTIK_TOKEN", call.authentik_token),
            ],
        )
        .output()
        .unwrap();
        Printed::from(output)
    }
}

#[test]
fn the_hosts_table_holds_under_tenant_sync_against_the_fakes() {
    host_table::holds_against_fakes(&TenantSync);
}

#[test]
fn the_hosts_table_holds_under_tenant_sync_against_the_real_authentik() {
    host_table::holds_against_real_authentik(&TenantSync);
}
