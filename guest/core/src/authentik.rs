//! Authentik's groups API (`/api/v3/core/groups/`): request targets and decoders for its answers.
//! Every response is untrusted: shapes are checked and anything unexpected is an error.

use super::ancestry::{self, Ancestry};
use super::endpoint::escape;
use super::managed::Attributes;
use super::plan::ExistingGroup;
use super::untrusted::excerpt;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeSet;

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

/// Authentik answers every group request, writes included, with the members' details unless
/// `include_users=false` (and the sandbox refuses a group request without it).
pub const CREATE_TARGET: &str = "/api/v3/core/groups/?include_users=false";

/// One group: read it, or write it.
pub fn group_target(pk: &str) -> String {
    format!("/api/v3/core/groups/{}/?include_users=false", escape(pk))
}

/// One page of the group listing.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupPage {
    pub groups: Vec<ExistingGroup>,
    /// The next page number, or `None` on the last page.
    pub next: Option<u64>,
    /// How many pages the listing has, as this page says (`None` if the server did not say).
    pub total_pages: Option<u64>,
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
    #[serde(default)]
    total_pages: Option<f64>,
}

/// A pagination number as a page count or index: a whole number from 0 to `MAX_PAGES`.
fn page_number(value: f64, field: &'static str) -> Result<u64, Unusable> {
    if value.is_finite() && value >= 0.0 && value.fract() == 0.0 && value <= MAX_PAGES as f64 {
        Ok(value as u64)
    } else {
        Err(Unusable::PageNumber { field, value })
    }
}

/// Why an answer of Authentik's cannot be used as a group.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotAGroup {
    #[error("the group is not JSON ({0})")]
    NotJson(String),
    #[error("not a group object ({0})")]
    Shape(String),
    /// `name` (and `value`) are Authentik's text, already excerpts.
    #[error("group {name:?} has an empty pk")]
    EmptyPk { name: String },
    #[error("group {name:?} has attributes that are not an object: {value}")]
    AttributesNotObject { name: String, value: String },
}

/// Why a page of the group listing cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Unusable {
    #[error("the group list is not the expected JSON ({0})")]
    NotJson(String),
    #[error("the group list has an unusable pagination.{field} ({value})")]
    PageNumber { field: &'static str, value: f64 },
    #[error("group list entry {index}: {error}")]
    Entry { index: usize, error: NotAGroup },
}

/// Why the pages read do not make one listing: it changed or broke while it was read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Inconsistent {
    #[error("page 1 does not say how many pages there are")]
    NoPageCount,
    #[error("{read} pages were read of {total}")]
    Incomplete { read: usize, total: u64 },
    #[error(
        "page {page} says there are {} pages, page 1 said {total}",
        says.map_or("no".to_owned(), |t| t.to_string())
    )]
    PageCount {
        page: u64,
        says: Option<u64>,
        total: u64,
    },
    #[error("page {page} of {total} points to page {next}")]
    PointsTo { page: u64, total: u64, next: u64 },
    #[error("page {page} of {total} says it is the last")]
    EndsEarly { page: u64, total: u64 },
    #[error("page {page} brought no new groups")]
    NothingNew { page: u64 },
}

#[derive(Deserialize)]
struct RawGroup {
    pk: String,
    name: String,
    #[serde(default)]
    attributes: Option<Value>,
    // Required: a group whose superuser status is unknown cannot be judged safe to write.
    is_superuser: bool,
    /// Authentik 2025.12 and later: the parent groups' pks.
    #[serde(default)]
    parents: Option<Vec<String>>,
    /// Before 2025.12: the one parent's pk, or null.
    #[serde(default)]
    parent: Option<String>,
}

pub fn decode_page(body: &[u8]) -> Result<GroupPage, Unusable> {
    let raw: RawPage =
        serde_json::from_slice(body).map_err(|e| Unusable::NotJson(excerpt(&e.to_string())))?;
    let next = page_number(raw.pagination.next, "next")?;
    let total_pages = raw
        .pagination
        .total_pages
        .map(|total| page_number(total, "total_pages"))
        .transpose()?;
    let groups = raw
        .results
        .into_iter()
        .enumerate()
        .map(|(index, value)| {
            group_from_value(value).map_err(|error| Unusable::Entry { index, error })
        })
        .collect::<Result<_, _>>()?;
    Ok(GroupPage {
        groups,
        next: (next != 0).then_some(next),
        total_pages,
    })
}

/// How many pages to fetch, from the listing's first page.
pub fn page_count(first: &GroupPage) -> Result<u64, Inconsistent> {
    match first.total_pages {
        Some(0) | None => Err(Inconsistent::NoPageCount),
        Some(total) => Ok(total),
    }
}

/// The whole listing from its pages (`pages[0]` is page 1), which may have been fetched in any
/// order. Every page must agree on the page count, point to the next page (the last to none),
/// and bring groups not seen on an earlier page: otherwise the listing changed or broke while
/// it was read, and a plan built on it could miss a group and create it twice.
pub fn assemble(pages: Vec<GroupPage>) -> Result<Vec<ExistingGroup>, Inconsistent> {
    let total = pages.first().map(page_count).transpose()?.unwrap_or(0);
    if pages.len() as u64 != total {
        let read = pages.len();
        return Err(Inconsistent::Incomplete { read, total });
    }
    let mut seen = BTreeSet::new();
    let mut groups = Vec::new();
    for (page, n) in pages.into_iter().zip(1u64..) {
        if page.total_pages != Some(total) {
            let says = page.total_pages;
            return Err(Inconsistent::PageCount {
                page: n,
                says,
                total,
            });
        }
        let expected = (n < total).then_some(n + 1);
        if page.next != expected {
            return Err(match page.next {
                Some(next) => Inconsistent::PointsTo {
                    page: n,
                    total,
                    next,
                },
                None => Inconsistent::EndsEarly { page: n, total },
            });
        }
        let had_groups = !page.groups.is_empty();
        let before = groups.len();
        groups.extend(
            page.groups
                .into_iter()
                .filter(|g| seen.insert(g.pk.clone())),
        );
        if had_groups && groups.len() == before || !had_groups && total > 1 {
            return Err(Inconsistent::NothingNew { page: n });
        }
    }
    // The whole listing holds every ancestor: superuser rights inherited are decided here.
    ancestry::resolve_from_listing(&mut groups);
    Ok(groups)
}

/// A single group object (create, retrieve and patch answers).
pub fn decode_group(body: &[u8]) -> Result<ExistingGroup, NotAGroup> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| NotAGroup::NotJson(excerpt(&e.to_string())))?;
    group_from_value(value)
}

fn group_from_value(value: Value) -> Result<ExistingGroup, NotAGroup> {
    let raw: RawGroup =
        serde_json::from_value(value).map_err(|e| NotAGroup::Shape(excerpt(&e.to_string())))?;
    if raw.pk.is_empty() {
        return Err(NotAGroup::EmptyPk {
            name: excerpt(&raw.name),
        });
    }
    let attributes = match raw.attributes {
        None | Some(Value::Null) => Attributes::new(),
        Some(Value::Object(map)) => map,
        Some(other) => {
            return Err(NotAGroup::AttributesNotObject {
                name: excerpt(&raw.name),
                value: excerpt(&other.to_string()),
            });
        }
    };
    let parents: Vec<String> = raw
        .parents
        .unwrap_or_default()
        .into_iter()
        .chain(raw.parent)
        .collect();
    // Resolved from the listing, or from the ancestors read, before any decision.
    let ancestry = match parents.is_empty() {
        true => Ancestry::Clear,
        false => Ancestry::Unknown("its ancestors were not read".to_owned()),
    };
    Ok(ExistingGroup {
        pk: raw.pk,
        name: raw.name,
        attributes,
        is_superuser: raw.is_superuser,
        parents,
        ancestry,
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
                         "is_superuser": true, "users": [], "users_obj": null}],
            "autocomplete": {}
        });
        let page = decode_page(body.to_string().as_bytes()).unwrap();
        assert_eq!((page.next, page.total_pages), (Some(2), Some(2)));
        assert_eq!(page.groups[0].name, "a");
        assert_eq!(page.groups[0].attributes["k"], 1);
        assert!(page.groups[0].is_superuser);
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
                r#"{"pagination": {"next": 0, "total_pages": 1e9}, "results": []}"#,
                "unusable pagination.total_pages",
            ),
            (
                r#"{"pagination": {"next": 0}, "results": [{"name": "x"}]}"#,
                "entry 0",
            ),
            (
                r#"{"pagination": {"next": 0}, "results": [{"pk": "1", "name": "x", "attributes": [], "is_superuser": false}]}"#,
                "not an object",
            ),
            (
                r#"{"pagination": {"next": 0}, "results": [{"pk": "1", "name": "x", "attributes": {}}]}"#,
                "missing field `is_superuser`",
            ),
            (
                r#"{"pagination": {"next": 0}, "results": [{"pk": "1", "name": "x", "attributes": {}, "is_superuser": null}]}"#,
                "expected a boolean",
            ),
        ] {
            let err = decode_page(body.as_bytes()).unwrap_err().to_string();
            assert!(err.contains(expected), "{body}: {err}");
        }
    }

    fn page(n: u64, total: u64, names: &[&str]) -> GroupPage {
        GroupPage {
            groups: names
                .iter()
                .map(|name| ExistingGroup {
                    pk: format!("pk-{name}"),
                    name: (*name).to_owned(),
                    attributes: Attributes::new(),
                    is_superuser: false,
                    parents: Vec::new(),
                    ancestry: Ancestry::Clear,
                })
                .collect(),
            next: (n < total).then_some(n + 1),
            total_pages: Some(total),
        }
    }

    #[test]
    fn assembles_a_consistent_listing() {
        let groups = assemble(vec![
            page(1, 3, &["a", "b"]),
            page(2, 3, &["c"]),
            page(3, 3, &["d"]),
        ])
        .unwrap();
        let names: Vec<&str> = groups.iter().map(|g| g.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "c", "d"]);
        assert_eq!(assemble(vec![page(1, 1, &[])]).unwrap(), []);
        // A group that moved back a page while listing is listed once.
        let shifted = assemble(vec![page(1, 2, &["a", "b"]), page(2, 2, &["b", "c"])]).unwrap();
        assert_eq!(shifted.len(), 3);
    }

    #[test]
    fn refuses_listings_that_changed_or_broke_while_read() {
        let mut endless = page(2, 2, &["c"]);
        endless.next = Some(3);
        let mut recounted = page(2, 2, &["c"]);
        recounted.total_pages = Some(3);
        let mut uncounted = page(1, 1, &["a"]);
        uncounted.total_pages = None;
        for (pages, expected) in [
            (
                vec![page(1, 2, &["a"]), page(2, 2, &["a"])],
                "page 2 brought no new groups",
            ),
            (
                vec![page(1, 2, &["a"]), page(2, 2, &[])],
                "page 2 brought no new groups",
            ),
            (
                vec![page(1, 2, &["a"]), endless],
                "page 2 of 2 points to page 3",
            ),
            (
                vec![page(1, 2, &["a"]), recounted],
                "page 2 says there are 3 pages, page 1 said 2",
            ),
            (vec![page(1, 2, &["a"])], "1 pages were read of 2"),
            (
                vec![uncounted],
                "page 1 does not say how many pages there are",
            ),
        ] {
            // The whole message, as the report shows it.
            assert_eq!(assemble(pages).unwrap_err().to_string(), expected);
        }
    }

    /// A 4 MB value where a decoder expected something else once became a 4 MB error message.
    #[test]
    fn decoder_errors_quote_only_an_excerpt() {
        let huge = "x".repeat(4 << 20);
        for body in [
            json!({"pagination": {"next": 0, "total_pages": 1}, "results": huge}),
            json!({"pagination": {"next": 0, "total_pages": 1},
                   "results": [{"pk": "1", "name": huge, "attributes": huge}]}),
        ] {
            let err = decode_page(body.to_string().as_bytes())
                .unwrap_err()
                .to_string();
            assert!(err.len() < 1000, "{} bytes", err.len());
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
        assert_eq!(
            group_target("x/y"),
            "/api/v3/core/groups/x%2Fy/?include_users=false"
        );
    }
}
