//! One reconcile run: read the mapping, list (or look up) Authentik's groups, plan, apply,
//! report. The decisions are the pure core's; this file only sequences the I/O around them.

use super::authentik::{Authentik, WriteFailure};
use super::config::{self, Source};
use super::failure::{Failure, Upstream};
use super::wit::{self, Service, SyncError, SyncOptions};
use super::{convert, events, log, onepassword, queue, redact};
use serde_json::json;
use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::BTreeMap;
use tenant_sync_core::defaults;
use tenant_sync_core::mapping;
use tenant_sync_core::plan::{self, ExistingGroup, PlannedGroup, Rules, Write};
use tenant_sync_core::report::{self, Outcomes, Report, RequestCounts};
use tenant_sync_core::selection::{self, Selection};

/// The `sync.run` export.
pub fn run(options: SyncOptions) -> Result<wit::Report, SyncError> {
    run_logged(&options)
        .map(convert::report)
        .map_err(SyncError::from)
}

/// A whole run; a failure is logged before it is returned.
pub fn run_logged(options: &SyncOptions) -> Result<Report, Failure> {
    // One event loop for the whole run: requests wait on wasi:io/poll through it.
    let result = redact::outcome(wstd::runtime::block_on(reconcile(options)));
    if let Err(error) = &result {
        events::failure(error);
    }
    result
}

async fn reconcile(options: &SyncOptions) -> Result<Report, Failure> {
    let env: BTreeMap<String, String> = wasi::cli::environment::get_environment()
        .into_iter()
        .collect();
    redact::install(config::redactor(&env));
    let run = config::resolve(options, &env)?;
    events::started(
        &run.source.describe(),
        &run.authentik.endpoint().to_string(),
        &run.manager,
        options.dry_run,
    );
    let (document, source_item): (Cow<str>, _) = match &run.source {
        Source::Onepassword(client, at) => {
            let (document, found) = onepassword::read_document(client, at).await?;
            (Cow::Owned(document), Some(found))
        }
        Source::Inline(text) => (Cow::Borrowed(text), None),
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
    let desired =
        selection::select(desired, &selection).map_err(|e| Failure::Config(e.to_string()))?;
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
        rules: Rules {
            manager: &run.manager,
            allow_superuser_groups: options.allow_superuser_groups,
        },
    };
    let concurrency = defaults::concurrency(options.concurrency);
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
        message: e.to_string(),
    })?;

    let outcomes = if options.dry_run {
        Outcomes::default()
    } else {
        apply(&authentik, &planned, &fresh, concurrency).await
    };
    let requests = RequestCounts {
        onepassword: run.source.requests(),
        authentik: run.authentik.requests(),
    };
    let mut report = report::build(
        planned,
        &outcomes,
        options.dry_run,
        requests,
        desired.warnings,
    );
    report.source_item = source_item;
    events::report(&report);
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
                Some(current) => authentik.write_block_onto(current, block).await,
                // The listed attributes may be stale by now: the block is merged into a re-read.
                None => authentik.write_block_after_rereading(pk, block).await,
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
