//! `tenant-sync run`: one stoppable run of a prepared session (`session.rs`), its outcome, and
//! its metrics pushed when `--metrics-push` asks for it (`pushgateway.rs`).

use super::args::RunArgs;
use super::prepare;
use super::usage;
use crate::bindings::types::SyncError;
use crate::logging::{Level, LogSink};
use crate::outcome::{Exit, outcome};
use crate::pushgateway::{PushGrant, Pushgateway};
use crate::session::Selection;
use crate::stdout;
use crate::stop::{Signal, Stop};
use serde_json::json;
use std::time::{Instant, SystemTime, UNIX_EPOCH};
use tenant_sync_core::metrics::{self, RunFacts};
use tenant_sync_core::outcome::Outcome;
use tenant_sync_core::report::Report;

pub async fn run(args: RunArgs, log: &LogSink) -> Exit {
    let started = Instant::now();
    log.set_debug(args.verbose);
    // Listening before anything slow (a token from kubectl, compiling the component): a stop
    // then ends the run with its exit code and an event, not silently by the signal.
    let stop = Stop::default();
    let signals = match stop.on_signals(log) {
        Ok(task) => task,
        Err(e) => return usage(log, format!("cannot listen for stop signals: {e}")),
    };
    let pushgateway = match pushgateway(&args, log) {
        Ok(pushgateway) => pushgateway,
        Err(message) => return usage(log, message),
    };
    let dry_run = args.dry_run;
    let (exit, report) = run_stoppable(args, log, &stop).await;
    if let Some(pushgateway) = pushgateway {
        let facts = RunFacts {
            finished_at_secs: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0.0, |since| since.as_secs_f64()),
            duration_secs: started.elapsed().as_secs_f64(),
            exit,
            dry_run,
        };
        pushgateway
            .push(&metrics::push(report.as_ref(), &facts), &stop, log)
            .await;
    }
    signals.abort();
    exit
}

/// The Pushgateway `--metrics-push` names, reached with the run's TLS trust and timeouts; none
/// when metrics are off, or the run is limited to some groups: the metrics describe the job's
/// reconcile of the whole mapping, and a subset would clear its conflicts and count as its
/// success.
fn pushgateway(args: &RunArgs, log: &LogSink) -> Result<Option<Pushgateway>, String> {
    let Some(url) = &args.metrics_push else {
        return Ok(None);
    };
    let service = &args.service;
    let grant =
        PushGrant::new(url, &service.manager_id).map_err(|e| format!("--metrics-push: {e:#}"))?;
    if !(args.groups.is_empty() && args.tenants.is_empty()) {
        log.event(
            Level::Information,
            "The run's metrics are not pushed: a run limited to --group/--tenant says nothing about the whole mapping",
            &[],
        );
        return Ok(None);
    }
    let limits = service.limits.limits();
    let transport = prepare::transport(
        std::slice::from_ref(&grant.origin),
        &service.ca_file,
        &limits,
    )
    .map_err(|e| format!("{e:#}"))?;
    Ok(Some(Pushgateway::new(grant, transport, limits)))
}

/// The run's exit code, and its report if it made one.
async fn run_stoppable(args: RunArgs, log: &LogSink, stop: &Stop) -> (Exit, Option<Report>) {
    let session = match prepare::session(&args.service, args.output, log) {
        Ok(session) => session,
        Err(exit) => return (exit, None),
    };
    if let Some(signal) = stop.requested() {
        log.event(
            Level::Warning,
            "The run was stopped by {Signal} before it started: nothing was sent",
            &[("Signal", json!(signal.name()))],
        );
        return (stopped_by(signal), None);
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
    let outcome = outcome(result, log);
    stdout::print(&outcome.printed(args.output.into()), log);
    let exit = outcome.exit();
    let report = match outcome {
        Outcome::Reported(report) => Some(report),
        Outcome::Failed(_) => None,
    };
    let exit = match stop.requested() {
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
    };
    (exit, report)
}

fn stopped_by(signal: Signal) -> Exit {
    match signal {
        Signal::Term => Exit::Terminated,
        Signal::Int => Exit::Interrupted,
    }
}
