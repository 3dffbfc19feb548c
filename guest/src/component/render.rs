//! The `render` export and `sync.run-printed`: what a command-line host prints and exits with,
//! from the core's outcome rules, so that a host in another language (the Node host)
//! re-implements none of it.

use super::exports::flowercore::tenant_sync::render::{FailureKind as WitKind, Level as WitLevel};
use super::log;
use super::wit::{Printed, SyncOptions};
use serde_json::{Map, Value};
use tenant_sync_core::clef::{self, Level};
use tenant_sync_core::outcome::{FailureKind, Format, Outcome};

/// A whole run, as printed: the report, or the failure document.
pub fn run_printed(options: &SyncOptions) -> Printed {
    printed(match super::sync::run_logged(options) {
        Ok(report) => Outcome::Reported(report),
        Err(failure) => failure.into(),
    })
}

/// What a host prints (JSON: the component is run by scripts) and exits with.
pub fn printed(outcome: Outcome) -> Printed {
    Printed {
        stdout: outcome.printed(Format::Json),
        exit_code: outcome.exit().code(),
    }
}

pub fn failure_kind(kind: WitKind) -> FailureKind {
    match kind {
        WitKind::Usage => FailureKind::Usage,
        WitKind::InvalidConfig => FailureKind::InvalidConfig,
        WitKind::InvalidMapping => FailureKind::InvalidMapping,
        WitKind::Upstream => FailureKind::Upstream,
        WitKind::Limit => FailureKind::Limit,
        WitKind::Stopped => FailureKind::Stopped,
        WitKind::Internal => FailureKind::Internal,
    }
}

/// A host's own event, stamped now.
pub fn clef_event(level: WitLevel, template: &str, properties: &str) -> Result<String, String> {
    let properties: Map<String, Value> = serde_json::from_str(properties)
        .map_err(|e| format!("the event's properties must be a JSON object: {e}"))?;
    let properties: Vec<(&str, Value)> = properties
        .iter()
        .map(|(name, value)| (name.as_str(), value.clone()))
        .collect();
    let level = match level {
        WitLevel::Debug => Level::Debug,
        WitLevel::Information => Level::Information,
        WitLevel::Warning => Level::Warning,
        WitLevel::Error => Level::Error,
    };
    Ok(clef::render(&log::now(), level, template, &properties))
}
