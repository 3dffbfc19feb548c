//! CLEF events on the component's stderr (wasi:cli/stderr), timestamped by wasi:clocks.

use crate::sync_core::clef::{self, Level};
use serde_json::Value;
use std::time::Duration;
use wasi::clocks::wall_clock;

pub fn event(level: Level, template: &str, properties: &[(&str, Value)]) {
    let now = wall_clock::now();
    let timestamp = clef::timestamp(Duration::new(now.seconds, now.nanoseconds));
    let mut line = clef::render(&timestamp, level, template, properties);
    line.push('\n');
    // Logging must never fail a run; a closed stderr just loses the line.
    let _ = super::http::write_all(&wasi::cli::stderr::get_stderr(), line.as_bytes());
}

pub fn info(template: &str, properties: &[(&str, Value)]) {
    event(Level::Information, template, properties);
}

pub fn warning(template: &str, properties: &[(&str, Value)]) {
    event(Level::Warning, template, properties);
}

pub fn error(template: &str, properties: &[(&str, Value)]) {
    event(Level::Error, template, properties);
}
