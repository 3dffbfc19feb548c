//! The demo world: both fakes with an example mapping and an Authentik that already has one
//! drifted group of ours, one unrelated group and one another tool manages. `tenant-sync demo`
//! and the `serve-fakes` binary (for other hosts, e.g. `just run-wasmtime-cli`) start it.

use crate::{FakeAuthentik, FakeOnePassword};
use serde_json::json;
use tenant_sync_core::defaults::{self, MANAGER};

pub const OP_TOKEN: &str = "demo-onepassword-token";
pub const AUTHENTIK_TOKEN: &str = "demo-authentik-token";

/// What Authentik holds before the first run, in words.
pub const STARTING_STATE: &str =
    "acme-users (ours, drifted), staff (unrelated), initech-users (managed by another tool)";

pub struct DemoWorld {
    pub op: FakeOnePassword,
    pub ak: FakeAuthentik,
}

impl DemoWorld {
    pub fn start() -> DemoWorld {
        let op = FakeOnePassword::start(OP_TOKEN);
        let ak = FakeAuthentik::start(AUTHENTIK_TOKEN);
        op.seed_mapping_field(
            defaults::VAULT,
            defaults::ITEM,
            defaults::FIELD,
            &example_mapping(),
        );
        ak.seed_group(
            "acme-users",
            json!({"fc:managed-by": MANAGER, "fc:tenant": "acme", "fc:role": "admin", "notes": "kept as is"}),
            &[101, 102],
        );
        ak.seed_group("staff", json!({"department": "ops"}), &[7]);
        ak.seed_group(
            "initech-users",
            json!({"fc:managed-by": "legacy-provisioner"}),
            &[],
        );
        DemoWorld { op, ak }
    }
}

fn example_mapping() -> String {
    json!({
        "version": 1,
        "mappings": [
            {"authentikGroup": "acme-admins", "fcTenantId": "acme", "fcRole": "admin", "label": "Acme Corp", "regulated": true},
            {"authentikGroup": "acme-users", "fcTenantId": "acme", "fcRole": "user", "label": "Acme Corp"},
            {"authentikGroup": "globex-users", "fcTenantId": "globex", "fcRole": "user", "strictMode": true},
            {"authentikGroup": "initech-users", "fcTenantId": "initech", "fcRole": "user"},
            {"authentikGroup": "flowercore-superadmins", "fcTenantId": "*", "fcRole": "SuperAdmin"}
        ]
    })
    .to_string()
}
