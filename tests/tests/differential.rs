//! The fake Authentik against the real one (`../shared/authentik/`): the same sequence of
//! requests goes to both, and each answer must have the same status and the same shape (keys
//! and JSON types, all the way down); where the product reads a value (error texts, stored
//! attributes, pagination numbers), the value must match too. A fake kinder than the server
//! hides exactly the bugs that matter, so this keeps the fake honest from now on.

use serde_json::{Value, json};
use tenant_sync_peer::admin::encode;
use tenant_sync_peer::{Framing, Scratch, authentik, wire};
use tenant_sync_tests::FakeAuthentik;

#[derive(Clone, Copy)]
enum Auth {
    Token,
    Wrong,
    Missing,
}

struct Step {
    what: &'static str,
    auth: Auth,
    method: &'static str,
    /// `{A}` to `{D}` are group names, `{prefix}` their common prefix, `{pk}` the pk of
    /// group A on that server.
    target: &'static str,
    body: Option<(&'static str, Framing)>,
    content_type: &'static str,
    /// JSON pointers whose values must be equal too; `""` is the whole body.
    values: &'static [&'static str],
}

const GROUPS: &str = "/api/v3/core/groups/";

fn steps() -> Vec<Step> {
    use Framing::{Chunked, ContentLength};
    let step = |what, auth, method, target, body, values| Step {
        what,
        auth,
        method,
        target,
        body,
        content_type: "application/json",
        values,
    };
    vec![
        step(
            "no token",
            Auth::Missing,
            "GET",
            "/api/v3/core/groups/?page_size=1",
            None,
            &[""],
        ),
        step(
            "a wrong token",
            Auth::Wrong,
            "GET",
            "/api/v3/core/groups/?page_size=1",
            None,
            &[""],
        ),
        step(
            "create A",
            Auth::Token,
            "POST",
            GROUPS,
            Some((
                r#"{"name": "{A}", "attributes": {"team": "a", "nested": {"x": 1, "y": 2}}}"#,
                ContentLength,
            )),
            &[
                "/name",
                "/attributes",
                "/users",
                "/is_superuser",
                "/parents",
            ],
        ),
        step(
            "create A again",
            Auth::Token,
            "POST",
            GROUPS,
            Some((r#"{"name": "{A}", "attributes": {}}"#, ContentLength)),
            &[""],
        ),
        step(
            "create without a name",
            Auth::Token,
            "POST",
            GROUPS,
            Some((r#"{"attributes": {}}"#, ContentLength)),
            &[""],
        ),
        step(
            "create with a blank name",
            Auth::Token,
            "POST",
            GROUPS,
            Some((r#"{"name": "  "}"#, ContentLength)),
            &[""],
        ),
        step(
            "create with attributes that are not an object",
            Auth::Token,
            "POST",
            GROUPS,
            Some((r#"{"name": "{B}", "attributes": [1]}"#, ContentLength)),
            &[""],
        ),
        step(
            "create with a chunked body",
            Auth::Token,
            "POST",
            GROUPS,
            Some((r#"{"name": "{C}", "attributes": {"k": 1}}"#, Chunked)),
            &[""],
        ),
        step(
            "create with spaces around the name",
            Auth::Token,
            "POST",
            GROUPS,
            Some((r#"{"name": "  {D}  ", "attributes": {}}"#, ContentLength)),
            &["/name"],
        ),
        step(
            "look up the trimmed name",
            Auth::Token,
            "GET",
            "/api/v3/core/groups/?include_users=false&name={D}",
            None,
            &["/pagination/count"],
        ),
        step(
            "create with a NUL in the name",
            Auth::Token,
            "POST",
            GROUPS,
            Some((r#"{"name": "{B}\u0000x"}"#, ContentLength)),
            &[""],
        ),
        Step {
            content_type: "text/plain",
            ..step(
                "create with a body that is not labelled JSON",
                Auth::Token,
                "POST",
                GROUPS,
                Some((r#"{"name": "{B}"}"#, ContentLength)),
                &[""],
            )
        },
        Step {
            content_type: "",
            ..step(
                "create with a body without a content type",
                Auth::Token,
                "POST",
                GROUPS,
                Some((r#"{"name": "{B}"}"#, ContentLength)),
                &[""],
            )
        },
        step(
            "look up the chunked create",
            Auth::Token,
            "GET",
            "/api/v3/core/groups/?include_users=false&name={C}",
            None,
            &["/results", "/pagination/count"],
        ),
        step(
            "look up A by exact name",
            Auth::Token,
            "GET",
            "/api/v3/core/groups/?include_users=false&name={A}",
            None,
            &[
                "/pagination/count",
                "/results/0/name",
                "/results/0/users_obj",
            ],
        ),
        step(
            "read A without users",
            Auth::Token,
            "GET",
            "/api/v3/core/groups/{pk}/?include_users=false",
            None,
            &["/attributes", "/users_obj"],
        ),
        step(
            "patch A's attributes",
            Auth::Token,
            "PATCH",
            "/api/v3/core/groups/{pk}/",
            Some((
                r#"{"attributes": {"nested": {"x": 9}, "b": 2}}"#,
                ContentLength,
            )),
            &["/name", "/attributes"],
        ),
        step(
            "patch A with a chunked body",
            Auth::Token,
            "PATCH",
            "/api/v3/core/groups/{pk}/",
            Some((r#"{"attributes": {"z": 1}}"#, Chunked)),
            &["/attributes"],
        ),
        step(
            "read A back",
            Auth::Token,
            "GET",
            "/api/v3/core/groups/{pk}/",
            None,
            &["/attributes"],
        ),
        step(
            "patch a group that does not exist",
            Auth::Token,
            "PATCH",
            "/api/v3/core/groups/00000000-0000-4000-8000-000000000000/",
            Some((r#"{"attributes": {}}"#, ContentLength)),
            &[""],
        ),
        step(
            "read a pk that is not a uuid",
            Auth::Token,
            "GET",
            "/api/v3/core/groups/not-a-uuid/",
            None,
            &[],
        ),
        step(
            "a page past the end",
            Auth::Token,
            "GET",
            "/api/v3/core/groups/?search={prefix}&page=999",
            None,
            &[""],
        ),
        step(
            "an unusable page size",
            Auth::Token,
            "GET",
            "/api/v3/core/groups/?search={prefix}&ordering=name&page_size=abc",
            None,
            &["/pagination"],
        ),
        step(
            "a page size above the cap",
            Auth::Token,
            "GET",
            "/api/v3/core/groups/?search={prefix}&ordering=name&include_users=false&page_size=1000",
            None,
            &["/pagination", "/results/0/name", "/results/0/attributes"],
        ),
    ]
}

/// One server's answers to the whole sequence.
fn play(url: &str, token: &str, names: &Names) -> Vec<wire::Answer> {
    let mut pk = String::new();
    steps()
        .iter()
        .map(|step| {
            let fill = |text: &str, escape: fn(&str) -> String| {
                text.replace("{A}", &escape(&names.a))
                    .replace("{B}", &escape(&names.b))
                    .replace("{C}", &escape(&names.c))
                    .replace("{D}", &escape(&names.d))
                    .replace("{prefix}", &escape(&names.prefix))
                    .replace("{pk}", &pk)
            };
            let target = fill(step.target, encode);
            let body = step
                .body
                .map(|(text, framing)| (fill(text, |s| s.to_owned()), framing));
            let token = match step.auth {
                Auth::Token => Some(token),
                Auth::Wrong => Some("not-a-valid-token"),
                Auth::Missing => None,
            };
            let answer = wire::send_typed(
                url,
                step.method,
                &target,
                token,
                body.as_ref()
                    .map(|(text, framing)| (text.as_bytes(), *framing)),
                step.content_type,
            );
            if step.what == "create A" {
                pk = answer.json()["pk"].as_str().unwrap_or_default().to_owned();
            }
            answer
        })
        .collect()
}

struct Names {
    prefix: String,
    a: String,
    b: String,
    c: String,
    d: String,
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Where `fake` and `real` differ in shape: keys present on one side only, or another type.
/// Arrays are compared by their first items when both have one.
fn shape_differences(path: &str, fake: &Value, real: &Value, out: &mut Vec<String>) {
    match (fake, real) {
        (Value::Object(f), Value::Object(r)) => {
            for key in f.keys().filter(|k| !r.contains_key(*k)) {
                out.push(format!("{path}/{key}: only the fake sends it"));
            }
            for key in r.keys().filter(|k| !f.contains_key(*k)) {
                out.push(format!(
                    "{path}/{key}: only the real server sends it ({})",
                    r[key]
                ));
            }
            for (key, value) in f {
                if let Some(other) = r.get(key) {
                    shape_differences(&format!("{path}/{key}"), value, other, out);
                }
            }
        }
        (Value::Array(f), Value::Array(r)) => {
            if let (Some(f), Some(r)) = (f.first(), r.first()) {
                shape_differences(&format!("{path}/0"), f, r, out);
            }
        }
        _ if type_name(fake) != type_name(real) => out.push(format!(
            "{path}: the fake sends {} ({fake}), the real server {} ({real})",
            type_name(fake),
            type_name(real)
        )),
        _ => {}
    }
}

fn is_json(answer: &wire::Answer) -> bool {
    answer
        .header("content-type")
        .is_some_and(|t| t.contains("json"))
}

#[test]
fn the_fake_answers_like_the_real_authentik() {
    let peer = authentik();
    let scratch = Scratch::new(peer, "differential");
    let names = Names {
        prefix: scratch.prefix.clone(),
        a: scratch.name("R&D a+b ü"),
        b: scratch.name("b"),
        c: scratch.name("c"),
        d: scratch.name("d"),
    };
    let fake = FakeAuthentik::start(&peer.token);
    let from_fake = play(&fake.url(), &peer.token, &names);
    let from_real = play(&peer.url, &peer.token, &names);

    let mut differences = Vec::new();
    for ((step, f), r) in steps().iter().zip(&from_fake).zip(&from_real) {
        let mut found = Vec::new();
        if f.status != r.status {
            found.push(format!(
                "status: the fake answers {}, the real server {}",
                f.status, r.status
            ));
        }
        if is_json(f) != is_json(r) {
            found.push(format!(
                "content type: the fake sends {:?}, the real server {:?}",
                f.header("content-type"),
                r.header("content-type")
            ));
        }
        let (fj, rj) = (f.json(), r.json());
        shape_differences("", &fj, &rj, &mut found);
        for pointer in step.values {
            let (fv, rv) = (fj.pointer(pointer), rj.pointer(pointer));
            if fv != rv {
                found.push(format!(
                    "{pointer:?}: the fake has {fv:?}, the real server {rv:?}"
                ));
            }
        }
        differences.extend(
            found
                .into_iter()
                .map(|d| format!("{} {} ({}): {d}", step.method, step.target, step.what)),
        );
    }
    assert!(
        differences.is_empty(),
        "the fake differs from the real Authentik {}:\n{}",
        peer.version(),
        differences.join("\n")
    );
}

#[test]
fn shape_differences_finds_keys_and_types() {
    let mut found = Vec::new();
    shape_differences(
        "",
        &json!({"a": 1, "only_fake": true, "list": [{"x": "s"}], "empty": []}),
        &json!({"a": "1", "only_real": null, "list": [{"x": 2}], "empty": [{"y": 1}]}),
        &mut found,
    );
    found.sort();
    assert_eq!(
        found,
        [
            "/a: the fake sends number (1), the real server string (\"1\")",
            "/list/0/x: the fake sends string (\"s\"), the real server number (2)",
            "/only_fake: only the fake sends it",
            "/only_real: only the real server sends it (null)",
        ]
    );
}
