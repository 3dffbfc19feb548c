//! How a run ends for the scripts that start it, the same from every host: the exit codes and
//! the one JSON document a failure prints. The wasmtime host links this natively; other hosts
//! get it from the component (`sync.run-printed`, `render.failure`).

use super::mapping::ValidationIssue;
use super::report::Summary;
use super::untrusted::json_terminal_safe;
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

/// A failure as the one JSON document a script reads on stdout. `issues` lists the mapping's
/// problems when that is what failed.
pub fn failure_json(kind: FailureKind, message: &str, issues: &[ValidationIssue]) -> String {
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
pub fn invalid_mapping_message(problems: usize) -> String {
    format!("the mapping has {problems} problems; nothing was written")
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
        let doc: Value =
            serde_json::from_str(&failure_json(FailureKind::InvalidMapping, "bad", &[issue]))
                .unwrap();
        assert_eq!(doc["error"]["kind"], "invalid-mapping");
        assert_eq!(doc["error"]["message"], "bad");
        assert_eq!(doc["error"]["issues"][0]["entry"], 2);
        assert_eq!(
            doc["error"]["issues"][0]["text"],
            "mappings[2] (group \"x\"): fcRole: must be one of admin, user"
        );
        assert_eq!(FailureKind::InvalidConfig.exit(), Exit::Usage);
        assert_eq!(FailureKind::Stopped.exit().code(), 143);
    }
}
