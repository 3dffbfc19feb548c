//! Which groups a run reconciles: all of the mapping, or only the groups named with `--group`
//! and the groups of the tenants named with `--tenant` (a new tenant's group, on demand,
//! without waiting for the nightly run).

use super::mapping::{DesiredState, WILDCARD_TENANT};
use super::untrusted::excerpt;

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

/// The part of `desired` that `selection` names: each group named, and every group (wildcard
/// entries included) of each tenant named. A name or tenant the mapping does not have is an
/// error naming it, since a typo must not quietly reconcile nothing.
pub fn select(desired: DesiredState, selection: &Selection) -> Result<DesiredState, String> {
    if selection.is_all() {
        return Ok(desired);
    }
    let mut problems = Vec::new();
    for group in &selection.groups {
        let known = desired.groups.iter().any(|g| &g.name == group)
            || desired.skipped.iter().any(|s| &s.group == group);
        if !known {
            problems.push(format!(
                "the group {:?} is not in the mapping",
                excerpt(group)
            ));
        }
    }
    for tenant in &selection.tenants {
        let known = tenant == WILDCARD_TENANT && !desired.skipped.is_empty()
            || desired.groups.iter().any(|g| &g.tenant == tenant);
        if !known {
            problems.push(format!(
                "no group of the mapping has the tenant {:?}",
                excerpt(tenant)
            ));
        }
    }
    if !problems.is_empty() {
        return Err(format!(
            "{}; check the spelling (names and tenants are compared exactly), or run without --group/--tenant",
            problems.join("; ")
        ));
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
