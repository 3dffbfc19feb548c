//! One mapping entry: its fields read by their rules (required text, optional text and flags,
//! unknown fields warned about), a group name in its NFC spelling, and text any field may hold.

use super::json::type_name;
use super::{ENTRY_FIELDS, MAX_VALUE_CHARS, ValidationIssue, warn_unknown};
use crate::lookalike::nfc;
use crate::untrusted::{excerpt, is_invisible};
use serde_json::{Map, Value};
use std::borrow::Cow;

/// An entry's fields, before wildcard handling. Equality decides "identical duplicate".
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Entry {
    pub(super) name: String,
    pub(super) tenant: String,
    pub(super) role: String,
    pub(super) label: Option<String>,
    pub(super) regulated: Option<bool>,
    pub(super) strict_mode: Option<bool>,
}

impl Entry {
    pub(super) fn first_difference(&self, other: &Entry) -> &'static str {
        if self.tenant != other.tenant {
            "fcTenantId"
        } else if self.role != other.role {
            "fcRole"
        } else if self.label != other.label {
            "label"
        } else if self.regulated != other.regulated {
            "regulated"
        } else {
            "strictMode"
        }
    }
}

pub(super) fn read_entry(
    index: u32,
    raw: &Value,
    issues: &mut Vec<ValidationIssue>,
    warnings: &mut Vec<ValidationIssue>,
) -> Option<Entry> {
    let Value::Object(fields) = raw else {
        issues.push(ValidationIssue {
            entry: Some(index),
            group: None,
            field: None,
            message: format!("must be an object, got {}", type_name(raw)),
        });
        return None;
    };
    // The group name labels every other message, so read it first (bounded only for a message:
    // most entries have none).
    let group = fields.get("authentikGroup").and_then(Value::as_str);
    let mut reader = EntryReader {
        index,
        group,
        fields,
        issues,
        ok: true,
    };
    let name = reader
        .required_text("authentikGroup")
        .map(|name| nfc_name(name, index, warnings));
    let tenant = reader.required_text("fcTenantId");
    let role = reader.required_text("fcRole");
    let label = reader.optional_text("label");
    let regulated = reader.optional_bool("regulated");
    let strict_mode = reader.optional_bool("strictMode");
    let ok = reader.ok;
    let unknown = fields
        .keys()
        .filter(|key| !ENTRY_FIELDS.iter().any(|(name, _, _)| name == *key));
    warn_unknown(unknown, "field", warnings, |field, message| {
        ValidationIssue {
            entry: Some(index),
            group: group.map(excerpt),
            field,
            message,
        }
    });
    ok.then(|| Entry {
        name: name.unwrap_or_default(),
        tenant: tenant.unwrap_or_default(),
        role: role.unwrap_or_default(),
        label,
        regulated,
        strict_mode,
    })
}

/// An entry the typed reader read (its fields of their types, no others): its text checked by
/// the rules `read_entry` applies, with the same issues and warnings, its name made NFC.
pub(super) fn check_entry(
    index: u32,
    raw: Entry,
    issues: &mut Vec<ValidationIssue>,
    warnings: &mut Vec<ValidationIssue>,
) -> Option<Entry> {
    let mut ok = true;
    let mut check = |field: &str, text: &str| {
        let Some(message) = text_problem(text) else {
            return true;
        };
        issues.push(ValidationIssue {
            entry: Some(index),
            group: Some(excerpt(&raw.name)),
            field: Some(field.to_owned()),
            message,
        });
        ok = false;
        false
    };
    let name_ok = check("authentikGroup", &raw.name);
    check("fcTenantId", &raw.tenant);
    check("fcRole", &raw.role);
    if let Some(label) = &raw.label {
        check("label", label);
    }
    let name = name_ok.then(|| nfc_name(raw.name, index, warnings));
    ok.then(|| Entry {
        name: name.unwrap_or_default(),
        tenant: raw.tenant,
        role: raw.role,
        label: raw.label,
        regulated: raw.regulated,
        strict_mode: raw.strict_mode,
    })
}

struct EntryReader<'a> {
    index: u32,
    group: Option<&'a str>,
    fields: &'a Map<String, Value>,
    issues: &'a mut Vec<ValidationIssue>,
    ok: bool,
}

impl EntryReader<'_> {
    fn problem(&mut self, field: &str, message: String) {
        self.ok = false;
        self.issues.push(ValidationIssue {
            entry: Some(self.index),
            group: self.group.map(excerpt),
            field: Some(field.to_owned()),
            message,
        });
    }

    fn required_text(&mut self, field: &str) -> Option<String> {
        match self.fields.get(field) {
            None => {
                self.problem(field, "missing; it is required".to_owned());
                None
            }
            Some(value) => self.text(field, value),
        }
    }

    fn optional_text(&mut self, field: &str) -> Option<String> {
        let value = self.fields.get(field)?;
        self.text(field, value)
    }

    fn text(&mut self, field: &str, value: &Value) -> Option<String> {
        let Value::String(text) = value else {
            self.problem(
                field,
                format!("must be a non-empty string, got {}", type_name(value)),
            );
            return None;
        };
        match text_problem(text) {
            Some(problem) => {
                self.problem(field, problem);
                None
            }
            None => Some(text.clone()),
        }
    }

    fn optional_bool(&mut self, field: &str) -> Option<bool> {
        match self.fields.get(field)? {
            Value::Bool(flag) => Some(*flag),
            other => {
                self.problem(
                    field,
                    format!(
                        "must be true or false (leave it out when not set), got {}",
                        type_name(other)
                    ),
                );
                None
            }
        }
    }
}

/// A group name in its one Unicode spelling (NFC): Authentik compares names byte for byte, so a
/// decomposed `ü` (u + U+0308) would be a second group that looks like the first. Another
/// spelling is reconciled as its NFC form, with a warning.
fn nfc_name(name: String, index: u32, warnings: &mut Vec<ValidationIssue>) -> String {
    let nfc = match nfc(&name) {
        Cow::Borrowed(_) => return name,
        Cow::Owned(nfc) => nfc,
    };
    if nfc != name {
        warnings.push(ValidationIssue {
            entry: Some(index),
            group: Some(excerpt(&nfc)),
            field: Some("authentikGroup".to_owned()),
            message: "is not in Unicode NFC form; it is reconciled as its NFC spelling, which looks the same (two spellings of one name are one group)".to_owned(),
        });
    }
    nfc
}

/// Why a name or value is unusable, if it is.
fn text_problem(text: &str) -> Option<String> {
    if text.is_empty() {
        return Some("must not be empty".to_owned());
    }
    if text.trim() != text {
        return Some(format!(
            "{:?} has leading or trailing whitespace; remove it",
            excerpt(text)
        ));
    }
    if let Some(c) = text.chars().find(|c| c.is_control()) {
        return Some(format!(
            "contains the control character U+{:04X}; names and values must be printable",
            c as u32
        ));
    }
    if let Some((at, c)) = text.chars().enumerate().find(|(_, c)| is_invisible(*c)) {
        return Some(format!(
            "contains the invisible character U+{:04X} at character {}; remove it (zero-width, direction and other invisible characters, and spaces other than U+0020, make two different names look the same)",
            c as u32,
            at + 1
        ));
    }
    let chars = text.chars().count();
    if chars > MAX_VALUE_CHARS {
        return Some(format!(
            "is {chars} characters long, more than the {MAX_VALUE_CHARS} allowed"
        ));
    }
    None
}
