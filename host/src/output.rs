//! What the CLI prints on stdout: the run report (a table for people, one JSON document for
//! scripts), the validated desired state, and failures. The JSON report is rendered by the
//! guest's core, so the host and the component's `wasi:cli/run` print the same document.

use crate::bindings::types;
use crate::convert;
use serde_json::json;
use tenant_sync_core::outcome::{self, Outcome};
use tenant_sync_core::untrusted::{json_terminal_safe, terminal_safe};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A table and a summary line, for people.
    Text,
    /// Exactly one JSON document, for scripts.
    Json,
}

impl From<Format> for outcome::Format {
    fn from(format: Format) -> outcome::Format {
        match format {
            Format::Text => outcome::Format::Text,
            Format::Json => outcome::Format::Json,
        }
    }
}

/// The report as printed; an error if the component's report is malformed (a bug).
pub fn report(report: types::Report, format: Format) -> Result<String, String> {
    Ok(Outcome::Reported(convert::report(report)?).printed(format.into()))
}

/// The normalized desired state `validate` prints.
pub fn desired_state(state: &types::DesiredState, format: Format) -> String {
    match format {
        Format::Json => json_terminal_safe(json!({
            "valid": true,
            "groups": state.groups.iter().map(|g| json!({
                "authentikGroup": g.name, "fcTenantId": g.tenant, "fcRole": g.role,
                "label": g.label, "regulated": g.regulated, "strictMode": g.strict_mode,
            })).collect::<Vec<_>>(),
            "skipped": state.skipped.iter().map(|s| json!({"entry": s.entry, "authentikGroup": s.group, "reason": s.reason})).collect::<Vec<_>>(),
            "warnings": state.warnings.iter().map(|w| convert::issue(w).to_string()).collect::<Vec<_>>(),
        })
        .to_string()),
        // The mapping's names are checked for invisible characters, but unknown keys quoted in
        // warnings, and skipped entries, are not: the same rule as the report's table.
        Format::Text => {
            let mut out = format!("valid: {} groups, {} wildcard entries skipped\n", state.groups.len(), state.skipped.len());
            for g in &state.groups {
                let mut extra = Vec::new();
                if let Some(label) = &g.label {
                    extra.push(format!("label={label:?}"));
                }
                if let Some(r) = g.regulated {
                    extra.push(format!("regulated={r}"));
                }
                if let Some(s) = g.strict_mode {
                    extra.push(format!("strictMode={s}"));
                }
                let line = format!("  {}  tenant={} role={} {}", g.name, g.tenant, g.role, extra.join(" "));
                out.push_str(terminal_safe(line.trim_end()).as_ref());
                out.push('\n');
            }
            for s in &state.skipped {
                let line = format!("  {}  skipped (mappings[{}]): {}", s.group, s.entry, s.reason);
                out.push_str(terminal_safe(&line).as_ref());
                out.push('\n');
            }
            for w in &state.warnings {
                out.push_str(&format!("warning: {}\n", terminal_safe(&convert::issue(w).to_string())));
            }
            out
        }
    }
}
