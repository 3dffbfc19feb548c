//! The run's CLEF events that tell its story: the opening line, one event per group, the
//! closing summary, and a failure in the operator's words.

use super::convert;
use super::failure::Failure;
use super::log;
use serde_json::{Value, json};
use tenant_sync_core::clef::Level;
use tenant_sync_core::outcome;
use tenant_sync_core::plan::Action;
use tenant_sync_core::report::{Report, Status};

/// The opening event: what is reconciled into where, and whether anything will be written.
pub fn started(source: &str, authentik: &str, manager: &str, dry_run: bool) {
    log::info(
        "Reconciling {Source} into Authentik {Authentik} as {Manager}{DryRunNote}",
        &[
            ("Source", json!(source)),
            ("Authentik", json!(authentik)),
            ("Manager", json!(manager)),
            ("DryRun", json!(dry_run)),
            (
                "DryRunNote",
                json!(if dry_run {
                    " (dry run: nothing is written)"
                } else {
                    ""
                }),
            ),
        ],
    );
}

/// One event per group (Error for a failed write, Warning for a conflict, an orphan or a write
/// not attempted, Information for a write, Debug for a group left as it is: a nightly no-op
/// says only what needs attention), then the summary.
pub fn report(report: &Report) {
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
                (Level::Error, "{Action} {Group} failed: {Error}")
            }
            (Status::NotAttempted, _) => {
                properties.push(("Error", json!(group.error)));
                (Level::Warning, "{Action} {Group} not attempted: {Error}")
            }
            (_, Action::Conflict | Action::Orphan) => {
                (Level::Warning, "{Action} {Group}: {Reason}")
            }
            (_, Action::Unchanged | Action::Skipped) => {
                (Level::Debug, "{Action} {Group}: {Status}")
            }
            _ => (Level::Information, "{Action} {Group}: {Status}"),
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

/// Why the run ended before its report, in the operator's words.
pub fn failure(failure: &Failure) {
    match failure {
        Failure::Mapping(issues) => {
            for issue in issues {
                log::error(
                    "Invalid mapping: {Issue}",
                    &[("Issue", json!(issue.to_string()))],
                );
            }
            let problems = outcome::problem_count(issues);
            let template = match problems {
                1 => "The mapping has {Problems} problem; nothing was written",
                _ => "The mapping has {Problems} problems; nothing was written",
            };
            log::error(template, &[("Problems", json!(problems))]);
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
