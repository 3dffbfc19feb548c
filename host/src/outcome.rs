//! How a run ends, for scripts and people: the exit codes (part of the contract, README "Exit
//! codes") and what is printed on stdout for each outcome.

use crate::bindings::types::{self, SyncError};
use crate::logging::{Level, LogSink};
use crate::output::{self, Format};
use crate::runtime::RunFailure;
use serde_json::json;

/// Exit codes.
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

/// The exit code a `sync` outcome maps to.
pub fn exit_code(result: &Result<Result<types::Report, SyncError>, RunFailure>) -> Exit {
    match result {
        Ok(Ok(report)) if report.summary.conflict > 0 => Exit::NotInSync,
        Ok(Ok(_)) => Exit::Success,
        Ok(Err(SyncError::PartialApply(_))) => Exit::NotInSync,
        Ok(Err(SyncError::InvalidMapping(_))) => Exit::InvalidMapping,
        Ok(Err(SyncError::InvalidConfig(_))) => Exit::Usage,
        Ok(Err(SyncError::Upstream(_))) => Exit::Upstream,
        Err(RunFailure::Limit(_)) => Exit::Limit,
        Err(RunFailure::Trap(_)) => Exit::Internal,
        // `run` reports the signal's own code; this is only what the failure alone says.
        Err(RunFailure::Stopped(_)) => Exit::Terminated,
    }
}

/// Prints the outcome of a `sync` call and picks the exit code.
pub fn report_outcome(
    result: Result<Result<types::Report, SyncError>, RunFailure>,
    format: Format,
    log: &LogSink,
) -> Exit {
    let exit = exit_code(&result);
    let (kind, message, issues) = match result {
        Ok(Ok(report)) | Ok(Err(SyncError::PartialApply(report))) => {
            println!("{}", output::report(report, format).trim_end());
            return exit;
        }
        Ok(Err(SyncError::InvalidMapping(issues))) => {
            let message = format!(
                "the mapping has {} problems; nothing was written",
                issues.len()
            );
            ("invalid-mapping", message, issues)
        }
        Ok(Err(SyncError::InvalidConfig(message))) => ("invalid-config", message, Vec::new()),
        Ok(Err(SyncError::Upstream(failure))) => ("upstream", failure.message, Vec::new()),
        // The component logged its own failures; these two only the host knows about.
        Err(RunFailure::Limit(message)) => {
            log.event(
                Level::Error,
                "Sandbox limit hit: {Message}",
                &[("Message", json!(message))],
            );
            ("limit", message, Vec::new())
        }
        Err(RunFailure::Stopped(message)) => {
            log.event(
                Level::Error,
                "The run was stopped: {Message}",
                &[("Message", json!(message))],
            );
            ("stopped", message, Vec::new())
        }
        Err(RunFailure::Trap(error)) => {
            let message = format!("{error:#}");
            log.event(
                Level::Error,
                "The component failed: {Message}",
                &[("Message", json!(message))],
            );
            ("internal", message, Vec::new())
        }
    };
    println!(
        "{}",
        output::failure(kind, &message, &issues, format).trim_end()
    );
    exit
}
