//! `tenant-sync run`: one stoppable run of a prepared session (`session.rs`), and its outcome.

use super::args::RunArgs;
use super::prepare;
use super::usage;
use crate::bindings::types::SyncError;
use crate::logging::{Level, LogSink};
use crate::outcome::{Exit, report_outcome};
use crate::session::Selection;
use crate::stop::{Signal, Stop};
use serde_json::json;

pub async fn run(args: RunArgs, log: &LogSink) -> Exit {
    log.set_debug(args.verbose);
    // Listening before anything slow (a token from kubectl, compiling the component): a stop
    // then ends the run with its exit code and an event, not silently by the signal.
    let stop = Stop::default();
    let signals = match stop.on_signals(log) {
        Ok(task) => task,
        Err(e) => return usage(log, format!("cannot listen for stop signals: {e}")),
    };
    let exit = run_stoppable(args, log, &stop).await;
    signals.abort();
    exit
}

async fn run_stoppable(args: RunArgs, log: &LogSink, stop: &Stop) -> Exit {
    let session = match prepare::session(&args.service, args.output, log) {
        Ok(session) => session,
        Err(exit) => return exit,
    };
    if let Some(signal) = stop.requested() {
        log.event(
            Level::Warning,
            "The run was stopped by {Signal} before it started: nothing was sent",
            &[("Signal", json!(signal.name()))],
        );
        return stopped_by(signal);
    }
    let selection = Selection {
        dry_run: args.dry_run,
        groups: args.groups,
        tenants: args.tenants,
    };
    let result = session.sync(&selection, stop).await;
    let not_attempted = match &result {
        Ok(Ok(report)) | Ok(Err(SyncError::PartialApply(report))) => {
            Some(report.summary.not_attempted)
        }
        _ => None,
    };
    let exit = report_outcome(result, args.output, log);
    match stop.requested() {
        None => exit,
        Some(signal) => {
            log.event(
                Level::Warning,
                "The run was stopped by {Signal}: no write was started after it; {NotAttempted} groups not attempted. The next run picks up where this one stopped",
                &[
                    ("Signal", json!(signal.name())),
                    ("NotAttempted", json!(not_attempted)),
                ],
            );
            stopped_by(signal)
        }
    }
}

fn stopped_by(signal: Signal) -> Exit {
    match signal {
        Signal::Term => Exit::Terminated,
        Signal::Int => Exit::Interrupted,
    }
}
