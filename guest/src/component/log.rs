//! CLEF events on the component's stderr (wasi:cli/stderr), timestamped by wasi:clocks.

use serde_json::Value;
use std::time::Duration;
use tenant_sync_core::clef::{self, Level};
use wasi::clocks::wall_clock;

pub fn event(level: Level, template: &str, properties: &[(&str, Value)]) {
    let mut batch = Batch::default();
    batch.push(level, template, properties);
    batch.write();
}

/// Events written together: one event per group is thousands of lines on a big installation,
/// and one stderr write per line would cost more than the reconcile itself. Holding them all
/// would cost memory instead, so a full batch is written as it goes.
#[derive(Default)]
pub struct Batch(String);

/// A batch is written once it holds this much.
const BATCH_BYTES: usize = 64 * 1024;

impl Batch {
    pub fn push(&mut self, level: Level, template: &str, properties: &[(&str, Value)]) {
        let properties = super::redact::properties(properties);
        self.0
            .push_str(&clef::render(&now(), level, template, &properties));
        self.0.push('\n');
        if self.0.len() >= BATCH_BYTES {
            self.flush();
        }
    }

    pub fn write(mut self) {
        self.flush();
    }

    fn flush(&mut self) {
        // Logging must never fail a run; a closed stderr just loses the lines.
        let _ = super::stream::write_all(&wasi::cli::stderr::get_stderr(), self.0.as_bytes());
        self.0.clear();
    }
}

/// An event's `@t` for now.
pub fn now() -> String {
    let now = wall_clock::now();
    clef::timestamp(Duration::new(now.seconds, now.nanoseconds))
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
