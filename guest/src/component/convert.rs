//! Core types → WIT types, at the export boundary only.

use super::wit;
use tenant_sync_core::defaults;
use tenant_sync_core::mapping::{DesiredState, ValidationIssue};
use tenant_sync_core::plan::Action;
use tenant_sync_core::report::{Report, Status};

pub fn issues(issues: Vec<ValidationIssue>) -> Vec<wit::ValidationIssue> {
    issues.into_iter().map(issue).collect()
}

fn issue(i: ValidationIssue) -> wit::ValidationIssue {
    wit::ValidationIssue {
        entry: i.entry,
        group: i.group,
        field: i.field,
        message: i.message,
    }
}

pub fn desired_state(state: DesiredState) -> wit::DesiredState {
    wit::DesiredState {
        groups: state
            .groups
            .into_iter()
            .map(|g| wit::DesiredGroup {
                name: g.name,
                tenant: g.tenant,
                role: g.role,
                label: g.label,
                regulated: g.regulated,
                strict_mode: g.strict_mode,
            })
            .collect(),
        skipped: state
            .skipped
            .into_iter()
            .map(|s| wit::SkippedEntry {
                entry: s.entry,
                group: s.group,
                reason: s.reason,
            })
            .collect(),
        warnings: issues(state.warnings),
    }
}

pub fn report(report: Report) -> wit::Report {
    let s = report.summary;
    wit::Report {
        dry_run: report.dry_run,
        source_item: report.source_item.map(|at| wit::OnepasswordItem {
            vault_id: at.vault,
            item_id: at.item,
        }),
        summary: wit::Summary {
            create: s.create,
            update: s.update,
            adopt: s.adopt,
            unchanged: s.unchanged,
            conflict: s.conflict,
            orphan: s.orphan,
            skipped: s.skipped,
            failed: s.failed,
            not_attempted: s.not_attempted,
        },
        groups: report
            .groups
            .into_iter()
            .map(|g| wit::GroupReport {
                group: g.group,
                action: action(g.action),
                status: status(g.status),
                changes: g
                    .changes
                    .into_iter()
                    .map(|c| wit::AttributeChange {
                        key: c.key.to_owned(),
                        before: c.before.map(|v| v.to_string()),
                        after: c.after.map(|v| v.to_string()),
                    })
                    .collect(),
                reason: g.reason,
                error: g.error,
            })
            .collect(),
        requests: wit::RequestCounts {
            onepassword: report.requests.onepassword,
            authentik: report.requests.authentik,
        },
        warnings: issues(report.warnings),
    }
}

fn action(a: Action) -> wit::Action {
    match a {
        Action::Create => wit::Action::Create,
        Action::Update => wit::Action::Update,
        Action::Adopt => wit::Action::Adopt,
        Action::Unchanged => wit::Action::Unchanged,
        Action::Conflict => wit::Action::Conflict,
        Action::Orphan => wit::Action::Orphan,
        Action::Skipped => wit::Action::Skipped,
    }
}

fn status(s: Status) -> wit::Status {
    match s {
        Status::Planned => wit::Status::Planned,
        Status::Applied => wit::Status::Applied,
        Status::Failed => wit::Status::Failed,
        Status::Skipped => wit::Status::Skipped,
        Status::NotAttempted => wit::Status::NotAttempted,
    }
}

pub fn service_name(s: wit::Service) -> &'static str {
    match s {
        wit::Service::Onepassword => defaults::ONEPASSWORD,
        wit::Service::Authentik => defaults::AUTHENTIK,
    }
}
