//! A run's outcome as Prometheus metrics, in the text exposition format a Pushgateway takes.
//! Every metric is a gauge describing the last run, or the last run that made a report (none
//! counts across runs, so none ends in `_total`), and every label comes from a fixed set: no
//! group or tenant ever becomes a label.
//!
//! A Pushgateway replaces what a push names: a successful run pushes everything and replaces the
//! whole group (`Push::replace_all`), and any other run pushes everything but the last success's
//! time and replaces only what it names, so a failure never erases when the job last succeeded.
//! For the same reason a run that ended without a report (Authentik unreachable, say) pushes no
//! `tenant_sync_last_report_*` metrics: the last report's conflicts and failed writes stand
//! until a run reports again, instead of an outage clearing their alerts.

use crate::outcome::Exit;
use crate::plan::Action;
use crate::report::{Report, Status};
use std::fmt::Write;

/// What the host knows about a run beyond its outcome.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunFacts {
    /// When the run finished, in seconds since the Unix epoch.
    pub finished_at_secs: f64,
    pub duration_secs: f64,
    /// The process's exit code (a stop signal's included).
    pub exit: Exit,
    pub dry_run: bool,
}

/// One push: its body, and whether it replaces every metric of the job's group (a PUT) or only
/// those it names (a POST).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Push {
    pub body: String,
    pub replace_all: bool,
}

pub const LAST_SUCCESS: &str = "tenant_sync_last_success_timestamp_seconds";

/// The metrics of a run that ended with `report`, or without one (`None`: it failed before).
pub fn push(report: Option<&Report>, facts: &RunFacts) -> Push {
    // A dry run writes nothing, so it is no reconcile to have succeeded at.
    let succeeded = facts.exit == Exit::Success && !facts.dry_run;
    let mut out = Exposition::default();
    out.gauge(
        "tenant_sync_last_run_timestamp_seconds",
        "When the last run finished, in seconds since the Unix epoch.",
        &[(&[], facts.finished_at_secs)],
    );
    if succeeded {
        out.gauge(
            LAST_SUCCESS,
            "When the last run that ended in sync (exit code 0, not a dry run) finished, in seconds since the Unix epoch. Kept by the runs that fail.",
            &[(&[], facts.finished_at_secs)],
        );
    }
    out.gauge(
        "tenant_sync_last_run_duration_seconds",
        "How long the last run took, start-up included.",
        &[(&[], facts.duration_secs)],
    );
    out.gauge(
        "tenant_sync_last_run_exit_code",
        "The last run's exit code (0 in sync; see the README's exit codes).",
        &[(&[], f64::from(facts.exit.code()))],
    );
    out.gauge(
        "tenant_sync_last_run_dry_run",
        "1 if the last run was a dry run (it wrote nothing), else 0.",
        &[(&[], f64::from(u8::from(facts.dry_run)))],
    );
    if let Some(report) = report {
        report_metrics(&mut out, report);
    }
    Push {
        body: out.text,
        replace_all: succeeded,
    }
}

/// What a report says: its groups by action and status, its requests, its entries.
fn report_metrics(out: &mut Exposition, report: &Report) {
    let groups: Vec<([(&str, &str); 2], f64)> = Action::ALL
        .iter()
        .flat_map(|action| Status::ALL.iter().map(move |status| (*action, *status)))
        .map(|(action, status)| {
            let count = report
                .groups
                .iter()
                .filter(|g| g.action == action && g.status == status)
                .count();
            (
                [("action", action.as_str()), ("status", status.as_str())],
                count as f64,
            )
        })
        .collect();
    let groups: Vec<(&[(&str, &str)], f64)> =
        groups.iter().map(|(labels, n)| (&labels[..], *n)).collect();
    out.gauge(
        "tenant_sync_last_report_groups",
        "The groups of the last run that made a report, by planned action and what became of it.",
        &groups,
    );
    let requests = report.requests;
    out.gauge(
        "tenant_sync_last_report_requests",
        "HTTP requests the last run that made a report sent, by service.",
        &[
            (
                &[("service", "onepassword")],
                f64::from(requests.onepassword),
            ),
            (&[("service", "authentik")], f64::from(requests.authentik)),
        ],
    );
    let entries = report
        .groups
        .iter()
        .filter(|g| g.action != Action::Orphan)
        .count();
    out.gauge(
        "tenant_sync_last_report_mapping_entries",
        "The mapping entries the last run that made a report reconciled, wildcard entries included and identical duplicates counted once.",
        &[(&[], entries as f64)],
    );
}

#[derive(Default)]
struct Exposition {
    text: String,
}

impl Exposition {
    /// One gauge family: its help, its type and its samples. Label values come from the fixed
    /// sets above and need no escaping.
    fn gauge(&mut self, name: &str, help: &str, samples: &[(&[(&str, &str)], f64)]) {
        let out = &mut self.text;
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} gauge");
        for (labels, value) in samples {
            out.push_str(name);
            if !labels.is_empty() {
                let labels: Vec<String> =
                    labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
                let _ = write!(out, "{{{}}}", labels.join(","));
            }
            let _ = writeln!(out, " {value}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{GroupReport, RequestCounts};

    fn group(name: &str, action: Action, status: Status) -> GroupReport {
        GroupReport {
            group: name.to_owned(),
            action,
            status,
            changes: Vec::new(),
            reason: None,
            error: None,
        }
    }

    fn report() -> Report {
        Report {
            dry_run: false,
            summary: Default::default(),
            groups: vec![
                group("secret-tenant-a-users", Action::Create, Status::Applied),
                group("b-users", Action::Create, Status::Applied),
                group("c-users", Action::Conflict, Status::Skipped),
                group("d-users", Action::Update, Status::Failed),
                group("old", Action::Orphan, Status::Skipped),
                group("*", Action::Skipped, Status::Skipped),
            ],
            requests: RequestCounts {
                onepassword: 3,
                authentik: 7,
            },
            warnings: Vec::new(),
            source_item: None,
        }
    }

    fn facts(exit: Exit, dry_run: bool) -> RunFacts {
        RunFacts {
            finished_at_secs: 1_796_000_000.5,
            duration_secs: 2.25,
            exit,
            dry_run,
        }
    }

    /// The samples of `body`, as `name{labels} value` lines.
    fn samples(body: &str) -> Vec<&str> {
        body.lines().filter(|l| !l.starts_with('#')).collect()
    }

    #[test]
    fn a_run_in_sync_pushes_every_metric_and_replaces_the_group() {
        let push = push(Some(&report()), &facts(Exit::Success, false));
        assert!(push.replace_all);
        let samples = samples(&push.body);
        for expected in [
            "tenant_sync_last_run_timestamp_seconds 1796000000.5",
            "tenant_sync_last_success_timestamp_seconds 1796000000.5",
            "tenant_sync_last_run_duration_seconds 2.25",
            "tenant_sync_last_run_exit_code 0",
            "tenant_sync_last_run_dry_run 0",
            r#"tenant_sync_last_report_groups{action="create",status="applied"} 2"#,
            r#"tenant_sync_last_report_groups{action="conflict",status="skipped"} 1"#,
            r#"tenant_sync_last_report_groups{action="update",status="failed"} 1"#,
            r#"tenant_sync_last_report_groups{action="orphan",status="skipped"} 1"#,
            r#"tenant_sync_last_report_groups{action="create",status="failed"} 0"#,
            r#"tenant_sync_last_report_requests{service="onepassword"} 3"#,
            r#"tenant_sync_last_report_requests{service="authentik"} 7"#,
            "tenant_sync_last_report_mapping_entries 5",
        ] {
            assert!(samples.contains(&expected), "{expected}\n{}", push.body);
        }
        // Each family is typed and described once, before its samples.
        for name in samples.iter().map(|s| s.split(['{', ' ']).next().unwrap()) {
            assert_eq!(
                push.body.matches(&format!("# TYPE {name} gauge\n")).count(),
                1
            );
            assert_eq!(push.body.matches(&format!("# HELP {name} ")).count(), 1);
        }
    }

    #[test]
    fn a_failed_run_keeps_the_last_success_and_says_what_it_knows() {
        let push = push(None, &facts(Exit::Upstream, false));
        assert!(
            !push.replace_all,
            "a failure must not replace the last success"
        );
        assert!(!push.body.contains(LAST_SUCCESS), "{}", push.body);
        assert!(samples(&push.body).contains(&"tenant_sync_last_run_exit_code 4"));
        // What the last report said stands: an outage does not clear its conflicts' alerts.
        assert!(
            !push.body.contains("tenant_sync_last_report_"),
            "{}",
            push.body
        );
        // A report names every group series, so none of an earlier report's is left standing.
        let reported = super::push(Some(&report()), &facts(Exit::NotInSync, false));
        let groups = samples(&reported.body)
            .into_iter()
            .filter(|s| s.starts_with("tenant_sync_last_report_groups{"))
            .count();
        assert_eq!(groups, Action::ALL.len() * Status::ALL.len());
        // Not in sync, or stopped: a report, but no success either.
        for exit in [Exit::NotInSync, Exit::Terminated] {
            let other = super::push(Some(&report()), &facts(exit, false));
            assert!(!other.replace_all && !other.body.contains(LAST_SUCCESS));
        }
    }

    #[test]
    fn a_dry_run_is_no_success_to_alert_on() {
        let push = push(Some(&report()), &facts(Exit::Success, true));
        assert!(!push.replace_all);
        assert!(!push.body.contains(LAST_SUCCESS));
        assert!(samples(&push.body).contains(&"tenant_sync_last_run_dry_run 1"));
    }

    /// However many groups a report holds, the series are the same few: no name becomes a label.
    #[test]
    fn the_series_are_bounded_and_name_no_group() {
        let mut big = report();
        big.groups = (0..5_000)
            .map(|i| group(&format!("tenant-{i}"), Action::Create, Status::Applied))
            .collect();
        let small = push(Some(&report()), &facts(Exit::Success, false));
        let big = push(Some(&big), &facts(Exit::Success, false));
        assert_eq!(samples(&small.body).len(), samples(&big.body).len());
        assert!(!small.body.contains("secret-tenant") && !big.body.contains("tenant-1"));
    }
}
