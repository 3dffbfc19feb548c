//! The common document read without a JSON value tree: `{"version": 1, "mappings": [...]}` with
//! entries of only the known fields, no key twice, no `null`, text and flags of their types. The
//! MCP server validates the whole mapping on every call, and this reads it in a fraction of
//! the time a value tree takes. Anything else is `None`, and the general reader (`json.rs`,
//! `entry.rs`) reads the document again to find and word every problem; what this accepts, the
//! general reader accepts alike (a property test holds them to one result).

use super::MAX_ENTRIES;
use super::entry::Entry;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// The entries of a document of the common shape, as the document holds them (their text not
/// yet checked: `entry::check_entry`), or `None`.
pub(super) fn read(document: &str) -> Option<Vec<Entry>> {
    let Document(entries) = serde_json::from_str(document).ok()?;
    // The general reader words this one; it is rare.
    (!entries.is_empty()).then_some(entries)
}

struct Document(Vec<Entry>);

/// The keys this reader knows; any other key makes the document not of the common shape.
enum Key {
    Version,
    Mappings,
    AuthentikGroup,
    FcTenantId,
    FcRole,
    Label,
    Regulated,
    StrictMode,
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Key, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a known field")
            }
            // Escaped keys arrive here unescaped too: `"fc\u0052ole"` is `fcRole`, as in the
            // general reader.
            fn visit_str<E: de::Error>(self, key: &str) -> Result<Key, E> {
                Ok(match key {
                    "version" => Key::Version,
                    "mappings" => Key::Mappings,
                    "authentikGroup" => Key::AuthentikGroup,
                    "fcTenantId" => Key::FcTenantId,
                    "fcRole" => Key::FcRole,
                    "label" => Key::Label,
                    "regulated" => Key::Regulated,
                    "strictMode" => Key::StrictMode,
                    _ => return Err(E::custom("not a known field")),
                })
            }
        }
        deserializer.deserialize_identifier(KeyVisitor)
    }
}

/// Sets a field once: a key given twice is not the common shape.
fn once<T, E: de::Error>(slot: &mut Option<T>, value: T) -> Result<(), E> {
    match slot.replace(value) {
        None => Ok(()),
        Some(_) => Err(E::custom("a key given twice")),
    }
}

impl<'de> Deserialize<'de> for Document {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Document, D::Error> {
        struct DocumentVisitor;
        impl<'de> Visitor<'de> for DocumentVisitor {
            type Value = Document;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping document")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Document, A::Error> {
                let (mut version, mut mappings) = (None, None);
                while let Some(key) = map.next_key::<Key>()? {
                    match key {
                        // A number other than exactly 1 (`1.0`, `2`) fails here or below.
                        Key::Version => once(&mut version, map.next_value::<u64>()?)?,
                        Key::Mappings => once(&mut mappings, map.next_value::<Entries>()?.0)?,
                        _ => return Err(de::Error::custom("not a top-level field")),
                    }
                }
                match (version, mappings) {
                    (Some(1), Some(entries)) => Ok(Document(entries)),
                    _ => Err(de::Error::custom("no version 1 or no mappings")),
                }
            }
        }
        // A map only: a struct visitor would also take a list of values.
        deserializer.deserialize_map(DocumentVisitor)
    }
}

/// The entries, read no further than `MAX_ENTRIES` (the general reader says there are too many).
struct Entries(Vec<Entry>);

impl<'de> Deserialize<'de> for Entries {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Entries, D::Error> {
        struct EntriesVisitor;
        impl<'de> Visitor<'de> for EntriesVisitor {
            type Value = Entries;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of entries")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Entries, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = seq.next_element()? {
                    if entries.len() == MAX_ENTRIES {
                        return Err(de::Error::custom("more entries than accepted"));
                    }
                    entries.push(entry);
                }
                Ok(Entries(entries))
            }
        }
        deserializer.deserialize_seq(EntriesVisitor)
    }
}

impl<'de> Deserialize<'de> for Entry {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Entry, D::Error> {
        struct EntryVisitor;
        impl<'de> Visitor<'de> for EntryVisitor {
            type Value = Entry;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping entry")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entry, A::Error> {
                let (mut name, mut tenant, mut role) = (None, None, None);
                let (mut label, mut regulated, mut strict_mode) = (None, None, None);
                // `String` and `bool` refuse `null` and every other type.
                while let Some(key) = map.next_key::<Key>()? {
                    match key {
                        Key::AuthentikGroup => once(&mut name, map.next_value()?)?,
                        Key::FcTenantId => once(&mut tenant, map.next_value()?)?,
                        Key::FcRole => once(&mut role, map.next_value()?)?,
                        Key::Label => once(&mut label, map.next_value()?)?,
                        Key::Regulated => once(&mut regulated, map.next_value()?)?,
                        Key::StrictMode => once(&mut strict_mode, map.next_value()?)?,
                        Key::Version | Key::Mappings => {
                            return Err(de::Error::custom("not an entry field"));
                        }
                    }
                }
                match (name, tenant, role) {
                    (Some(name), Some(tenant), Some(role)) => Ok(Entry {
                        name,
                        tenant,
                        role,
                        label,
                        regulated,
                        strict_mode,
                    }),
                    _ => Err(de::Error::custom("a required field is missing")),
                }
            }
        }
        deserializer.deserialize_map(EntryVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{MAX_ENTRIES, Reader, validate_by};
    use super::read;
    use proptest::prelude::*;

    #[test]
    fn the_common_document_is_read_without_a_value_tree() {
        let document = r#"{"mappings": [
            {"authentikGroup": "a-admins", "fcTenantId": "a", "fcRole": "admin",
             "label": "A", "regulated": true, "strictMode": false},
            {"fc\u0052ole": "user", "authentikGroup": "b-users", "fcTenantId": "*"}
        ], "version": 1}"#;
        let entries = read(document).expect("the common shape");
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[1].role, "user");
        assert_eq!(
            validate_by(document, Reader::TypedFirst),
            validate_by(document, Reader::General)
        );
    }

    #[test]
    fn anything_else_is_left_to_the_general_reader() {
        for other in [
            r#"[1, [{"authentikGroup": "a", "fcTenantId": "a", "fcRole": "r"}]]"#,
            r#"{"version": 1, "mappings": [["a", "a", "r"]]}"#,
            r#"{"version": 1, "mappings": [{"authentikGroup": "a", "fcTenantId": "a", "fcRole": "r", "label": null}]}"#,
            r#"{"version": 1, "mappings": [{"authentikGroup": "a", "fcTenantId": "a", "fcRole": "r", "fcRole": "s"}]}"#,
            r#"{"version": 1, "mappings": [{"authentikGroup": "a", "fcTenantId": "a", "fcRole": "r", "x": 1}]}"#,
            r#"{"version": 1, "mappings": [{"authentikGroup": "a", "fcTenantId": "a"}]}"#,
            r#"{"version": 1.0, "mappings": [{"authentikGroup": "a", "fcTenantId": "a", "fcRole": "r"}]}"#,
            r#"{"version": 1, "version": 1, "mappings": [{"authentikGroup": "a", "fcTenantId": "a", "fcRole": "r"}]}"#,
            r#"{"version": 1, "mappings": [{"authentikGroup": "a", "fcTenantId": "a", "fcRole": "r"}], "note": ""}"#,
            r#"{"version": 1, "mappings": []}"#,
        ] {
            assert!(read(other).is_none(), "{other}");
        }
        // More entries than accepted: not read to the end.
        let entry = r#"{"authentikGroup": "a", "fcTenantId": "a", "fcRole": "r"}"#;
        let many = |n: usize| {
            format!(
                r#"{{"version": 1, "mappings": [{}]}}"#,
                vec![entry; n].join(",")
            )
        };
        assert!(read(&many(MAX_ENTRIES + 1)).is_none());
        assert_eq!(read(&many(MAX_ENTRIES)).map(|e| e.len()), Some(MAX_ENTRIES));
    }

    /// A JSON string for a text field: fine, or wrong in one of the ways a mapping can be.
    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            8 => "[a-z][a-z0-9-]{0,12}".prop_map(|s| format!("{s:?}")),
            1 => Just(r#""*""#.to_owned()),
            1 => Just(r#""""#.to_owned()),
            1 => Just(r#"" padded""#.to_owned()),
            1 => Just(r#""zero\u200bwidth""#.to_owned()),
            1 => Just(r#""tab\tin""#.to_owned()),
            1 => Just(r#""u\u0308ber""#.to_owned()),
            1 => Just(r#""\u00fcber""#.to_owned()),
            1 => Just(r#""\u0430cme""#.to_owned()),
            1 => Just("\"acme\"".to_owned()),
            1 => Just(format!("{:?}", "x".repeat(257))),
        ]
    }

    /// A JSON text for any field value: mostly of the field's type, sometimes not.
    fn value() -> impl Strategy<Value = String> {
        prop_oneof![
            6 => text(),
            1 => Just("null".to_owned()),
            1 => Just("true".to_owned()),
            1 => Just("7".to_owned()),
            1 => Just("{}".to_owned()),
        ]
    }

    fn key() -> impl Strategy<Value = &'static str> {
        prop_oneof![
            3 => Just("authentikGroup"),
            3 => Just("fcTenantId"),
            3 => Just("fcRole"),
            1 => Just("label"),
            1 => Just("regulated"),
            1 => Just("strictMode"),
            1 => Just("fc\\u0052ole"),
            1 => Just("version"),
            1 => Just("other"),
        ]
    }

    fn entry() -> impl Strategy<Value = String> {
        let fields = prop::collection::vec((key(), value()), 0..7).prop_map(|fields| {
            let fields: Vec<String> = fields
                .iter()
                .map(|(k, v)| format!("\"{k}\": {v}"))
                .collect();
            format!("{{{}}}", fields.join(", "))
        });
        // Mostly whole entries of the three required fields, so the documents get past the
        // first problem often enough to meet the later rules (duplicates, look-alikes).
        let flag = || {
            prop::option::of(
                prop_oneof![4 => Just("true"), 4 => Just("false"), 1 => Just("null"), 1 => Just("\"yes\"")],
            )
        };
        let whole = (
            text(),
            text(),
            text(),
            prop::option::of(text()),
            flag(),
            flag(),
        )
            .prop_map(|(name, tenant, role, label, regulated, strict)| {
                let mut entry = format!(
                    r#"{{"authentikGroup": {name}, "fcTenantId": {tenant}, "fcRole": {role}"#
                );
                for (key, value) in [
                    ("label", label),
                    ("regulated", regulated.map(str::to_owned)),
                    ("strictMode", strict.map(str::to_owned)),
                ] {
                    if let Some(value) = value {
                        entry.push_str(&format!(r#", "{key}": {value}"#));
                    }
                }
                entry + "}"
            });
        prop_oneof![30 => whole, 2 => fields, 1 => Just("[]".to_owned()), 1 => Just("null".to_owned())]
    }

    fn document() -> impl Strategy<Value = String> {
        let version = prop_oneof![
            20 => Just(r#""version": 1, "#),
            1 => Just(""),
            1 => Just(r#""version": 1.0, "#),
            1 => Just(r#""version": "1", "#),
            1 => Just(r#""version": 1, "version": 1, "#),
            1 => Just(r#""extra": 0, "version": 1, "#),
        ];
        (version, prop::collection::vec(entry(), 0..5)).prop_map(|(version, entries)| {
            format!(r#"{{{version}"mappings": [{}]}}"#, entries.join(", "))
        })
    }

    /// The documents below reach the typed reader often enough to test it.
    #[test]
    fn most_generated_documents_are_read_typed() {
        use proptest::strategy::ValueTree;
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let typed = (0..1_000)
            .filter(|_| read(&document().new_tree(&mut runner).unwrap().current()).is_some())
            .count();
        assert!(typed > 200, "{typed} of 1,000");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3_000))]
        /// Whatever the document, reading it typed first gives what the general reader gives:
        /// the same desired state, or the same problems in the same words.
        #[test]
        fn the_typed_reader_and_the_general_reader_agree(document in document()) {
            prop_assert_eq!(
                validate_by(&document, Reader::TypedFirst),
                validate_by(&document, Reader::General),
                "{}", document
            );
        }
    }
}
