//! Reading the mapping document as JSON, strictly: within its size, without a byte-order
//! mark, and refusing an object that repeats a key (JSON readers keep one of the two, so what a
//! person reads may not be what applies).

use super::{MAX_DOCUMENT_BYTES, ValidationIssue};
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::fmt;

/// What makes a document unreadable before its JSON is: its size, a byte-order mark, no text.
pub(super) fn check_document(document: &str) -> Result<(), ValidationIssue> {
    if document.len() > MAX_DOCUMENT_BYTES {
        return Err(ValidationIssue::document(
            None,
            format!(
                "the document is {} bytes, more than the {MAX_DOCUMENT_BYTES} this tool accepts",
                document.len()
            ),
        ));
    }
    if document.starts_with('\u{feff}') {
        return Err(ValidationIssue::document(
            None,
            "the document starts with a byte-order mark (U+FEFF); save it as plain UTF-8 without BOM",
        ));
    }
    if document.trim().is_empty() {
        return Err(ValidationIssue::document(None, "the document is empty"));
    }
    Ok(())
}

/// The document as a JSON value, any shape; an object that repeats a key is refused.
pub(super) fn parse_document(document: &str) -> Result<Value, ValidationIssue> {
    match serde_json::from_str::<Strict>(document) {
        Ok(Strict(value)) => Ok(value),
        Err(e) if e.to_string().starts_with(REPEATED_KEY) => Err(ValidationIssue::document(
            None,
            format!(
                "the document {e}; JSON readers keep only one of the two, so what you see may not be what applies: remove one"
            ),
        )),
        Err(e) => Err(ValidationIssue::document(
            None,
            format!("the document is not valid JSON: {e}"),
        )),
    }
}

const REPEATED_KEY: &str = "repeats the key";

/// A JSON value read like `serde_json::Value`, except that an object with the same key twice is
/// refused: serde_json keeps the last one, so a second `fcRole` further along a line (or spelled
/// with escapes) would silently override the one a reviewer sees.
struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Strict, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(Strict(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                let shown: String = key.chars().take(64).collect();
                return Err(de::Error::custom(format!(
                    "{REPEATED_KEY} {shown:?} in one object"
                )));
            }
            let Strict(value) = map.next_value()?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

pub(super) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}
