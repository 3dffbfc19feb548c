//! What the CLI prints on stdout: the run report (a table for people, one JSON document for
//! scripts), the validated desired state, and failures. The JSON report is rendered by the
//! guest's core, so the host and the component's `wasi:cli/run` print the same document.

use crate::bindings::types;
use crate::convert;
use serde_json::{Value, json};
use tenant_sync_guest::sync_core::mapping::ValidationIssue;
use tenant_sync_guest::sync_core::outcome::{self, FailureKind};
use tenant_sync_guest::sync_core::report::Report;
use tenant_sync_guest::sync_core::untrusted::{json_terminal_safe, terminal_safe};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A table and a summary line, for people.
    Text,
    /// Exactly one JSON document, for scripts.
    Json,
}

/// The report as printed; an error if the component's report is malformed (a bug).
pub fn report(report: types::Report, format: Format) -> Result<String, String> {
    let report = convert::report(report)?;
    Ok(match format {
        Format::Json => report.to_json(),
        Format::Text => report_text(&report),
    })
}

fn report_text(report: &Report) -> String {
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

fn shown(value: &Option<Value>) -> String {
    value
        .as_ref()
        .map_or_else(|| "(absent)".to_owned(), Value::to_string)
}

/// The normalized desired state `validate` prints.
pub fn desired_state(state: &types::DesiredState, format: Format) -> String {
    match format {
        Format::Json => json_terminal_safe(json!({
            "valid": true,
            "groups": state.groups.iter().map(|g| json!({
                "authentikGroup": g.name, "fcTenantId": g.tenant, "fcRole": g.role,
                "label": g.label, "regulated": g.regulated, "strictMode": g.strict_mode,
            })).collect::<Vec<_>>(),
            "skipped": state.skipped.iter().map(|s| json!({"entry": s.entry, "authentikGroup": s.group, "reason": s.reason})).collect::<Vec<_>>(),
            "warnings": state.warnings.iter().map(|w| convert::issue(w).to_string()).collect::<Vec<_>>(),
        })
        .to_string()),
        // The mapping's names are checked for invisible characters, but unknown keys quoted in
        // warnings, and skipped entries, are not: the same rule as the report's table.
        Format::Text => {
            let mut out = format!("valid: {} groups, {} wildcard entries skipped\n", state.groups.len(), state.skipped.len());
            for g in &state.groups {
                let mut extra = Vec::new();
                if let Some(label) = &g.label {
                    extra.push(format!("label={label:?}"));
                }
                if let Some(r) = g.regulated {
                    extra.push(format!("regulated={r}"));
                }
                if let Some(s) = g.strict_mode {
                    extra.push(format!("strictMode={s}"));
                }
                let line = format!("  {}  tenant={} role={} {}", g.name, g.tenant, g.role, extra.join(" "));
                out.push_str(terminal_safe(line.trim_end()).as_ref());
                out.push('\n');
            }
            for s in &state.skipped {
                let line = format!("  {}  skipped (mappings[{}]): {}", s.group, s.entry, s.reason);
                out.push_str(terminal_safe(&line).as_ref());
                out.push('\n');
            }
            for w in &state.warnings {
                out.push_str(&format!("warning: {}\n", terminal_safe(&convert::issue(w).to_string())));
            }
            out
        }
    }
}

/// A failure, for stdout. `issues` lists mapping problems, if that is what failed.
pub fn failure(
    kind: FailureKind,
    message: &str,
    issues: &[types::ValidationIssue],
    format: Format,
) -> String {
    match format {
        Format::Json => {
            let issues: Vec<ValidationIssue> = issues.iter().map(convert::issue).collect();
            outcome::failure_json(kind, message, &issues)
        }
        Format::Text => {
            let mut out = format!("{}\n", terminal_safe(message));
            for i in issues {
                out.push_str(&format!(
                    "  {}\n",
                    terminal_safe(&convert::issue(i).to_string())
                ));
            }
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tenant_sync_guest::sync_core::plan::Action;
    use tenant_sync_guest::sync_core::report::{GroupReport, RequestCounts, Status, Summary};

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
        };
        let text = report_text(&report);
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
