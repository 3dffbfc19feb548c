//! How a run ends for the scripts that start it, the same from every host: the exit codes and
//! the one JSON document a failure prints. The wasmtime host links this natively; other hosts
//! get it from the component (`sync.run-printed`, `render.failure`).

use super::mapping::ValidationIssue;
use super::report::{Report, Summary};
use super::untrusted::{json_terminal_safe, terminal_safe};
use serde_json::json;

/// Exit codes (README, "Exit codes").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Success = 0,
    /// The component trapped: a bug, report it.
    Internal = 1,
    Usage = 2,
    InvalidMapping = 3,
    Upstream = 4,
    NotInSync = 5,
    Limit = 6,
    /// Stopped by SIGINT (128 + 2).
    Interrupted = 130,
    /// Stopped by SIGTERM (128 + 15).
    Terminated = 143,
}

impl Exit {
    /// Every code, by the name the hosts' contract file uses.
    pub const ALL: [(&str, Exit); 9] = [
        ("success", Exit::Success),
        ("internal", Exit::Internal),
        ("usage", Exit::Usage),
        ("invalidMapping", Exit::InvalidMapping),
        ("upstream", Exit::Upstream),
        ("notInSync", Exit::NotInSync),
        ("limit", Exit::Limit),
        ("interrupted", Exit::Interrupted),
        ("terminated", Exit::Terminated),
    ];

    pub fn code(self) -> u8 {
        self as u8
    }

    /// What the code means, as `--help` says it.
    pub fn meaning(self) -> &'static str {
        match self {
            Exit::Success => {
                "success: in sync (with --dry-run: the plan was made and has no conflict)"
            }
            Exit::Internal => "the component failed (a bug: report it with the log)",
            Exit::Usage => "usage or configuration error",
            Exit::InvalidMapping => "invalid mapping (nothing written)",
            Exit::Upstream => "a service failed before any write (nothing written)",
            Exit::NotInSync => "finished but not in sync (a write failed or a group is a conflict)",
            Exit::Limit => "a sandbox limit (the deadline, memory) ended the run",
            Exit::Interrupted => "stopped by SIGINT",
            Exit::Terminated => {
                "stopped by SIGTERM (no write starts after a stop signal; the report marks the rest not-attempted)"
            }
        }
    }
}

/// Every exit code and what it means, for every host's `--help`.
pub fn exit_codes_help() -> String {
    let codes: Vec<String> = Exit::ALL
        .iter()
        .map(|(_, exit)| format!("{} {}", exit.code(), exit.meaning()))
        .collect();
    format!("Exit codes: {}.", codes.join("; "))
}

/// Why a run ended without a report: the `kind` of the failure document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The host was invoked wrongly (a flag, a file, a URL).
    Usage,
    /// The options or the granted environment are unusable (e.g. a missing token).
    InvalidConfig,
    InvalidMapping,
    /// A service failed before any write.
    Upstream,
    /// A sandbox limit (deadline, memory) ended the run.
    Limit,
    /// A stop signal ended the run before it could report.
    Stopped,
    /// The component failed: a bug.
    Internal,
}

impl FailureKind {
    pub const ALL: [FailureKind; 7] = [
        FailureKind::Usage,
        FailureKind::InvalidConfig,
        FailureKind::InvalidMapping,
        FailureKind::Upstream,
        FailureKind::Limit,
        FailureKind::Stopped,
        FailureKind::Internal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Usage => "usage",
            FailureKind::InvalidConfig => "invalid-config",
            FailureKind::InvalidMapping => "invalid-mapping",
            FailureKind::Upstream => "upstream",
            FailureKind::Limit => "limit",
            FailureKind::Stopped => "stopped",
            FailureKind::Internal => "internal",
        }
    }

    /// The exit code a failure of this kind ends with. A stop is SIGTERM's unless the host
    /// knows it was SIGINT.
    pub fn exit(self) -> Exit {
        match self {
            FailureKind::Usage | FailureKind::InvalidConfig => Exit::Usage,
            FailureKind::InvalidMapping => Exit::InvalidMapping,
            FailureKind::Upstream => Exit::Upstream,
            FailureKind::Limit => Exit::Limit,
            FailureKind::Stopped => Exit::Terminated,
            FailureKind::Internal => Exit::Internal,
        }
    }
}

/// The exit code of a run that reported: in sync (dry runs included) or not.
pub fn report_exit(summary: &Summary) -> Exit {
    match summary.in_sync() {
        true => Exit::Success,
        false => Exit::NotInSync,
    }
}

/// How a run ended, the same for every host and every entry point: what is printed (`printed`)
/// and the exit code (`exit`).
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The run reported: in sync or not, some writes perhaps failed.
    Reported(Report),
    /// The run ended without a report.
    Failed(Failure),
}

/// A run that ended without a report: why (`kind`), in the operator's words, and the mapping's
/// problems when that is what failed.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub kind: FailureKind,
    pub message: String,
    pub issues: Vec<ValidationIssue>,
}

impl Failure {
    pub fn new(kind: FailureKind, message: impl Into<String>) -> Failure {
        Failure {
            kind,
            message: message.into(),
            issues: Vec::new(),
        }
    }

    /// An invalid mapping, with the problems `mapping::validate` found.
    pub fn invalid_mapping(issues: Vec<ValidationIssue>) -> Failure {
        Failure {
            kind: FailureKind::InvalidMapping,
            message: invalid_mapping_message(problem_count(&issues)),
            issues,
        }
    }
}

/// How an outcome is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A table and a summary line (or the failure's message and problems), for people.
    Text,
    /// Exactly one JSON document, for scripts.
    Json,
}

impl Outcome {
    pub fn exit(&self) -> Exit {
        match self {
            Outcome::Reported(report) => report_exit(&report.summary),
            Outcome::Failed(failure) => failure.kind.exit(),
        }
    }

    /// What stdout gets (a host adds the final newline if the text has none).
    pub fn printed(&self, format: Format) -> String {
        match (self, format) {
            (Outcome::Reported(report), Format::Json) => report.to_json(),
            (Outcome::Reported(report), Format::Text) => report.to_text(),
            (Outcome::Failed(failure), Format::Json) => {
                failure_json(failure.kind, &failure.message, &failure.issues)
            }
            (Outcome::Failed(failure), Format::Text) => {
                let mut out = format!("{}\n", terminal_safe(&failure.message));
                for issue in &failure.issues {
                    out.push_str(&format!("  {}\n", terminal_safe(&issue.to_string())));
                }
                out
            }
        }
    }
}

/// A failure as the one JSON document a script reads on stdout. `issues` lists the mapping's
/// problems when that is what failed.
fn failure_json(kind: FailureKind, message: &str, issues: &[ValidationIssue]) -> String {
    let document = json!({
        "error": {
            "kind": kind.as_str(),
            "message": message,
            "issues": issues.iter().map(|i| json!({
                "entry": i.entry, "group": i.group, "field": i.field, "message": i.message,
                "text": i.to_string(),
            })).collect::<Vec<_>>(),
        }
    });
    json_terminal_safe(document.to_string())
}

/// The message of an invalid mapping's failure document.
fn invalid_mapping_message(problems: usize) -> String {
    match problems {
        1 => "the mapping has 1 problem; nothing was written".to_owned(),
        n => format!("the mapping has {n} problems; nothing was written"),
    }
}

/// How many problems `issues` stands for: each issue is one, except the closing line that
/// counts those not shown.
pub fn problem_count(issues: &[ValidationIssue]) -> usize {
    issues
        .iter()
        .map(|issue| issue.not_shown().unwrap_or(1))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn a_report_is_in_sync_only_without_conflicts_failures_or_writes_not_attempted() {
        assert_eq!(report_exit(&Summary::default()), Exit::Success);
        for summary in [
            Summary {
                conflict: 1,
                ..Summary::default()
            },
            Summary {
                failed: 1,
                ..Summary::default()
            },
            Summary {
                not_attempted: 1,
                ..Summary::default()
            },
        ] {
            assert_eq!(report_exit(&summary), Exit::NotInSync);
        }
    }

    #[test]
    fn a_failure_document_names_its_kind_and_each_issue() {
        let issue = ValidationIssue {
            entry: Some(2),
            group: Some("x".into()),
            field: Some("fcRole".into()),
            message: "must be one of admin, user".into(),
        };
        let failed = Outcome::Failed(Failure::invalid_mapping(vec![issue]));
        let doc: Value = serde_json::from_str(&failed.printed(Format::Json)).unwrap();
        assert_eq!(doc["error"]["kind"], "invalid-mapping");
        assert_eq!(
            doc["error"]["message"],
            "the mapping has 1 problem; nothing was written"
        );
        assert_eq!(doc["error"]["issues"][0]["entry"], 2);
        assert_eq!(
            doc["error"]["issues"][0]["text"],
            "mappings[2] (group \"x\"): fcRole: must be one of admin, user"
        );
        assert_eq!(failed.exit(), Exit::InvalidMapping);
        assert_eq!(
            failed.printed(Format::Text),
            "the mapping has 1 problem; nothing was written\n  mappings[2] (group \"x\"): fcRole: must be one of admin, user\n"
        );
        assert_eq!(FailureKind::InvalidConfig.exit(), Exit::Usage);
        assert_eq!(FailureKind::Stopped.exit().code(), 143);
    }

    #[test]
    fn the_help_names_every_exit_code_once() {
        let help = exit_codes_help();
        for (_, exit) in Exit::ALL {
            let named = format!(" {} {}", exit.code(), exit.meaning());
            assert_eq!(help.matches(&named).count(), 1, "{help}");
        }
    }

    #[test]
    fn problems_not_shown_are_counted_in_the_message() {
        let many: String = (0..1_005)
            .map(|i| format!(r#"{{"authentikGroup": "g{i}", "fcTenantId": "t", "fcRole": 5}}"#))
            .collect::<Vec<_>>()
            .join(",");
        let document = format!(r#"{{"version": 1, "mappings": [{many}]}}"#);
        let Err(issues) = crate::mapping::validate(&document) else {
            panic!("1,005 entries with a numeric role are invalid");
        };
        assert_eq!(
            issues.len(),
            1_001,
            "1,000 shown and the line counting the rest"
        );
        assert_eq!(
            Failure::invalid_mapping(issues).message,
            "the mapping has 1005 problems; nothing was written"
        );
    }
}
