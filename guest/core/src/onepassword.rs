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

/// Why the mapping document could not be found in 1Password's answers. Each message names what
/// was looked for and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotFound {
    #[error("the {list} list is not the expected JSON ({detail})")]
    ListNotJson { list: &'static str, detail: String },
    #[error("item {item:?} is not the expected JSON ({detail})")]
    ItemNotJson { item: String, detail: String },
    #[error(
        "no vault named {name:?} among the {total} vaults this token can read; check the vault name and the token's vault access"
    )]
    NoVault { name: String, total: usize },
    #[error("{count} vaults are named {name:?}; rename one so the name is unique")]
    ManyVaults { name: String, count: usize },
    #[error("no item titled {title:?} in vault {vault:?}; check the item title")]
    NoItem { vault: String, title: String },
    #[error("{count} items in vault {vault:?} are titled {title:?}; archive the extra ones")]
    ManyItems {
        vault: String,
        title: String,
        count: usize,
    },
    #[error("1Password returned an entry with an empty id")]
    EmptyId,
    /// `id` is 1Password's text, already an excerpt.
    #[error(
        "1Password returned the id {id:?}, not one of its own (26 lower-case letters and digits)"
    )]
    NotAnId { id: String },
    #[error("field {label:?} of item {item:?} has no text value")]
    FieldNotText { item: String, label: String },
    #[error("item {item:?} has {count} fields labelled {label:?}; keep one")]
    ManyFields {
        item: String,
        label: String,
        count: usize,
    },
    #[error(
        "item {item:?} has no field labelled {label:?} and no attached file; store the mapping JSON in a field named {label:?} or as the item's document"
    )]
    NoDocument { item: String, label: String },
    #[error(
        "item {item:?} has no field labelled {label:?} and {files} files, none (or more than one) named {label:?} or {wanted:?}; keep one file or name it {wanted:?}",
        wanted = format!("{label}.json")
    )]
    NoFileNamed {
        item: String,
        label: String,
        files: usize,
    },
    /// `name` is 1Password's text, already an excerpt.
    #[error("file {name:?} of item {item:?} has an empty id")]
    FileEmptyId { item: String, name: String },
}

/// The id of the one vault named exactly `name`.
pub fn find_vault(body: &[u8], name: &str) -> Result<String, NotFound> {
    let vaults: Vec<Named> = list(body, "vault")?;
    let total = vaults.len();
    exactly_one(
        vaults
            .into_iter()
            .filter(|v| v.name.as_deref() == Some(name)),
        || NotFound::NoVault {
            name: name.to_owned(),
            total,
        },
        |count| NotFound::ManyVaults {
            name: name.to_owned(),
            count,
        },
    )
}

/// The id of the one item titled exactly `title`. The server already filtered by title; the
/// exact comparison here guards against a filter that matched loosely or was ignored.
pub fn find_item(body: &[u8], vault: &str, title: &str) -> Result<String, NotFound> {
    let items: Vec<Named> = list(body, "item")?;
    exactly_one(
        items
            .into_iter()
            .filter(|i| i.title.as_deref() == Some(title)),
        || NotFound::NoItem {
            vault: vault.to_owned(),
            title: title.to_owned(),
        },
        |count| NotFound::ManyItems {
            vault: vault.to_owned(),
            title: title.to_owned(),
            count,
        },
    )
}

fn list(body: &[u8], list: &'static str) -> Result<Vec<Named>, NotFound> {
    serde_json::from_slice(body).map_err(|e| NotFound::ListNotJson {
        list,
        detail: excerpt(&e.to_string()),
    })
}

fn exactly_one(
    mut matches: impl Iterator<Item = Named>,
    none: impl FnOnce() -> NotFound,
    many: impl FnOnce(usize) -> NotFound,
) -> Result<String, NotFound> {
    let Some(first) = matches.next() else {
        return Err(none());
    };
    let extra = matches.count();
    if extra > 0 {
        return Err(many(extra + 1));
    }
    if first.id.is_empty() {
        return Err(NotFound::EmptyId);
    }
    if !is_id(&first.id) {
        return Err(NotFound::NotAnId {
            id: excerpt(&first.id),
        });
    }
    Ok(first.id)
}

/// Where the mapping item is: the ids a full lookup found, which later runs of one process (the
/// MCP server's calls) may read it by directly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemIds {
    pub vault: String,
    pub item: String,
}

/// Whether `text` has the shape of a 1Password Connect vault or item id (`^[\da-z]{26}$`):
/// ids go into request paths, so nothing else (`..`, a slash) is used as one.
pub fn is_id(text: &str) -> bool {
    text.len() == 26
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
}

#[derive(Deserialize)]
struct VaultRef {
    #[serde(default)]
    id: Option<String>,
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
struct ItemIdentity {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    vault: Option<VaultRef>,
    #[serde(default)]
    state: Option<String>,
}

/// Whether `body` names the item at `at` titled `title`, whatever the rest of it holds: read
/// only when `Item::parse` failed, to tell the mapping item gone wrong (an error to report)
/// from another item (looked up again by name).
pub fn names_item(body: &[u8], at: &ItemIds, title: &str) -> bool {
    serde_json::from_slice::<ItemIdentity>(body)
        .is_ok_and(|item| is_the_item((&item.id, &item.title, &item.vault, &item.state), at, title))
}

/// An item's identity as read: id, title, vault and state.
type Identity<'a> = (
    &'a Option<String>,
    &'a Option<String>,
    &'a Option<VaultRef>,
    &'a Option<String>,
);

/// Whether an item is the mapping item at `at` titled `title`: its ids, its title, and live.
fn is_the_item((id, found_title, vault, state): Identity, at: &ItemIds, title: &str) -> bool {
    id.as_deref() == Some(at.item.as_str())
        && found_title.as_deref() == Some(title)
        && vault.as_ref().and_then(|v| v.id.as_deref()) == Some(at.vault.as_str())
        && state.is_none()
}

/// An item as Connect returns it (`GET /v1/vaults/{vault}/items/{item}`), read once: which
/// item it is, and where its document is.
#[derive(Deserialize)]
pub struct Item {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    vault: Option<VaultRef>,
    /// `ARCHIVED` or `DELETED`; absent for a live item.
    #[serde(default)]
    state: Option<String>,
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

impl Item {
    /// The item in `body`, the answer for the item titled `item`.
    pub fn parse(body: &[u8], item: &str) -> Result<Item, NotFound> {
        serde_json::from_slice(body).map_err(|e| NotFound::ItemNotJson {
            item: item.to_owned(),
            detail: excerpt(&e.to_string()),
        })
    }

    /// Whether this item, read directly by the ids an earlier lookup found, is still the mapping
    /// item: those ids, titled exactly `title`, neither archived nor deleted. An item renamed,
    /// moved, archived or replaced is not, and the caller looks the title up again.
    pub fn is(&self, at: &ItemIds, title: &str) -> bool {
        is_the_item((&self.id, &self.title, &self.vault, &self.state), at, title)
    }

    /// Where the document is: the field labelled `label`; failing that, the item's single file,
    /// or among several files the one named `label` or `label.json`. `item`: the title, for
    /// messages.
    pub fn into_document(self, item: &str, label: &str) -> Result<DocumentLocation, NotFound> {
        let (item, label) = (item.to_owned(), label.to_owned());
        let mut labelled = self
            .fields
            .into_iter()
            .filter(|f| f.label.as_deref() == Some(label.as_str()));
        match (labelled.next(), labelled.count()) {
            (Some(field), 0) => {
                return match field.value {
                    Some(Value::String(text)) => Ok(DocumentLocation::Field(text)),
                    _ => Err(NotFound::FieldNotText { item, label }),
                };
            }
            (None, _) => {}
            (Some(_), others) => {
                let count = others + 1;
                return Err(NotFound::ManyFields { item, label, count });
            }
        }
        let file = match self.files.as_slice() {
            [] => return Err(NotFound::NoDocument { item, label }),
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
                        let files = files.len();
                        return Err(NotFound::NoFileNamed { item, label, files });
                    }
                }
            }
        };
        // The file's name is 1Password's text, only ever shown: bounded like any excerpt.
        let name = excerpt(&file.name);
        if file.id.is_empty() {
            return Err(NotFound::FileEmptyId { item, name });
        }
        Ok(DocumentLocation::File {
            id: file.id.clone(),
            name,
        })
    }
}

/// The clearest text in a Connect error body (`{"status": 401, "message": "..."}`).
pub fn error_message(body: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    value.get("message")?.as_str().map(excerpt)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_item(body: &[u8], at: &ItemIds, title: &str) -> bool {
        Item::parse(body, title).is_ok_and(|item| item.is(at, title))
    }

    fn locate_document(body: &[u8], item: &str, label: &str) -> Result<DocumentLocation, NotFound> {
        Item::parse(body, item)?.into_document(item, label)
    }

    #[test]
    fn an_item_read_by_id_is_the_mapping_only_with_its_ids_and_exact_title() {
        let at = ItemIds {
            vault: "v".repeat(26),
            item: "i".repeat(26),
        };
        let item = |id: &str, title: &str, vault: &str| {
            serde_json::to_vec(&serde_json::json!({
                "id": id, "title": title, "vault": {"id": vault}, "category": "PASSWORD"
            }))
            .unwrap()
        };
        let (v, i) = (at.vault.as_str(), at.item.as_str());
        assert!(is_item(&item(i, "mapping", v), &at, "mapping"));
        assert!(
            !is_item(&item(i, "mapping (old)", v), &at, "mapping"),
            "renamed"
        );
        assert!(
            !is_item(&item(i, "mapping", "other"), &at, "mapping"),
            "moved"
        );
        assert!(
            !is_item(&item("other", "mapping", v), &at, "mapping"),
            "another item"
        );
        let mut archived: Value = serde_json::from_slice(&item(i, "mapping", v)).unwrap();
        archived["state"] = "ARCHIVED".into();
        assert!(
            !is_item(archived.to_string().as_bytes(), &at, "mapping"),
            "archived"
        );
        assert!(!is_item(br#"{"id": "x"}"#, &at, "mapping"));
        assert!(!is_item(b"<html>", &at, "mapping"));
    }

    /// An item that still has the ids and title but whose fields are malformed is the mapping
    /// item gone wrong, to be reported, not another item to look up.
    #[test]
    fn a_malformed_mapping_item_is_still_named_as_the_item() {
        let at = ItemIds {
            vault: "v".repeat(26),
            item: "i".repeat(26),
        };
        for rest in [
            r#""fields": null"#,
            r#""fields": [{"label": 7}]"#,
            r#""files": [{"name": "x"}]"#,
            r#""fields": [], "fields": []"#,
        ] {
            let body = format!(
                r#"{{"id": "{}", "title": "mapping", "vault": {{"id": "{}"}}, {rest}}}"#,
                at.item, at.vault
            );
            assert!(Item::parse(body.as_bytes(), "mapping").is_err(), "{body}");
            assert!(names_item(body.as_bytes(), &at, "mapping"), "{body}");
        }
        assert!(!names_item(b"<html>", &at, "mapping"));
        let other = format!(
            r#"{{"id": "{}", "title": "other", "fields": null}}"#,
            at.item
        );
        assert!(!names_item(other.as_bytes(), &at, "mapping"));
    }

    #[test]
    fn finds_the_vault_and_item_by_exact_name() {
        let vaults = br#"[{"id":"v1aaaaaaaaaaaaaaaaaaaaaaaa","name":"IAmWorkin2"},{"id":"v2aaaaaaaaaaaaaaaaaaaaaaaa","name":"IAmWorkin"}]"#;
        assert_eq!(
            find_vault(vaults, "IAmWorkin").unwrap(),
            "v2aaaaaaaaaaaaaaaaaaaaaaaa"
        );
        assert!(
            find_vault(vaults, "iamworkin")
                .unwrap_err()
                .to_string()
                .contains("no vault named")
        );
        let twins = br#"[{"id":"v1aaaaaaaaaaaaaaaaaaaaaaaa","name":"A"},{"id":"v2aaaaaaaaaaaaaaaaaaaaaaaa","name":"A"}]"#;
        assert!(
            find_vault(twins, "A")
                .unwrap_err()
                .to_string()
                .contains("2 vaults are named")
        );
        let items = br#"[{"id":"i1aaaaaaaaaaaaaaaaaaaaaaaa","title":"m","vault":{"id":"v"},"category":"DOCUMENT"}]"#;
        assert_eq!(
            find_item(items, "V", "m").unwrap(),
            "i1aaaaaaaaaaaaaaaaaaaaaaaa"
        );
        assert!(
            find_item(b"[]", "V", "m")
                .unwrap_err()
                .to_string()
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
                .to_string()
                .contains("2 files")
        );
        assert!(
            locate_document(b"{}", "i", "mapping")
                .unwrap_err()
                .to_string()
                .contains("no attached file")
        );
    }

    /// The messages are what the report shows: whole, as before they were typed.
    #[test]
    fn messages_name_what_was_looked_for_and_what_to_do() {
        let files = br#"{"files":[{"id":"x","name":"a"},{"id":"y","name":"b"}]}"#;
        assert_eq!(
            locate_document(files, "i", "mapping")
                .unwrap_err()
                .to_string(),
            "item \"i\" has no field labelled \"mapping\" and 2 files, none (or more than one) named \"mapping\" or \"mapping.json\"; keep one file or name it \"mapping.json\""
        );
        assert_eq!(
            find_vault(b"[]", "V").unwrap_err().to_string(),
            "no vault named \"V\" among the 0 vaults this token can read; check the vault name and the token's vault access"
        );
        assert_eq!(
            find_item(b"{", "V", "t").unwrap_err().to_string(),
            "the item list is not the expected JSON (invalid type: map, expected a sequence at line 1 column 0)"
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
        let error = locate_document(body.as_bytes(), "item", "mapping")
            .unwrap_err()
            .to_string();
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

    #[test]
    fn only_ids_of_connects_shape_are_used_in_paths() {
        assert!(is_id("abcdefghijklmnopqrstuvwxy0"));
        for bad in [
            "..",
            "abcdefghijklmnopqrstuvwxyZ",
            "abcdefghijklmnopqrstuvwx/0",
            "",
        ] {
            assert!(!is_id(bad), "{bad}");
        }
        let vaults = br#"[{"id": "..", "name": "IAmWorkin"}]"#;
        assert!(matches!(
            find_vault(vaults, "IAmWorkin"),
            Err(NotFound::NotAnId { .. })
        ));
    }
}
