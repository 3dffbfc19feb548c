//! How a `sync` call ends for scripts and people: its exit code and what is printed on stdout.
//! The codes and the failure document are the core's (`sync_core::outcome`), so every host
//! ends the same way.

use crate::bindings::types::{self, SyncError};
use crate::convert;
use crate::logging::{Level, LogSink};
use crate::output::{self, Format};
use crate::runtime::RunFailure;
use crate::stdout;
use serde_json::json;
pub use tenant_sync_guest::sync_core::outcome::Exit;
use tenant_sync_guest::sync_core::outcome::{self as contract, FailureKind};

/// The exit code a `sync` outcome maps to.
pub fn exit_code(result: &Result<Result<types::Report, SyncError>, RunFailure>) -> Exit {
    match result {
        Ok(Ok(report)) | Ok(Err(SyncError::PartialApply(report))) => {
            contract::report_exit(&convert::summary(&report.summary))
        }
        Ok(Err(error)) => sync_error_kind(error).exit(),
        // `cli::run` ends a stopped run with the signal's own code.
        Err(failure) => run_failure_kind(failure).exit(),
    }
}

fn sync_error_kind(error: &SyncError) -> FailureKind {
    match error {
        SyncError::InvalidMapping(_) => FailureKind::InvalidMapping,
        SyncError::InvalidConfig(_) => FailureKind::InvalidConfig,
        SyncError::Upstream(_) => FailureKind::Upstream,
        // Has a report, so it is printed as one; never a failure document.
        SyncError::PartialApply(_) => FailureKind::Internal,
    }
}

fn run_failure_kind(failure: &RunFailure) -> FailureKind {
    match failure {
        RunFailure::Limit(_) => FailureKind::Limit,
        RunFailure::Stopped(_) => FailureKind::Stopped,
        RunFailure::Trap(_) => FailureKind::Internal,
    }
}

/// Prints the outcome of a `sync` call and picks the exit code (`exit_code`'s, unless the
/// component's report cannot be printed).
pub fn report_outcome(
    result: Result<Result<types::Report, SyncError>, RunFailure>,
    format: Format,
    log: &LogSink,
) -> Exit {
    let exit = exit_code(&result);
    let (kind, message, issues) = match result {
        Ok(Ok(report)) | Ok(Err(SyncError::PartialApply(report))) => {
            match output::report(report, format) {
                Ok(text) => {
                    stdout::print(&text, log);
                    return exit;
                }
                Err(message) => {
                    log.event(
                        Level::Error,
                        "The component failed: {Message}",
                        &[("Message", json!(message))],
                    );
                    let kind = FailureKind::Internal;
                    stdout::print(&output::failure(kind, &message, &[], format), log);
                    return kind.exit();
                }
            }
        }
        Ok(Err(SyncError::InvalidMapping(issues))) => (
            FailureKind::InvalidMapping,
            contract::invalid_mapping_message(issues.len()),
            issues,
        ),
        Ok(Err(SyncError::InvalidConfig(message))) => {
            (FailureKind::InvalidConfig, message, Vec::new())
        }
        Ok(Err(SyncError::Upstream(failure))) => {
            (FailureKind::Upstream, failure.message, Vec::new())
        }
        // The component logged its own failures; these only the host knows about.
        Err(failure) => {
            let kind = run_failure_kind(&failure);
            let (template, message) = match failure {
                RunFailure::Limit(message) => ("Sandbox limit hit: {Message}", message),
                RunFailure::Stopped(message) => ("The run was stopped: {Message}", message),
                RunFailure::Trap(error) => {
                    ("The component failed: {Message}", format!("{error:#}"))
                }
            };
            log.event(Level::Error, template, &[("Message", json!(message))]);
            (kind, message, Vec::new())
        }
    };
    stdout::print(&output::failure(kind, &message, &issues, format), log);
    exit
}
