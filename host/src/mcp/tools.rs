//! The MCP tools: their names, descriptions, schemas and annotations, and each call's arguments
//! read into what it asks for. Pure: the server (`server.rs`) runs what these decide.

use serde::Deserialize;
use serde_json::{Map, Value, json};
use tenant_sync_core::mapping::MAX_VALUE_CHARS;
use tenant_sync_core::report_schema;
use tenant_sync_core::untrusted::{excerpt, terminal_safe};

/// The hot path: the runbook's name for it.
pub const SYNC: &str = "authentik_sync_tenant_mapping";
pub const PLAN: &str = "plan";
pub const VALIDATE: &str = "validate_mapping";

/// The mapping's JSON Schema, as a resource.
pub const MAPPING_SCHEMA_URI: &str = "tenant-sync://schema/mapping.json";

/// Most groups the `plan` tool lists; the summary always counts all of them.
pub const PLAN_MAX_GROUPS: usize = 200;

/// Longest inline mapping `validate_mapping` takes: the mapping's own byte limit is checked by
/// the component, and this keeps a runaway argument from reaching it.
pub const MAX_INLINE_MAPPING_BYTES: usize = 4 * 1024 * 1024;

/// Most tenants and groups one sync call names: a call is the hot path for a few tenants; the
/// `plan` tool and the nightly run are for the whole mapping.
pub const MAX_NAMES: usize = 100;

/// One tool as `tools/list` shows it.
#[derive(Debug, Clone)]
pub struct ToolSpec {
    pub name: &'static str,
    pub title: &'static str,
    pub description: String,
    pub input: Value,
    pub output: Value,
    pub read_only: bool,
    /// Whether it reaches the services (1Password, Authentik).
    pub open_world: bool,
}

/// Every tool, in the order `tools/list` gives them.
pub fn all(allow_writes: bool) -> Vec<ToolSpec> {
    let writes = if allow_writes {
        "This server was started with --allow-writes: without dryRun, the changes are applied."
    } else {
        "This server was started without --allow-writes, so it never writes: every call is answered with the plan (dryRun is true in the report). Start it with `tenant-sync mcp --allow-writes` to apply."
    };
    vec![
        ToolSpec {
            name: SYNC,
            title: "Sync tenants' groups to Authentik",
            description: format!(
                "Reconcile the named tenants' and/or groups' entries of the tenant mapping (kept in 1Password) into Authentik groups now: create each missing group and correct the managed attributes (fc:managed-by, fc:tenant, fc:role, fc:label, fc:regulated, fc:strict-mode) where they drifted. Never deletes, disables or touches a group it does not manage. Returns the run report (the same document as `tenant-sync run --output json`) and the plan table. {writes}"
            ),
            input: object(
                json!({
                    "tenants": names("Tenant ids (fcTenantId) whose groups to reconcile."),
                    "groups": names("Authentik group names (authentikGroup) to reconcile."),
                    "dryRun": {"type": "boolean", "default": false, "description": "Plan only: read everything, write nothing."},
                }),
                &[],
                Some(json!([
                    {"required": ["tenants"], "properties": {"tenants": {"minItems": 1}}},
                    {"required": ["groups"], "properties": {"groups": {"minItems": 1}}},
                ])),
            ),
            output: report_schema::report(),
            read_only: false,
            open_world: true,
        },
        ToolSpec {
            name: PLAN,
            title: "Plan the whole mapping",
            description: format!(
                "A dry run of the whole tenant mapping against Authentik: the totals by action and the groups that would change (at most {PLAN_MAX_GROUPS}; `omitted` counts the rest). Writes nothing."
            ),
            input: object(json!({}), &[], None),
            output: plan_schema(),
            read_only: true,
            open_world: true,
        },
        ToolSpec {
            name: VALIDATE,
            title: "Validate a mapping document",
            description: "Check a tenant mapping document offline, as `tenant-sync validate` does: the normalized groups it maps, or every problem with its entry and field. Reads nothing from 1Password or Authentik.".into(),
            input: object(
                json!({
                    "document": {
                        "description": "The mapping document: its JSON text (checked exactly as stored, repeated keys included) or the JSON object itself.",
                        "type": ["string", "object"],
                    },
                }),
                &["document"],
                None,
            ),
            output: validated_schema(),
            read_only: true,
            open_world: false,
        },
    ]
}

fn object(properties: Value, required: &[&str], any_of: Option<Value>) -> Value {
    let mut schema = json!({
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    });
    if let Some(any_of) = any_of {
        schema["anyOf"] = any_of;
    }
    schema
}

fn names(description: &str) -> Value {
    json!({
        "type": "array",
        "items": {"type": "string", "minLength": 1},
        "uniqueItems": true,
        "description": description,
    })
}

/// What `plan` answers: the report's totals and the lines that would change.
fn plan_schema() -> Value {
    let report = report_schema::report();
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "tenant-sync plan",
        "type": "object",
        "required": ["summary", "changes", "omitted", "requests", "warnings"],
        "additionalProperties": false,
        "properties": {
            "summary": report["properties"]["summary"],
            "changes": {
                "type": "array",
                "maxItems": PLAN_MAX_GROUPS,
                "description": "The groups whose action is not `unchanged`.",
                "items": report["properties"]["changes"]["items"],
            },
            "omitted": {"type": "integer", "minimum": 0, "description": "Groups that would change but are not listed."},
            "requests": report["properties"]["requests"],
            "warnings": report["properties"]["warnings"],
        },
    })
}

/// What `validate_mapping` answers for a valid document (`tenant-sync validate --output json`).
fn validated_schema() -> Value {
    let text = json!({"type": "string"});
    let flag = json!({"type": ["boolean", "null"]});
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "tenant-sync validated mapping",
        "type": "object",
        "required": ["valid", "groups", "skipped", "warnings"],
        "additionalProperties": false,
        "properties": {
            "valid": {"const": true},
            "groups": {"type": "array", "items": {
                "type": "object",
                "required": ["authentikGroup", "fcTenantId", "fcRole"],
                "additionalProperties": false,
                "properties": {
                    "authentikGroup": text, "fcTenantId": text, "fcRole": text,
                    "label": {"type": ["string", "null"]}, "regulated": flag, "strictMode": flag,
                },
            }},
            "skipped": {"type": "array", "items": {
                "type": "object",
                "required": ["entry", "authentikGroup", "reason"],
                "additionalProperties": false,
                "properties": {"entry": {"type": "integer"}, "authentikGroup": text, "reason": text},
            }},
            "warnings": {"type": "array", "items": text},
        },
    })
}

/// A call's arguments, read; a message naming the bad argument otherwise.
#[derive(Debug, Clone, PartialEq)]
pub enum Call {
    Sync {
        tenants: Vec<String>,
        groups: Vec<String>,
        dry_run: bool,
    },
    Plan,
    Validate {
        document: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct SyncArguments {
    #[serde(default)]
    tenants: Vec<String>,
    #[serde(default)]
    groups: Vec<String>,
    #[serde(default)]
    dry_run: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanArguments {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ValidateArguments {
    document: Value,
}

/// Reads `tool`'s `arguments`; `None` if no such tool.
pub fn read(tool: &str, arguments: Option<Map<String, Value>>) -> Option<Result<Call, String>> {
    let arguments = Value::Object(arguments.unwrap_or_default());
    let call = match tool {
        SYNC => parse::<SyncArguments>(tool, arguments).and_then(|a| {
            if a.tenants.is_empty() && a.groups.is_empty() {
                return Err(format!(
                    "{SYNC} needs at least one tenant (`tenants`) or group (`groups`); the `{PLAN}` tool plans the whole mapping"
                ));
            }
            let names = a.tenants.len() + a.groups.len();
            if names > MAX_NAMES {
                return Err(format!(
                    "{SYNC}: {names} tenants and groups in one call, more than {MAX_NAMES}; use `{PLAN}` to see the whole mapping, or several calls"
                ));
            }
            if a.tenants.iter().chain(&a.groups).any(|n| n.is_empty()) {
                return Err(format!("{SYNC}: an empty name in `tenants` or `groups`"));
            }
            // Not quoted back: no name of the mapping is this long.
            if let Some(long) = a
                .tenants
                .iter()
                .chain(&a.groups)
                .find(|n| n.chars().count() > MAX_VALUE_CHARS)
            {
                return Err(format!(
                    "{SYNC}: a name in `tenants` or `groups` is {} characters long; names in the mapping are at most {MAX_VALUE_CHARS}",
                    long.chars().count()
                ));
            }
            Ok(Call::Sync {
                tenants: a.tenants,
                groups: a.groups,
                dry_run: a.dry_run,
            })
        }),
        PLAN => parse::<PlanArguments>(tool, arguments).map(|_| Call::Plan),
        VALIDATE => parse::<ValidateArguments>(tool, arguments).and_then(|a| {
            let document = match a.document {
                Value::String(text) => text,
                object @ Value::Object(_) => object.to_string(),
                _ => return Err(format!("{VALIDATE}: `document` must be the mapping's JSON text or object")),
            };
            if document.len() > MAX_INLINE_MAPPING_BYTES {
                return Err(format!(
                    "{VALIDATE}: `document` is {} bytes, more than the {MAX_INLINE_MAPPING_BYTES} this tool takes",
                    document.len()
                ));
            }
            Ok(Call::Validate { document })
        }),
        _ => return None,
    };
    Some(call)
}

fn parse<T: for<'de> Deserialize<'de>>(tool: &str, arguments: Value) -> Result<T, String> {
    // serde quotes the value it could not read: bounded and visible, as any caller's text.
    serde_json::from_value(arguments).map_err(|e| {
        format!(
            "{tool}: the arguments: {}",
            terminal_safe(&excerpt(&e.to_string()))
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(value: Value) -> Option<Map<String, Value>> {
        Some(value.as_object().unwrap().clone())
    }

    #[test]
    fn sync_reads_tenants_groups_and_dry_run() {
        let call = read(
            SYNC,
            args(json!({"tenants": ["acme"], "groups": ["g"], "dryRun": true})),
        );
        assert_eq!(
            call,
            Some(Ok(Call::Sync {
                tenants: vec!["acme".into()],
                groups: vec!["g".into()],
                dry_run: true
            }))
        );
    }

    #[test]
    fn sync_without_a_selection_is_refused_and_points_at_plan() {
        let message = read(SYNC, args(json!({"dryRun": true})))
            .unwrap()
            .unwrap_err();
        assert!(message.contains("at least one tenant"), "{message}");
        assert!(message.contains("`plan`"), "{message}");
        let message = read(SYNC, args(json!({"tenants": [""]})))
            .unwrap()
            .unwrap_err();
        assert!(message.contains("empty name"), "{message}");
    }

    #[test]
    fn an_unknown_argument_is_named() {
        let message = read(SYNC, args(json!({"tenants": ["a"], "dry_run": true})))
            .unwrap()
            .unwrap_err();
        assert!(message.contains("dry_run"), "{message}");
        let message = read(PLAN, args(json!({"all": true}))).unwrap().unwrap_err();
        assert!(message.contains("all"), "{message}");
    }

    #[test]
    fn validate_takes_text_or_an_object() {
        let text = r#"{"version": 1}"#;
        assert_eq!(
            read(VALIDATE, args(json!({"document": text}))),
            Some(Ok(Call::Validate {
                document: text.into()
            }))
        );
        assert_eq!(
            read(VALIDATE, args(json!({"document": {"version": 1}}))),
            Some(Ok(Call::Validate {
                document: r#"{"version":1}"#.into()
            }))
        );
        let message = read(VALIDATE, args(json!({"document": 7})))
            .unwrap()
            .unwrap_err();
        assert!(message.contains("JSON text or object"), "{message}");
        let huge = "x".repeat(MAX_INLINE_MAPPING_BYTES + 1);
        let message = read(VALIDATE, args(json!({"document": huge})))
            .unwrap()
            .unwrap_err();
        assert!(message.contains("more than"), "{message}");
    }

    #[test]
    fn an_unknown_tool_is_none() {
        assert_eq!(read("delete_everything", None), None);
    }

    #[test]
    fn annotations_tell_the_truth_and_only_sync_writes() {
        let tools = all(true);
        let names: Vec<&str> = tools.iter().map(|t| t.name).collect();
        assert_eq!(names, [SYNC, PLAN, VALIDATE]);
        for tool in &tools {
            assert_eq!(tool.read_only, tool.name != SYNC, "{}", tool.name);
            assert_eq!(tool.input["type"], "object", "{}", tool.name);
            assert_eq!(tool.output["type"], "object", "{}", tool.name);
        }
        assert!(all(false)[0].description.contains("--allow-writes"));
    }

    #[test]
    fn too_many_or_too_long_names_are_refused_without_quoting_them() {
        let many: Vec<String> = (0..=MAX_NAMES).map(|i| format!("t{i}")).collect();
        let refused = read(SYNC, args(json!({"tenants": many})))
            .unwrap()
            .unwrap_err();
        assert!(refused.contains("101 tenants and groups"), "{refused}");
        let long = "x".repeat(MAX_VALUE_CHARS + 1);
        let refused = read(SYNC, args(json!({"groups": [long]})))
            .unwrap()
            .unwrap_err();
        assert!(
            refused.contains("257 characters") && !refused.contains("xxxx"),
            "{refused}"
        );
        let huge = "y".repeat(100_000);
        let refused = read(SYNC, args(json!({"tenants": huge})))
            .unwrap()
            .unwrap_err();
        assert!(refused.len() < 1000, "{} bytes", refused.len());
    }
}
