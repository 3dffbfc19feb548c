//! `tenant-sync run`: from flags and environment to a granted, stoppable run of the component,
//! and its outcome.

use super::args::{MIB, RunArgs};
use super::mapping_file::{self, ReadError};
use super::usage;
use crate::bindings::types::{MappingSource, OnepasswordLocation, SyncError, SyncOptions};
use crate::grants::{self, Allowlist, Origin, ServiceGrant};
use crate::logging::{Level, LogSink};
use crate::outcome::{Exit, report_outcome};
use crate::sandbox::{Grants, Limits};
use crate::stop::{Signal, Stop};
use crate::transport::Transport;
use crate::trust;
use serde_json::json;
use std::path::PathBuf;
use tenant_sync_core::defaults;
use tenant_sync_core::usage as usage_text;

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
    let Granted {
        services,
        env,
        source,
        authentik_url,
    } = match granted(&args, log) {
        Ok(granted) => granted,
        Err(exit) => return exit,
    };
    let limits = args.limits.limits();
    // Only a budget given: a deadline lowered alone still ends a run stuck that long.
    if let Some(budget) = args.retry_budget_secs
        && let Err(message) = usage_text::check_budget(budget.into(), limits.deadline.as_secs())
    {
        return usage(log, message);
    }
    let allowlist = Allowlist::new(services);
    let transport = match transport(&allowlist.origins(), &args.ca_file, &limits) {
        Ok(transport) => transport,
        Err(error) => return usage(log, format!("{error:#}")),
    };
    let runtime = match args.component.load(log) {
        Ok(runtime) => runtime,
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
    let grants = Grants {
        allowlist,
        env,
        limits,
        log: log.clone(),
        transport,
        stop: stop.clone(),
    };
    let options = sync_options(&args, source, authentik_url);
    let result = runtime.sync(&grants, &options).await;
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

/// What a run may reach and see, and where its mapping comes from.
struct Granted {
    services: Vec<ServiceGrant>,
    /// The component's whole environment: the tokens of the services it reads.
    env: Vec<(String, String)>,
    source: MappingSource,
    authentik_url: String,
}

/// From the flags and the environment to what the run is granted; a usage error (already
/// reported) otherwise. Tokens missing from the environment come from their fallbacks.
fn granted(args: &RunArgs, log: &LogSink) -> Result<Granted, Exit> {
    let Some(authentik_url) = args.authentik_url.clone() else {
        return Err(usage(log, usage_text::NO_AUTHENTIK_URL.into()));
    };
    let mut services = vec![
        ServiceGrant::authentik(&authentik_url)
            .map_err(|e| usage(log, format!("the Authentik URL: {e:#}")))?,
    ];
    let mut env_names: Vec<&str> = defaults::token_vars(defaults::AUTHENTIK).collect();
    let source = match (&args.mapping_file, &args.op_connect_url) {
        (Some(path), _) => match mapping_file::read(path) {
            Ok(text) => MappingSource::Inline(text),
            Err(ReadError::Unreadable(message)) => return Err(usage(log, message)),
            Err(ReadError::NotText(message)) => {
                return Err(mapping_file::not_text(log, &message, args.output));
            }
        },
        (None, Some(url)) => {
            services.push(
                ServiceGrant::onepassword(url)
                    .map_err(|e| usage(log, format!("the 1Password Connect URL: {e:#}")))?,
            );
            env_names.extend(defaults::token_vars(defaults::ONEPASSWORD));
            MappingSource::Onepassword(OnepasswordLocation {
                connect_url: url.clone(),
                vault: Some(args.op_vault.clone()),
                item: Some(args.op_item.clone()),
                field: Some(args.op_field.clone()),
            })
        }
        (None, None) => {
            return Err(usage(log, usage_text::NO_MAPPING_SOURCE.into()));
        }
    };
    let mut env = grants::granted_env(std::env::vars_os(), env_names).map_err(|m| usage(log, m))?;
    let reads_onepassword = args.mapping_file.is_none();
    args.credentials
        .complete(&mut env, reads_onepassword, log)
        .map_err(|m| usage(log, m))?;
    Ok(Granted {
        services,
        env,
        source,
        authentik_url,
    })
}

/// The component's options for this run.
fn sync_options(args: &RunArgs, source: MappingSource, authentik_url: String) -> SyncOptions {
    SyncOptions {
        source,
        authentik_url,
        dry_run: args.dry_run,
        concurrency: args.concurrency,
        manager_id: Some(args.manager_id.clone()),
        max_response_bytes: args.limits.max_response_mib * MIB,
        retry_budget_secs: args.retry_budget_secs.unwrap_or(0),
        allow_superuser_groups: args.allow_superuser_groups,
        only_groups: args.groups.clone(),
        only_tenants: args.tenants.clone(),
    }
}

fn stopped_by(signal: Signal) -> Exit {
    match signal {
        Signal::Term => Exit::Terminated,
        Signal::Int => Exit::Interrupted,
    }
}

/// The run's HTTP client. The trust store is read only when an https origin is granted or a
/// `--ca-file` is given (so a bad one fails before anything runs).
fn transport(
    origins: &[Origin],
    ca_files: &[PathBuf],
    limits: &Limits,
) -> anyhow::Result<Transport> {
    if ca_files.is_empty() && origins.iter().all(|o| !o.https) {
        return Ok(Transport::plain(limits.connect_timeout));
    }
    let roots = trust::roots(ca_files)?;
    Ok(Transport::new(
        trust::client_config(roots),
        limits.connect_timeout,
    ))
}
