//! One reconcile run: resolve the configuration, read the mapping, list Authentik, plan, apply,
//! report. The decisions are the pure core's; this file only sequences the I/O around them.

use super::authentik::{Authentik, WriteFailure};
use super::http::{Client, DEFAULT_MAX_RESPONSE_BYTES};
use super::onepassword::{self, Location};
use super::wit::{self, MappingSource, Service, SyncError, SyncOptions};
use super::{convert, log, queue};
use crate::sync_core::endpoint::Endpoint;
use crate::sync_core::mapping::{self, ValidationIssue};
use crate::sync_core::plan::{self, ExistingGroup, PlannedGroup, Rules, Write};
use crate::sync_core::report::{self, Outcomes, Report, RequestCounts, Status};
use crate::sync_core::secrets::Redactor;
use crate::sync_core::selection::{self, Selection};
use serde_json::{Value, json};
use std::cell::RefCell;
use std::collections::BTreeMap;

pub const DEFAULT_VAULT: &str = "IAmWorkin";
pub const DEFAULT_ITEM: &str = "flowercore-tenant-mapping";
pub const DEFAULT_FIELD: &str = "mapping";
pub const DEFAULT_MANAGER: &str = "authentik-tenant-mapping-sync";
pub const DEFAULT_CONCURRENCY: usize = 4;
/// More parallel writes than this only queue up at Authentik's workers.
pub const MAX_CONCURRENCY: u32 = 64;

/// A failure of a service before anything was written.
pub struct Upstream {
    pub service: Service,
    pub status: Option<u16>,
    pub message: String,
}

/// How a run can end other than in sync; `SyncError` is its WIT form.
pub enum Failure {
    Config(String),
    Mapping(Vec<ValidationIssue>),
    Upstream(Upstream),
    /// Every write was attempted and at least one failed.
    Partial(Report),
}

impl From<Upstream> for Failure {
    fn from(u: Upstream) -> Failure {
        Failure::Upstream(u)
    }
}

impl From<Failure> for SyncError {
    fn from(failure: Failure) -> SyncError {
        match failure {
            Failure::Config(message) => SyncError::InvalidConfig(message),
            Failure::Mapping(issues) => SyncError::InvalidMapping(convert::issues(issues)),
            Failure::Upstream(u) => SyncError::Upstream(wit::UpstreamFailure {
                service: u.service,
                status: u.status,
                message: u.message,
            }),
            Failure::Partial(report) => SyncError::PartialApply(convert::report(report)),
        }
    }
}

/// The `sync.run` export.
pub fn run(options: SyncOptions) -> Result<wit::Report, SyncError> {
    run_logged(&options)
        .map(convert::report)
        .map_err(SyncError::from)
}

/// A whole run; a failure is logged before it is returned.
pub fn run_logged(options: &SyncOptions) -> Result<Report, Failure> {
    // One event loop for the whole run: requests wait on wasi:io/poll through it.
    let result = wstd::runtime::block_on(reconcile(options));
    if let Err(error) = &result {
        log_failure(error);
    }
    result
}

/// Everything the run needs, checked before the first request.
struct Resolved<'a> {
    authentik: Client,
    onepassword: Option<(Client, Location<'a>)>,
    manager: String,
    redactor: Redactor,
}

fn resolve<'a>(
    options: &'a SyncOptions,
    env: &BTreeMap<String, String>,
) -> Result<Resolved<'a>, Failure> {
    let config = Failure::Config;
    let token = |names: &[&str]| -> Option<String> {
        names
            .iter()
            .find_map(|n| env.get(*n))
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
    };
    let manager = options
        .manager_id
        .clone()
        .unwrap_or_else(|| DEFAULT_MANAGER.to_owned());
    if manager.trim().is_empty() || manager.chars().any(char::is_control) {
        return Err(config(format!(
            "the manager id {manager:?} must be non-empty printable text"
        )));
    }
    let authentik_url =
        Endpoint::parse(&options.authentik_url, "the Authentik URL (AUTHENTIK_URL)")
            .map_err(config)?;
    let authentik_token = token(&["AUTHENTIK_TOKEN"]).ok_or_else(|| {
        config("AUTHENTIK_TOKEN is not set (or empty); provide an Authentik API token that may view and change groups".to_owned())
    })?;
    let max_response_bytes = match options.max_response_bytes {
        0 => DEFAULT_MAX_RESPONSE_BYTES,
        n => usize::try_from(n).unwrap_or(usize::MAX),
    };
    let mut secrets = vec![authentik_token.clone()];
    let onepassword = match &options.source {
        MappingSource::Inline(_) => None,
        MappingSource::Onepassword(at) => {
            let url = Endpoint::parse(
                &at.connect_url,
                "the 1Password Connect URL (OP_CONNECT_HOST)",
            )
            .map_err(config)?;
            let op_token = token(&["OP_TOKEN", "OP_CONNECT_TOKEN"]).ok_or_else(|| {
                config("OP_TOKEN (or OP_CONNECT_TOKEN) is not set (or empty); provide a 1Password Connect token that can read the mapping's vault".to_owned())
            })?;
            secrets.push(op_token.clone());
            Some((
                Client::new(url, &op_token, max_response_bytes),
                Location {
                    vault: at.vault.as_deref().unwrap_or(DEFAULT_VAULT),
                    item: at.item.as_deref().unwrap_or(DEFAULT_ITEM),
                    field: at.field.as_deref().unwrap_or(DEFAULT_FIELD),
                },
            ))
        }
    };
    Ok(Resolved {
        authentik: Client::new(authentik_url, &authentik_token, max_response_bytes),
        onepassword,
        manager,
        redactor: Redactor::new(secrets),
    })
}

async fn reconcile(options: &SyncOptions) -> Result<Report, Failure> {
    let env: BTreeMap<String, String> = wasi::cli::environment::get_environment()
        .into_iter()
        .collect();
    let run = resolve(options, &env)?;
    let source = match &run.onepassword {
        Some((client, at)) => format!(
            "1Password {} vault {:?} item {:?}",
            client.endpoint(),
            at.vault,
            at.item
        ),
        None => "an inline document".to_owned(),
    };
    log::info(
        "Reconciling {Source} into Authentik {Authentik} as {Manager}{DryRunNote}",
        &[
            ("Source", json!(source)),
            ("Authentik", json!(run.authentik.endpoint().to_string())),
            ("Manager", json!(run.manager)),
            ("DryRun", json!(options.dry_run)),
            (
                "DryRunNote",
                json!(if options.dry_run {
                    " (dry run: nothing is written)"
                } else {
                    ""
                }),
            ),
        ],
    );

    let document = match (&run.onepassword, &options.source) {
        (Some((client, at)), _) => onepassword::read_document(client, &run.redactor, at).await?,
        (None, MappingSource::Inline(text)) => text.clone(),
        (None, MappingSource::Onepassword(_)) => {
            unreachable!("resolve() pairs a 1Password source with its client")
        }
    };
    let desired = mapping::validate(&document).map_err(Failure::Mapping)?;
    for warning in &desired.warnings {
        log::warning(
            "Mapping warning: {Issue}",
            &[("Issue", json!(warning.to_string()))],
        );
    }
    log::info(
        "Mapping has {Groups} groups and {Skipped} wildcard entries",
        &[
            ("Groups", json!(desired.groups.len())),
            ("Skipped", json!(desired.skipped.len())),
        ],
    );
    let selection = Selection {
        groups: options.only_groups.clone(),
        tenants: options.only_tenants.clone(),
    };
    let desired = selection::select(desired, &selection).map_err(Failure::Config)?;
    if !selection.is_all() {
        log::info(
            "Reconciling only {Selected} groups and {Skipped} wildcard entries (--group/--tenant)",
            &[
                ("Selected", json!(desired.groups.len())),
                ("Skipped", json!(desired.skipped.len())),
            ],
        );
    }

    let authentik = Authentik {
        client: &run.authentik,
        redactor: &run.redactor,
        rules: Rules {
            manager: &run.manager,
            allow_superuser_groups: options.allow_superuser_groups,
        },
    };
    let concurrency = write_concurrency(options.concurrency);
    // Only some groups: each is looked up by name, and that read is fresh enough to write on.
    let (existing, fresh) = if selection.is_all() {
        let existing = authentik.list_groups(concurrency).await?;
        log::info(
            "Authentik has {Existing} groups",
            &[("Existing", json!(existing.len()))],
        );
        (existing, BTreeMap::new())
    } else {
        let names: Vec<&str> = desired.groups.iter().map(|g| g.name.as_str()).collect();
        let existing = authentik.look_up(&names, concurrency).await?;
        log::info(
            "Looked up {Selected} selected groups by name; {Existing} exist",
            &[
                ("Selected", json!(names.len())),
                ("Existing", json!(existing.len())),
            ],
        );
        let fresh = existing.iter().map(|g| (g.pk.clone(), g.clone())).collect();
        (existing, fresh)
    };
    let planned = plan::plan(&desired, &existing, &authentik.rules).map_err(|e| Upstream {
        service: Service::Authentik,
        status: None,
        message: e.0,
    })?;

    let outcomes = if options.dry_run {
        Outcomes::default()
    } else {
        apply(&authentik, &planned, &fresh, concurrency).await
    };
    let requests = RequestCounts {
        onepassword: run.onepassword.as_ref().map_or(0, |(c, _)| c.requests()),
        authentik: run.authentik.requests(),
    };
    let report = report::build(
        planned,
        &outcomes,
        options.dry_run,
        requests,
        desired.warnings,
    );
    log_report(&report);
    if report.summary.failed > 0 || report.summary.not_attempted > 0 {
        Err(Failure::Partial(report))
    } else {
        Ok(report)
    }
}

/// Every write is attempted; one failure does not stop the others. Up to `concurrency` groups
/// are written at once; each group's own requests stay in order. A group in `fresh` (just
/// looked up by name) is patched from that read; any other is read again first. Once the host
/// refuses to send a write at all (it is stopping the run), no further write is started: those
/// groups are reported as not attempted.
async fn apply(
    authentik: &Authentik<'_>,
    planned: &[PlannedGroup],
    fresh: &BTreeMap<String, ExistingGroup>,
    concurrency: usize,
) -> Outcomes {
    let outcomes = RefCell::new(Outcomes::default());
    let writes = planned
        .iter()
        .filter_map(|p| Some((&p.group, p.write.as_ref()?)));
    queue::bounded(writes, concurrency, async |(group, write)| {
        let outcome = match write {
            Write::Create { name, block } => authentik.create(name, block).await,
            Write::Patch { pk, block } => match fresh.get(pk) {
                Some(current) => authentik.assert_block(current, block).await,
                // The listed attributes may be stale by now: the block is merged into a re-read.
                None => authentik.patch_block(pk, block).await,
            },
        };
        let mut outcomes = outcomes.borrow_mut();
        match outcome {
            Ok(()) => {
                outcomes.done.insert(group.clone(), Ok(()));
            }
            Err(WriteFailure::Failed(cause)) => {
                outcomes.done.insert(group.clone(), Err(cause));
            }
            Err(WriteFailure::NotSent(cause)) => {
                outcomes.stopped.get_or_insert(cause);
            }
        }
        outcomes.stopped.is_none()
    })
    .await;
    outcomes.into_inner()
}

/// Writes in flight at once: 0 asks for the default.
fn write_concurrency(requested: u32) -> usize {
    match requested {
        0 => DEFAULT_CONCURRENCY,
        n => n.min(MAX_CONCURRENCY) as usize,
    }
}

fn log_report(report: &Report) {
    let mut batch = log::Batch::default();
    for group in &report.groups {
        let changes: serde_json::Map<String, Value> = group
            .changes
            .iter()
            .map(|c| (c.key.to_owned(), json!({"from": c.before, "to": c.after})))
            .collect();
        let mut properties = vec![
            ("Group", json!(group.group)),
            ("Action", json!(group.action.as_str())),
            ("Status", json!(group.status.as_str())),
            ("Changes", Value::Object(changes)),
        ];
        if let Some(reason) = &group.reason {
            properties.push(("Reason", json!(reason)));
        }
        let (level, template) = match (group.status, group.action) {
            (Status::Failed, _) => {
                properties.push(("Error", json!(group.error)));
                (
                    crate::sync_core::clef::Level::Error,
                    "{Action} {Group} failed: {Error}",
                )
            }
            (Status::NotAttempted, _) => {
                properties.push(("Error", json!(group.error)));
                (
                    crate::sync_core::clef::Level::Warning,
                    "{Action} {Group} not attempted: {Error}",
                )
            }
            (_, plan::Action::Conflict | plan::Action::Orphan) => (
                crate::sync_core::clef::Level::Warning,
                "{Action} {Group}: {Reason}",
            ),
            _ => (
                crate::sync_core::clef::Level::Information,
                "{Action} {Group}: {Status}",
            ),
        };
        batch.push(level, template, &properties);
    }
    batch.write();
    let s = &report.summary;
    log::info(
        "Reconcile finished: {Summary}",
        &[
            ("Summary", json!(s.line(report.dry_run))),
            ("DryRun", json!(report.dry_run)),
            ("Create", json!(s.create)),
            ("Update", json!(s.update)),
            ("Adopt", json!(s.adopt)),
            ("Unchanged", json!(s.unchanged)),
            ("Conflict", json!(s.conflict)),
            ("Orphan", json!(s.orphan)),
            ("Skipped", json!(s.skipped)),
            ("Failed", json!(s.failed)),
            ("NotAttempted", json!(s.not_attempted)),
            ("OnePasswordRequests", json!(report.requests.onepassword)),
            ("AuthentikRequests", json!(report.requests.authentik)),
        ],
    );
}

fn log_failure(failure: &Failure) {
    match failure {
        Failure::Mapping(issues) => {
            for issue in issues {
                log::error(
                    "Invalid mapping: {Issue}",
                    &[("Issue", json!(issue.to_string()))],
                );
            }
            log::error(
                "The mapping has {Problems} problems; nothing was written",
                &[("Problems", json!(issues.len()))],
            );
        }
        Failure::Config(message) => {
            log::error(
                "Configuration error: {Message}; nothing was written",
                &[("Message", json!(message))],
            );
        }
        Failure::Upstream(failure) => log::error(
            "{Service} failed: {Message}; nothing was written",
            &[
                ("Service", json!(convert::service_name(failure.service))),
                ("StatusCode", json!(failure.status)),
                ("Message", json!(failure.message)),
            ],
        ),
        // The per-group events and the summary already told the story.
        Failure::Partial(_) => {}
    }
}
