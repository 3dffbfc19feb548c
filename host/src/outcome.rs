//! How a `sync` call ends for scripts and people. What is printed and the exit code are the
//! core's (`tenant_sync_core::outcome::Outcome`), so every host and entry point ends the same
//! way; this file only says what a call's result is as an outcome, and logs what only the host
//! can see (a malformed report, a sandbox limit, a stop, a trap).

use crate::bindings::types::{self, SyncError};
use crate::convert;
use crate::logging::{Level, LogSink};
use crate::output::Format;
use crate::runtime::RunFailure;
use crate::stdout;
use serde_json::json;
pub use tenant_sync_core::outcome::Exit;
use tenant_sync_core::outcome::{self as core, Failure, FailureKind, Outcome};

/// What a `sync` call returns.
pub type CallResult = Result<Result<types::Report, SyncError>, RunFailure>;

/// The kind of failure a call that ended without a report is; `None` if it reported.
fn failure_kind(result: &CallResult) -> Option<FailureKind> {
    match result {
        Ok(Ok(_)) | Ok(Err(SyncError::PartialApply(_))) => None,
        Ok(Err(SyncError::InvalidMapping(_))) => Some(FailureKind::InvalidMapping),
        Ok(Err(SyncError::InvalidConfig(_))) => Some(FailureKind::InvalidConfig),
        Ok(Err(SyncError::Upstream(_))) => Some(FailureKind::Upstream),
        Err(RunFailure::Limit(_)) => Some(FailureKind::Limit),
        Err(RunFailure::Stopped(_)) => Some(FailureKind::Stopped),
        Err(RunFailure::Trap(_)) => Some(FailureKind::Internal),
    }
}

/// The exit code a `sync` call maps to, without printing: `outcome(result).exit()`, except
/// that a report the host cannot read counts by its summary here.
pub fn exit_code(result: &CallResult) -> Exit {
    match (failure_kind(result), result) {
        (None, Ok(Ok(report)) | Ok(Err(SyncError::PartialApply(report)))) => {
            core::report_exit(&convert::summary(&report.summary))
        }
        (kind, _) => kind.unwrap_or(FailureKind::Internal).exit(),
    }
}

/// The call's outcome. The component logged its own failures; what only the host knows about
/// is logged here.
pub fn outcome(result: CallResult, log: &LogSink) -> Outcome {
    let kind = failure_kind(&result).unwrap_or(FailureKind::Internal);
    let (template, message) = match result {
        Ok(Ok(report)) | Ok(Err(SyncError::PartialApply(report))) => {
            match convert::report(report) {
                Ok(report) => return Outcome::Reported(report),
                Err(message) => ("The component failed: {Message}", message),
            }
        }
        Ok(Err(SyncError::InvalidMapping(issues))) => {
            let issues = issues.iter().map(convert::issue).collect();
            return Outcome::Failed(Failure::invalid_mapping(issues));
        }
        Ok(Err(SyncError::InvalidConfig(message))) => {
            return Outcome::Failed(Failure::new(kind, message));
        }
        Ok(Err(SyncError::Upstream(failure))) => {
            return Outcome::Failed(Failure::new(kind, failure.message));
        }
        Err(RunFailure::Limit(limit)) => ("Sandbox limit hit: {Message}", limit.to_string()),
        Err(RunFailure::Stopped(message)) => ("The run was stopped: {Message}", message),
        Err(RunFailure::Trap(error)) => ("The component failed: {Message}", format!("{error:#}")),
    };
    log.event(Level::Error, template, &[("Message", json!(message))]);
    Outcome::Failed(Failure::new(kind, message))
}

/// Prints the outcome of a `sync` call and returns its exit code.
pub fn report_outcome(result: CallResult, format: Format, log: &LogSink) -> Exit {
    let outcome = outcome(result, log);
    stdout::print(&outcome.printed(format.into()), log);
    outcome.exit()
}
