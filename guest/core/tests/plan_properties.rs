//! Property tests of the planner: applying a plan and planning again yields no writes; keys
//! outside the managed block survive; nothing outside the plan's writes changes; groups another
//! manager owns, and superuser groups (also by inheritance) unless allowed, are never written.

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use tenant_sync_core::ancestry::{self, Ancestry};
use tenant_sync_core::managed::{self, MANAGED_KEYS};
use tenant_sync_core::mapping::{self, DesiredState};
use tenant_sync_core::plan::{self, Action, ExistingGroup, Rules, Write};

const ME: Rules = Rules {
    manager: "me",
    allow_superuser_groups: false,
};

fn entry() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(vec!["t1", "t2", "*"]),
        prop::sample::select(vec!["user", "admin"]),
        prop::option::of(prop::sample::select(vec!["Label A", "Label B"])),
        prop::option::of(any::<bool>()),
        prop::option::of(any::<bool>()),
    )
        .prop_map(|(tenant, role, label, regulated, strict)| {
            let mut e = json!({"fcTenantId": tenant, "fcRole": role});
            if let Some(l) = label {
                e["label"] = json!(l);
            }
            if let Some(r) = regulated {
                e["regulated"] = json!(r);
            }
            if let Some(s) = strict {
                e["strictMode"] = json!(s);
            }
            e
        })
}

/// Unique group names from a small pool, so desired and existing groups overlap often.
fn desired() -> impl Strategy<Value = DesiredState> {
    prop::collection::btree_map(0..8u8, entry(), 1..8).prop_map(|entries| {
        let mappings: Vec<Value> = entries
            .into_iter()
            .map(|(n, mut e)| {
                e["authentikGroup"] = json!(format!("g{n}"));
                e
            })
            .collect();
        mapping::validate(&json!({"version": 1, "mappings": mappings}).to_string()).unwrap()
    })
}

fn attribute_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!("t1")),
        Just(json!("user")),
        Just(json!(true)),
        Just(json!("false")),
        Just(json!({"nested": [1, 2]})),
        Just(Value::Null),
    ]
}

fn attributes() -> impl Strategy<Value = Map<String, Value>> {
    let key = prop::sample::select(vec![
        "fc:managed-by",
        "fc:tenant",
        "fc:role",
        "fc:label",
        "fc:regulated",
        "fc:strict-mode",
        "notes",
        "fc:other",
        "color",
    ]);
    let marker = prop::sample::select(vec![None, Some(ME.manager), Some("someone-else")]);
    (
        prop::collection::btree_map(key, attribute_value(), 0..6),
        marker,
    )
        .prop_map(|(attrs, marker)| {
            let mut map: Map<String, Value> =
                attrs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
            map.remove(managed::MANAGED_BY);
            if let Some(m) = marker {
                map.insert(managed::MANAGED_BY.to_owned(), json!(m));
            }
            map
        })
}

/// A listing, as the full run sees it: some groups under a parent (which may be listed or not),
/// their ancestry resolved from the listing.
fn existing() -> impl Strategy<Value = Vec<ExistingGroup>> {
    let group = (
        attributes(),
        prop::bool::weighted(0.2),
        prop::option::weighted(0.3, 0..12u8),
    );
    prop::collection::btree_map(0..12u8, group, 0..10).prop_map(|groups| {
        let mut groups: Vec<ExistingGroup> = groups
            .into_iter()
            .map(|(n, (attributes, is_superuser, parent))| ExistingGroup {
                pk: format!("pk-{n}"),
                name: format!("g{n}"),
                attributes,
                is_superuser,
                parents: parent.map(|p| format!("pk-{p}")).into_iter().collect(),
                ancestry: Ancestry::Clear,
            })
            .collect();
        ancestry::resolve_from_listing(&mut groups);
        groups
    })
}

/// Whether a superuser group, or a parent not in the listing, is anywhere above `group` (walked
/// naively here, independently of `ancestry`).
fn superuser_above(group: &ExistingGroup, by_pk: &BTreeMap<&str, &ExistingGroup>) -> bool {
    let mut seen = Vec::new();
    let mut next = group.parents.clone();
    while let Some(pk) = next.pop() {
        if seen.contains(&pk) {
            continue;
        }
        match by_pk.get(pk.as_str()) {
            None => return true,
            Some(parent) if parent.is_superuser => return true,
            Some(parent) => next.extend(parent.parents.clone()),
        }
        seen.push(pk);
    }
    false
}

/// What Authentik would hold after every write of the plan succeeded.
fn apply(existing: &[ExistingGroup], planned: &[plan::PlannedGroup]) -> Vec<ExistingGroup> {
    let mut by_pk: BTreeMap<String, ExistingGroup> =
        existing.iter().map(|g| (g.pk.clone(), g.clone())).collect();
    for p in planned {
        match &p.write {
            Some(Write::Create { name, block }) => {
                let pk = format!("new-{name}");
                by_pk.insert(
                    pk.clone(),
                    ExistingGroup {
                        pk,
                        name: name.clone(),
                        attributes: block.clone(),
                        is_superuser: false,
                        parents: Vec::new(),
                        ancestry: Ancestry::Clear,
                    },
                );
            }
            // As the edge does: the block merged into the group's current attributes.
            Some(Write::Patch { pk, block }) => {
                let group = by_pk.get_mut(pk).expect("patch targets a listed group");
                group.attributes = managed::with_block(&group.attributes, block);
            }
            None => {}
        }
    }
    by_pk.into_values().collect()
}

fn foreign(attributes: &Map<String, Value>) -> Map<String, Value> {
    attributes
        .iter()
        .filter(|(k, _)| !MANAGED_KEYS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn applying_a_plan_then_planning_again_writes_nothing(desired in desired(), existing in existing()) {
        let first = plan::plan(&desired, &existing, &ME).unwrap();
        let after = apply(&existing, &first);
        let second = plan::plan(&desired, &after, &ME).unwrap();
        let writes: Vec<_> = second.iter().filter(|p| p.write.is_some()).map(|p| (&p.group, p.action)).collect();
        prop_assert!(writes.is_empty(), "second plan still writes: {:?}", writes);
    }

    #[test]
    fn foreign_keys_survive_and_nothing_outside_the_plan_moves(desired in desired(), existing in existing()) {
        let planned = plan::plan(&desired, &existing, &ME).unwrap();
        let after = apply(&existing, &planned);
        let written: Vec<&str> = planned.iter().filter(|p| p.write.is_some()).map(|p| p.group.as_str()).collect();
        for before in &existing {
            let now = after.iter().find(|g| g.pk == before.pk).unwrap();
            prop_assert_eq!(foreign(&now.attributes), foreign(&before.attributes));
            if !written.contains(&before.name.as_str()) {
                prop_assert_eq!(&now.attributes, &before.attributes);
            }
        }
    }

    #[test]
    fn groups_of_another_manager_are_never_written(desired in desired(), existing in existing()) {
        let planned = plan::plan(&desired, &existing, &ME).unwrap();
        for group in &existing {
            let foreign_owned = matches!(group.attributes.get(managed::MANAGED_BY), Some(v) if v != &json!(ME.manager));
            if let Some(p) = planned.iter().find(|p| p.group == group.name)
                && foreign_owned {
                    // A conflict, or a wildcard entry that asks for no group at all.
                    prop_assert!(matches!(p.action, Action::Conflict | Action::Skipped), "{:?}", p.action);
                    prop_assert!(p.write.is_none());
                }
        }
    }

    #[test]
    fn superuser_groups_are_written_only_when_allowed(desired in desired(), existing in existing()) {
        let refused = plan::plan(&desired, &existing, &ME).unwrap();
        let allowed = plan::plan(&desired, &existing, &Rules { allow_superuser_groups: true, ..ME }).unwrap();
        // A superuser group itself, one under a superuser ancestor, or one whose parent is not
        // in the listing (it may be one).
        let by_pk: BTreeMap<&str, &ExistingGroup> = existing.iter().map(|g| (g.pk.as_str(), g)).collect();
        for group in existing.iter().filter(|g| g.is_superuser || superuser_above(g, &by_pk)) {
            if let Some(p) = refused.iter().find(|p| p.group == group.name) {
                prop_assert!(p.write.is_none(), "{:?}", p);
            }
        }
        // Allowing them changes nothing for ordinary groups, and writes only what a plain
        // (non-superuser) twin of each group would get.
        let ordinary: Vec<ExistingGroup> = existing
            .iter()
            .map(|g| ExistingGroup { is_superuser: false, ancestry: Ancestry::Clear, ..g.clone() })
            .collect();
        prop_assert_eq!(allowed, plan::plan(&desired, &ordinary, &ME).unwrap());
    }
}
