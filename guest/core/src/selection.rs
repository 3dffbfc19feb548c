//! Which groups a run reconciles: all of the mapping, or only the groups named with `--group`
//! and the groups of the tenants named with `--tenant` (a new tenant's group, on demand,
//! without waiting for the nightly run).

use super::mapping::{DesiredState, WILDCARD_TENANT};
use super::untrusted::excerpt;
use std::fmt;

/// Named groups and tenants; both empty means the whole mapping.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    pub groups: Vec<String>,
    pub tenants: Vec<String>,
}

impl Selection {
    pub fn is_all(&self) -> bool {
        self.groups.is_empty() && self.tenants.is_empty()
    }
}

/// The groups and tenants a selection names that the mapping does not have (bounded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotInMapping {
    pub groups: Vec<String>,
    pub tenants: Vec<String>,
}

impl fmt::Display for NotInMapping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let groups = self
            .groups
            .iter()
            .map(|group| format!("the group {group:?} is not in the mapping"));
        let tenants = self
            .tenants
            .iter()
            .map(|tenant| format!("no group of the mapping has the tenant {tenant:?}"));
        let problems: Vec<String> = groups.chain(tenants).collect();
        write!(
            f,
            "{}; check the spelling (names and tenants are compared exactly), or run without --group/--tenant",
            problems.join("; ")
        )
    }
}

/// The part of `desired` that `selection` names: each group named, and every group (wildcard
/// entries included) of each tenant named. A name or tenant the mapping does not have is an
/// error naming it, since a typo must not quietly reconcile nothing.
pub fn select(desired: DesiredState, selection: &Selection) -> Result<DesiredState, NotInMapping> {
    if selection.is_all() {
        return Ok(desired);
    }
    let unknown_groups: Vec<String> = selection
        .groups
        .iter()
        .filter(|group| {
            !(desired.groups.iter().any(|g| &g.name == *group)
                || desired.skipped.iter().any(|s| &s.group == *group))
        })
        .map(|group| excerpt(group))
        .collect();
    let unknown_tenants: Vec<String> = selection
        .tenants
        .iter()
        .filter(|tenant| {
            !(*tenant == WILDCARD_TENANT && !desired.skipped.is_empty()
                || desired.groups.iter().any(|g| &g.tenant == *tenant))
        })
        .map(|tenant| excerpt(tenant))
        .collect();
    if !unknown_groups.is_empty() || !unknown_tenants.is_empty() {
        return Err(NotInMapping {
            groups: unknown_groups,
            tenants: unknown_tenants,
        });
    }
    let chosen = |name: &str, tenant: &str| {
        selection.groups.iter().any(|g| g == name) || selection.tenants.iter().any(|t| t == tenant)
    };
    Ok(DesiredState {
        groups: desired
            .groups
            .into_iter()
            .filter(|g| chosen(&g.name, &g.tenant))
            .collect(),
        skipped: desired
            .skipped
            .into_iter()
            .filter(|s| chosen(&s.group, WILDCARD_TENANT))
            .collect(),
        warnings: desired.warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::validate;

    fn desired() -> DesiredState {
        validate(
            r#"{"version": 1, "mappings": [
              {"authentikGroup": "acme-admins", "fcTenantId": "acme", "fcRole": "admin"},
              {"authentikGroup": "acme-users", "fcTenantId": "acme", "fcRole": "user"},
              {"authentikGroup": "globex-users", "fcTenantId": "globex", "fcRole": "user"},
              {"authentikGroup": "superadmins", "fcTenantId": "*", "fcRole": "SuperAdmin"}
            ]}"#,
        )
        .unwrap()
    }

    fn names(state: &DesiredState) -> Vec<&str> {
        state.groups.iter().map(|g| g.name.as_str()).collect()
    }

    #[test]
    fn a_tenant_brings_all_its_groups_and_a_group_brings_itself() {
        let only = |groups: &[&str], tenants: &[&str]| Selection {
            groups: groups.iter().map(|s| s.to_string()).collect(),
            tenants: tenants.iter().map(|s| s.to_string()).collect(),
        };
        let acme = select(desired(), &only(&[], &["acme"])).unwrap();
        assert_eq!(names(&acme), ["acme-admins", "acme-users"]);
        assert!(acme.skipped.is_empty());
        let mixed = select(desired(), &only(&["globex-users", "superadmins"], &[])).unwrap();
        assert_eq!(names(&mixed), ["globex-users"]);
        assert_eq!(
            mixed.skipped.len(),
            1,
            "a wildcard entry is reported when named"
        );
        assert_eq!(select(desired(), &Selection::default()).unwrap(), desired());
    }

    #[test]
    fn a_name_or_tenant_the_mapping_lacks_is_named() {
        let selection = Selection {
            groups: vec!["acme-admin".into()],
            tenants: vec!["initech".into()],
        };
        let error = select(desired(), &selection).unwrap_err();
        assert_eq!(error.groups, ["acme-admin"]);
        assert_eq!(error.tenants, ["initech"]);
        let error = error.to_string();
        assert!(
            error.contains("the group \"acme-admin\" is not in the mapping"),
            "{error}"
        );
        assert!(
            error.contains("no group of the mapping has the tenant \"initech\""),
            "{error}"
        );
    }
}
