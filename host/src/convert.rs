//! The component's WIT results as the core's types, so the host prints them with the core's
//! renderers. The component reports only managed keys with JSON values; anything else is an
//! error, never a quieter report.

use crate::bindings::types;
use tenant_sync_core::managed::{AttributeChange, MANAGED_KEYS};
use tenant_sync_core::mapping::ValidationIssue;
use tenant_sync_core::onepassword::ItemIds;
use tenant_sync_core::plan::Action;
use tenant_sync_core::report::{GroupReport, Report, RequestCounts, Status, Summary};
use tenant_sync_core::untrusted::excerpt;

/// The report as the core knows it. The WIT report is consumed, so a big report is never held
/// twice. The component reports only managed keys with JSON values; anything else is refused
/// rather than shown as something it is not.
pub fn report(report: types::Report) -> Result<Report, String> {
    Ok(Report {
        summary: summary(&report.summary),
        groups: report
            .groups
            .into_iter()
            .map(group)
            .collect::<Result<_, _>>()?,
        requests: RequestCounts {
            onepassword: report.requests.onepassword,
            authentik: report.requests.authentik,
        },
        warnings: report.warnings.iter().map(issue).collect(),
        dry_run: report.dry_run,
        source_item: report.source_item.map(|at| ItemIds {
            vault: at.vault_id,
            item: at.item_id,
        }),
    })
}

pub fn summary(s: &types::Summary) -> Summary {
    Summary {
        create: s.create,
        update: s.update,
        adopt: s.adopt,
        unchanged: s.unchanged,
        conflict: s.conflict,
        orphan: s.orphan,
        skipped: s.skipped,
        failed: s.failed,
        not_attempted: s.not_attempted,
    }
}

fn group(g: types::GroupReport) -> Result<GroupReport, String> {
    let changes = g
        .changes
        .iter()
        .map(|c| change(&g.group, c))
        .collect::<Result<_, _>>()?;
    Ok(GroupReport {
        group: g.group,
        action: match g.action {
            types::Action::Create => Action::Create,
            types::Action::Update => Action::Update,
            types::Action::Adopt => Action::Adopt,
            types::Action::Unchanged => Action::Unchanged,
            types::Action::Conflict => Action::Conflict,
            types::Action::Orphan => Action::Orphan,
            types::Action::Skipped => Action::Skipped,
        },
        status: match g.status {
            types::Status::Planned => Status::Planned,
            types::Status::Applied => Status::Applied,
            types::Status::Failed => Status::Failed,
            types::Status::Skipped => Status::Skipped,
            types::Status::NotAttempted => Status::NotAttempted,
        },
        changes,
        reason: g.reason,
        error: g.error,
    })
}

fn change(group: &str, c: &types::AttributeChange) -> Result<AttributeChange, String> {
    let key = MANAGED_KEYS.iter().find(|k| **k == c.key).ok_or_else(|| {
        format!(
            "the report of group {} changes {}, which is not a managed attribute",
            excerpt(group),
            excerpt(&c.key)
        )
    })?;
    let value = |text: &Option<String>| {
        text.as_deref()
            .map(serde_json::from_str)
            .transpose()
            .map_err(|e| {
                format!(
                    "the report of group {} holds a value of {key} that is not JSON: {e}",
                    excerpt(group)
                )
            })
    };
    Ok(AttributeChange {
        key,
        before: value(&c.before)?,
        after: value(&c.after)?,
    })
}

pub fn issue(i: &types::ValidationIssue) -> ValidationIssue {
    ValidationIssue {
        entry: i.entry,
        group: i.group.clone(),
        field: i.field.clone(),
        message: i.message.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wit_report(key: &str, after: &str) -> types::Report {
        types::Report {
            dry_run: true,
            source_item: None,
            summary: types::Summary {
                create: 1,
                update: 0,
                adopt: 0,
                unchanged: 0,
                conflict: 0,
                orphan: 0,
                skipped: 0,
                failed: 0,
                not_attempted: 0,
            },
            groups: vec![types::GroupReport {
                group: "acme-users".into(),
                action: types::Action::Create,
                status: types::Status::Planned,
                changes: vec![types::AttributeChange {
                    key: key.into(),
                    before: None,
                    after: Some(after.into()),
                }],
                reason: None,
                error: None,
            }],
            requests: types::RequestCounts {
                onepassword: 0,
                authentik: 1,
            },
            warnings: Vec::new(),
        }
    }

    /// A change the component cannot have made once vanished from the report (an unknown key)
    /// or read as "(absent)" (a value that is not JSON).
    #[test]
    fn a_malformed_report_is_an_error_not_a_quieter_report() {
        let shown = report(wit_report("fc:tenant", "\"acme\""))
            .unwrap()
            .to_json();
        assert!(
            shown.contains(r#""fc:tenant":{"from":null,"to":"acme"}"#),
            "{shown}"
        );
        let unknown = report(wit_report("is_superuser", "true")).unwrap_err();
        assert!(unknown.contains("not a managed attribute"), "{unknown}");
        let not_json = report(wit_report("fc:tenant", "acme")).unwrap_err();
        assert!(
            not_json.contains("fc:tenant that is not JSON"),
            "{not_json}"
        );
    }
}
