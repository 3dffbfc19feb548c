//! The managed attribute block: the only part of a group's `attributes` this tool owns.
//! Ownership is decided here, in one place, so nothing else can widen what gets written.

use super::mapping::DesiredGroup;
use super::untrusted::shown_value;
use serde_json::{Map, Value};

pub const MANAGED_BY: &str = "fc:managed-by";
pub const TENANT: &str = "fc:tenant";
pub const ROLE: &str = "fc:role";
pub const LABEL: &str = "fc:label";
pub const REGULATED: &str = "fc:regulated";
pub const STRICT_MODE: &str = "fc:strict-mode";

/// Every key of the block, in report order. A key in this list that the entry does not set is
/// removed from the group: the block is owned as a whole.
pub const MANAGED_KEYS: [&str; 6] = [MANAGED_BY, TENANT, ROLE, LABEL, REGULATED, STRICT_MODE];

pub type Attributes = Map<String, Value>;

/// Who a group's `fc:managed-by` says owns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ownership {
    /// No marker: nobody claims it; we may adopt it.
    Unclaimed,
    /// Our marker.
    Ours,
    /// Another manager's marker (or a marker that is not even a string): never touched.
    Foreign(String),
}

pub fn ownership(attributes: &Attributes, manager: &str) -> Ownership {
    match attributes.get(MANAGED_BY) {
        None => Ownership::Unclaimed,
        Some(Value::String(owner)) if owner == manager => Ownership::Ours,
        Some(Value::String(owner)) => Ownership::Foreign(owner.clone()),
        Some(other) => Ownership::Foreign(other.to_string()),
    }
}

/// The block a desired group must carry.
pub fn block_for(group: &DesiredGroup, manager: &str) -> Attributes {
    let mut block = Attributes::new();
    block.insert(MANAGED_BY.to_owned(), Value::from(manager));
    block.insert(TENANT.to_owned(), Value::from(group.tenant.as_str()));
    block.insert(ROLE.to_owned(), Value::from(group.role.as_str()));
    if let Some(label) = &group.label {
        block.insert(LABEL.to_owned(), Value::from(label.as_str()));
    }
    if let Some(regulated) = group.regulated {
        block.insert(REGULATED.to_owned(), Value::Bool(regulated));
    }
    if let Some(strict) = group.strict_mode {
        block.insert(STRICT_MODE.to_owned(), Value::Bool(strict));
    }
    block
}

/// One managed key whose value differs; `None` means absent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeChange {
    pub key: &'static str,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// The managed keys whose current value differs from the block, in `MANAGED_KEYS` order.
pub fn changes(current: &Attributes, block: &Attributes) -> Vec<AttributeChange> {
    MANAGED_KEYS
        .iter()
        .filter(|key| current.get(**key) != block.get(**key))
        // What is shown of each value is bounded: a server may hold megabytes in a label.
        .map(|key| AttributeChange {
            key,
            before: current.get(*key).map(shown_value),
            after: block.get(*key).map(shown_value),
        })
        .collect()
}

/// `current` with the managed block replaced and every other key kept as it is. Authentik
/// replaces `attributes` wholesale on PATCH, so this is the complete object to send.
pub fn with_block(current: &Attributes, block: &Attributes) -> Attributes {
    let mut merged: Attributes = current
        .iter()
        .filter(|(key, _)| !MANAGED_KEYS.contains(&key.as_str()))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    merged.extend(block.iter().map(|(k, v)| (k.clone(), v.clone())));
    merged
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn group() -> DesiredGroup {
        DesiredGroup {
            name: "g".into(),
            tenant: "t".into(),
            role: "r".into(),
            label: None,
            regulated: Some(false),
            strict_mode: None,
        }
    }

    fn attrs(value: Value) -> Attributes {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn the_block_holds_only_the_keys_the_entry_sets() {
        let block = block_for(&group(), "me");
        assert_eq!(
            Value::Object(block),
            json!({"fc:managed-by": "me", "fc:tenant": "t", "fc:role": "r", "fc:regulated": false})
        );
    }

    #[test]
    fn ownership_reads_the_marker() {
        assert_eq!(ownership(&attrs(json!({})), "me"), Ownership::Unclaimed);
        assert_eq!(
            ownership(&attrs(json!({"fc:managed-by": "me"})), "me"),
            Ownership::Ours
        );
        assert_eq!(
            ownership(&attrs(json!({"fc:managed-by": "them"})), "me"),
            Ownership::Foreign("them".into())
        );
        assert_eq!(
            ownership(&attrs(json!({"fc:managed-by": null})), "me"),
            Ownership::Foreign("null".into())
        );
    }

    #[test]
    fn merging_keeps_foreign_keys_and_drops_stale_managed_ones() {
        let current = attrs(json!({
            "fc:managed-by": "me", "fc:tenant": "old", "fc:label": "stale",
            "notes": {"keep": [1, 2]}, "fc:other": "not ours"
        }));
        let block = block_for(&group(), "me");
        let merged = with_block(&current, &block);
        assert_eq!(
            Value::Object(merged.clone()),
            json!({"fc:managed-by": "me", "fc:tenant": "t", "fc:role": "r", "fc:regulated": false,
                   "notes": {"keep": [1, 2]}, "fc:other": "not ours"})
        );
        let keys: Vec<_> = changes(&current, &block).iter().map(|c| c.key).collect();
        assert_eq!(keys, [TENANT, ROLE, LABEL, REGULATED]);
        assert!(changes(&merged, &block).is_empty());
    }

    #[test]
    fn a_string_flag_is_drift() {
        let block = block_for(&group(), "me");
        let mut current = block.clone();
        current.insert(REGULATED.into(), json!("false"));
        assert_eq!(
            changes(&current, &block),
            [AttributeChange {
                key: REGULATED,
                before: Some(json!("false")),
                after: Some(json!(false))
            }]
        );
    }
}
