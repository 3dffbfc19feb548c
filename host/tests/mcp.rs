//! `tenant-sync mcp` under a real MCP client (the official TypeScript SDK, `tests/mcp-client`)
//! against the fakes: the tools read well and their answers match their schemas, a server
//! without --allow-writes never writes, a failed call is a tool error and the server goes on,
//! and no token shows in any message. Against the real Authentik: `real_authentik.rs`.

use serde_json::{Value, json};
use std::net::TcpListener;
use support::mcp::{HttpServer, call, drive, failure, texts};
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

    /// Authentik holds acme's two groups with the full managed block.
    fn assert_acme_created(&self) {
        for (name, role) in [("acme-admins", "admin"), ("acme-users", "user")] {
            let group = self
                .ak
                .group(name)
                .unwrap_or_else(|| panic!("{name} missing"));
            assert_eq!(
                Value::Object(group.attributes),
                Services::block("acme", role),
                "{name}"
            );
        }
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
    services.assert_acme_created();
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

// Streamable HTTP (`--listen`): the same tools through the SDK's HTTP client, and the doors.

const BEARER: &str = "mcp-bearer-canary-5b0e7c2a91d84f36";

impl Services {
    fn http(&self, args: &[&str]) -> HttpServer {
        let env = self.env();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        HttpServer::start(args, &env)
    }
}

const SECRETS: [&str; 3] = [OP_TOKEN, AUTHENTIK_TOKEN, BEARER];

#[test]
fn over_http_a_dry_run_writes_nothing_a_sync_is_read_back_and_sigterm_exits_143() {
    let services = Services::new();
    let server = services.http(&["--allow-writes"]);
    assert!(server.url.ends_with("/mcp"), "{}", server.url);
    let driven = server.drive(
        &[],
        json!([
            {"op": "listTools"},
            call(SYNC, json!({"tenants": ["acme"], "dryRun": true})),
            call("plan", json!({})),
            call("validate_mapping", json!({"document": {"version": 1, "mappings": [
                {"authentikGroup": "g", "fcTenantId": "t", "fcRole": "user"}]}})),
        ]),
        &SECRETS,
    );
    assert_eq!(driven.server["name"], "tenant-sync");
    assert_eq!(driven.results[0]["tools"].as_array().unwrap().len(), 3);
    assert_eq!(driven.results[1]["structuredContent"]["dryRun"], true);
    assert_eq!(
        driven.results[2]["structuredContent"]["summary"]["create"],
        3
    );
    assert_eq!(driven.results[3]["isError"], false, "{}", driven.results[3]);
    assert!(services.ak.writes().is_empty(), "a dry run wrote");

    let applied = server.drive(
        &[],
        json!([call(SYNC, json!({"tenants": ["acme"]}))]),
        &SECRETS,
    );
    let report = &applied.results[0]["structuredContent"];
    assert_eq!(report["summary"]["create"], 2, "{report}");
    services.assert_acme_created();
    let (code, stderr) = server.stop(&SECRETS);
    assert_eq!(code, 143, "{stderr}");
}

#[test]
fn over_http_the_bearer_token_is_required_and_foreign_origins_and_hosts_are_refused() {
    let services = Services::new();
    let token_file = support::temp_file("mcp-bearer-token", format!("{BEARER}\n").as_bytes());
    let server = services.http(&["--bearer-token-file", token_file.to_str().unwrap()]);
    let bearer = format!("Bearer {BEARER}");
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "raw", "version": "0"}}})
    .to_string();

    // The official client without the token, and with a wrong one, cannot connect.
    for headers in [
        vec![],
        vec![("Authorization", "Bearer not-the-token-at-all-0000")],
    ] {
        let refused = server.refused(&headers);
        assert!(refused.contains("Unauthorized"), "{refused}");
    }
    let (status, head, _) = server.post(&[], &initialize);
    assert_eq!(status, 401, "{head}");
    assert!(
        head.contains("www-authenticate: Bearer realm=\"tenant-sync\"")
            || head.contains("WWW-Authenticate"),
        "{head}"
    );
    let (status, head, _) = server.post(&[("Authorization", "Bearer wrong")], &initialize);
    assert_eq!(status, 401, "{head}");
    assert!(head.contains("invalid_token"), "{head}");

    // With it: a browser page from elsewhere (DNS rebinding, or a cross-site request) is
    // refused, and so is a Host name the server was not told about.
    let (status, head, _) = server.post(
        &[
            ("Authorization", &bearer),
            ("Origin", "http://attacker.example"),
        ],
        &initialize,
    );
    assert_eq!(status, 403, "{head}");
    let (status, head, _) = server.post(
        &[("Authorization", &bearer), ("Host", "attacker.example")],
        &initialize,
    );
    assert!(status == 403 || status == 400, "{status}: {head}");
    let (status, head, _) = server.post(&[("Authorization", &bearer)], &initialize);
    assert_eq!(status, 200, "{head}");
    let (status, _, _) = server.post(&[("Authorization", &bearer)], "not json");
    assert!((400..500).contains(&status), "{status}");
    let padding = "p".repeat(20_000);
    let (status, head, _) = server.post(&[("X-Padding", &padding)], &initialize);
    assert_eq!(status, 431, "a request head is bounded: {head}");

    let driven = server.drive(
        &[("Authorization", &bearer)],
        json!([{"op": "listTools"}]),
        &SECRETS,
    );
    assert_eq!(driven.results[0]["tools"].as_array().unwrap().len(), 3);
    assert!(
        services.op.requests().is_empty(),
        "a refused request reached 1Password"
    );
    let (code, stderr) = server.stop(&SECRETS);
    assert_eq!(code, 143, "{stderr}");
}

#[test]
fn beyond_loopback_the_server_needs_a_token_and_the_names_clients_use() {
    let services = Services::new();
    let env = services.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let open = support::tenant_sync(&["mcp", "--listen", "0.0.0.0:0"], &env, &SECRETS);
    assert_eq!(open.code, 2, "{}", open.stderr);
    assert!(
        open.stderr.contains("--bearer-token-file"),
        "{}",
        open.stderr
    );
    let short = support::temp_file("mcp-short-token", b"hunter2\n");
    let weak = support::tenant_sync(
        &[
            "mcp",
            "--listen",
            "127.0.0.1:0",
            "--bearer-token-file",
            short.to_str().unwrap(),
        ],
        &env,
        &["hunter2"],
    );
    assert_eq!(weak.code, 2, "{}", weak.stderr);
    assert!(weak.stderr.contains("openssl rand"), "{}", weak.stderr);
    let token_file = support::temp_file("mcp-bearer-token-any", BEARER.as_bytes());
    let anywhere = support::tenant_sync(
        &[
            "mcp",
            "--listen",
            "0.0.0.0:0",
            "--bearer-token-file",
            token_file.to_str().unwrap(),
        ],
        &env,
        &SECRETS,
    );
    assert_eq!(anywhere.code, 2, "{}", anywhere.stderr);
    assert!(
        anywhere.stderr.contains("--allow-host"),
        "{}",
        anywhere.stderr
    );
    assert!(services.op.requests().is_empty() && services.ak.requests().is_empty());
}

#[test]
fn sigterm_during_a_call_lets_it_answer_then_exits_143() {
    let services = Services::new();
    services
        .ak
        .set_latency(std::time::Duration::from_millis(1500));
    let server = services.http(&["--allow-writes"]);
    let pid = server.pid();
    let ak = &services.ak;
    let driven = std::thread::scope(|scope| {
        scope.spawn(|| {
            while ak.requests().is_empty() {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            // SAFETY: kill(2) on our own child's pid.
            unsafe { libc::kill(pid as i32, libc::SIGTERM) };
        });
        server.drive(
            &[],
            json!([call(SYNC, json!({"tenants": ["acme"]}))]),
            &SECRETS,
        )
    });
    let result = &driven.results[0];
    assert!(
        result["thrown"].is_null(),
        "the call got no answer: {result}"
    );
    assert!(result["content"].is_array(), "{result}");
    let (code, stderr) = server.stop(&SECRETS);
    assert_eq!(code, 143, "{stderr}");
    // Whatever the answer says was created is what the server holds.
    if let Some(groups) = result["structuredContent"]["groups"].as_array() {
        for group in groups {
            let name = group["group"].as_str().unwrap();
            let applied = group["status"] == "applied";
            assert_eq!(ak.group(name).is_some(), applied, "{group}");
        }
    }
}

#[test]
fn later_calls_read_the_item_by_its_ids_and_a_404_looks_it_up_by_name_again() {
    use tenant_sync_fakes::onepassword::route;
    use tenant_sync_fakes::server::Fault;
    let services = Services::new();
    let server = services.http(&[]);
    let mut read = 0;
    let mut sync = |tenant: &str, creates: u32| {
        let driven = server.drive(
            &[],
            json!([call(SYNC, json!({"tenants": [tenant], "dryRun": true}))]),
            &SECRETS,
        );
        let report = &driven.results[0]["structuredContent"];
        assert_eq!(report["summary"]["create"], creates, "{report}");
        let requests = services.op.requests();
        let paths: Vec<String> = requests[read..].iter().map(|r| r.path.clone()).collect();
        read = requests.len();
        paths
    };
    let looked_up = sync("acme", 2);
    assert_eq!(
        looked_up.len(),
        3,
        "vault, item by title, item: {looked_up:?}"
    );
    let item = looked_up[2].clone();
    assert_eq!(
        sync("globex", 1),
        std::slice::from_ref(&item),
        "the second call reads the item by id"
    );

    // Gone from where it was: looked up by name again, in the same call.
    services.op.inject(
        route::ITEM,
        1,
        Fault::Answer {
            status: 404,
            body: json!({"status": 404, "message": "item not found"}).to_string(),
        },
    );
    let again = sync("acme", 2);
    assert_eq!(again.len(), 4, "{again:?}");
    assert_eq!((&again[0], &again[3]), (&item, &item), "{again:?}");
    assert_eq!(&again[1..3], &looked_up[..2], "{again:?}");
}

/// A client that holds only the bearer token (or none, on loopback) must not learn a token's
/// start from how an error quotes its own text back: the component hides text before a `…`
/// that starts like a token, so a name ending in a guess and a `…` was an oracle.
#[test]
fn quoted_names_are_no_oracle_for_the_tokens() {
    let services = Services::new();
    let known = &AUTHENTIK_TOKEN[..12];
    let right = AUTHENTIK_TOKEN[12..13].to_owned();
    let probes: Vec<Value> = [right.as_str(), "#"]
        .iter()
        .map(|guess| {
            call(
                SYNC,
                json!({"groups": [format!("x{known}{guess}…")], "dryRun": true}),
            )
        })
        .collect();
    let driven = services.drive(&[], Value::Array(probes));
    let answers: Vec<String> = driven
        .results
        .iter()
        .map(|r| failure(r)["error"]["message"].as_str().unwrap().to_owned())
        .collect();
    for answer in &answers {
        assert!(!answer.contains("[redacted]"), "{answer}");
        assert!(
            answer.contains(known),
            "the name is quoted back whole: {answer}"
        );
    }
    assert_eq!(
        answers[0].replacen(&format!("{known}{right}"), "", 1),
        answers[1].replacen(&format!("{known}#"), "", 1),
        "the right guess reads differently from a wrong one"
    );
}

#[test]
fn a_bad_mapping_in_1password_is_a_tool_error_naming_the_entry_and_nothing_is_written() {
    let services = Services::new();
    let op = FakeOnePassword::start(OP_TOKEN);
    let bad = json!({"version": 1, "mappings": [
        {"authentikGroup": "acme-admins", "fcTenantId": "acme", "fcRole": "admin"},
        {"authentikGroup": "acme-users", "fcTenantId": "acme", "fcRole": ""},
    ]});
    op.seed_mapping_field(
        defaults::VAULT,
        defaults::ITEM,
        defaults::FIELD,
        &bad.to_string(),
    );
    let mut env = services.env();
    env.retain(|(k, _)| *k != "OP_CONNECT_HOST");
    env.push(("OP_CONNECT_HOST", op.url()));
    let driven = services.drive_with(
        &["--allow-writes"],
        &env,
        json!([call(SYNC, json!({"tenants": ["acme"]}))]),
    );
    let document = failure(&driven.results[0]);
    assert_eq!(document["error"]["kind"], "invalid-mapping", "{document}");
    let issue = &document["error"]["issues"][0];
    assert_eq!(
        (&issue["entry"], &issue["field"]),
        (&json!(1), &json!("fcRole")),
        "{document}"
    );
    assert!(services.ak.writes().is_empty(), "a bad mapping wrote");
}
