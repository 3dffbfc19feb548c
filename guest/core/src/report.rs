//! The run report: what was planned for each group, what happened, and the totals. Its JSON
//! form is the `--output json` contract documented in the README.

use super::managed::AttributeChange;
use super::mapping::ValidationIssue;
use super::onepassword::ItemIds;
use super::plan::{Action, PlannedGroup};
use super::secrets::Redactor;
use super::untrusted::{json_terminal_safe, terminal_safe};
use serde::Serialize;
use serde::ser::{SerializeMap, SerializeStruct, Serializer};
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Planned,
    Applied,
    Failed,
    Skipped,
    /// The run stopped starting writes (a stop signal) before this one: nothing was sent.
    NotAttempted,
}

impl Status {
    pub const ALL: [Status; 5] = [
        Status::Planned,
        Status::Applied,
        Status::Failed,
        Status::Skipped,
        Status::NotAttempted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Planned => "planned",
            Status::Applied => "applied",
            Status::Failed => "failed",
            Status::Skipped => "skipped",
            Status::NotAttempted => "not-attempted",
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

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub create: u32,
    pub update: u32,
    pub adopt: u32,
    pub unchanged: u32,
    pub conflict: u32,
    pub orphan: u32,
    pub skipped: u32,
    pub failed: u32,
    #[serde(rename = "notAttempted")]
    pub not_attempted: u32,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
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
    /// The 1Password item the mapping was read from, for a host that reads it again directly;
    /// not part of the JSON report.
    pub source_item: Option<ItemIds>,
}

impl Report {
    /// Every text in the report scrubbed of the tokens: names, reasons, errors, values, warnings.
    pub fn redact(&mut self, redactor: &Redactor) {
        if redactor.is_empty() {
            return;
        }
        for group in &mut self.groups {
            redactor.scrub_in_place(&mut group.group);
            for text in group.reason.iter_mut().chain(group.error.iter_mut()) {
                redactor.scrub_in_place(text);
            }
            for change in &mut group.changes {
                for value in change.before.iter_mut().chain(change.after.iter_mut()) {
                    redactor.scrub_value(value);
                }
            }
        }
        self.warnings
            .iter_mut()
            .for_each(|issue| issue.redact(redactor));
    }
}

/// How the writes went: each attempted one by group name (`Err` holds the cause), and why the
/// run stopped starting writes, if it did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcomes {
    pub done: BTreeMap<String, Result<(), String>>,
    pub stopped: Option<String>,
}

/// Builds the report. A write with no outcome was never attempted.
pub fn build(
    plan: Vec<PlannedGroup>,
    outcomes: &Outcomes,
    dry_run: bool,
    requests: RequestCounts,
    warnings: Vec<ValidationIssue>,
) -> Report {
    let mut summary = Summary::default();
    // The plan is consumed so its changes move into the report: on a big first run they are
    // most of the memory the component uses.
    let groups: Vec<GroupReport> = plan
        .into_iter()
        .map(|planned| {
            *count_for(&mut summary, planned.action) += 1;
            let (status, error) = match (&planned.write, dry_run) {
                (None, _) => (Status::Skipped, None),
                (Some(_), true) => (Status::Planned, None),
                (Some(_), false) => match outcomes.done.get(&planned.group) {
                    Some(Ok(())) => (Status::Applied, None),
                    Some(Err(cause)) => (Status::Failed, Some(cause.clone())),
                    None => (
                        Status::NotAttempted,
                        Some(format!(
                            "not attempted, nothing was sent: {}",
                            outcomes
                                .stopped
                                .as_deref()
                                .unwrap_or("the run stopped before this write")
                        )),
                    ),
                },
            };
            match status {
                Status::Failed => summary.failed += 1,
                Status::NotAttempted => summary.not_attempted += 1,
                _ => {}
            }
            GroupReport {
                group: planned.group,
                action: planned.action,
                status,
                changes: planned.changes,
                reason: planned.reason,
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
        source_item: None,
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
    /// Every write done (or, in a dry run, planned) and no conflict.
    pub fn in_sync(&self) -> bool {
        self.failed == 0 && self.not_attempted == 0 && self.conflict == 0
    }

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
        let not_attempted = if self.not_attempted > 0 {
            format!(", {} not attempted", self.not_attempted)
        } else {
            String::new()
        };
        let parts: Vec<String> = counts
            .iter()
            .map(|(n, planned, done)| format!("{n} {}", if dry_run { planned } else { done }))
            .collect();
        format!(
            "{}{}{not_attempted}",
            if dry_run { "dry run: " } else { "" },
            parts.join(", ")
        )
    }
}

impl Report {
    /// Everything in the mapping now matches Authentik: every write done, no conflict.
    pub fn in_sync(&self) -> bool {
        self.summary.in_sync()
    }

    /// The `--output json` document, serialized straight from the report: a tree of JSON
    /// values for ten thousand groups would cost several times the text.
    pub fn to_json(&self) -> String {
        json_terminal_safe(serde_json::to_string(self).expect("a report always serializes"))
    }

    /// The `--output text` table and summary line, for people.
    pub fn to_text(&self) -> String {
        let report = self;
        let mut rows: Vec<[String; 4]> = vec![[
            "GROUP".into(),
            "ACTION".into(),
            "STATUS".into(),
            "DETAILS".into(),
        ]];
        for g in &report.groups {
            let mut details: Vec<String> = g
                .changes
                .iter()
                .map(|c| format!("{}: {} → {}", c.key, shown(&c.before), shown(&c.after)))
                .collect();
            if let Some(error) = &g.error {
                details.insert(0, format!("error: {error}"));
            } else if let Some(reason) = &g.reason
                && details.is_empty()
            {
                details.push(reason.clone());
            }
            if details.is_empty() {
                details.push(String::new());
            }
            for (i, detail) in details.into_iter().enumerate() {
                let first = i == 0;
                // Names and messages may come from Authentik: nothing in them may move the cursor or
                // start a line of its own in the table an operator reads.
                rows.push([
                    if first {
                        terminal_safe(&g.group).into_owned()
                    } else {
                        String::new()
                    },
                    if first {
                        g.action.as_str().to_owned()
                    } else {
                        String::new()
                    },
                    if first {
                        g.status.as_str().to_owned()
                    } else {
                        String::new()
                    },
                    terminal_safe(&detail).into_owned(),
                ]);
            }
        }
        let width = |col: usize| {
            rows.iter()
                .map(|r| r[col].chars().count())
                .max()
                .unwrap_or(0)
        };
        let (w0, w1, w2) = (width(0), width(1), width(2));
        let mut out = String::new();
        for row in &rows {
            let line = format!("{:w0$}  {:w1$}  {:w2$}  {}", row[0], row[1], row[2], row[3]);
            out.push_str(line.trim_end());
            out.push('\n');
        }
        for warning in &report.warnings {
            out.push_str(&format!(
                "warning: {}\n",
                terminal_safe(&warning.to_string())
            ));
        }
        out.push_str(&format!(
            "\n{} (requests: 1Password {}, Authentik {})\n",
            report.summary.line(report.dry_run),
            report.requests.onepassword,
            report.requests.authentik
        ));
        out
    }
}

/// A changed value as the table shows it.
fn shown(value: &Option<Value>) -> String {
    value
        .as_ref()
        .map_or_else(|| "(absent)".to_owned(), Value::to_string)
}

impl Serialize for Report {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut out = serializer.serialize_struct("Report", 5)?;
        out.serialize_field("dryRun", &self.dry_run)?;
        out.serialize_field("summary", &self.summary)?;
        // Every group, not only changed ones; the name is the published one (README, "JSON
        // report") that scripts read, so it stays.
        out.serialize_field("changes", &self.groups)?;
        out.serialize_field("requests", &self.requests)?;
        out.serialize_field("warnings", &Warnings(&self.warnings))?;
        out.end()
    }
}

/// Warnings read as their one-line text in the JSON report.
struct Warnings<'a>(&'a [ValidationIssue]);

impl Serialize for Warnings<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(ToString::to_string))
    }
}

impl Serialize for GroupReport {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut out = serializer.serialize_map(None)?;
        out.serialize_entry("group", &self.group)?;
        out.serialize_entry("action", self.action.as_str())?;
        out.serialize_entry("status", self.status.as_str())?;
        out.serialize_entry("changes", &Changes(&self.changes))?;
        if let Some(reason) = &self.reason {
            out.serialize_entry("reason", reason)?;
        }
        if let Some(error) = &self.error {
            out.serialize_entry("error", error)?;
        }
        out.end()
    }
}

/// A group's changes as `{key: {"from": before, "to": after}}`, absent values as `null`.
struct Changes<'a>(&'a [AttributeChange]);

impl Serialize for Changes<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct FromTo<'a> {
            from: &'a Option<Value>,
            to: &'a Option<Value>,
        }
        serializer.collect_map(self.0.iter().map(|c| {
            (
                c.key,
                FromTo {
                    from: &c.before,
                    to: &c.after,
                },
            )
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Write;

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
        let mut outcomes = Outcomes::default();
        outcomes.done.insert("a".into(), Ok(()));
        outcomes.done.insert("b".into(), Err("HTTP 500".into()));
        outcomes.stopped = Some("received SIGTERM".into());
        let report = build(
            plan.to_vec(),
            &outcomes,
            false,
            RequestCounts::default(),
            vec![],
        );
        let statuses: Vec<_> = report.groups.iter().map(|g| g.status).collect();
        assert_eq!(
            statuses,
            [
                Status::Applied,
                Status::Failed,
                Status::Skipped,
                Status::NotAttempted
            ]
        );
        assert_eq!(
            report.groups[3].error.as_deref(),
            Some("not attempted, nothing was sent: received SIGTERM")
        );
        assert_eq!(
            (report.summary.failed, report.summary.not_attempted),
            (1, 1)
        );
        assert_eq!(report.summary.create, 1);
        assert!(!report.in_sync());
        assert!(
            report
                .summary
                .line(false)
                .ends_with("1 failed, 1 not attempted")
        );

        let dry = build(
            plan.to_vec(),
            &Outcomes::default(),
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
        let json: Value = serde_json::from_str(&dry.to_json()).unwrap();
        assert_eq!(json["changes"][0]["status"], "planned");
        let json: Value = serde_json::from_str(&report.to_json()).unwrap();
        assert_eq!(json["summary"]["notAttempted"], 1);
        assert_eq!(json["changes"][3]["status"], "not-attempted");
    }

    #[test]
    fn the_json_report_has_the_documented_shape() {
        let report = Report {
            dry_run: false,
            summary: Summary {
                update: 1,
                conflict: 1,
                failed: 1,
                ..Summary::default()
            },
            groups: vec![
                GroupReport {
                    group: "tenant-a-users".into(),
                    action: Action::Update,
                    status: Status::Failed,
                    changes: vec![
                        AttributeChange {
                            key: "fc:role",
                            before: Some(Value::from("admin")),
                            after: Some(Value::from("user")),
                        },
                        AttributeChange {
                            key: "fc:label",
                            before: None,
                            after: Some(Value::from("Tenant A")),
                        },
                    ],
                    reason: None,
                    error: Some("HTTP 500".into()),
                },
                GroupReport {
                    group: "tenant-b-users".into(),
                    action: Action::Conflict,
                    status: Status::Skipped,
                    changes: vec![],
                    reason: Some("managed by someone else".into()),
                    error: None,
                },
            ],
            requests: RequestCounts {
                onepassword: 3,
                authentik: 4,
            },
            warnings: vec![ValidationIssue {
                entry: Some(2),
                group: Some("x".into()),
                field: Some("label".into()),
                message: "is long".into(),
            }],
            source_item: None,
        };
        let json: Value = serde_json::from_str(&report.to_json()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "dryRun": false,
                "summary": {"create": 0, "update": 1, "adopt": 0, "unchanged": 0,
                            "conflict": 1, "orphan": 0, "skipped": 0, "failed": 1,
                            "notAttempted": 0},
                "changes": [
                    {"group": "tenant-a-users", "action": "update", "status": "failed",
                     "changes": {"fc:role": {"from": "admin", "to": "user"},
                                 "fc:label": {"from": null, "to": "Tenant A"}},
                     "error": "HTTP 500"},
                    {"group": "tenant-b-users", "action": "conflict", "status": "skipped",
                     "changes": {}, "reason": "managed by someone else"},
                ],
                "requests": {"onepassword": 3, "authentik": 4},
                "warnings": [report.warnings[0].to_string()],
            })
        );
    }

    fn row(group: &str, action: Action, reason: Option<&str>) -> GroupReport {
        GroupReport {
            group: group.to_owned(),
            action,
            status: Status::Planned,
            changes: Vec::new(),
            reason: reason.map(str::to_owned),
            error: None,
        }
    }

    /// A group name from Authentik with escape codes and a newline once printed a forged row
    /// ("looks-fine  create  planned") into the dry-run table an operator reads.
    #[test]
    fn names_and_reasons_from_a_server_cannot_forge_table_rows() {
        let report = Report {
            summary: Summary::default(),
            groups: vec![
                row(
                    "evil\u{1b}[2K\r\nlooks-fine",
                    Action::Orphan,
                    Some("carries fc:managed-by\u{2028}create  planned"),
                ),
                row(
                    "\u{202e}nimda",
                    Action::Conflict,
                    Some("fc:managed-by is x\ny"),
                ),
            ],
            requests: RequestCounts::default(),
            warnings: Vec::new(),
            dry_run: true,
            source_item: None,
        };
        let text = report.to_text();
        assert!(
            !text.chars().any(|c| c.is_control() && c != '\n'),
            "{text:?}"
        );
        assert!(!text.contains(['\u{2028}', '\u{202e}']), "{text:?}");
        // The header, the two groups, the blank line and the summary: nothing more.
        assert_eq!(text.lines().count(), 5, "{text}");
        assert!(
            text.contains("evil\\u{001b}[2K\\u{000d}\\u{000a}looks-fine"),
            "{text}"
        );
    }
}
