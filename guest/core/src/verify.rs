//! Reading back a write. Authentik answers a create or an update with the group as it stored it,
//! and a `200`/`201` alone proves nothing: a request body the server never read (a chunked body
//! through Django REST framework) answers `200` to a PATCH and changes nothing. So a write counts
//! as applied only when the stored group is what was sent.

use super::managed::{Attributes, MANAGED_KEYS};
use super::plan::ExistingGroup;
use super::untrusted::excerpt;

/// Most differing keys named in one message; the rest are counted.
const MAX_NAMED_KEYS: usize = 5;

/// Why a stored group is not what was sent, in words for the report. Names are Authentik's
/// text, already excerpts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotApplied {
    #[error("the answer is the group {stored:?}, not {sent:?}")]
    OtherGroup { stored: String, sent: String },
    /// The first `MAX_NAMED_KEYS` keys that differ, and how many more do.
    #[error(
        "the stored group differs from what was sent in {}",
        keys.iter().cloned().chain((*more > 0).then(|| format!("{more} more"))).collect::<Vec<_>>().join(", ")
    )]
    Differs { keys: Vec<String>, more: usize },
}

/// Checks that `stored` is the group named `name` and carries every attribute that was `sent`
/// with the value sent (the managed block and, for a PATCH, the foreign attributes sent back),
/// and no managed key that was left out (a stale one the write removed).
pub fn stored_as_sent(
    name: &str,
    sent: &Attributes,
    stored: &ExistingGroup,
) -> Result<(), NotApplied> {
    if stored.name != name {
        return Err(NotApplied::OtherGroup {
            stored: excerpt(&stored.name),
            sent: name.to_owned(),
        });
    }
    let mut differing: Vec<&str> = MANAGED_KEYS
        .iter()
        .copied()
        .filter(|key| stored.attributes.get(*key) != sent.get(*key))
        .collect();
    differing.extend(
        sent.iter()
            .filter(|(key, value)| {
                !MANAGED_KEYS.contains(&key.as_str()) && stored.attributes.get(*key) != Some(value)
            })
            .map(|(key, _)| key.as_str()),
    );
    if differing.is_empty() {
        return Ok(());
    }
    Err(NotApplied::Differs {
        keys: differing
            .iter()
            .take(MAX_NAMED_KEYS)
            .map(|key| excerpt(key))
            .collect(),
        more: differing.len().saturating_sub(MAX_NAMED_KEYS),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn attrs(value: Value) -> Attributes {
        value.as_object().unwrap().clone()
    }

    fn stored(name: &str, attributes: Value) -> ExistingGroup {
        ExistingGroup {
            pk: "pk".into(),
            name: name.into(),
            attributes: attrs(attributes),
            is_superuser: false,
            parents: Vec::new(),
            ancestry: Default::default(),
        }
    }

    fn sent() -> Attributes {
        attrs(json!({"fc:managed-by": "me", "fc:tenant": "t", "fc:role": "r", "notes": [1]}))
    }

    #[test]
    fn a_group_stored_as_sent_is_applied() {
        assert_eq!(
            stored_as_sent("g", &sent(), &stored("g", Value::Object(sent()))),
            Ok(())
        );
    }

    #[test]
    fn an_unchanged_group_is_not_applied() {
        // What a PATCH whose body the server never read answers: 200 and the old group.
        let err = stored_as_sent("g", &sent(), &stored("g", json!({"notes": [1]}))).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the stored group differs from what was sent in fc:managed-by, fc:tenant, fc:role"
        );
    }

    #[test]
    fn a_lost_foreign_attribute_is_not_applied() {
        let mut without = sent();
        without.remove("notes");
        let err = stored_as_sent("g", &sent(), &stored("g", Value::Object(without))).unwrap_err();
        assert!(err.to_string().ends_with("in notes"), "{err}");
    }

    #[test]
    fn a_managed_key_left_out_must_be_gone() {
        let mut stale = sent();
        stale.insert("fc:label".into(), json!("old"));
        let err = stored_as_sent("g", &sent(), &stored("g", Value::Object(stale))).unwrap_err();
        assert!(err.to_string().ends_with("in fc:label"), "{err}");
    }

    #[test]
    fn a_different_value_or_type_is_not_applied() {
        let mut flag = sent();
        flag.insert("fc:regulated".into(), json!(true));
        let mut as_text = flag.clone();
        as_text.insert("fc:regulated".into(), json!("true"));
        let err = stored_as_sent("g", &flag, &stored("g", Value::Object(as_text))).unwrap_err();
        assert!(err.to_string().ends_with("in fc:regulated"), "{err}");
    }

    #[test]
    fn another_group_is_not_applied() {
        let err = stored_as_sent("g", &sent(), &stored("h", Value::Object(sent()))).unwrap_err();
        assert_eq!(err.to_string(), "the answer is the group \"h\", not \"g\"");
    }

    #[test]
    fn many_differences_are_counted_not_listed() {
        let many = attrs(Value::Object(
            (0..20).map(|i| (format!("k{i:02}"), json!(i))).collect(),
        ));
        let err = stored_as_sent("g", &many, &stored("g", json!({}))).unwrap_err();
        assert!(
            err.to_string()
                .ends_with("k00, k01, k02, k03, k04, 15 more"),
            "{err}"
        );
    }
}
