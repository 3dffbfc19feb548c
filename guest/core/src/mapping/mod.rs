//! The tenant-mapping document (schema v1): its types and its validation into the desired
//! state. Every problem is collected, so an operator fixes the document in one pass. Reading
//! the JSON strictly is `json.rs`; the rules of one entry's fields, `entry.rs`.

mod entry;
mod json;
mod typed;

use crate::lookalike::{skeleton, spelled};
use crate::secrets::Redactor;
use crate::untrusted::excerpt;
use entry::{Entry, check_entry, read_entry};
use json::{check_document, parse_document, type_name};
use serde_json::Value;
use std::fmt;

/// The wildcard tenant: such entries grant cross-tenant roles and never get a group of their own.
pub const WILDCARD_TENANT: &str = "*";
/// Larger documents are refused before parsing: 100,000 entries fit with room to spare.
pub const MAX_DOCUMENT_BYTES: usize = 16 * 1024 * 1024;
/// Ten times the largest installation we benchmark (10,000 groups).
pub const MAX_ENTRIES: usize = 100_000;
/// Longer names and values are typos or junk, not tenants.
pub const MAX_VALUE_CHARS: usize = 256;
/// Unknown fields named one by one, per entry (and at the top level); the rest are counted.
pub const MAX_UNKNOWN_FIELDS_SHOWN: usize = 5;
/// Warnings, and problems, listed in all; the rest are counted. Output stays proportional to
/// what a person can act on, whatever the document holds.
pub const MAX_WARNINGS_SHOWN: usize = 100;
pub const MAX_ISSUES_SHOWN: usize = 1_000;

/// What an entry field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// Visible text: 1 to `MAX_VALUE_CHARS` characters, no invisible characters, no space at
    /// either end (a group name is kept in its Unicode NFC spelling).
    Text,
    /// `true` or `false`.
    Flag,
}

/// The fields of a mapping entry; any other field is ignored with a warning. `read_entry` reads
/// exactly these, and the JSON Schema (`mapping_schema`) is generated from this table.
pub const ENTRY_FIELDS: [(&str, FieldKind, bool); 6] = [
    ("authentikGroup", FieldKind::Text, true),
    ("fcTenantId", FieldKind::Text, true),
    ("fcRole", FieldKind::Text, true),
    ("label", FieldKind::Text, false),
    ("regulated", FieldKind::Flag, false),
    ("strictMode", FieldKind::Flag, false),
];

/// One problem (or, in `DesiredState::warnings`, one oddity) in a mapping document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationIssue {
    pub entry: Option<u32>,
    pub group: Option<String>,
    pub field: Option<String>,
    pub message: String,
}

impl ValidationIssue {
    /// Every text of the issue scrubbed of the tokens.
    pub fn redact(&mut self, redactor: &Redactor) {
        for text in self.group.iter_mut().chain(self.field.iter_mut()) {
            redactor.scrub_in_place(text);
        }
        redactor.scrub_in_place(&mut self.message);
    }

    fn document(field: Option<&str>, message: impl Into<String>) -> Self {
        ValidationIssue {
            entry: None,
            group: None,
            field: field.map(excerpt),
            message: message.into(),
        }
    }
}

impl fmt::Display for ValidationIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(entry) = self.entry {
            write!(f, "mappings[{entry}]")?;
            if let Some(group) = &self.group {
                write!(f, " (group {group:?})")?;
            }
            f.write_str(": ")?;
        }
        if let Some(field) = &self.field {
            write!(f, "{field}: ")?;
        }
        f.write_str(&self.message)
    }
}

/// One group the mapping asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredGroup {
    pub name: String,
    pub tenant: String,
    pub role: String,
    pub label: Option<String>,
    pub regulated: Option<bool>,
    pub strict_mode: Option<bool>,
}

/// A wildcard entry: reported, never reconciled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedEntry {
    pub entry: u32,
    pub group: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DesiredState {
    /// Sorted by name, names unique.
    pub groups: Vec<DesiredGroup>,
    /// Sorted by group name.
    pub skipped: Vec<SkippedEntry>,
    pub warnings: Vec<ValidationIssue>,
}

/// A warning for each of the first `MAX_UNKNOWN_FIELDS_SHOWN` unknown fields (`what`: "field"),
/// and one that counts the rest; `warning(field, message)` places each (document or entry).
fn warn_unknown<'k>(
    unknown: impl Iterator<Item = &'k String>,
    what: &str,
    warnings: &mut Vec<ValidationIssue>,
    warning: impl Fn(Option<String>, String) -> ValidationIssue,
) {
    let mut count = 0;
    for key in unknown {
        count += 1;
        if count <= MAX_UNKNOWN_FIELDS_SHOWN {
            warnings.push(warning(
                Some(excerpt(key)),
                format!("unknown {what}, ignored"),
            ));
        }
    }
    if let Some(more) = count
        .checked_sub(MAX_UNKNOWN_FIELDS_SHOWN)
        .filter(|n| *n > 0)
    {
        warnings.push(warning(
            None,
            format!("{more} more unknown {what}s, ignored (not named)"),
        ));
    }
}

/// The first `max` of `found`, and a last one that counts the rest (`what`: "warnings").
fn first_of(mut found: Vec<ValidationIssue>, max: usize, what: &str) -> Vec<ValidationIssue> {
    if found.len() > max {
        let more = found.len() - max;
        found.truncate(max);
        found.push(ValidationIssue::document(
            None,
            format!("{more} more {what}{NOT_SHOWN}"),
        ));
    }
    found
}

/// How the closing line of a cut list goes on after its count.
const NOT_SHOWN: &str = " not shown; fix the ones above and validate again";

impl ValidationIssue {
    /// For the closing line of a list cut at its first `MAX_ISSUES_SHOWN`: how many it
    /// stands for.
    pub fn not_shown(&self) -> Option<usize> {
        if self.entry.is_some() || self.field.is_some() || !self.message.ends_with(NOT_SHOWN) {
            return None;
        }
        let (count, _) = self.message.split_once(' ')?;
        count.parse().ok()
    }
}

/// Parses and validates a mapping document. On failure, returns every problem found (the first
/// `MAX_ISSUES_SHOWN` of them, and how many more).
pub fn validate(document: &str) -> Result<DesiredState, Vec<ValidationIssue>> {
    validate_by(document, Reader::TypedFirst)
}

/// How `validate` reads the document: `TypedFirst` reads a document of the common shape
/// without a value tree, else like `General`, which reads any JSON (tests hold the two to one
/// result).
#[derive(Clone, Copy)]
enum Reader {
    TypedFirst,
    #[cfg(test)]
    General,
}

fn validate_by(document: &str, reader: Reader) -> Result<DesiredState, Vec<ValidationIssue>> {
    check_document(document).map_err(|issue| vec![issue])?;
    let mut issues = Vec::new();
    let mut warnings = Vec::new();
    let typed = match reader {
        Reader::TypedFirst => typed::read(document),
        #[cfg(test)]
        Reader::General => None,
    };
    let read = match typed {
        Some(entries) => {
            let mut read = Vec::with_capacity(entries.len());
            for (index, raw) in (0..).zip(entries) {
                if let Some(entry) = check_entry(index, raw, &mut issues, &mut warnings) {
                    read.push((index, entry));
                }
            }
            read
        }
        None => read_general(document, &mut issues, &mut warnings)?,
    };
    settle(read, issues, warnings)
}

/// The entries of any JSON document, read as a value tree: every problem with the document's
/// shape, and each entry's, in `issues`. `Err`: nothing further can be checked.
fn read_general(
    document: &str,
    issues: &mut Vec<ValidationIssue>,
    warnings: &mut Vec<ValidationIssue>,
) -> Result<Vec<(u32, Entry)>, Vec<ValidationIssue>> {
    let root = parse_document(document).map_err(|issue| vec![issue])?;

    let Value::Object(root) = root else {
        return Err(vec![ValidationIssue::document(
            None,
            format!(
                "the document must be a JSON object like {{\"version\": 1, \"mappings\": [...]}}, got {}",
                type_name(&root)
            ),
        )]);
    };
    let unknown = root
        .keys()
        .filter(|key| *key != "version" && *key != "mappings");
    warn_unknown(unknown, "top-level field", warnings, |field, message| {
        ValidationIssue {
            field,
            ..ValidationIssue::document(None, message)
        }
    });
    match root.get("version") {
        None => issues.push(ValidationIssue::document(
            Some("version"),
            "missing; this tool reads schema version 1, so add \"version\": 1",
        )),
        Some(Value::Number(n)) if n.as_u64() == Some(1) => {}
        Some(other) => issues.push(ValidationIssue::document(
            Some("version"),
            format!(
                "must be the number 1 (the only schema this tool reads), got {}",
                excerpt(&other.to_string())
            ),
        )),
    }
    let entries = match root.get("mappings") {
        None => {
            issues.push(ValidationIssue::document(
                Some("mappings"),
                "missing; expected a list of {\"authentikGroup\", \"fcTenantId\", \"fcRole\"} entries",
            ));
            return Err(std::mem::take(issues));
        }
        Some(Value::Array(entries)) => entries,
        Some(other) => {
            issues.push(ValidationIssue::document(
                Some("mappings"),
                format!("must be a list of entries, got {}", type_name(other)),
            ));
            return Err(std::mem::take(issues));
        }
    };
    if entries.is_empty() {
        issues.push(ValidationIssue::document(
            Some("mappings"),
            "is empty; a mapping with no entries is almost certainly a mistake, so nothing is reconciled",
        ));
    }
    if entries.len() > MAX_ENTRIES {
        issues.push(ValidationIssue::document(
            Some("mappings"),
            format!(
                "has {} entries, more than the {MAX_ENTRIES} this tool accepts",
                entries.len()
            ),
        ));
        return Err(std::mem::take(issues));
    }

    let mut read = Vec::with_capacity(entries.len());
    for (index, raw) in (0..).zip(entries) {
        if let Some(entry) = read_entry(index, raw, issues, warnings) {
            read.push((index, entry));
        }
    }
    Ok(read)
}

/// The entries read, settled into the desired state: duplicates collapsed or refused,
/// look-alike names refused, wildcard entries set aside; or every problem, in document order.
fn settle(
    mut read: Vec<(u32, Entry)>,
    mut issues: Vec<ValidationIssue>,
    mut warnings: Vec<ValidationIssue>,
) -> Result<DesiredState, Vec<ValidationIssue>> {
    // Duplicates end up side by side, the first occurrence first (the sort is stable). A
    // sort, not a map: mappings are usually kept sorted, and the sort sees that in one pass,
    // where a map would compare every name about log2(n) times.
    read.sort_by(|(_, a), (_, b)| a.name.cmp(&b.name));
    let mut unique: Vec<(u32, Entry)> = Vec::with_capacity(read.len());
    for (index, entry) in read {
        match unique.last() {
            Some((first, existing)) if existing.name == entry.name => {
                if *existing == entry {
                    warnings.push(ValidationIssue {
                        entry: Some(index),
                        group: Some(entry.name),
                        field: None,
                        message: format!("duplicates mappings[{first}] exactly; counted once"),
                    });
                } else {
                    issues.push(ValidationIssue {
                        entry: Some(index),
                        group: Some(entry.name.clone()),
                        field: Some(existing.first_difference(&entry).to_owned()),
                        message: format!(
                            "conflicts with mappings[{first}] for the same group; one group can map to one tenant and role only"
                        ),
                    });
                }
            }
            _ => unique.push((index, entry)),
        }
    }
    issues.extend(look_alikes(&unique));
    // In document order, as a reader goes through the file (stable: an entry's own problems
    // stay before its duplicate notice; document-level ones, without an entry, come first).
    issues.sort_by_key(|issue| issue.entry);
    warnings.sort_by_key(|warning| warning.entry);
    if !issues.is_empty() {
        return Err(first_of(issues, MAX_ISSUES_SHOWN, "problems"));
    }
    let warnings = first_of(warnings, MAX_WARNINGS_SHOWN, "warnings");

    let mut state = DesiredState {
        warnings,
        ..DesiredState::default()
    };
    for (index, entry) in unique {
        if entry.tenant == WILDCARD_TENANT {
            state.skipped.push(SkippedEntry {
                entry: index,
                group: entry.name,
                reason:
                    "wildcard tenant \"*\" grants a cross-tenant role and has no group of its own"
                        .to_owned(),
            });
        } else {
            state.groups.push(DesiredGroup {
                name: entry.name,
                tenant: entry.tenant,
                role: entry.role,
                label: entry.label,
                regulated: entry.regulated,
                strict_mode: entry.strict_mode,
            });
        }
    }
    Ok(state)
}

/// Entries whose group names differ but read the same (`lookalike::skeleton`): one issue per
/// later entry, naming the earlier one and both spellings by code point.
fn look_alikes(entries: &[(u32, Entry)]) -> Vec<ValidationIssue> {
    let mut by_look: Vec<(String, u32, &str)> = entries
        .iter()
        .map(|(index, entry)| (skeleton(&entry.name), *index, entry.name.as_str()))
        .collect();
    // Look-alikes side by side, each run in document order.
    by_look.sort();
    let mut issues = Vec::new();
    for pair in by_look.windows(2) {
        let [(first_look, first, first_name), (look, index, name)] = pair else {
            continue;
        };
        if look == first_look {
            issues.push(ValidationIssue {
                entry: Some(*index),
                group: Some(excerpt(name)),
                field: Some("authentikGroup".to_owned()),
                message: format!(
                    "{} reads the same as mappings[{first}] ({}) but is spelled with other characters; two groups whose names look alike invite mistakes, so use one spelling",
                    spelled(name),
                    spelled(first_name)
                ),
            });
        }
    }
    issues
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issues(document: &str) -> Vec<String> {
        validate(document)
            .expect_err("document should be invalid")
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn normalizes_a_valid_document() {
        let state = validate(
            r#"{"version": 1, "mappings": [
                {"authentikGroup": "b-users", "fcTenantId": "b", "fcRole": "user"},
                {"authentikGroup": "a-admins", "fcTenantId": "a", "fcRole": "admin",
                 "label": "A", "regulated": true, "strictMode": false},
                {"authentikGroup": "superadmins", "fcTenantId": "*", "fcRole": "SuperAdmin"}
            ]}"#,
        )
        .unwrap();
        let names: Vec<_> = state.groups.iter().map(|g| g.name.as_str()).collect();
        assert_eq!(names, ["a-admins", "b-users"]);
        assert_eq!(state.groups[0].label.as_deref(), Some("A"));
        assert_eq!(state.groups[0].regulated, Some(true));
        assert_eq!(state.groups[0].strict_mode, Some(false));
        assert_eq!(state.groups[1].regulated, None);
        assert_eq!(state.skipped.len(), 1);
        assert_eq!(state.skipped[0].group, "superadmins");
        assert_eq!(state.skipped[0].entry, 2);
        assert!(state.warnings.is_empty());
    }

    #[test]
    fn reports_every_problem_with_entry_group_and_field() {
        let found = issues(
            r#"{"version": 1, "mappings": [
                {"authentikGroup": "ok", "fcTenantId": "t", "fcRole": "r"},
                {"authentikGroup": "g1", "fcTenantId": 7, "fcRole": ""},
                {"fcTenantId": "t", "fcRole": "r", "regulated": "yes"},
                "junk"
            ]}"#,
        );
        assert_eq!(
            found,
            [
                "mappings[1] (group \"g1\"): fcTenantId: must be a non-empty string, got a number",
                "mappings[1] (group \"g1\"): fcRole: must not be empty",
                "mappings[2]: authentikGroup: missing; it is required",
                "mappings[2]: regulated: must be true or false (leave it out when not set), got a string",
                "mappings[3]: must be an object, got a string",
            ]
        );
    }

    #[test]
    fn rejects_wrong_versions() {
        for (doc, expected) in [
            (r#"{"mappings": []}"#, "version: missing"),
            (r#"{"version": 2, "mappings": []}"#, "got 2"),
            (r#"{"version": 0, "mappings": []}"#, "got 0"),
            (r#"{"version": "1", "mappings": []}"#, "got \"1\""),
            (r#"{"version": 1.5, "mappings": []}"#, "got 1.5"),
        ] {
            let found = issues(doc);
            assert!(
                found[0].contains(expected),
                "{doc}: {found:?} lacks {expected}"
            );
        }
    }

    #[test]
    fn rejects_structural_problems() {
        for (doc, expected) in [
            ("", "the document is empty"),
            ("{", "not valid JSON"),
            ("[1]", "must be a JSON object"),
            ("\u{feff}{}", "byte-order mark"),
            (r#"{"version": 1}"#, "mappings: missing"),
            (r#"{"version": 1, "mappings": {}}"#, "must be a list"),
            (r#"{"version": 1, "mappings": []}"#, "mappings: is empty"),
        ] {
            let found = issues(doc);
            assert!(
                found.iter().any(|m| m.contains(expected)),
                "{doc:?}: {found:?} lacks {expected}"
            );
        }
    }

    #[test]
    fn rejects_unusable_names() {
        for (name, expected) in [
            (" padded", "whitespace"),
            ("tab\there", "U+0009"),
            (&"x".repeat(MAX_VALUE_CHARS + 1), "characters long"),
        ] {
            let doc = serde_json::json!({"version": 1, "mappings": [
                {"authentikGroup": name, "fcTenantId": "t", "fcRole": "r"}]});
            let found = issues(&doc.to_string());
            assert!(
                found[0].contains("authentikGroup") && found[0].contains(expected),
                "{found:?}"
            );
        }
    }

    #[test]
    fn collapses_identical_duplicates_and_rejects_conflicting_ones() {
        let state = validate(
            r#"{"version": 1, "mappings": [
                {"authentikGroup": "g", "fcTenantId": "t", "fcRole": "r"},
                {"authentikGroup": "g", "fcTenantId": "t", "fcRole": "r"}]}"#,
        )
        .unwrap();
        assert_eq!(state.groups.len(), 1);
        assert_eq!(
            state.warnings[0].to_string(),
            "mappings[1] (group \"g\"): duplicates mappings[0] exactly; counted once"
        );

        let found = issues(
            r#"{"version": 1, "mappings": [
                {"authentikGroup": "g", "fcTenantId": "t", "fcRole": "r"},
                {"authentikGroup": "g", "fcTenantId": "t", "fcRole": "r", "regulated": true}]}"#,
        );
        assert_eq!(
            found,
            [
                "mappings[1] (group \"g\"): regulated: conflicts with mappings[0] for the same group; one group can map to one tenant and role only"
            ]
        );
    }

    #[test]
    fn problems_are_listed_in_document_order_whatever_the_names() {
        let found = issues(
            r#"{"version": 1, "mappings": [
                {"authentikGroup": "z", "fcTenantId": "t", "fcRole": "r"},
                {"authentikGroup": "a", "fcTenantId": "t", "fcRole": "r"},
                {"authentikGroup": "z", "fcTenantId": "u", "fcRole": "r"},
                {"authentikGroup": "m", "fcRole": "r"},
                {"authentikGroup": "a", "fcTenantId": "t", "fcRole": "s"},
                {"authentikGroup": "z", "fcTenantId": "t", "fcRole": "r", "regulated": 1}]}"#,
        );
        let entries: Vec<&str> = found
            .iter()
            .map(|issue| issue.split(' ').next().unwrap())
            .collect();
        assert_eq!(
            entries,
            ["mappings[2]", "mappings[3]", "mappings[4]", "mappings[5]"],
            "{found:#?}"
        );
        assert!(found[0].ends_with("conflicts with mappings[0] for the same group; one group can map to one tenant and role only"));

        let state = validate(
            r#"{"version": 1, "extra": 1, "mappings": [
                {"authentikGroup": "b", "fcTenantId": "t", "fcRole": "r", "x": 1},
                {"authentikGroup": "a", "fcTenantId": "t", "fcRole": "r"},
                {"authentikGroup": "b", "fcTenantId": "t", "fcRole": "r", "x": 2},
                {"authentikGroup": "c", "fcTenantId": "t", "fcRole": "r", "y": 3}]}"#,
        )
        .unwrap();
        let warnings: Vec<String> = state.warnings.iter().map(ToString::to_string).collect();
        assert_eq!(
            warnings,
            [
                "extra: unknown top-level field, ignored",
                "mappings[0] (group \"b\"): x: unknown field, ignored",
                "mappings[2] (group \"b\"): x: unknown field, ignored",
                "mappings[2] (group \"b\"): duplicates mappings[0] exactly; counted once",
                "mappings[3] (group \"c\"): y: unknown field, ignored",
            ]
        );
        let names: Vec<&str> = state.groups.iter().map(|g| g.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "c"]);
    }

    /// serde_json keeps the last of two equal keys: a hidden second `fcRole` (here spelled with
    /// an escape) would override the visible one.
    #[test]
    fn an_object_with_a_repeated_key_is_refused() {
        let hidden = r#"{"version": 1, "mappings": [{"authentikGroup": "g", "fcTenantId": "t", "fcRole": "user", "fc\u0052ole": "SuperAdmin"}]}"#;
        let found = issues(hidden);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].contains("the document repeats the key \"fcRole\" in one object at line 1"),
            "{found:?}"
        );
        let top = r#"{"version": 1, "version": 1, "mappings": []}"#;
        assert!(issues(top)[0].contains("repeats the key \"version\""));
        // Equal keys in different objects are fine.
        let fine = r#"{"version": 1, "mappings": [{"authentikGroup": "a", "fcTenantId": "t", "fcRole": "r"}, {"authentikGroup": "b", "fcTenantId": "t", "fcRole": "r"}]}"#;
        assert!(validate(fine).is_ok());
    }

    fn one_entry(group: &str, tenant: &str) -> String {
        serde_json::json!({"version": 1, "mappings": [
            {"authentikGroup": group, "fcTenantId": tenant, "fcRole": "user"}]})
        .to_string()
    }

    #[test]
    fn invisible_characters_in_names_and_ids_are_refused() {
        for (group, tenant, field, code) in [
            (
                "acme\u{200b}-admins",
                "acme",
                "authentikGroup",
                "U+200B at character 5",
            ),
            ("admins\u{202e}", "acme", "authentikGroup", "U+202E"),
            ("R&D\u{a0}admins", "rnd", "authentikGroup", "U+00A0"),
            ("a\u{2028}b", "t", "authentikGroup", "U+2028"),
            ("g", "ac\u{feff}me", "fcTenantId", "U+FEFF"),
            ("g", "acme\u{e0041}", "fcTenantId", "U+E0041"),
        ] {
            let found = issues(&one_entry(group, tenant));
            assert_eq!(found.len(), 1, "{found:?}");
            assert!(
                found[0].contains(&format!("{field}: contains the invisible character {code}")),
                "{found:?}"
            );
        }
    }

    #[test]
    fn a_name_in_another_unicode_spelling_is_one_group_with_a_warning() {
        // "ümlaut" as u + U+0308: looks like the precomposed name, and is the same group.
        let decomposed = "u\u{308}mlaut";
        let state = validate(&one_entry(decomposed, "t")).unwrap();
        assert_eq!(state.groups[0].name, "ümlaut");
        let warned: Vec<String> = state.warnings.iter().map(ToString::to_string).collect();
        assert_eq!(warned.len(), 1);
        assert!(
            warned[0].contains("authentikGroup: is not in Unicode NFC form"),
            "{warned:?}"
        );
        let both = serde_json::json!({"version": 1, "mappings": [
            {"authentikGroup": "ümlaut", "fcTenantId": "t", "fcRole": "user"},
            {"authentikGroup": decomposed, "fcTenantId": "t", "fcRole": "user"}]})
        .to_string();
        let state = validate(&both).unwrap();
        assert_eq!(state.groups.len(), 1, "NFC-equal entries are one group");
        assert!(
            state
                .warnings
                .iter()
                .any(|w| w.message.contains("duplicates mappings[0] exactly")),
            "{:?}",
            state.warnings
        );
        let disagreeing = serde_json::json!({"version": 1, "mappings": [
            {"authentikGroup": "ümlaut", "fcTenantId": "t", "fcRole": "user"},
            {"authentikGroup": decomposed, "fcTenantId": "t", "fcRole": "admin"}]})
        .to_string();
        assert!(issues(&disagreeing)[0].contains("conflicts with mappings[0]"));
        for fine in ["ümlaut", "한국어", "Ελληνικά", "R&D admins", "50% off?"] {
            let state = validate(&one_entry(fine, "t")).unwrap();
            assert!(state.warnings.is_empty(), "{fine}");
        }
    }

    #[test]
    fn two_entries_whose_names_read_the_same_are_refused() {
        let document = serde_json::json!({"version": 1, "mappings": [
            {"authentikGroup": "acme-admins", "fcTenantId": "t", "fcRole": "user"},
            {"authentikGroup": "beta", "fcTenantId": "t", "fcRole": "user"},
            {"authentikGroup": "\u{0430}cme-admins", "fcTenantId": "u", "fcRole": "user"},
            {"authentikGroup": "acme\u{2010}admins", "fcTenantId": "t", "fcRole": "user"}]})
        .to_string();
        assert_eq!(
            issues(&document),
            [
                r#"mappings[2] (group "аcme-admins"): authentikGroup: "\u{0430}cme-admins" reads the same as mappings[0] ("acme-admins") but is spelled with other characters; two groups whose names look alike invite mistakes, so use one spelling"#,
                r#"mappings[3] (group "acme‐admins"): authentikGroup: "acme\u{2010}admins" reads the same as mappings[2] ("\u{0430}cme-admins") but is spelled with other characters; two groups whose names look alike invite mistakes, so use one spelling"#,
            ]
        );
    }

    #[test]
    fn text_quoted_from_a_huge_document_is_bounded() {
        // A megabyte each, so the document stays under the 16 MiB it may have.
        let huge = "x".repeat(1024 * 1024);
        let document = serde_json::json!({
            "version": [huge.clone()],
            huge.clone(): 1,
            "mappings": [
                {"authentikGroup": format!("{huge} "), "fcTenantId": "t", "fcRole": "r"},
                {"authentikGroup": "g", "fcTenantId": "t", "fcRole": "r", huge.clone(): true},
            ],
        })
        .to_string();
        let found = validate(&document).unwrap_err();
        assert!(found.len() >= 2, "{}", found.len());
        let valid = serde_json::json!({"version": 1, huge.clone(): 1, "mappings": [
            {"authentikGroup": "g", "fcTenantId": "t", "fcRole": "r", huge.clone(): true}]})
        .to_string();
        let warned = validate(&valid).unwrap().warnings;
        assert_eq!(warned.len(), 2);
        for issue in found.iter().chain(&warned) {
            let text = issue.to_string();
            assert!(
                text.chars().count() < 1200,
                "{} characters",
                text.chars().count()
            );
        }
    }

    #[test]
    fn warns_about_unknown_fields() {
        let state = validate(
            r#"{"version": 1, "comment": "x", "mappings": [
                {"authentikGroup": "g", "fcTenantId": "t", "fcRole": "r", "colour": "red"}]}"#,
        )
        .unwrap();
        let warnings: Vec<_> = state.warnings.iter().map(ToString::to_string).collect();
        assert_eq!(
            warnings,
            [
                "comment: unknown top-level field, ignored",
                "mappings[0] (group \"g\"): colour: unknown field, ignored"
            ]
        );
    }

    #[test]
    fn a_wildcard_and_a_tenant_for_the_same_group_conflict() {
        let found = issues(
            r#"{"version": 1, "mappings": [
                {"authentikGroup": "g", "fcTenantId": "*", "fcRole": "r"},
                {"authentikGroup": "g", "fcTenantId": "t", "fcRole": "r"}]}"#,
        );
        assert!(found[0].contains("fcTenantId: conflicts"), "{found:?}");
    }

    #[test]
    fn warnings_stay_proportional_to_what_a_person_can_act_on() {
        let mut entry =
            serde_json::json!({"authentikGroup": "g", "fcTenantId": "t", "fcRole": "r"});
        for i in 0..400_000 {
            entry[format!("k{i}")] = serde_json::json!(1);
        }
        let document = serde_json::json!({"version": 1, "mappings": [entry]}).to_string();
        let warnings = validate(&document).unwrap().warnings;
        let shown: Vec<String> = warnings.iter().map(ToString::to_string).collect();
        assert_eq!(shown.len(), MAX_UNKNOWN_FIELDS_SHOWN + 1, "{shown:?}");
        assert_eq!(
            shown.last().unwrap(),
            "mappings[0] (group \"g\"): 399995 more unknown fields, ignored (not named)"
        );

        let entries: Vec<Value> = (0..1_000)
            .map(|i| serde_json::json!({"authentikGroup": format!("g{i}"), "fcTenantId": "t", "fcRole": "r", "x": 1}))
            .collect();
        let document = serde_json::json!({"version": 1, "mappings": entries}).to_string();
        let warnings = validate(&document).unwrap().warnings;
        assert_eq!(warnings.len(), MAX_WARNINGS_SHOWN + 1);
        assert_eq!(
            warnings.last().unwrap().message,
            "900 more warnings not shown; fix the ones above and validate again"
        );

        let entries: Vec<Value> = (0..2_000)
            .map(|_| serde_json::json!({"fcRole": "r"}))
            .collect();
        let document = serde_json::json!({"version": 1, "mappings": entries}).to_string();
        let issues = validate(&document).unwrap_err();
        assert_eq!(issues.len(), MAX_ISSUES_SHOWN + 1);
        assert!(
            issues
                .last()
                .unwrap()
                .message
                .ends_with("more problems not shown; fix the ones above and validate again")
        );
    }
}
