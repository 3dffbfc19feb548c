//! Authentik's groups API (`/api/v3/core/groups/`): request targets and decoders for its answers.
//! Every response is untrusted: shapes are checked and anything unexpected is an error.

use super::endpoint::escape;
use super::managed::Attributes;
use super::plan::ExistingGroup;
use super::untrusted::excerpt;
use serde::Deserialize;
use serde_json::Value;

/// The server caps `page_size` at 100 (larger values are cut to it).
pub const PAGE_SIZE: u32 = 100;
/// A listing that claims more pages than this is runaway pagination, not an installation.
pub const MAX_PAGES: u64 = 10_000;

pub fn list_target(page: u64) -> String {
    format!(
        "/api/v3/core/groups/?include_users=false&ordering=name&page={page}&page_size={PAGE_SIZE}"
    )
}

pub fn by_name_target(name: &str) -> String {
    format!(
        "/api/v3/core/groups/?include_users=false&name={}",
        escape(name)
    )
}

pub const CREATE_TARGET: &str = "/api/v3/core/groups/";

pub fn group_target(pk: &str) -> String {
    format!("/api/v3/core/groups/{}/", escape(pk))
}

/// One page of the group listing.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupPage {
    pub groups: Vec<ExistingGroup>,
    /// The next page number, or `None` on the last page.
    pub next: Option<u64>,
}

#[derive(Deserialize)]
struct RawPage {
    pagination: RawPagination,
    results: Vec<Value>,
}

#[derive(Deserialize)]
struct RawPagination {
    // The schema types pagination numbers as `number`; real servers send integers.
    next: f64,
}

#[derive(Deserialize)]
struct RawGroup {
    pk: String,
    name: String,
    #[serde(default)]
    attributes: Option<Value>,
}

pub fn decode_page(body: &[u8]) -> Result<GroupPage, String> {
    let raw: RawPage = serde_json::from_slice(body)
        .map_err(|e| format!("the group list is not the expected JSON ({e})"))?;
    let next = raw.pagination.next;
    if !(next.is_finite() && next >= 0.0 && next.fract() == 0.0 && next <= MAX_PAGES as f64) {
        return Err(format!(
            "the group list has an unusable pagination.next ({next})"
        ));
    }
    let groups = raw
        .results
        .into_iter()
        .enumerate()
        .map(|(i, value)| group_from_value(value).map_err(|e| format!("group list entry {i}: {e}")))
        .collect::<Result<_, _>>()?;
    Ok(GroupPage {
        groups,
        next: (next != 0.0).then_some(next as u64),
    })
}

/// A single group object (create, retrieve and patch answers).
pub fn decode_group(body: &[u8]) -> Result<ExistingGroup, String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("the group is not JSON ({e})"))?;
    group_from_value(value)
}

fn group_from_value(value: Value) -> Result<ExistingGroup, String> {
    let raw: RawGroup =
        serde_json::from_value(value).map_err(|e| format!("not a group object ({e})"))?;
    if raw.pk.is_empty() {
        return Err(format!("group {:?} has an empty pk", raw.name));
    }
    let attributes = match raw.attributes {
        None | Some(Value::Null) => Attributes::new(),
        Some(Value::Object(map)) => map,
        Some(other) => {
            return Err(format!(
                "group {:?} has attributes that are not an object: {other}",
                raw.name
            ));
        }
    };
    Ok(ExistingGroup {
        pk: raw.pk,
        name: raw.name,
        attributes,
    })
}

/// The clearest text in an Authentik error body: `{"detail": ...}` for auth and not-found,
/// `{"field": [...]}` for validation errors.
pub fn error_message(body: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let object = value.as_object()?;
    if let Some(detail) = object.get("detail").and_then(Value::as_str) {
        return Some(excerpt(detail));
    }
    let parts: Vec<String> = object
        .iter()
        .filter_map(|(field, messages)| {
            let texts: Vec<&str> = messages
                .as_array()?
                .iter()
                .filter_map(Value::as_str)
                .collect();
            (!texts.is_empty()).then(|| format!("{field}: {}", texts.join(" ")))
        })
        .collect();
    (!parts.is_empty()).then(|| excerpt(&parts.join("; ")))
}

/// A 400 on create that means the name is taken (someone created it meanwhile).
pub fn is_duplicate_name(body: &[u8]) -> bool {
    error_message(body).is_some_and(|m| m.starts_with("name:") && m.contains("already exists"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn decodes_a_page_and_its_next_link() {
        let body = json!({
            "pagination": {"next": 2, "previous": 0, "count": 150, "current": 1,
                           "total_pages": 2, "start_index": 1, "end_index": 100},
            "results": [{"pk": "u1", "num_pk": 5, "name": "a", "attributes": {"k": 1},
                         "users": [], "users_obj": null}],
            "autocomplete": {}
        });
        let page = decode_page(body.to_string().as_bytes()).unwrap();
        assert_eq!(page.next, Some(2));
        assert_eq!(page.groups[0].name, "a");
        assert_eq!(page.groups[0].attributes["k"], 1);
        let last = json!({"pagination": {"next": 0}, "results": []});
        assert_eq!(decode_page(last.to_string().as_bytes()).unwrap().next, None);
    }

    #[test]
    fn refuses_malformed_pages() {
        for (body, expected) in [
            ("<html>", "not the expected JSON"),
            (r#"{"results": []}"#, "pagination"),
            (
                r#"{"pagination": {"next": -1}, "results": []}"#,
                "unusable pagination.next",
            ),
            (
                r#"{"pagination": {"next": 0}, "results": [{"name": "x"}]}"#,
                "entry 0",
            ),
            (
                r#"{"pagination": {"next": 0}, "results": [{"pk": "1", "name": "x", "attributes": []}]}"#,
                "not an object",
            ),
        ] {
            let err = decode_page(body.as_bytes()).unwrap_err();
            assert!(err.contains(expected), "{body}: {err}");
        }
    }

    #[test]
    fn reads_error_bodies() {
        assert_eq!(
            error_message(br#"{"detail":"Token invalid/expired"}"#).as_deref(),
            Some("Token invalid/expired")
        );
        assert!(is_duplicate_name(
            br#"{"name":["Group with this name already exists."]}"#
        ));
        assert!(!is_duplicate_name(
            br#"{"attributes":["Value must be a dictionary"]}"#
        ));
        assert_eq!(error_message(b"<html>"), None);
        let flood = serde_json::json!({"detail": "y".repeat(10_000)}).to_string();
        assert!(error_message(flood.as_bytes()).unwrap().len() < 400);
    }

    #[test]
    fn targets_escape_their_values() {
        assert_eq!(
            by_name_target("a b&c"),
            "/api/v3/core/groups/?include_users=false&name=a%20b%26c"
        );
        assert_eq!(group_target("x/y"), "/api/v3/core/groups/x%2Fy/");
    }
}
