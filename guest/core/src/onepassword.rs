//! 1Password Connect (`/v1`): request targets and decoders that find the mapping document:
//! vault by exact name, item by exact title, then the labelled field or the single file.

use super::endpoint::escape;
use super::untrusted::excerpt;
use serde::Deserialize;
use serde_json::Value;

pub const VAULTS_TARGET: &str = "/v1/vaults";

pub fn items_target(vault_id: &str, title: &str) -> String {
    format!(
        "/v1/vaults/{}/items?filter={}",
        escape(vault_id),
        escape(&format!("title eq \"{}\"", title.replace('"', "\\\"")))
    )
}

pub fn item_target(vault_id: &str, item_id: &str) -> String {
    format!("/v1/vaults/{}/items/{}", escape(vault_id), escape(item_id))
}

pub fn file_content_target(vault_id: &str, item_id: &str, file_id: &str) -> String {
    format!(
        "/v1/vaults/{}/items/{}/files/{}/content",
        escape(vault_id),
        escape(item_id),
        escape(file_id)
    )
}

#[derive(Debug, Deserialize)]
struct Named {
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    title: Option<String>,
}

/// The id of the one vault named exactly `name`.
pub fn find_vault(body: &[u8], name: &str) -> Result<String, String> {
    let vaults: Vec<Named> = serde_json::from_slice(body).map_err(|e| {
        format!(
            "the vault list is not the expected JSON ({})",
            excerpt(&e.to_string())
        )
    })?;
    let total = vaults.len();
    exactly_one(
        vaults
            .into_iter()
            .filter(|v| v.name.as_deref() == Some(name)),
        || {
            format!(
                "no vault named {name:?} among the {total} vaults this token can read; check the vault name and the token's vault access"
            )
        },
        |n| format!("{n} vaults are named {name:?}; rename one so the name is unique"),
    )
}

/// The id of the one item titled exactly `title`. The server already filtered by title; the
/// exact comparison here guards against a filter that matched loosely or was ignored.
pub fn find_item(body: &[u8], vault: &str, title: &str) -> Result<String, String> {
    let items: Vec<Named> = serde_json::from_slice(body).map_err(|e| {
        format!(
            "the item list is not the expected JSON ({})",
            excerpt(&e.to_string())
        )
    })?;
    exactly_one(
        items
            .into_iter()
            .filter(|i| i.title.as_deref() == Some(title)),
        || format!("no item titled {title:?} in vault {vault:?}; check the item title"),
        |n| format!("{n} items in vault {vault:?} are titled {title:?}; archive the extra ones"),
    )
}

fn exactly_one(
    mut matches: impl Iterator<Item = Named>,
    none: impl FnOnce() -> String,
    many: impl FnOnce(usize) -> String,
) -> Result<String, String> {
    let Some(first) = matches.next() else {
        return Err(none());
    };
    let extra = matches.count();
    if extra > 0 {
        return Err(many(extra + 1));
    }
    if first.id.is_empty() {
        return Err("1Password returned an entry with an empty id".to_owned());
    }
    Ok(first.id)
}

/// Where in the item the document is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocumentLocation {
    /// The value of the labelled field.
    Field(String),
    /// An attached file whose content must be fetched.
    File { id: String, name: String },
}

#[derive(Deserialize)]
struct FullItem {
    #[serde(default)]
    fields: Vec<Field>,
    #[serde(default)]
    files: Vec<File>,
}

#[derive(Deserialize)]
struct Field {
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    value: Option<Value>,
}

#[derive(Deserialize)]
struct File {
    id: String,
    #[serde(default)]
    name: String,
}

/// The field labelled `label`; failing that, the item's single file, or among several files the
/// one named `label` or `label.json`.
pub fn locate_document(body: &[u8], item: &str, label: &str) -> Result<DocumentLocation, String> {
    let full: FullItem = serde_json::from_slice(body).map_err(|e| {
        format!(
            "item {item:?} is not the expected JSON ({})",
            excerpt(&e.to_string())
        )
    })?;
    let labelled: Vec<&Field> = full
        .fields
        .iter()
        .filter(|f| f.label.as_deref() == Some(label))
        .collect();
    match labelled.as_slice() {
        [field] => {
            return match &field.value {
                Some(Value::String(text)) => Ok(DocumentLocation::Field(text.clone())),
                _ => Err(format!(
                    "field {label:?} of item {item:?} has no text value"
                )),
            };
        }
        [] => {}
        many => {
            return Err(format!(
                "item {item:?} has {} fields labelled {label:?}; keep one",
                many.len()
            ));
        }
    }
    let file = match full.files.as_slice() {
        [] => {
            return Err(format!(
                "item {item:?} has no field labelled {label:?} and no attached file; store the mapping JSON in a field named {label:?} or as the item's document"
            ));
        }
        [only] => only,
        files => {
            let wanted = format!("{label}.json");
            let named: Vec<&File> = files
                .iter()
                .filter(|f| f.name == label || f.name == wanted)
                .collect();
            match named.as_slice() {
                [one] => *one,
                _ => {
                    return Err(format!(
                        "item {item:?} has no field labelled {label:?} and {} files, none (or more than one) named {label:?} or {wanted:?}; keep one file or name it {wanted:?}",
                        files.len()
                    ));
                }
            }
        }
    };
    // The file's name is 1Password's text, only ever shown: bounded like any excerpt.
    if file.id.is_empty() {
        return Err(format!(
            "file {:?} of item {item:?} has an empty id",
            excerpt(&file.name)
        ));
    }
    Ok(DocumentLocation::File {
        id: file.id.clone(),
        name: excerpt(&file.name),
    })
}

/// The clearest text in a Connect error body (`{"status": 401, "message": "..."}`).
pub fn error_message(body: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    value.get("message")?.as_str().map(excerpt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_vault_and_item_by_exact_name() {
        let vaults = br#"[{"id":"v1","name":"IAmWorkin2"},{"id":"v2","name":"IAmWorkin"}]"#;
        assert_eq!(find_vault(vaults, "IAmWorkin").unwrap(), "v2");
        assert!(
            find_vault(vaults, "iamworkin")
                .unwrap_err()
                .contains("no vault named")
        );
        let twins = br#"[{"id":"v1","name":"A"},{"id":"v2","name":"A"}]"#;
        assert!(
            find_vault(twins, "A")
                .unwrap_err()
                .contains("2 vaults are named")
        );
        let items = br#"[{"id":"i1","title":"m","vault":{"id":"v"},"category":"DOCUMENT"}]"#;
        assert_eq!(find_item(items, "V", "m").unwrap(), "i1");
        assert!(
            find_item(b"[]", "V", "m")
                .unwrap_err()
                .contains("no item titled")
        );
    }

    #[test]
    fn prefers_the_labelled_field_then_a_single_file() {
        let field = br#"{"fields":[{"id":"f","type":"STRING","label":"mapping","value":"{}"}],"files":[{"id":"x","name":"a"}]}"#;
        assert_eq!(
            locate_document(field, "i", "mapping").unwrap(),
            DocumentLocation::Field("{}".into())
        );
        let file = br#"{"fields":[],"files":[{"id":"x","name":"tenant-mapping.json"}]}"#;
        assert_eq!(
            locate_document(file, "i", "mapping").unwrap(),
            DocumentLocation::File {
                id: "x".into(),
                name: "tenant-mapping.json".into()
            }
        );
        let files = br#"{"files":[{"id":"x","name":"a"},{"id":"y","name":"mapping.json"}]}"#;
        assert_eq!(
            locate_document(files, "i", "mapping").unwrap(),
            DocumentLocation::File {
                id: "y".into(),
                name: "mapping.json".into()
            }
        );
        let ambiguous = br#"{"files":[{"id":"x","name":"a"},{"id":"y","name":"b"}]}"#;
        assert!(
            locate_document(ambiguous, "i", "mapping")
                .unwrap_err()
                .contains("2 files")
        );
        assert!(
            locate_document(b"{}", "i", "mapping")
                .unwrap_err()
                .contains("no attached file")
        );
    }

    #[test]
    fn builds_an_escaped_title_filter() {
        assert_eq!(
            items_target("v", "a \"b\""),
            "/v1/vaults/v/items?filter=title%20eq%20%22a%20%5C%22b%5C%22%22"
        );
    }

    #[test]
    fn a_file_name_of_megabytes_is_shown_as_an_excerpt() {
        let name = "n".repeat(1_000_000);
        let body =
            serde_json::json!({"fields": [], "files": [{"id": "", "name": name}]}).to_string();
        let error = locate_document(body.as_bytes(), "item", "mapping").unwrap_err();
        assert!(error.len() < 2_000, "{} bytes", error.len());
        let body =
            serde_json::json!({"fields": [], "files": [{"id": "f", "name": name}]}).to_string();
        let Ok(DocumentLocation::File { name, .. }) =
            locate_document(body.as_bytes(), "item", "mapping")
        else {
            panic!()
        };
        assert!(name.len() < 2_000, "{} bytes", name.len());
    }
}
