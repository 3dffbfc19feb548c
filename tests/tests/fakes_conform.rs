//! The fakes must not drift from the real APIs: their answers are validated against the
//! OpenAPI schemas in `shared/api/` (path from `TENANT_SYNC_API_DIR`, else `../shared/api`
//! beside the repository). A missing document fails the test; it never skips.

use serde_json::{Map, Value, json};
use std::path::PathBuf;
use std::sync::OnceLock;
use tenant_sync_tests::*;
use ureq::Agent;

fn api_dir() -> PathBuf {
    let dir = std::env::var_os("TENANT_SYNC_API_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/api"));
    assert!(
        dir.join("authentik-schema.yml").is_file()
            && dir.join("1password-connect-spec.yaml").is_file(),
        "the API documents are missing from {}; check out ../shared beside the repository or set TENANT_SYNC_API_DIR",
        dir.display()
    );
    dir
}

fn load(name: &str) -> Value {
    let text = std::fs::read_to_string(api_dir().join(name)).unwrap();
    serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{name} is not YAML: {e}"))
}

fn authentik_spec() -> &'static Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(|| load("authentik-schema.yml"))
}

fn onepassword_spec() -> &'static Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(|| load("1password-connect-spec.yaml"))
}

/// OpenAPI 3.0 `nullable: true` in JSON Schema terms, everywhere in the tree.
fn json_schema(openapi: &Value) -> Value {
    match openapi {
        Value::Object(map) => {
            let mut out: Map<String, Value> = map
                .iter()
                .map(|(k, v)| (k.clone(), json_schema(v)))
                .collect();
            if out.remove("nullable") == Some(Value::Bool(true)) {
                return json!({"anyOf": [Value::Object(out), {"type": "null"}]});
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(json_schema).collect()),
        other => other.clone(),
    }
}

/// Asserts `instance` matches `schema` (which may `$ref` into the spec's components).
fn assert_matches(spec: &Value, schema: Value, instance: &Value, what: &str) {
    let root = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "components": json_schema(&spec["components"]),
        "allOf": [json_schema(&schema)],
    });
    let validator = jsonschema::draft202012::new(&root).expect("the schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what} does not match the schema:\n{}\n{instance:#}",
        errors.join("\n")
    );
}

fn component(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn agent() -> Agent {
    Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

fn call(method: &str, url: &str, token: Option<&str>, body: Option<Value>) -> (u16, Value) {
    let agent = agent();
    let auth = token.map(|t| format!("Bearer {t}"));
    let response = match (method, body) {
        ("GET", None) => {
            let mut request = agent.get(url);
            if let Some(a) = &auth {
                request = request.header("authorization", a);
            }
            request.call()
        }
        (method, Some(body)) => {
            let mut request = match method {
                "POST" => agent.post(url),
                "PATCH" => agent.patch(url),
                "PUT" => agent.put(url),
                other => panic!("{other}"),
            };
            if let Some(a) = &auth {
                request = request.header("authorization", a);
            }
            request
                .content_type("application/json")
                .send(body.to_string())
        }
        (other, None) => panic!("{other} without body"),
    };
    let mut response = response.unwrap();
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// The schema the spec documents for `method path` answering `status` as JSON.
fn documented(spec: &Value, path: &str, method: &str, status: u16) -> Value {
    let mut response = &spec["paths"][path][method]["responses"][status.to_string()];
    if let Some(reference) = response.get("$ref").and_then(Value::as_str) {
        let name = reference.rsplit('/').next().unwrap();
        response = &spec["components"]["responses"][name];
    }
    let schema = &response["content"]["application/json"]["schema"];
    assert!(
        !schema.is_null(),
        "the spec documents no JSON {status} for {method} {path}"
    );
    schema.clone()
}

#[test]
fn authentik_fake_answers_match_the_openapi_schema() {
    let spec = authentik_spec();
    let ak = FakeAuthentik::start(AUTHENTIK_TOKEN);
    ak.seed_group("member-group", json!({"k": {"nested": true}}), &[1, 2]);
    let base = format!("{}/api/v3/core/groups/", ak.url());
    let list = "/core/groups/";
    let one = "/core/groups/{group_uuid}/";

    for query in [
        "?include_users=false&page_size=100",
        "?include_users=true",
        "?name=member-group",
    ] {
        let (status, body) = call(
            "GET",
            &format!("{base}{query}"),
            Some(AUTHENTIK_TOKEN),
            None,
        );
        assert_eq!(status, 200);
        assert_matches(
            spec,
            documented(spec, list, "get", 200),
            &body,
            &format!("list {query}"),
        );
    }
    let (status, created) = call(
        "POST",
        &base,
        Some(AUTHENTIK_TOKEN),
        Some(json!({"name": "new", "attributes": {"a": 1}})),
    );
    assert_eq!(status, 201);
    assert_matches(
        spec,
        documented(spec, list, "post", 201),
        &created,
        "create",
    );
    let pk = created["pk"].as_str().unwrap();
    let (status, fetched) = call(
        "GET",
        &format!("{base}{pk}/?include_users=false"),
        Some(AUTHENTIK_TOKEN),
        None,
    );
    assert_eq!(status, 200);
    assert_matches(
        spec,
        documented(spec, one, "get", 200),
        &fetched,
        "retrieve",
    );
    let (status, patched) = call(
        "PATCH",
        &format!("{base}{pk}/"),
        Some(AUTHENTIK_TOKEN),
        Some(json!({"attributes": {"b": 2}})),
    );
    assert_eq!(status, 200);
    assert_matches(spec, documented(spec, one, "patch", 200), &patched, "patch");

    let (status, duplicate) = call(
        "POST",
        &base,
        Some(AUTHENTIK_TOKEN),
        Some(json!({"name": "new"})),
    );
    assert_eq!(status, 400);
    assert_matches(
        spec,
        documented(spec, list, "post", 400),
        &duplicate,
        "duplicate name",
    );
    let (status, denied) = call("GET", &base, Some("wrong-token"), None);
    assert_eq!(status, 403);
    assert_matches(
        spec,
        documented(spec, list, "get", 403),
        &denied,
        "bad token",
    );
    let (status, missing) = call(
        "GET",
        &format!("{base}?page=9"),
        Some(AUTHENTIK_TOKEN),
        None,
    );
    assert_eq!(status, 404);
    assert_matches(spec, component("GenericError"), &missing, "invalid page");
}

#[test]
fn authentik_fake_behaves_as_observed() {
    let ak = FakeAuthentik::start(AUTHENTIK_TOKEN);
    for i in 0..150 {
        ak.seed_group(&format!("g{i:03}"), json!({}), &[]);
    }
    let base = format!("{}/api/v3/core/groups/", ak.url());
    let get = |q: &str| call("GET", &format!("{base}{q}"), Some(AUTHENTIK_TOKEN), None);
    assert_eq!(
        get("").1["results"].as_array().unwrap().len(),
        20,
        "default page size"
    );
    for size in ["101", "1000"] {
        assert_eq!(
            get(&format!("?page_size={size}")).1["results"]
                .as_array()
                .unwrap()
                .len(),
            100,
            "cap"
        );
    }
    for size in ["0", "-5", "abc"] {
        assert_eq!(
            get(&format!("?page_size={size}")).1["results"]
                .as_array()
                .unwrap()
                .len(),
            20
        );
    }
    let (_, last) = get("?page=2&page_size=100");
    assert_eq!(last["pagination"]["next"], 0);
    assert_eq!(last["pagination"]["previous"], 1);
    assert_eq!(
        get("?page=3&page_size=100"),
        (404, json!({"detail": "Invalid page."}))
    );
    assert_eq!(
        get("?name=G001").1["results"].as_array().unwrap().len(),
        0,
        "exact, case-sensitive"
    );
    assert_eq!(
        get("?name__icontains=g001").1["pagination"]["count"],
        150,
        "unknown filters ignored"
    );
    assert_eq!(
        get("?include_users=false").1["results"][0]["users_obj"],
        Value::Null
    );
    assert_eq!(
        call("GET", &base, None, None),
        (
            403,
            json!({"detail": "Authentication credentials were not provided."})
        )
    );

    // PATCH replaces `attributes` whole; PUT without `users` drops the members.
    let pk = ak.seed_group("m", json!({"a": 1, "nested": {"x": 1, "y": 2}}), &[5]);
    let (_, patched) = call(
        "PATCH",
        &format!("{base}{pk}/"),
        Some(AUTHENTIK_TOKEN),
        Some(json!({"attributes": {"nested": {"x": 9}, "b": 2}})),
    );
    assert_eq!(patched["attributes"], json!({"nested": {"x": 9}, "b": 2}));
    assert_eq!(patched["users"], json!([5]));
    let (_, put) = call(
        "PUT",
        &format!("{base}{pk}/"),
        Some(AUTHENTIK_TOKEN),
        Some(json!({"name": "m", "attributes": {}})),
    );
    assert_eq!(put["users"], json!([]));
    assert_eq!(
        call(
            "PATCH",
            &format!("{base}00000000-0000-4000-8000-000000000000/"),
            Some(AUTHENTIK_TOKEN),
            Some(json!({}))
        ),
        (404, json!({"detail": "No Group matches the given query."}))
    );
    assert_eq!(
        call(
            "POST",
            &base,
            Some(AUTHENTIK_TOKEN),
            Some(json!({"name": "x", "attributes": [1]}))
        ),
        (
            400,
            json!({"attributes": ["Value must be a dictionary, and not have any duplicate keys."]})
        )
    );
}

#[test]
fn onepassword_fake_answers_match_the_openapi_schema() {
    let spec = onepassword_spec();
    let op = FakeOnePassword::start(OP_TOKEN);
    let vault = op.add_vault(VAULT);
    let item = op.add_item(
        &vault,
        ITEM,
        vec![
            Content::Field {
                label: "mapping".into(),
                value: "{}".into(),
            },
            Content::File {
                name: "m.json".into(),
                content: b"{}".to_vec(),
            },
        ],
    );
    let base = format!("{}/v1", op.url());
    let (status, vaults) = call("GET", &format!("{base}/vaults"), Some(OP_TOKEN), None);
    assert_eq!(status, 200);
    assert_matches(
        spec,
        documented(spec, "/vaults", "get", 200),
        &vaults,
        "vault list",
    );
    let filter = "filter=title%20eq%20%22flowercore-tenant-mapping%22";
    let (status, items) = call(
        "GET",
        &format!("{base}/vaults/{vault}/items?{filter}"),
        Some(OP_TOKEN),
        None,
    );
    assert_eq!(status, 200);
    assert_eq!(items.as_array().unwrap().len(), 1);
    assert_matches(
        spec,
        documented(spec, "/vaults/{vaultUuid}/items", "get", 200),
        &items,
        "item list",
    );
    let (status, full) = call(
        "GET",
        &format!("{base}/vaults/{vault}/items/{item}"),
        Some(OP_TOKEN),
        None,
    );
    assert_eq!(status, 200);
    assert_matches(
        spec,
        documented(spec, "/vaults/{vaultUuid}/items/{itemUuid}", "get", 200),
        &full,
        "full item",
    );

    let (status, unauthorized) = call("GET", &format!("{base}/vaults"), Some("bad"), None);
    assert_eq!(status, 401);
    assert_eq!(
        unauthorized,
        json!({"status": 401, "message": "Invalid token signature"})
    );
    assert_matches(
        spec,
        documented(spec, "/vaults", "get", 401),
        &unauthorized,
        "401",
    );
    let (status, missing) = call(
        "GET",
        &format!("{base}/vaults/{vault}/items/aaaaaaaaaaaaaaaaaaaaaaaaaa"),
        Some(OP_TOKEN),
        None,
    );
    assert_eq!(status, 404);
    assert_matches(
        spec,
        documented(spec, "/vaults/{vaultUuid}/items/{itemUuid}", "get", 404),
        &missing,
        "404",
    );
}

/// The real server reads a request body only when it has a `Content-Length` (OBSERVED.md,
/// "Request bodies"); so must the fake, or a client that sends chunked bodies passes every test
/// and fails in production. Each rule is shown failing the old, chunked behaviour.
mod body_framing {
    use super::*;
    use tenant_sync_peer::{Framing, wire};

    const GROUPS: &str = "/api/v3/core/groups/";

    fn send(
        ak: &FakeAuthentik,
        method: &str,
        target: &str,
        body: &Value,
        framing: Framing,
    ) -> (u16, Value) {
        let bytes = body.to_string().into_bytes();
        let answer = wire::send(
            &ak.url(),
            method,
            target,
            Some(AUTHENTIK_TOKEN),
            Some((&bytes, framing)),
        );
        (answer.status, answer.json())
    }

    #[test]
    fn a_chunked_create_reads_as_empty_and_creates_nothing() {
        let ak = FakeAuthentik::start(AUTHENTIK_TOKEN);
        let body = json!({"name": "chunked", "attributes": {"k": 1}});
        let (status, answer) = send(&ak, "POST", GROUPS, &body, Framing::Chunked);
        assert_eq!(
            (status, answer),
            (400, json!({"name": ["This field is required."]}))
        );
        assert!(ak.groups().is_empty());
        assert_eq!(ak.requests()[0].content_length, None);

        let (status, _) = send(&ak, "POST", GROUPS, &body, Framing::ContentLength);
        assert_eq!(status, 201);
        assert_eq!(ak.group("chunked").unwrap().attributes["k"], 1);
    }

    #[test]
    fn a_chunked_patch_answers_200_and_changes_nothing() {
        let ak = FakeAuthentik::start(AUTHENTIK_TOKEN);
        let pk = ak.seed_group("g", json!({"team": "a"}), &[]);
        let target = format!("/api/v3/core/groups/{pk}/");
        let body = json!({"attributes": {"team": "b"}});
        let (status, answer) = send(&ak, "PATCH", &target, &body, Framing::Chunked);
        assert_eq!(status, 200);
        assert_eq!(answer["attributes"], json!({"team": "a"}));
        assert_eq!(ak.group("g").unwrap().attributes["team"], "a");

        let (status, answer) = send(&ak, "PATCH", &target, &body, Framing::ContentLength);
        assert_eq!(
            (status, &answer["attributes"]),
            (200, &json!({"team": "b"}))
        );
    }

    #[test]
    fn behind_a_strict_proxy_a_chunked_body_is_411() {
        let ak = FakeAuthentik::start(AUTHENTIK_TOKEN);
        ak.require_content_length();
        let body = json!({"name": "g"});
        let (status, _) = send(&ak, "POST", GROUPS, &body, Framing::Chunked);
        assert_eq!(status, 411);
        assert!(ak.requests().is_empty(), "the proxy must not pass it on");
        let (status, _) = send(&ak, "POST", GROUPS, &body, Framing::ContentLength);
        assert_eq!(status, 201);
    }
}
