//! Reading `--mapping-file` / `validate PATH`: unreadable is a usage error, not text is an
//! invalid mapping.

use crate::logging::{Level, LogSink};
use crate::outcome::Exit;
use crate::output::Format;
use crate::stdout;
use serde_json::json;
use std::path::Path;
use tenant_sync_core::outcome::{Failure, FailureKind, Outcome};

/// A mapping file that is not UTF-8 text is an invalid mapping: exit 3.
pub fn not_text(log: &LogSink, message: &str, format: Format) -> Exit {
    log.event(
        Level::Error,
        "Invalid mapping: {Issue}",
        &[("Issue", json!(message))],
    );
    let outcome = Outcome::Failed(Failure::new(FailureKind::InvalidMapping, message));
    stdout::print(&outcome.printed(format.into()), log);
    outcome.exit()
}

pub enum ReadError {
    /// Missing or unreadable: a usage error.
    Unreadable(String),
    /// Read, but not UTF-8 text: an invalid mapping.
    NotText(String),
}

pub fn read(path: &Path) -> Result<String, ReadError> {
    let bytes = std::fs::read(path).map_err(|e| {
        ReadError::Unreadable(format!(
            "cannot read the mapping file {}: {e}",
            path.display()
        ))
    })?;
    String::from_utf8(bytes).map_err(|e| {
        ReadError::NotText(format!(
            "the mapping file {} is not UTF-8 text (invalid byte at offset {})",
            path.display(),
            e.utf8_error().valid_up_to()
        ))
    })
}
