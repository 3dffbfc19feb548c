//! The planner: desired state × Authentik's current groups → one decision per group.
//! Pure; the only writes that can ever happen are the `Write`s it returns.

pub use super::group::{Ancestry, ExistingGroup};
use super::lookalike::{nfc, skeleton, spelled};
use super::managed::{self, AttributeChange, Attributes, Ownership};
use super::mapping::DesiredState;
use super::untrusted::excerpt;
use std::collections::{BTreeMap, BTreeSet};

/// What a run may manage: groups marked with `manager` (or unmarked ones, which it adopts), and
/// superuser groups only when the operator said so.
#[derive(Debug, Clone, Copy)]
pub struct Rules<'a> {
    pub manager: &'a str,
    pub allow_superuser_groups: bool,
}

impl Rules<'_> {
    pub fn new(manager: &str) -> Rules<'_> {
        Rules {
            manager,
            allow_superuser_groups: false,
        }
    }
}

/// Why an existing group that the mapping names must not be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Untouchable {
    /// Another tool's `fc:managed-by` (the value as Authentik holds it, bounded).
    Foreign(String),
    /// `is_superuser: true`, and superuser groups are not allowed.
    Superuser,
    /// An ancestor is a superuser group (or may be: it could not be read), and superuser
    /// groups are not allowed.
    SuperuserAncestor(Ancestry),
}

impl std::fmt::Display for Untouchable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Untouchable::Foreign(owner) => write!(f, "{} is {owner}", managed::MANAGED_BY),
            Untouchable::Superuser => write!(
                f,
                "it is a superuser group (is_superuser: true), whose members get every permission"
            ),
            Untouchable::SuperuserAncestor(Ancestry::Superuser(ancestor)) => write!(
                f,
                "its ancestor group {ancestor:?} is a superuser group, so its members get every permission"
            ),
            Untouchable::SuperuserAncestor(Ancestry::Unknown(why)) => {
                write!(f, "{why}, so it may inherit superuser rights")
            }
            Untouchable::SuperuserAncestor(Ancestry::Clear) => {
                write!(f, "it inherits no superuser rights")
            }
        }
    }
}

/// Where an existing group the mapping names stands with this run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    /// Marked with this run's manager id.
    Ours,
    /// Not marked: adopted.
    Unclaimed,
    /// Never written.
    Untouchable(Untouchable),
}

/// Whether `current` may be written under `rules`, and on what footing. The one decision both
/// the plan and the edge (which re-reads a group right before writing it) apply.
pub fn standing(current: &ExistingGroup, rules: &Rules) -> Standing {
    match managed::ownership(&current.attributes, rules.manager) {
        Ownership::Foreign(owner) => Standing::Untouchable(Untouchable::Foreign(excerpt(&owner))),
        _ if current.is_superuser && !rules.allow_superuser_groups => {
            Standing::Untouchable(Untouchable::Superuser)
        }
        _ if current.ancestry != Ancestry::Clear && !rules.allow_superuser_groups => {
            Standing::Untouchable(Untouchable::SuperuserAncestor(current.ancestry.clone()))
        }
        Ownership::Ours => Standing::Ours,
        Ownership::Unclaimed => Standing::Unclaimed,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    Create,
    Update,
    Adopt,
    Unchanged,
    Conflict,
    Orphan,
    Skipped,
}

impl Action {
    pub const ALL: [Action; 7] = [
        Action::Create,
        Action::Update,
        Action::Adopt,
        Action::Unchanged,
        Action::Conflict,
        Action::Orphan,
        Action::Skipped,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Adopt => "adopt",
            Action::Unchanged => "unchanged",
            Action::Conflict => "conflict",
            Action::Orphan => "orphan",
            Action::Skipped => "skipped",
        }
    }
}

/// The one request a planned group needs.
#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    /// `POST` a new group carrying just the block.
    Create { name: String, block: Attributes },
    /// `PATCH` the group's whole `attributes`: the block merged (`managed::with_block`) into
    /// the attributes as they are when the write happens, which the edge re-reads first.
    Patch { pk: String, block: Attributes },
}

#[derive(Debug, Clone, PartialEq)]
pub struct PlannedGroup {
    pub group: String,
    pub action: Action,
    pub changes: Vec<AttributeChange>,
    /// Why nothing is written, in words, for conflict/orphan/skipped/adopt.
    pub reason: Option<String>,
    pub write: Option<Write>,
}

/// Authentik listed two groups under one name: a plan cannot be built on that. The fields are
/// Authentik's text, already excerpts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "Authentik listed two groups named {name:?} (pk {first} and {second}); group names are unique, so the listing is inconsistent. Re-run; if it persists, check the Authentik database"
)]
pub struct InconsistentListing {
    pub name: String,
    pub first: String,
    pub second: String,
}

/// Plans every desired, skipped and orphaned group, sorted by group name.
pub fn plan(
    desired: &DesiredState,
    existing: &[ExistingGroup],
    rules: &Rules,
) -> Result<Vec<PlannedGroup>, InconsistentListing> {
    let manager = rules.manager;
    let existing = index_by_look(existing)?;
    let mut planned = Vec::with_capacity(desired.groups.len() + desired.skipped.len());

    for group in &desired.groups {
        let block = managed::block_for(group, manager);
        let current = match existing.get(&skeleton(&group.name)).map(Vec::as_slice) {
            Some([current]) if current.name == group.name => Some(*current),
            Some(twins) => {
                planned.push(PlannedGroup {
                    group: group.name.clone(),
                    action: Action::Conflict,
                    changes: Vec::new(),
                    reason: Some(twin_reason(&group.name, twins)),
                    write: None,
                });
                continue;
            }
            None => None,
        };
        let Some(current) = current else {
            planned.push(PlannedGroup {
                group: group.name.clone(),
                action: Action::Create,
                changes: managed::changes(&Attributes::new(), &block),
                reason: None,
                write: Some(Write::Create {
                    name: group.name.clone(),
                    block,
                }),
            });
            continue;
        };
        let changes = managed::changes(&current.attributes, &block);
        let (action, reason) = match standing(current, rules) {
            Standing::Untouchable(why @ Untouchable::Foreign(_)) => (
                Action::Conflict,
                Some(format!(
                    "{why}, not {manager}; left untouched. Hand it over by removing that attribute in Authentik, or map a different group"
                )),
            ),
            Standing::Untouchable(
                why @ (Untouchable::Superuser | Untouchable::SuperuserAncestor(_)),
            ) => (
                Action::Conflict,
                Some(format!(
                    "{why}; left untouched. Map a group without superuser rights, or allow superuser groups (--allow-superuser-groups) if this one is meant to be managed"
                )),
            ),
            Standing::Ours if changes.is_empty() => (Action::Unchanged, None),
            Standing::Ours => (Action::Update, None),
            Standing::Unclaimed => (
                Action::Adopt,
                Some(format!(
                    "exists without {}; the managed block is added and other attributes kept",
                    managed::MANAGED_BY
                )),
            ),
        };
        let write = matches!(action, Action::Update | Action::Adopt).then(|| Write::Patch {
            pk: current.pk.clone(),
            block,
        });
        planned.push(PlannedGroup {
            group: group.name.clone(),
            action,
            changes: if action == Action::Conflict {
                Vec::new()
            } else {
                changes
            },
            reason,
            write,
        });
    }

    for skipped in &desired.skipped {
        planned.push(PlannedGroup {
            group: skipped.group.clone(),
            action: Action::Skipped,
            changes: Vec::new(),
            reason: Some(skipped.reason.clone()),
            write: None,
        });
    }

    let mapped: BTreeSet<&str> = desired
        .groups
        .iter()
        .map(|g| g.name.as_str())
        .chain(desired.skipped.iter().map(|s| s.group.as_str()))
        .collect();
    for group in existing.values().flatten() {
        if !mapped.contains(nfc(&group.name).as_ref())
            && managed::ownership(&group.attributes, manager) == Ownership::Ours
        {
            planned.push(PlannedGroup {
                // A name only Authentik knows: bounded like any text from a server.
                group: excerpt(&group.name),
                action: Action::Orphan,
                changes: Vec::new(),
                reason: Some(format!(
                    "carries {}={manager} but is no longer in the mapping; left as it is (this tool never deletes). Delete it in Authentik if it is not needed",
                    managed::MANAGED_BY
                )),
                write: None,
            });
        }
    }

    planned.sort_by(|a, b| a.group.cmp(&b.group));
    Ok(planned)
}

/// Groups by how their name reads (`lookalike::skeleton`). The same group listed twice (a page
/// repeated while paging) counts once; two different groups with one name would make any
/// decision a guess, so that is refused. Different groups whose names read the same (two
/// Unicode spellings of one name, or look-alike letters: Authentik compares bytes) share a key:
/// the plan leaves them alone and creates no look-alike of any.
fn index_by_look(
    existing: &[ExistingGroup],
) -> Result<BTreeMap<String, Vec<&ExistingGroup>>, InconsistentListing> {
    let mut by_name: BTreeMap<String, Vec<&ExistingGroup>> = BTreeMap::new();
    for group in existing {
        let same_key = by_name.entry(skeleton(&group.name)).or_default();
        if let Some(seen) = same_key.iter().find(|g| g.name == group.name) {
            if seen.pk != group.pk {
                return Err(InconsistentListing {
                    name: excerpt(&group.name),
                    first: excerpt(&seen.pk),
                    second: excerpt(&group.pk),
                });
            }
            continue;
        }
        same_key.push(group);
    }
    Ok(by_name)
}

/// Why a mapped name that reads like names Authentik holds in other spellings (other Unicode
/// forms, look-alike letters) is left alone.
fn twin_reason(name: &str, twins: &[&ExistingGroup]) -> String {
    let spellings: Vec<String> = twins.iter().map(|g| spelled(&g.name)).collect();
    format!(
        "Authentik has {} that look{} like this name ({}) but {} spelled differently in Unicode ({}); left untouched, since writing would create or change a lookalike. Rename {} in Authentik, or map a different name",
        if twins.len() == 1 {
            "a group".to_owned()
        } else {
            format!("{} groups", twins.len())
        },
        if twins.len() == 1 { "s" } else { "" },
        spelled(name),
        if twins.len() == 1 { "is" } else { "are" },
        spellings.join(", "),
        if twins.len() == 1 {
            "it"
        } else {
            "all but one"
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::validate;
    use serde_json::{Value, json};

    fn existing(name: &str, pk: &str, attributes: Value) -> ExistingGroup {
        ExistingGroup {
            pk: pk.into(),
            name: name.into(),
            attributes: attributes.as_object().unwrap().clone(),
            is_superuser: false,
            parents: Vec::new(),
            ancestry: Ancestry::Clear,
        }
    }

    fn desired() -> DesiredState {
        validate(
            r#"{"version": 1, "mappings": [
              {"authentikGroup": "new", "fcTenantId": "t1", "fcRole": "user"},
              {"authentikGroup": "same", "fcTenantId": "t2", "fcRole": "user"},
              {"authentikGroup": "drifted", "fcTenantId": "t3", "fcRole": "admin"},
              {"authentikGroup": "plain", "fcTenantId": "t4", "fcRole": "user"},
              {"authentikGroup": "theirs", "fcTenantId": "t5", "fcRole": "user"},
              {"authentikGroup": "all", "fcTenantId": "*", "fcRole": "SuperAdmin"}
            ]}"#,
        )
        .unwrap()
    }

    #[test]
    fn a_group_authentik_holds_in_another_unicode_spelling_is_left_alone() {
        let desired = validate(
            r#"{"version": 1, "mappings": [
              {"authentikGroup": "ümlaut", "fcTenantId": "t", "fcRole": "user"},
              {"authentikGroup": "café", "fcTenantId": "t", "fcRole": "user"}]}"#,
        )
        .unwrap();
        let current = [
            existing("u\u{308}mlaut", "1", json!({})),
            existing("cafe\u{301}", "2", json!({})),
            existing(
                "café",
                "3",
                json!({"fc:managed-by": "me", "fc:tenant": "t", "fc:role": "user"}),
            ),
        ];
        let planned = plan(&desired, &current, &Rules::new("me")).unwrap();
        let by_group = |name: &str| planned.iter().find(|p| p.group == name).unwrap();
        let umlaut = by_group("ümlaut");
        assert_eq!(
            (umlaut.action, &umlaut.write),
            (Action::Conflict, &None),
            "no lookalike is created"
        );
        let reason = umlaut.reason.as_deref().unwrap();
        assert!(reason.contains("(\"u\\u{0308}mlaut\")"), "{reason}");
        let cafe = by_group("café");
        assert_eq!(
            cafe.action,
            Action::Conflict,
            "two spellings exist: neither is written"
        );
        assert!(
            cafe.reason
                .as_deref()
                .unwrap()
                .starts_with("Authentik has 2 groups")
        );
        assert_eq!(planned.len(), 2, "a twin is not an orphan: {planned:?}");
    }

    #[test]
    fn a_name_that_reads_like_an_existing_group_is_not_created_beside_it() {
        // Cyrillic а (U+0430) in place of the Latin a.
        let desired = validate(
            r#"{"version": 1, "mappings": [
              {"authentikGroup": "\u0430cme-admins", "fcTenantId": "t", "fcRole": "user"},
              {"authentikGroup": "beta", "fcTenantId": "t", "fcRole": "user"}]}"#,
        )
        .unwrap();
        let current = [
            existing("acme-admins", "1", json!({})),
            existing("bet\u{0430}", "2", json!({})),
        ];
        let planned = plan(&desired, &current, &Rules::new("me")).unwrap();
        assert_eq!(planned.len(), 2, "{planned:?}");
        for (row, (mapped, held)) in planned.iter().zip([
            ("beta", "bet\\u{0430}"),
            ("\\u{0430}cme-admins", "acme-admins"),
        ]) {
            assert_eq!(
                (row.action, &row.write),
                (Action::Conflict, &None),
                "{row:?}"
            );
            let reason = row.reason.as_deref().unwrap();
            assert!(
                reason.contains(&format!(
                    "(\"{mapped}\") but is spelled differently in Unicode (\"{held}\")"
                )),
                "{reason}"
            );
        }
    }

    #[test]
    fn a_superuser_group_is_a_conflict_unless_allowed() {
        let superuser = |attributes: Value| ExistingGroup {
            is_superuser: true,
            parents: Vec::new(),
            ancestry: Ancestry::Clear,
            ..existing("plain", "3", attributes)
        };
        for attributes in [
            json!({}),
            json!({"fc:managed-by": "me", "fc:tenant": "t9", "fc:role": "user"}),
        ] {
            let current = [superuser(attributes)];
            let planned = plan(&desired(), &current, &Rules::new("me")).unwrap();
            let p = planned.iter().find(|p| p.group == "plain").unwrap();
            assert_eq!((p.action, &p.write), (Action::Conflict, &None));
            let reason = p.reason.as_deref().unwrap();
            assert!(
                reason.starts_with("it is a superuser group (is_superuser: true)"),
                "{reason}"
            );
            assert!(reason.contains("--allow-superuser-groups"), "{reason}");
            assert!(p.changes.is_empty());

            let allowed = Rules {
                allow_superuser_groups: true,
                ..Rules::new("me")
            };
            let planned = plan(&desired(), &current, &allowed).unwrap();
            let p = planned.iter().find(|p| p.group == "plain").unwrap();
            assert!(
                matches!(p.action, Action::Adopt | Action::Update),
                "{:?}",
                p.action
            );
            assert!(p.write.is_some());
        }
        // Another manager's claim is named first: it is the reason a person would act on.
        let theirs = superuser(json!({"fc:managed-by": "other"}));
        assert_eq!(
            standing(&theirs, &Rules::new("me")),
            Standing::Untouchable(Untouchable::Foreign("other".into()))
        );
    }

    #[test]
    fn decides_each_group_by_existence_ownership_and_drift() {
        let current = [
            existing(
                "same",
                "1",
                json!({"fc:managed-by": "me", "fc:tenant": "t2", "fc:role": "user"}),
            ),
            existing(
                "drifted",
                "2",
                json!({"fc:managed-by": "me", "fc:tenant": "t3", "fc:role": "user", "x": 1}),
            ),
            existing("plain", "3", json!({"x": 2})),
            existing("theirs", "4", json!({"fc:managed-by": "other"})),
            existing("gone", "5", json!({"fc:managed-by": "me"})),
            existing("unrelated", "6", json!({})),
            existing("all", "7", json!({"fc:managed-by": "me"})),
        ];
        let plan = plan(&desired(), &current, &Rules::new("me")).unwrap();
        let decided: Vec<_> = plan
            .iter()
            .map(|p| (p.group.as_str(), p.action, p.write.is_some()))
            .collect();
        assert_eq!(
            decided,
            [
                ("all", Action::Skipped, false),
                ("drifted", Action::Update, true),
                ("gone", Action::Orphan, false),
                ("new", Action::Create, true),
                ("plain", Action::Adopt, true),
                ("same", Action::Unchanged, false),
                ("theirs", Action::Conflict, false),
            ]
        );
        let drifted = &plan[1];
        assert_eq!(drifted.changes.len(), 1);
        assert_eq!(drifted.changes[0].key, managed::ROLE);
        let Some(Write::Patch { pk, block }) = &drifted.write else {
            panic!("update must patch")
        };
        assert_eq!(pk, "2");
        assert_eq!(
            Value::Object(managed::with_block(&current[1].attributes, block)),
            json!({"fc:managed-by": "me", "fc:tenant": "t3", "fc:role": "admin", "x": 1})
        );
        assert!(plan[6].reason.as_deref().unwrap().contains("other"));
    }

    /// A foreign owner or an orphan's name is whatever Authentik holds (40 conflicts with
    /// megabyte-long owners once made a 60 MB report): both are cut to an excerpt.
    #[test]
    fn text_from_authentik_in_the_plan_is_bounded() {
        let huge = "o".repeat(1 << 20);
        let current = [
            existing("theirs", "1", json!({"fc:managed-by": huge})),
            existing(
                &format!("orphan-{huge}"),
                "2",
                json!({"fc:managed-by": "me"}),
            ),
        ];
        let plan = plan(&desired(), &current, &Rules::new("me")).unwrap();
        let reason = plan.iter().find(|p| p.action == Action::Conflict).unwrap();
        assert!(reason.reason.as_ref().unwrap().len() < 1000);
        let orphan = plan.iter().find(|p| p.action == Action::Orphan).unwrap();
        assert!(
            orphan.group.chars().count() <= 301,
            "{}",
            orphan.group.len()
        );
        assert!(orphan.group.starts_with("orphan-ooo") && orphan.group.ends_with('…'));
    }

    #[test]
    fn a_repeated_listing_counts_once_but_two_groups_with_one_name_are_refused() {
        let g = existing("same", "1", json!({}));
        assert!(plan(&desired(), &[g.clone(), g.clone()], &Rules::new("me")).is_ok());
        let twin = existing("same", "2", json!({}));
        let err = plan(&desired(), &[g, twin], &Rules::new("me")).unwrap_err();
        assert!(
            err.to_string().contains("two groups named \"same\""),
            "{err}"
        );
    }
}
