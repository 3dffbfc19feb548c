//! Which groups a run reconciles: all of the mapping, or only the groups named with `--group`
//! and the groups of the tenants named with `--tenant` (a new tenant's group, on demand,
//! without waiting for the nightly run).

use super::mapping::{DesiredState, MAX_VALUE_CHARS, WILDCARD_TENANT};
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

/// The groups and tenants a selection names that the mapping does not have, each as
/// [`quoted`] shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotInMapping {
    pub groups: Vec<String>,
    pub tenants: Vec<String>,
}

/// How many unknown names an error lists before it counts the rest.
const MAX_NAMED: usize = 10;

impl fmt::Display for NotInMapping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let groups = self
            .groups
            .iter()
            .map(|group| format!("the group {group} is not in the mapping"));
        let tenants = self
            .tenants
            .iter()
            .map(|tenant| format!("no group of the mapping has the tenant {tenant}"));
        let mut problems: Vec<String> = groups.chain(tenants).collect();
        if problems.len() > MAX_NAMED {
            let more = problems.len() - MAX_NAMED;
            problems.truncate(MAX_NAMED);
            problems.push(format!("{more} more names are not in the mapping either"));
        }
        write!(
            f,
            "{}; check the spelling (names and tenants are compared exactly), or run without --group/--tenant",
            problems.join("; ")
        )
    }
}

/// A name the caller gave, as an error quotes it back: whole and escaped, or, longer than any
/// name the mapping can hold, only its length. Never cut and with every `…` escaped: the
/// redactor takes text right before a `…` for a token an excerpt may have cut and hides it, so
/// a caller's own text there would tell the caller, by whether it was hidden, how a token
/// starts (an MCP client need not hold the tokens).
fn quoted(name: &str) -> String {
    let chars = name.chars().count();
    if chars > MAX_VALUE_CHARS {
        return format!("of {chars} characters (names are at most {MAX_VALUE_CHARS})");
    }
    let escaped: String = name
        .chars()
        .map(|c| match c {
            '…' => "\\u{2026}".to_owned(),
            c => c.escape_debug().to_string(),
        })
        .collect();
    format!("\"{escaped}\"")
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
        .map(|group| quoted(group))
        .collect();
    let unknown_tenants: Vec<String> = selection
        .tenants
        .iter()
        .filter(|tenant| {
            !(*tenant == WILDCARD_TENANT && !desired.skipped.is_empty()
                || desired.groups.iter().any(|g| &g.tenant == *tenant))
        })
        .map(|tenant| quoted(tenant))
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
        assert_eq!(error.groups, ["\"acme-admin\""]);
        assert_eq!(error.tenants, ["\"initech\""]);
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

    /// A caller who may not know the tokens (an MCP client) names groups that end in a guess
    /// of a token's start. Whether the redactor hid the guess must not tell them anything: the
    /// names come back whole, never followed by a `…`, so nothing is hidden either way.
    #[test]
    fn names_quoted_back_cannot_probe_a_token_through_the_redactor() {
        use crate::secrets::Redactor;
        let token = "eyJhbGciOiJFUzI1NiJ9.secret-part";
        let redactor = Redactor::new([token.to_owned()]);
        let known = &token[..9];
        // The right next character, and a wrong one.
        for guess in ['i', 'x'] {
            let probe = format!("{known}{guess}");
            let names = [
                format!("{}{probe}Z", "A".repeat(299 - probe.len())),
                format!("{probe}…"),
                format!("a…{probe}…b"),
                format!("{}{probe}", "B".repeat(400)),
            ];
            for name in names {
                let selection = Selection {
                    groups: vec![name.clone()],
                    tenants: vec![name.clone()],
                };
                let error = select(desired(), &selection).unwrap_err().to_string();
                let scrubbed = redactor.scrub(&error);
                assert_eq!(scrubbed, error, "the redactor reacted to {name:?}");
            }
        }
    }

    #[test]
    fn many_unknown_names_are_counted_not_listed() {
        let selection = Selection {
            groups: (0..25).map(|i| format!("g{i}")).collect(),
            tenants: Vec::new(),
        };
        let error = select(desired(), &selection).unwrap_err().to_string();
        assert!(
            error.contains("\"g9\"") && !error.contains("\"g10\""),
            "{error}"
        );
        assert!(error.contains("15 more names"), "{error}");
    }
}
