//! The run report: what was planned for each group, what happened, and the totals. Its JSON
//! form is the `--output json` contract documented in the README.

use super::managed::AttributeChange;
use super::mapping::ValidationIssue;
use super::plan::{Action, PlannedGroup};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Planned,
    Applied,
    Failed,
    Skipped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Planned => "planned",
            Status::Applied => "applied",
            Status::Failed => "failed",
            Status::Skipped => "skipped",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct GroupReport {
    pub group: String,
    pub action: Action,
    pub status: Status,
    pub changes: Vec<AttributeChange>,
    pub reason: Option<String>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub create: u32,
    pub update: u32,
    pub adopt: u32,
    pub unchanged: u32,
    pub conflict: u32,
    pub orphan: u32,
    pub skipped: u32,
    pub failed: u32,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestCounts {
    pub onepassword: u32,
    pub authentik: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub dry_run: bool,
    pub summary: Summary,
    pub groups: Vec<GroupReport>,
    pub requests: RequestCounts,
    pub warnings: Vec<ValidationIssue>,
}

/// How each attempted write ended, by group name; `Err` holds the cause.
pub type Outcomes = BTreeMap<String, Result<(), String>>;

/// Builds the report. A write with no outcome was never attempted, which counts as failed.
pub fn build(
    plan: &[PlannedGroup],
    outcomes: &Outcomes,
    dry_run: bool,
    requests: RequestCounts,
    warnings: Vec<ValidationIssue>,
) -> Report {
    let mut summary = Summary::default();
    let groups: Vec<GroupReport> = plan
        .iter()
        .map(|planned| {
            *count_for(&mut summary, planned.action) += 1;
            let (status, error) = match (&planned.write, dry_run) {
                (None, _) => (Status::Skipped, None),
                (Some(_), true) => (Status::Planned, None),
                (Some(_), false) => match outcomes.get(&planned.group) {
                    Some(Ok(())) => (Status::Applied, None),
                    Some(Err(cause)) => (Status::Failed, Some(cause.clone())),
                    None => (
                        Status::Failed,
                        Some("not attempted: the run stopped before this write".to_owned()),
                    ),
                },
            };
            if status == Status::Failed {
                summary.failed += 1;
            }
            GroupReport {
                group: planned.group.clone(),
                action: planned.action,
                status,
                changes: planned.changes.clone(),
                reason: planned.reason.clone(),
                error,
            }
        })
        .collect();
    Report {
        dry_run,
        summary,
        groups,
        requests,
        warnings,
    }
}

fn count_for(summary: &mut Summary, action: Action) -> &mut u32 {
    match action {
        Action::Create => &mut summary.create,
        Action::Update => &mut summary.update,
        Action::Adopt => &mut summary.adopt,
        Action::Unchanged => &mut summary.unchanged,
        Action::Conflict => &mut summary.conflict,
        Action::Orphan => &mut summary.orphan,
        Action::Skipped => &mut summary.skipped,
    }
}

impl Summary {
    /// The one-line summary people read at the end of a run.
    pub fn line(&self, dry_run: bool) -> String {
        let counts = [
            (self.create, "to create", "created"),
            (self.update, "to update", "updated"),
            (self.adopt, "to adopt", "adopted"),
            (self.unchanged, "unchanged", "unchanged"),
            (self.conflict, "conflict", "conflict"),
            (self.orphan, "orphan", "orphan"),
            (self.skipped, "skipped", "skipped"),
            (self.failed, "failed", "failed"),
        ];
        let parts: Vec<String> = counts
            .iter()
            .map(|(n, planned, done)| format!("{n} {}", if dry_run { planned } else { done }))
            .collect();
        format!(
            "{}{}",
            if dry_run { "dry run: " } else { "" },
            parts.join(", ")
        )
    }
}

impl Report {
    /// Everything in the mapping now matches Authentik: no failed write and no conflict.
    pub fn in_sync(&self) -> bool {
        self.summary.failed == 0 && self.summary.conflict == 0
    }

    /// The `--output json` document.
    pub fn to_json(&self) -> Value {
        let s = &self.summary;
        json!({
            "dryRun": self.dry_run,
            "summary": {
                "create": s.create, "update": s.update, "adopt": s.adopt,
                "unchanged": s.unchanged, "conflict": s.conflict, "orphan": s.orphan,
                "skipped": s.skipped, "failed": s.failed,
            },
            "changes": self.groups.iter().map(group_json).collect::<Vec<_>>(),
            "requests": {
                "onepassword": self.requests.onepassword,
                "authentik": self.requests.authentik,
            },
            "warnings": self.warnings.iter().map(ToString::to_string).collect::<Vec<_>>(),
        })
    }
}

fn group_json(group: &GroupReport) -> Value {
    let changes: Map<String, Value> = group
        .changes
        .iter()
        .map(|c| {
            (
                c.key.to_owned(),
                json!({"from": c.before.clone().unwrap_or(Value::Null), "to": c.after.clone().unwrap_or(Value::Null)}),
            )
        })
        .collect();
    let mut out = json!({
        "group": group.group,
        "action": group.action.as_str(),
        "status": group.status.as_str(),
        "changes": changes,
    });
    if let Some(reason) = &group.reason {
        out["reason"] = Value::from(reason.as_str());
    }
    if let Some(error) = &group.error {
        out["error"] = Value::from(error.as_str());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync_core::plan::Write;

    fn planned(group: &str, action: Action, writes: bool) -> PlannedGroup {
        PlannedGroup {
            group: group.into(),
            action,
            changes: Vec::new(),
            reason: None,
            write: writes.then(|| Write::Create {
                name: group.into(),
                block: Default::default(),
            }),
        }
    }

    #[test]
    fn statuses_follow_the_writes_and_their_outcomes() {
        let plan = [
            planned("a", Action::Create, true),
            planned("b", Action::Update, true),
            planned("c", Action::Unchanged, false),
            planned("d", Action::Adopt, true),
        ];
        let mut outcomes = Outcomes::new();
        outcomes.insert("a".into(), Ok(()));
        outcomes.insert("b".into(), Err("HTTP 500".into()));
        let report = build(&plan, &outcomes, false, RequestCounts::default(), vec![]);
        let statuses: Vec<_> = report.groups.iter().map(|g| g.status).collect();
        assert_eq!(
            statuses,
            [
                Status::Applied,
                Status::Failed,
                Status::Skipped,
                Status::Failed
            ]
        );
        assert_eq!(report.summary.failed, 2);
        assert_eq!(report.summary.create, 1);
        assert!(!report.in_sync());

        let dry = build(
            &plan,
            &Outcomes::new(),
            true,
            RequestCounts::default(),
            vec![],
        );
        assert_eq!(dry.groups[0].status, Status::Planned);
        assert!(dry.in_sync());
        assert!(
            dry.summary
                .line(true)
                .starts_with("dry run: 1 to create, 1 to update, 1 to adopt")
        );
        assert!(
            report
                .summary
                .line(false)
                .starts_with("1 created, 1 updated, 1 adopted, 1 unchanged")
        );
        assert_eq!(dry.to_json()["changes"][0]["status"], "planned");
    }
}
