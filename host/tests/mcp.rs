//! `tenant-sync mcp` under a real MCP client (the official TypeScript SDK, `tests/mcp-client`)
//! against the fakes: the tools read well and their answers match their schemas, a server
//! without --allow-writes never writes, a failed call is a tool error and the server goes on,
//! and no token shows in any message. Against the real Authentik: `real_authentik.rs`.

use serde_json::{Value, json};
use std::net::TcpListener;
use support::mcp::{call, drive, failure, texts};
use tenant_sync_core::defaults;
use tenant_sync_fakes::{FakeAuthentik, FakeOnePassword};

mod support;

const OP_TOKEN: &str = "op-canary-mcp-7d24be90c1";
const AUTHENTIK_TOKEN: &str = "ak-canary-mcp-e3a9015f6d";
const SYNC: &str = "authentik_sync_tenant_mapping";

struct Services {
    op: FakeOnePassword,
    ak: FakeAuthentik,
}

impl Services {
    fn new() -> Services {
        let document = json!({"version": 1, "mappings": [
            {"authentikGroup": "acme-admins", "fcTenantId": "acme", "fcRole": "admin"},
            {"authentikGroup": "acme-users", "fcTenantId": "acme", "fcRole": "user"},
            {"authentikGroup": "globex-users", "fcTenantId": "globex", "fcRole": "user"},
        ]});
        let op = FakeOnePassword::start(OP_TOKEN);
        op.seed_mapping_field(
            defaults::VAULT,
            defaults::ITEM,
            defaults::FIELD,
            &document.to_string(),
        );
        Services {
            op,
            ak: FakeAuthentik::start(AUTHENTIK_TOKEN),
        }
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("OP_CONNECT_HOST", self.op.url()),
            ("AUTHENTIK_URL", self.ak.url()),
            ("OP_TOKEN", OP_TOKEN.into()),
            ("AUTHENTIK_TOKEN", AUTHENTIK_TOKEN.into()),
        ]
    }

    fn drive(&self, args: &[&str], steps: Value) -> support::mcp::Driven {
        self.drive_with(args, &self.env(), steps)
    }

    fn drive_with(
        &self,
        args: &[&str],
        env: &[(&'static str, String)],
        steps: Value,
    ) -> support::mcp::Driven {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        drive(args, &env, steps, &[OP_TOKEN, AUTHENTIK_TOKEN])
    }

    fn block(tenant: &str, role: &str) -> Value {
        json!({"fc:managed-by": defaults::MANAGER, "fc:tenant": tenant, "fc:role": role})
    }
}

#[test]
fn the_tools_resource_and_schemas_read_well() {
    let services = Services::new();
    let driven = services.drive(
        &[],
        json!([
            {"op": "listTools"},
            {"op": "listResources"},
            {"op": "readResource", "uri": "tenant-sync://schema/mapping.json"},
        ]),
    );
    assert_eq!(driven.server["name"], "tenant-sync");
    assert!(
        driven.instructions.contains("--allow-writes"),
        "{}",
        driven.instructions
    );
    let tools = driven.results[0]["tools"].as_array().unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, [SYNC, "plan", "validate_mapping"]);
    for tool in tools {
        let name = &tool["name"];
        let hints = &tool["annotations"];
        assert_eq!(hints["destructiveHint"], false, "{name} never deletes");
        assert_eq!(hints["idempotentHint"], true, "{name}");
        assert_eq!(hints["readOnlyHint"], *name != SYNC, "{name}");
        assert!(tool["description"].as_str().unwrap().len() > 40, "{name}");
        assert_eq!(tool["inputSchema"]["type"], "object", "{name}");
        assert_eq!(tool["outputSchema"]["type"], "object", "{name}");
    }
    assert_eq!(
        driven.results[1]["resources"][0]["uri"],
        "tenant-sync://schema/mapping.json"
    );
    let schema: Value =
        serde_json::from_str(driven.results[2]["contents"][0]["text"].as_str().unwrap()).unwrap();
    assert_eq!(schema, tenant_sync_core::mapping_schema::json_schema());
    assert!(services.op.requests().is_empty(), "listing read 1Password");
}

#[test]
fn without_allow_writes_the_sync_tool_answers_with_the_plan_and_writes_nothing() {
    let services = Services::new();
    let driven = services.drive(&[], json!([call(SYNC, json!({"tenants": ["acme"]}))]));
    let result = &driven.results[0];
    assert_eq!(result["isError"], false, "{result}");
    let report = &result["structuredContent"];
    assert_eq!(report["dryRun"], true, "{report}");
    assert_eq!(report["summary"]["create"], 2, "{report}");
    assert!(
        texts(result)[0].contains("--allow-writes"),
        "{}",
        texts(result)[0]
    );
    assert!(
        services.ak.writes().is_empty(),
        "a server without --allow-writes wrote"
    );
}

#[test]
fn with_allow_writes_a_tenant_is_created_and_read_back_and_a_repeat_writes_nothing() {
    let services = Services::new();
    let driven = services.drive(
        &["--allow-writes"],
        json!([
            call(SYNC, json!({"tenants": ["acme"], "dryRun": true})),
            call(SYNC, json!({"tenants": ["acme"]})),
            call(SYNC, json!({"tenants": ["acme"]})),
        ]),
    );
    let [dry, applied, repeat] = &driven.results[..] else {
        panic!("{:?}", driven.results)
    };
    assert_eq!(dry["structuredContent"]["dryRun"], true, "{dry}");
    assert_eq!(applied["isError"], false, "{applied}");
    assert_eq!(
        applied["structuredContent"]["summary"]["create"], 2,
        "{applied}"
    );
    assert!(texts(applied)[0].contains("acme-admins"), "the table");
    for (name, role) in [("acme-admins", "admin"), ("acme-users", "user")] {
        let group = services
            .ak
            .group(name)
            .unwrap_or_else(|| panic!("{name} missing"));
        assert_eq!(
            Value::Object(group.attributes),
            Services::block("acme", role),
            "{name}"
        );
    }
    assert!(
        services.ak.group("globex-users").is_none(),
        "another tenant was written"
    );
    assert_eq!(
        repeat["structuredContent"]["summary"]["unchanged"], 2,
        "{repeat}"
    );
    assert_eq!(
        services.ak.writes().len(),
        2,
        "the dry run or the repeat wrote"
    );
}

#[test]
fn plan_lists_only_the_groups_that_would_change() {
    let services = Services::new();
    services
        .ak
        .seed_group("acme-users", Services::block("acme", "user"), &[]);
    let driven = services.drive(&["--allow-writes"], json!([call("plan", json!({}))]));
    let plan = &driven.results[0]["structuredContent"];
    assert_eq!(plan["summary"]["create"], 2, "{plan}");
    assert_eq!(plan["summary"]["unchanged"], 1, "{plan}");
    let listed: Vec<&str> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["group"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ["acme-admins", "globex-users"], "{plan}");
    assert_eq!(plan["omitted"], 0);
    assert!(services.ak.writes().is_empty(), "plan wrote");
}

#[test]
fn validate_mapping_returns_the_groups_or_every_problem_with_entry_and_field() {
    let services = Services::new();
    let bad = json!({"version": 1, "mappings": [
        {"authentikGroup": "ok", "fcTenantId": "t", "fcRole": "user"},
        {"authentikGroup": "", "fcTenantId": "t", "fcRole": "user"},
    ]});
    let driven = services.drive(
        &[],
        json!([
            call(
                "validate_mapping",
                json!({"document": {"version": 1, "mappings": [
                {"authentikGroup": "g", "fcTenantId": "t", "fcRole": "user"}]}})
            ),
            call("validate_mapping", json!({"document": bad.to_string()})),
        ]),
    );
    let valid = &driven.results[0]["structuredContent"];
    assert_eq!(valid["groups"][0]["authentikGroup"], "g", "{valid}");
    let document = failure(&driven.results[1]);
    assert_eq!(document["error"]["kind"], "invalid-mapping", "{document}");
    let issue = &document["error"]["issues"][0];
    assert_eq!(
        (issue["entry"].clone(), issue["field"].clone()),
        (json!(1), json!("authentikGroup")),
        "{document}"
    );
    assert!(services.op.requests().is_empty() && services.ak.requests().is_empty());
}

#[test]
fn a_failed_call_is_a_tool_error_and_the_server_keeps_serving() {
    let services = Services::new();
    let closed = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let mut env = services.env();
    env.retain(|(k, _)| *k != "AUTHENTIK_URL");
    env.push(("AUTHENTIK_URL", closed));
    let driven = services.drive_with(
        &["--allow-writes", "--retry-budget-secs", "1", "--deadline-secs", "30"],
        &env,
        json!([
            call(SYNC, json!({"tenants": ["acme"]})),
            call(SYNC, json!({})),
            call("plan", json!({"everything": true})),
            call("validate_mapping", json!({"document": "{\"version\": 1, \"mappings\": [{\"authentikGroup\": \"g\", \"fcTenantId\": \"t\", \"fcRole\": \"user\"}]}"})),
        ]),
    );
    let unreachable = failure(&driven.results[0]);
    assert_eq!(unreachable["error"]["kind"], "upstream", "{unreachable}");
    let unselected = failure(&driven.results[1]);
    assert_eq!(unselected["error"]["kind"], "usage");
    assert!(
        unselected["error"]["message"]
            .as_str()
            .unwrap()
            .contains("at least one tenant")
    );
    let unknown = failure(&driven.results[2]);
    assert!(
        unknown["error"]["message"]
            .as_str()
            .unwrap()
            .contains("everything"),
        "{unknown}"
    );
    assert_eq!(
        driven.results[3]["isError"], false,
        "the server stopped serving"
    );
}

#[test]
fn two_calls_at_once_create_each_group_once() {
    let services = Services::new();
    let sync = call(SYNC, json!({"tenants": ["acme"]}));
    let driven = services.drive(
        &["--allow-writes"],
        json!([{"op": "together", "steps": [sync, sync]}]),
    );
    for result in driven.results[0].as_array().unwrap() {
        assert_eq!(result["isError"], false, "{result}");
    }
    let names: Vec<String> = services.ak.groups().into_iter().map(|g| g.name).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(sorted, ["acme-admins", "acme-users"], "{names:?}");
}
