//! A tool call's outcome as MCP answers it: the same report and failure document as `run
//! --output json`, as structured content, beside the text a person reads. A failure is a tool
//! error (`isError`) carrying the failure document, never a protocol error or a crash.

use super::tools::{PLAN_MAX_GROUPS, SYNC};
use crate::bindings::types::{DesiredState, ValidationIssue};
use crate::convert;
use crate::logging::LogSink;
use crate::outcome::{CallResult, outcome};
use crate::output::{self, Format};
use crate::runtime::RunFailure;
use rmcp::model::{CallToolResult, ContentBlock};
use serde_json::{Value, json};
use tenant_sync_core::outcome::{self as core, Exit, Failure, FailureKind, Outcome};

/// What the server tells a client about itself on `initialize`.
pub fn instructions(allow_writes: bool) -> String {
    let writes = if allow_writes {
        "Writes are enabled (--allow-writes)."
    } else {
        "This server never writes: it was started without --allow-writes, so the sync tool answers with the plan."
    };
    format!(
        "tenant-sync reconciles the tenant mapping kept in 1Password into Authentik groups. Use `{SYNC}` for one or a few tenants now, `plan` to see what the whole mapping would change, and `validate_mapping` to check a mapping document before it is stored. Nothing is ever deleted. {writes}"
    )
}

/// The sync tool's answer. `forced`: writes were asked for but this server does not write.
pub fn synced(result: CallResult, forced: bool, log: &LogSink) -> CallToolResult {
    match outcome(result, log) {
        Outcome::Reported(report) => {
            let exit = core::report_exit(&report.summary);
            let mut text = report.to_text();
            if forced {
                text.push_str("\nNothing was written: this server was started without --allow-writes, so this is the plan. Start it with `tenant-sync mcp --allow-writes` to apply it.\n");
            }
            answer(parsed(&report.to_json()), text, exit)
        }
        Outcome::Failed(failure) => failed(&failure),
    }
}

/// The plan tool's answer: the totals and the lines that would change, at most
/// [`PLAN_MAX_GROUPS`] of them.
pub fn planned(result: CallResult, log: &LogSink) -> CallToolResult {
    match outcome(result, log) {
        Outcome::Reported(report) => {
            let exit = core::report_exit(&report.summary);
            let mut document: Value = parsed(&report.to_json());
            let changes: Vec<Value> = document["changes"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|line| line["action"] != "unchanged")
                .cloned()
                .collect();
            let omitted = changes.len().saturating_sub(PLAN_MAX_GROUPS);
            let shown: Vec<Value> = changes.into_iter().take(PLAN_MAX_GROUPS).collect();
            let plan = json!({
                "summary": document["summary"].take(),
                "changes": shown,
                "omitted": omitted,
                "requests": document["requests"].take(),
                "warnings": document["warnings"].take(),
            });
            let mut text = format!("{}\n", report.summary.line(true));
            if omitted > 0 {
                text.push_str(&format!(
                    "{omitted} more groups would change than are listed in the structured result\n"
                ));
            }
            answer(plan, text, exit)
        }
        Outcome::Failed(failure) => failed(&failure),
    }
}

/// The validate tool's answer: the normalized groups, or every problem.
pub fn validated(
    result: Result<Result<DesiredState, Vec<ValidationIssue>>, RunFailure>,
    log: &LogSink,
) -> CallToolResult {
    match result {
        Ok(Ok(state)) => answer(
            parsed(&output::desired_state(&state, Format::Json)),
            output::desired_state(&state, Format::Text),
            Exit::Success,
        ),
        Ok(Err(issues)) => {
            let issues: Vec<_> = issues.iter().map(convert::issue).collect();
            let failure = Failure {
                message: format!(
                    "the document is not a valid mapping ({} problems)",
                    core::problem_count(&issues)
                ),
                ..Failure::invalid_mapping(issues)
            };
            failed(&failure)
        }
        Err(failure) => match outcome(Err(failure), log) {
            Outcome::Failed(failure) => failed(&failure),
            Outcome::Reported(_) => unreachable!("a run failure has no report"),
        },
    }
}

/// Arguments the tool cannot take: a tool error, like a usage error under the CLI.
pub fn refused(message: &str) -> CallToolResult {
    failed(&Failure::new(FailureKind::Usage, message))
}

/// Structured content and its text; an error when the CLI would exit non-zero.
fn answer(structured: Value, text: String, exit: Exit) -> CallToolResult {
    let mut text = text;
    if exit != Exit::Success {
        text.push_str(&format!("exit code {}: {}\n", exit.code(), exit.meaning()));
    }
    let mut result = CallToolResult::structured(structured);
    // The table for people, not the JSON again: the structured content is the document.
    result.content = vec![ContentBlock::text(text)];
    result.is_error = Some(exit != Exit::Success);
    result
}

/// The failure document as `run --output json` prints it, and its text.
fn failed(failure: &Failure) -> CallToolResult {
    let outcome = Outcome::Failed(failure.clone());
    CallToolResult::error(vec![
        ContentBlock::text(outcome.printed(core::Format::Text)),
        ContentBlock::text(outcome.printed(core::Format::Json)),
    ])
}

/// A document this host rendered, read back as a value.
fn parsed(json: &str) -> Value {
    serde_json::from_str(json).expect("the host's own JSON parses")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_is_a_tool_error_with_the_clis_failure_document() {
        let result = refused("plan: the arguments: unknown field `all`");
        assert_eq!(result.is_error, Some(true));
        assert!(result.structured_content.is_none());
        let texts: Vec<&str> = result
            .content
            .iter()
            .filter_map(|c| c.as_text().map(|t| t.text.as_str()))
            .collect();
        let document: Value = serde_json::from_str(texts[1]).unwrap();
        assert_eq!(document["error"]["kind"], "usage");
        assert!(texts[0].contains("unknown field"));
    }

    #[test]
    fn a_report_that_did_not_reach_sync_is_an_error_with_its_exit_code() {
        let result = answer(json!({"x": 1}), "table\n".into(), Exit::NotInSync);
        assert_eq!(result.is_error, Some(true));
        assert_eq!(result.structured_content, Some(json!({"x": 1})));
        let text = result.content[0].as_text().unwrap().text.clone();
        assert!(text.contains("exit code 5"), "{text}");
        assert_eq!(result.content.len(), 1);
        assert_eq!(
            answer(json!({}), String::new(), Exit::Success).is_error,
            Some(false)
        );
    }
}
