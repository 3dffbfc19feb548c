//! What each group held when the run last read it, so that a write can change only the managed
//! keys. A PATCH sends a group's whole `attributes` (Authentik replaces them), so a component
//! that may change one key may as well add `additionalHeaders` or rewrite any other attribute an
//! outpost or a policy acts on. The host keeps the attributes of every group in the Authentik
//! answers it relayed that a write may follow (a read of one group, a lookup by name, a write's
//! answer; `grants::Operation::answer`), and a PATCH is granted only if everything outside the
//! managed keys is what the group held (`grants::JsonKind::HeldExcept`). The rules are pure
//! functions; `Held` is the run's record and `Recording` the watcher that feeds it.

use crate::watched::Watch;
use bytes::{Bytes, BytesMut};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tenant_sync_core::managed::MANAGED_KEYS;

/// What a granted request's success answer holds, for the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Nothing the sandbox keeps.
    Nothing,
    /// One group (a read of it by pk, a create's or a patch's answer).
    Group,
    /// A page of groups under `results` (a lookup by name).
    GroupPage,
}

impl Answer {
    /// How the Node host's contract names it.
    pub fn name(self) -> Option<&'static str> {
        match self {
            Answer::Nothing => None,
            Answer::Group => Some("group"),
            Answer::GroupPage => Some("groupPage"),
        }
    }
}

/// The largest answer kept for the record. A group that can be patched at all has attributes
/// within `grants::MAX_BODY_BYTES` (1 MiB), and a page holds at most 100 groups; an answer
/// larger than this is relayed but not kept, so its groups cannot be patched until re-read.
/// It also bounds what the host buffers per answer.
pub const MAX_RECORDED_BYTES: usize = 4 * 1024 * 1024;

/// The groups in an answer: each group's pk (lower-cased) and its attributes. Whatever is not
/// a group with a string pk and an object of attributes is left out.
pub fn groups_in(answer: Answer, body: &[u8]) -> Vec<(String, Map<String, Value>)> {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return Vec::new();
    };
    let group = |group: &Value| {
        let pk = group.get("pk")?.as_str()?.to_ascii_lowercase();
        let attributes = group.get("attributes")?.as_object()?.clone();
        Some((pk, attributes))
    };
    match answer {
        Answer::Nothing => Vec::new(),
        Answer::Group => group(&value).into_iter().collect(),
        Answer::GroupPage => value
            .get("results")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(group)
            .collect(),
    }
}

/// The first key outside `managed` in which `sent` differs from `held` (added, removed or
/// changed), if any.
pub fn foreign_change<'a>(
    held: &'a Map<String, Value>,
    sent: &'a Map<String, Value>,
    managed: &[&str],
) -> Option<&'a str> {
    let foreign = |key: &&String| !managed.contains(&key.as_str());
    let changed = sent
        .iter()
        .filter(|(key, _)| foreign(key))
        .find(|(key, value)| !held.get(*key).is_some_and(|h| same(h, value)))
        .map(|(key, _)| key.as_str());
    changed.or_else(|| {
        held.keys()
            .filter(foreign)
            .find(|key| !sent.contains_key(*key))
            .map(String::as_str)
    })
}

/// JSON equality, except that two fractional numbers within a few units in the last place are
/// one: a float read and written again by the component's JSON library may come back one ULP
/// off. Integers compare exactly.
fn same(a: &Value, b: &Value) -> bool {
    let fraction = |n: &serde_json::Number| n.as_f64().filter(|f| n.is_f64() && f.fract() != 0.0);
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if x != y => match (fraction(x), fraction(y)) {
            (Some(x), Some(y)) => (x - y).abs() <= 4.0 * f64::EPSILON * x.abs().max(y.abs()),
            _ => x.as_f64().is_some_and(|x| y.as_f64() == Some(x)) && x.is_f64() != y.is_f64(),
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(key, value)| y.get(key).is_some_and(|other| same(value, other)))
        }
        (a, b) => a == b,
    }
}

/// The run's record: each group's attributes outside the managed keys, from the newest answer
/// relayed (answers are numbered as their heads arrive, so one read slowly does not replace a
/// newer one). Cloning shares it.
#[derive(Debug, Clone, Default)]
pub struct Held {
    groups: Arc<Mutex<HashMap<String, Record>>>,
    answers: Arc<AtomicU64>,
}

/// A group's attributes outside the managed keys, and the number of the answer they came in.
type Record = (u64, Map<String, Value>);

/// Why a PATCH's attributes are not granted.
#[derive(Debug, PartialEq, Eq)]
pub enum NotHeld {
    /// The run never relayed an answer holding this group.
    Unread,
    /// This key outside the managed ones is not what the group held.
    Changed(String),
}

impl Held {
    /// The number of an answer whose head has just arrived: its groups are newer than those
    /// of every answer numbered before it.
    pub fn arrived(&self) -> u64 {
        self.answers.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Keeps the groups in a success answer to a granted request (`number`: from `arrived`),
    /// unless a newer answer held them already. The managed keys are not kept: the check
    /// ignores them, and so a run's own writes cost nothing here.
    pub fn record(&self, answer: Answer, body: &[u8], number: u64) {
        let groups = groups_in(answer, body);
        if groups.is_empty() {
            return;
        }
        let mut held = self.groups.lock().unwrap_or_else(|p| p.into_inner());
        for (pk, mut attributes) in groups {
            attributes.retain(|key, _| !MANAGED_KEYS.contains(&key.as_str()));
            if held.get(&pk).is_none_or(|(seen, _)| *seen <= number) {
                held.insert(pk, (number, attributes));
            }
        }
    }

    /// Whether `sent` may become group `pk`'s attributes: it differs from what the group held
    /// only in `managed` keys.
    pub fn check(
        &self,
        pk: &str,
        sent: &Map<String, Value>,
        managed: &[&str],
    ) -> Result<(), NotHeld> {
        let held = self.groups.lock().unwrap_or_else(|p| p.into_inner());
        let Some((_, attributes)) = held.get(&pk.to_ascii_lowercase()) else {
            return Err(NotHeld::Unread);
        };
        match foreign_change(attributes, sent, managed) {
            Some(key) => Err(NotHeld::Changed(key.to_owned())),
            None => Ok(()),
        }
    }
}

/// Watches a success answer's body (`watched::Watched`): keeps it (up to `MAX_RECORDED_BYTES`)
/// and records its groups when all of it has passed, before the component can see that it
/// ended, so a PATCH it sends after reading is checked against what it read.
pub struct Recording {
    answer: Answer,
    held: Held,
    /// From `Held::arrived` when the answer's head came.
    number: u64,
    kept: Option<BytesMut>,
}

impl Recording {
    /// For an answer whose head has just arrived.
    pub fn new(answer: Answer, held: Held) -> Recording {
        Recording {
            answer,
            number: held.arrived(),
            held,
            kept: Some(BytesMut::new()),
        }
    }
}

impl Watch for Recording {
    fn data(&mut self, data: &Bytes) {
        // Too large to keep: its groups stay unrecorded.
        let fits = |kept: &BytesMut| kept.len() + data.len() <= MAX_RECORDED_BYTES;
        match self.kept.as_mut() {
            Some(kept) if fits(kept) => kept.extend_from_slice(data),
            _ => self.kept = None,
        }
    }

    fn end(&mut self, complete: bool) {
        // A broken or abandoned answer is not a record of anything.
        if let (true, Some(kept)) = (complete, self.kept.take()) {
            self.held.record(self.answer, &kept, self.number);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::watched::Watched;
    use http_body_util::{BodyExt, Full};
    use serde_json::json;

    const MANAGED: &[&str] = &["fc:managed-by", "fc:tenant"];

    fn map(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    /// The same cases the Node host's tests read (`tests/vectors/held-attributes.json`).
    #[test]
    fn a_patch_may_change_only_the_managed_keys_of_what_the_group_held() {
        let vectors: Value =
            serde_json::from_str(include_str!("../../tests/vectors/held-attributes.json")).unwrap();
        for case in vectors["cases"].as_array().unwrap() {
            let managed: Vec<&str> = vectors["managed"]
                .as_array()
                .unwrap()
                .iter()
                .map(|k| k.as_str().unwrap())
                .collect();
            let held = map(case["held"].clone());
            let sent = map(case["sent"].clone());
            assert_eq!(
                foreign_change(&held, &sent, &managed),
                case["changed"].as_str(),
                "{}",
                case["name"]
            );
        }
    }

    #[test]
    fn groups_are_read_from_one_group_or_a_page() {
        let group = br#"{"pk":"ABC","name":"x","attributes":{"a":1}}"#;
        assert_eq!(
            groups_in(Answer::Group, group),
            vec![("abc".to_owned(), map(json!({"a": 1})))]
        );
        let page = br#"{"pagination":{},"results":[{"pk":"1","attributes":{}},{"pk":2,"attributes":{}},{"pk":"3","attributes":[]},{"pk":"4"}]}"#;
        assert_eq!(
            groups_in(Answer::GroupPage, page),
            vec![("1".to_owned(), Map::new())]
        );
        assert!(groups_in(Answer::Group, b"not json").is_empty());
        assert!(groups_in(Answer::Nothing, group).is_empty());
    }

    #[test]
    fn an_unread_group_cannot_be_patched() {
        let held = Held::default();
        let sent = map(json!({"fc:tenant": "a"}));
        assert_eq!(held.check("1", &sent, MANAGED), Err(NotHeld::Unread));
        held.record(
            Answer::Group,
            br#"{"pk":"1","attributes":{"keep":true}}"#,
            held.arrived(),
        );
        assert_eq!(
            held.check("1", &sent, MANAGED),
            Err(NotHeld::Changed("keep".into()))
        );
        let kept = map(json!({"fc:tenant": "a", "keep": true}));
        assert_eq!(held.check("1", &kept, MANAGED), Ok(()));
        // The newest answer is what the group holds, whichever is read to its end last.
        let (older, newer) = (held.arrived(), held.arrived());
        held.record(Answer::Group, br#"{"pk":"1","attributes":{}}"#, newer);
        held.record(
            Answer::Group,
            br#"{"pk":"1","attributes":{"keep":true}}"#,
            older,
        );
        assert_eq!(
            held.check("1", &kept, MANAGED),
            Err(NotHeld::Changed("keep".into()))
        );
    }

    #[test]
    fn the_managed_keys_are_not_kept() {
        let held = Held::default();
        let label = "x".repeat(1 << 20);
        let body = json!({"pk": "1", "attributes": {"fc:label": label, "k": 1}}).to_string();
        held.record(Answer::Group, body.as_bytes(), held.arrived());
        let groups = held.groups.lock().unwrap();
        assert_eq!(Value::Object(groups["1"].1.clone()), json!({"k": 1}));
    }

    #[tokio::test]
    async fn a_relayed_body_is_recorded_at_its_end_and_not_when_too_large() {
        let held = Held::default();
        let body = Full::new(Bytes::from_static(br#"{"pk":"1","attributes":{}}"#));
        let relayed = Watched::new(body, Recording::new(Answer::Group, held.clone()))
            .collect()
            .await
            .unwrap()
            .to_bytes();
        assert_eq!(&relayed[..], br#"{"pk":"1","attributes":{}}"#);
        assert_eq!(held.check("1", &Map::new(), MANAGED), Ok(()));

        let padding = " ".repeat(MAX_RECORDED_BYTES);
        let large = format!(r#"{{"pk":"2","attributes":{{}}}}{padding}"#);
        let body = Full::new(Bytes::from(large.clone()));
        let relayed = Watched::new(body, Recording::new(Answer::Group, held.clone()))
            .collect()
            .await
            .unwrap()
            .to_bytes();
        assert_eq!(relayed.len(), large.len());
        assert_eq!(held.check("2", &Map::new(), MANAGED), Err(NotHeld::Unread));

        // An answer dropped before its end is not recorded.
        let body = Full::new(Bytes::from_static(br#"{"pk":"3","attributes":{}}"#));
        drop(Watched::new(
            body,
            Recording::new(Answer::Group, held.clone()),
        ));
        assert_eq!(held.check("3", &Map::new(), MANAGED), Err(NotHeld::Unread));
    }
}
