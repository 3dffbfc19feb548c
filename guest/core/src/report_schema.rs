//! JSON Schemas (2020-12) of what a run prints for scripts: the report (`--output json`) and
//! the failure document. MCP tools declare them as their output schemas, so a client can
//! check every answer. The counts' names come from serializing the report's own types, so a
//! schema cannot drift from the document.

use super::managed::MANAGED_KEYS;
use super::outcome::FailureKind;
use super::plan::Action;
use super::report::{RequestCounts, Status, Summary};
use serde_json::{Map, Value, json};

/// The `--output json` report.
pub fn report() -> Value {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "tenant-sync run report",
        "description": "What one run planned or did for each group of the mapping it covered, the totals, and the requests it sent.",
        "type": "object",
        "required": ["dryRun", "summary", "changes", "requests", "warnings"],
        "additionalProperties": false,
        "properties": {
            "dryRun": {"type": "boolean", "description": "True when nothing was written: each status is `planned`."},
            "summary": counts(&Summary::default(), "Groups by action; `failed` and `notAttempted` count writes that did not happen."),
            "changes": {
                "type": "array",
                "description": "Every group the run covered, changed or not.",
                "items": group_line(),
            },
            "requests": counts(&RequestCounts::default(), "HTTP requests sent to each service."),
            "warnings": {"type": "array", "items": {"type": "string"}, "description": "The mapping's warnings (e.g. unknown fields), one line each."},
        },
    })
}

/// The failure document: a run (or tool call) that ended without a report.
pub fn failure() -> Value {
    let kinds: Vec<&str> = FailureKind::ALL.iter().map(|k| k.as_str()).collect();
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "tenant-sync failure",
        "type": "object",
        "required": ["error"],
        "additionalProperties": false,
        "properties": {
            "error": {
                "type": "object",
                "required": ["kind", "message", "issues"],
                "additionalProperties": false,
                "properties": {
                    "kind": {"enum": kinds, "description": "Why: each kind has its own exit code under the CLI."},
                    "message": {"type": "string", "description": "What happened and what to do, in the operator's words."},
                    "issues": {
                        "type": "array",
                        "description": "The mapping's problems, when the mapping is what failed.",
                        "items": {
                            "type": "object",
                            "required": ["entry", "field", "message", "text"],
                            "properties": {
                                "entry": {"type": ["integer", "null"], "description": "The index in `mappings`, if the problem is in an entry."},
                                "group": {"type": ["string", "null"]},
                                "field": {"type": ["string", "null"]},
                                "message": {"type": "string"},
                                "text": {"type": "string", "description": "The whole problem in one line."},
                            },
                        },
                    },
                },
            },
        },
    })
}

/// One group's line of the report.
fn group_line() -> Value {
    let actions: Vec<&str> = Action::ALL.iter().map(|a| a.as_str()).collect();
    let statuses: Vec<&str> = Status::ALL.iter().map(|s| s.as_str()).collect();
    let changed: Map<String, Value> = MANAGED_KEYS
        .iter()
        .map(|key| {
            let from_to = json!({
                "type": "object",
                "required": ["from", "to"],
                "additionalProperties": false,
                "properties": {"from": {}, "to": {}},
                "description": "The value before and after; null when absent.",
            });
            ((*key).to_owned(), from_to)
        })
        .collect();
    json!({
        "type": "object",
        "required": ["group", "action", "status", "changes"],
        "additionalProperties": false,
        "properties": {
            "group": {"type": "string"},
            "action": {"enum": actions},
            "status": {"enum": statuses},
            "changes": {
                "type": "object",
                "description": "The managed attributes that differ.",
                "properties": changed,
                "additionalProperties": false,
            },
            "reason": {"type": "string", "description": "Why the action was chosen (a conflict, a skip)."},
            "error": {"type": "string", "description": "Why the write failed."},
        },
    })
}

/// An object of non-negative counts, one per field of `value` as it serializes.
fn counts(value: &impl serde::Serialize, description: &str) -> Value {
    let serialized = serde_json::to_value(value).expect("counts serialize");
    let names: Vec<&String> = serialized
        .as_object()
        .expect("counts serialize as an object")
        .keys()
        .collect();
    let properties: Map<String, Value> = names
        .iter()
        .map(|name| ((*name).clone(), json!({"type": "integer", "minimum": 0})))
        .collect();
    json!({
        "type": "object",
        "description": description,
        "required": names,
        "additionalProperties": false,
        "properties": properties,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::managed::AttributeChange;
    use crate::mapping::ValidationIssue;
    use crate::outcome::{Failure, Format, Outcome};
    use crate::report::{GroupReport, Report};

    /// Every key of `document` is a property `schema` lists, and every required one is there;
    /// enumerations hold. Enough of JSON Schema for these two documents.
    fn conforms(document: &Value, schema: &Value, at: &str) {
        if let Some(allowed) = schema.get("enum") {
            assert!(
                allowed.as_array().unwrap().contains(document),
                "{at}: {document} not in {allowed}"
            );
        }
        match document {
            Value::Object(object) => {
                let properties = &schema["properties"];
                for required in schema["required"].as_array().into_iter().flatten() {
                    let name = required.as_str().unwrap();
                    assert!(object.contains_key(name), "{at}: `{name}` is missing");
                }
                for (key, value) in object {
                    let property = &properties[key];
                    assert!(!property.is_null(), "{at}: `{key}` is not in the schema");
                    conforms(value, property, &format!("{at}.{key}"));
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    conforms(item, &schema["items"], &format!("{at}[{i}]"));
                }
            }
            _ => {}
        }
    }

    fn every_kind_of_line() -> Report {
        let groups = Action::ALL
            .iter()
            .zip(Status::ALL.iter().cycle())
            .map(|(action, status)| GroupReport {
                group: format!("g-{}", action.as_str()),
                action: *action,
                status: *status,
                changes: MANAGED_KEYS
                    .iter()
                    .map(|key| AttributeChange {
                        key,
                        before: None,
                        after: Some(json!("x")),
                    })
                    .collect(),
                reason: Some("because".into()),
                error: Some("refused".into()),
            })
            .collect();
        Report {
            dry_run: false,
            summary: Summary::default(),
            groups,
            requests: RequestCounts::default(),
            warnings: vec![ValidationIssue {
                entry: Some(0),
                group: None,
                field: Some("x".into()),
                message: "unknown".into(),
            }],
            source_item: None,
        }
    }

    #[test]
    fn a_report_with_every_action_status_and_key_conforms_to_its_schema() {
        let printed = Outcome::Reported(every_kind_of_line()).printed(Format::Json);
        conforms(
            &serde_json::from_str(&printed).unwrap(),
            &report(),
            "report",
        );
    }

    #[test]
    fn the_schema_refuses_a_key_the_report_does_not_have() {
        let result = std::panic::catch_unwind(|| {
            conforms(&json!({"dryRun": true, "extra": 1}), &report(), "report")
        });
        assert!(result.is_err(), "the check cannot fail");
    }

    #[test]
    fn every_failure_kind_conforms_to_the_failure_schema() {
        for kind in FailureKind::ALL {
            let mut problem = Failure::new(kind, "it broke");
            problem.issues.push(ValidationIssue {
                entry: Some(2),
                group: Some("g".into()),
                field: Some("fcRole".into()),
                message: "bad".into(),
            });
            let printed = Outcome::Failed(problem).printed(Format::Json);
            conforms(
                &serde_json::from_str(&printed).unwrap(),
                &failure(),
                "failure",
            );
        }
    }
}
