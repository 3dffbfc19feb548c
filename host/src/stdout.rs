//! What the host prints on stdout, written so that a closed or broken stdout (a consumer that
//! went away, `>&-`) never panics: the run's exit code stands, since its writes were done, and
//! a Warning says what was lost.

use crate::logging::{Level, LogSink};
use serde_json::json;
use std::io::Write;

/// Prints `text` (trailing whitespace trimmed) and a newline.
pub fn print(text: &str, log: &LogSink) {
    let mut stdout = std::io::stdout().lock();
    let written = stdout
        .write_all(text.trim_end().as_bytes())
        .and_then(|()| stdout.write_all(b"\n"))
        .and_then(|()| stdout.flush());
    if let Err(error) = written {
        log.event(
            Level::Warning,
            "The output could not be written to stdout ({Error}); the exit code still says how the run went",
            &[("Error", json!(error.to_string()))],
        );
    }
}
