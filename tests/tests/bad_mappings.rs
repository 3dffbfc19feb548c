//! A corpus of malformed mapping documents: each one is refused as an invalid mapping (exit 3)
//! with a message naming the problem, and Authentik is never contacted.

use serde_json::json;
use tenant_sync::bindings::types::{MappingSource, SyncError};
use tenant_sync::outcome::{Exit, exit_code};
use tenant_sync_tests::*;

fn entry(group: &str) -> serde_json::Value {
    json!({"authentikGroup": group, "fcTenantId": "t", "fcRole": "r"})
}

fn corpus() -> Vec<(&'static str, String, &'static str)> {
    let many: Vec<_> = (0..100_001).map(|i| entry(&format!("g{i}"))).collect();
    vec![
        ("syntax error", r#"{"version": 1, "mappings": [}"#.into(), "not valid JSON"),
        ("trailing garbage", r#"{"version": 1, "mappings": []} x"#.into(), "not valid JSON"),
        ("empty document", "".into(), "the document is empty"),
        ("whitespace only", " \n\t ".into(), "the document is empty"),
        ("top-level list", "[]".into(), "must be a JSON object"),
        ("top-level string", "\"mapping\"".into(), "must be a JSON object"),
        ("version 0", json!({"version": 0, "mappings": [entry("g")]}).to_string(), "got 0"),
        ("version 2", json!({"version": 2, "mappings": [entry("g")]}).to_string(), "got 2"),
        ("version \"1\"", json!({"version": "1", "mappings": [entry("g")]}).to_string(), "got \"1\""),
        ("no version", json!({"mappings": [entry("g")]}).to_string(), "version: missing"),
        ("mappings null", json!({"version": 1, "mappings": null}).to_string(), "must be a list"),
        ("mappings object", json!({"version": 1, "mappings": {"g": entry("g")}}).to_string(), "must be a list"),
        ("empty mappings", json!({"version": 1, "mappings": []}).to_string(), "mappings: is empty"),
        ("100k+1 entries", json!({"version": 1, "mappings": many}).to_string(), "more than the 100000"),
        ("entry not an object", json!({"version": 1, "mappings": [1]}).to_string(), "mappings[0]: must be an object"),
        ("null field", json!({"version": 1, "mappings": [{"authentikGroup": "g", "fcTenantId": "t", "fcRole": null}]}).to_string(), "fcRole: must be a non-empty string, got null"),
        ("number field", json!({"version": 1, "mappings": [{"authentikGroup": 5, "fcTenantId": "t", "fcRole": "r"}]}).to_string(), "authentikGroup: must be a non-empty string, got a number"),
        ("flag as string", json!({"version": 1, "mappings": [{"authentikGroup": "g", "fcTenantId": "t", "fcRole": "r", "regulated": "true"}]}).to_string(), "regulated: must be true or false"),
        ("control character", json!({"version": 1, "mappings": [entry("bell\u{7}group")]}).to_string(), "U+0007"),
        ("newline in a value", json!({"version": 1, "mappings": [{"authentikGroup": "g", "fcTenantId": "t\nx", "fcRole": "r"}]}).to_string(), "U+000A"),
        ("padded tenant", json!({"version": 1, "mappings": [{"authentikGroup": "g", "fcTenantId": " t", "fcRole": "r"}]}).to_string(), "whitespace"),
        ("repeated key", r#"{"version": 1, "mappings": [{"authentikGroup": "g", "fcTenantId": "t", "fcRole": "user", "fcRole": "SuperAdmin"}]}"#.into(), "repeats the key \"fcRole\""),
        ("zero-width name", json!({"version": 1, "mappings": [entry("acme\u{200b}-admins")]}).to_string(), "invisible character U+200B"),
        ("bidi override in a tenant", json!({"version": 1, "mappings": [{"authentikGroup": "g", "fcTenantId": "\u{202e}emca", "fcRole": "r"}]}).to_string(), "invisible character U+202E"),
        ("paragraph separator", json!({"version": 1, "mappings": [entry("a\u{2029}b")]}).to_string(), "invisible character U+2029"),
        ("byte-order mark", format!("\u{feff}{}", json!({"version": 1, "mappings": [entry("g")]})), "byte-order mark"),
        ("huge name", json!({"version": 1, "mappings": [entry(&"n".repeat(100_000))]}).to_string(), "characters long"),
        ("huge document", json!({"version": 1, "mappings": [entry("g")], "padding": "p".repeat(17 * 1024 * 1024)}).to_string(), "more than the 16777216"),
        ("deeply nested junk", format!("{{\"version\": 1, \"mappings\": {}{}}}", "[".repeat(100_000), "]".repeat(100_000)), "recursion limit exceeded"),
        ("conflicting duplicate", json!({"version": 1, "mappings": [entry("g"), {"authentikGroup": "g", "fcTenantId": "other", "fcRole": "r"}]}).to_string(), "conflicts with mappings[0]"),
    ]
}

fn texts(issues: &[tenant_sync::bindings::types::ValidationIssue]) -> Vec<String> {
    issues
        .iter()
        .map(|i| tenant_sync::convert::issue(i).to_string())
        .collect()
}

#[tokio::test]
async fn every_malformed_document_is_refused_naming_the_problem() {
    for (name, document, expected) in corpus() {
        let world = World::new();
        let mut options = world.options(false);
        options.source = MappingSource::Inline(document);
        let run = world.run_with(&options, &world.grants()).await;
        assert_eq!(
            exit_code(&run.result),
            Exit::InvalidMapping,
            "{name}: {:?}",
            run.result
        );
        let SyncError::InvalidMapping(issues) = run.error() else {
            panic!("{name}")
        };
        let texts = texts(issues);
        assert!(
            texts.iter().any(|t| t.contains(expected)),
            "{name}: {texts:?} lacks {expected:?}"
        );
        assert!(
            world.ak.requests().is_empty(),
            "{name}: Authentik was contacted"
        );
    }
}

#[tokio::test]
async fn the_pure_validate_export_agrees() {
    for (name, document, expected) in corpus() {
        let issues = runtime()
            .validate(&document, &Default::default())
            .await
            .unwrap()
            .expect_err(name);
        let texts = texts(&issues);
        assert!(
            texts.iter().any(|t| t.contains(expected)),
            "{name}: {texts:?}"
        );
    }
}

/// What JSON Schema cannot express, so `tenant-sync schema` accepts it while `validate` refuses
/// (the schema's description names each one).
const BEYOND_A_SCHEMA: [&str; 3] = [
    "huge document",         // the document's size in bytes
    "repeated key",          // a JSON parser keeps one of the two values
    "conflicting duplicate", // two entries for one group that disagree
];

#[test]
fn the_json_schema_and_the_validator_agree_on_every_corpus_document() {
    let schema = tenant_sync_core::mapping_schema::json_schema();
    let validator = jsonschema::draft202012::new(&schema).expect("the schema compiles");
    let valid = [
        json!({"version": 1, "mappings": [entry("g")]}),
        json!({"version": 1, "note": "x", "mappings": [
            {"authentikGroup": "R&D admins", "fcTenantId": "*", "fcRole": "SuperAdmin"},
            {"authentikGroup": "ümlaut", "fcTenantId": "t", "fcRole": "r", "label": "Ü", "regulated": true,
             "strictMode": false, "colour": "red"}]}),
    ];
    for document in &valid {
        assert!(tenant_sync_core::mapping::validate(&document.to_string()).is_ok());
        assert!(validator.is_valid(document), "{document}");
    }
    for (name, document, _) in corpus() {
        // A document JSON cannot parse is refused by both; serde_json is what editors' parsers
        // are to the schema.
        let schema_accepts = serde_json::from_str::<serde_json::Value>(&document)
            .is_ok_and(|value| validator.is_valid(&value));
        assert_eq!(
            schema_accepts,
            BEYOND_A_SCHEMA.contains(&name),
            "{name}: the schema {} it",
            if schema_accepts { "accepts" } else { "refuses" }
        );
    }
}
