//! Superuser by inheritance: in Authentik a group's members get every permission when the group
//! or any of its ancestors is a superuser group. Pure: the full run decides it from the listing,
//! the `--group`/`--tenant` path and the re-read before a write from the ancestors it read.

pub use super::group::Ancestry;
use super::group::ExistingGroup;
use super::untrusted::excerpt;

/// The most ancestors followed from one group. Authentik's own hierarchies are a few levels
/// deep; a chain longer than this (or a server that makes one up) is not judged safe.
pub const MAX_ANCESTORS: usize = 64;

/// `group`'s ancestry from the groups `find` knows by pk (a listing, or the ancestors read for
/// it). Follows every parent, breadth first, each group once (a cycle ends there).
pub fn ancestry_of<'g>(
    group: &'g ExistingGroup,
    find: &dyn Fn(&str) -> Option<&'g ExistingGroup>,
) -> Ancestry {
    // Small vectors, not sets: at most MAX_ANCESTORS entries, and the component stays smaller.
    let mut seen: Vec<&str> = Vec::new();
    let mut next: Vec<&str> = group.parents.iter().map(String::as_str).collect();
    let mut at = 0;
    while let Some(&pk) = next.get(at) {
        at += 1;
        if seen.contains(&pk) {
            continue;
        }
        seen.push(pk);
        if seen.len() > MAX_ANCESTORS {
            return Ancestry::Unknown(format!("it has more than {MAX_ANCESTORS} ancestor groups"));
        }
        let Some(parent) = find(pk) else {
            return Ancestry::Unknown(format!(
                "its ancestor group {:?} could not be read",
                excerpt(pk)
            ));
        };
        if parent.is_superuser {
            return Ancestry::Superuser(excerpt(&parent.name));
        }
        next.extend(parent.parents.iter().map(String::as_str));
        // Parent links to follow, duplicates included: a hostile listing cannot make this long.
        if next.len() > 4 * MAX_ANCESTORS {
            return Ancestry::Unknown(format!(
                "it has more than {} parent links above it",
                4 * MAX_ANCESTORS
            ));
        }
    }
    Ancestry::Clear
}

/// Every listed group's ancestry, from the listing itself (which holds every group).
pub fn resolve_from_listing(groups: &mut [ExistingGroup]) {
    let decided: Vec<Ancestry> = {
        let mut by_pk: Vec<&ExistingGroup> = groups.iter().collect();
        by_pk.sort_unstable_by(|a, b| a.pk.cmp(&b.pk));
        let find = |pk: &str| {
            by_pk
                .binary_search_by(|g| g.pk.as_str().cmp(pk))
                .ok()
                .map(|i| by_pk[i])
        };
        groups.iter().map(|g| ancestry_of(g, &find)).collect()
    };
    for (group, ancestry) in groups.iter_mut().zip(decided) {
        group.ancestry = ancestry;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::managed::Attributes;

    fn group(pk: &str, is_superuser: bool, parents: &[&str]) -> ExistingGroup {
        ExistingGroup {
            pk: pk.into(),
            name: format!("group {pk}"),
            attributes: Attributes::new(),
            is_superuser,
            parents: parents.iter().map(|p| p.to_string()).collect(),
            ancestry: Ancestry::Unknown("not resolved".into()),
        }
    }

    fn resolved(groups: Vec<ExistingGroup>) -> Vec<Ancestry> {
        let mut groups = groups;
        resolve_from_listing(&mut groups);
        groups.into_iter().map(|g| g.ancestry).collect()
    }

    #[test]
    fn a_superuser_anywhere_above_is_inherited() {
        let ancestries = resolved(vec![
            group("admins", true, &[]),
            group("middle", false, &["admins"]),
            group("leaf", false, &["other", "middle"]),
            group("other", false, &[]),
            group("alone", false, &[]),
        ]);
        assert_eq!(
            ancestries,
            [
                Ancestry::Clear,
                Ancestry::Superuser("group admins".into()),
                Ancestry::Superuser("group admins".into()),
                Ancestry::Clear,
                Ancestry::Clear,
            ]
        );
    }

    #[test]
    fn a_missing_parent_a_cycle_and_a_long_chain_are_judged_safely() {
        let missing = resolved(vec![group("a", false, &["gone"])]);
        assert!(matches!(&missing[0], Ancestry::Unknown(why) if why.contains("\"gone\"")));

        let cycle = resolved(vec![group("a", false, &["b"]), group("b", false, &["a"])]);
        assert_eq!(cycle, [Ancestry::Clear, Ancestry::Clear]);

        let wide: Vec<&str> = vec!["b"; 10_000];
        let wide = resolved(vec![group("a", false, &["b"]), group("b", false, &wide)]);
        assert!(matches!(&wide[0], Ancestry::Unknown(why) if why.contains("parent links")));

        let mut chain: Vec<ExistingGroup> = (0..=MAX_ANCESTORS + 1)
            .map(|i| group(&i.to_string(), false, &[&(i + 1).to_string()]))
            .collect();
        chain.push(group(&(MAX_ANCESTORS + 2).to_string(), false, &[]));
        let ancestries = resolved(chain);
        assert!(matches!(&ancestries[0], Ancestry::Unknown(why) if why.contains("more than")));
        assert_eq!(ancestries[MAX_ANCESTORS + 2], Ancestry::Clear);
    }
}
