//! The JSON Schema (2020-12) of the mapping document, generated from the rules `mapping`
//! applies: its field table, limits and the invisible-character table. For editors and for a
//! pre-merge check of the 1Password document (`tenant-sync schema`). What a schema cannot say
//! (the document's byte size, repeated keys, two entries for one group that disagree) is in its
//! `description`; `tenant-sync validate` checks those too.

use super::mapping::{ENTRY_FIELDS, FieldKind, MAX_DOCUMENT_BYTES, MAX_ENTRIES, MAX_VALUE_CHARS};
use super::untrusted::INVISIBLE;
use serde_json::{Map, Value, json};

pub fn json_schema() -> Value {
    let properties: Map<String, Value> = ENTRY_FIELDS
        .iter()
        .map(|(name, kind, _)| {
            let schema = match kind {
                FieldKind::Text => json!({"$ref": "#/$defs/text"}),
                FieldKind::Flag => json!({"type": "boolean"}),
            };
            ((*name).to_owned(), schema)
        })
        .collect();
    let required: Vec<&str> = ENTRY_FIELDS
        .iter()
        .filter(|(_, _, required)| *required)
        .map(|(name, _, _)| *name)
        .collect();
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "urn:tenant-sync:mapping:v1",
        "title": "tenant-sync mapping document, version 1",
        "description": format!(
            "The tenant mapping kept in 1Password. Beyond this schema, tenant-sync also refuses a document over {MAX_DOCUMENT_BYTES} bytes, an object that repeats a key, and two entries for one group that disagree (group names are compared in Unicode NFC); `tenant-sync validate FILE` checks everything. Fields not listed here are ignored with a warning."
        ),
        "type": "object",
        "required": ["version", "mappings"],
        "properties": {
            "version": {"description": "The schema version; 1 is the only one.", "type": "integer", "const": 1},
            "mappings": {
                "type": "array",
                "minItems": 1,
                "maxItems": MAX_ENTRIES,
                "items": {"$ref": "#/$defs/entry"}
            }
        },
        "$defs": {
            "entry": {
                "description": "One Authentik group and the tenant and role it stands for; fcTenantId \"*\" (the wildcard) is reported and never gets a group.",
                "type": "object",
                "required": required,
                "properties": properties
            },
            "text": {
                "type": "string",
                "minLength": 1,
                "maxLength": MAX_VALUE_CHARS,
                "pattern": visible_text_pattern()
            }
        }
    })
}

/// Visible text: no invisible character anywhere, and no space at either end.
fn visible_text_pattern() -> String {
    let mut class = String::new();
    for &(first, last) in INVISIBLE {
        class.push_str(&escape(first));
        if last != first {
            class.push('-');
            class.push_str(&escape(last));
        }
    }
    // One visible non-space character, or two with visible characters between them.
    format!("^[^ {class}](?:[^{class}]*[^ {class}])?$")
}

/// `\uXXXX` in the Basic Multilingual Plane, `\u{XXXXX}` beyond it (ECMAScript with the `u`
/// flag, as JSON Schema asks, and Rust's regex both read these).
fn escape(c: char) -> String {
    match c as u32 {
        code @ 0..=0xffff => format!("\\u{code:04x}"),
        code => format!("\\u{{{code:x}}}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_restates_the_validators_table_and_limits() {
        let schema = json_schema();
        let entry = &schema["$defs"]["entry"];
        assert_eq!(
            entry["required"],
            json!(["authentikGroup", "fcTenantId", "fcRole"])
        );
        assert_eq!(entry["properties"]["regulated"]["type"], "boolean");
        assert_eq!(entry["properties"]["label"]["$ref"], "#/$defs/text");
        assert_eq!(schema["properties"]["mappings"]["maxItems"], MAX_ENTRIES);
        assert_eq!(schema["$defs"]["text"]["maxLength"], MAX_VALUE_CHARS);
        let pattern = schema["$defs"]["text"]["pattern"].as_str().unwrap();
        assert!(pattern.starts_with("^[^ \\u0000-\\u001f"), "{pattern}");
        assert!(pattern.contains("\\u{e0000}-\\u{e0fff}"), "{pattern}");
    }
}
