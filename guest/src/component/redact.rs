//! The one place tokens are scrubbed: every event, report and failure leaves the component
//! through here, so a message that quotes a server (a field's value, a content type, a pk, an
//! echoed header) cannot carry a token out, whichever call site built it.

use super::failure::Failure;
use serde_json::Value;
use std::cell::RefCell;
use tenant_sync_core::secrets::Redactor;

thread_local! {
    // The run's tokens, from the moment its configuration is read. One run at a time per
    // instance (the component is single-threaded), and a later run installs its own.
    static ACTIVE: RefCell<Redactor> = RefCell::new(Redactor::default());
}

/// Scrub everything that leaves the component of these tokens from now on.
pub fn install(redactor: Redactor) {
    ACTIVE.with(|active| *active.borrow_mut() = redactor);
}

/// `text`, scrubbed.
pub fn scrub(text: &str) -> String {
    ACTIVE.with(|active| active.borrow().scrub(text))
}

/// An event's properties, scrubbed.
pub fn properties<'p>(properties: &[(&'p str, Value)]) -> Vec<(&'p str, Value)> {
    ACTIVE.with(|active| {
        let redactor = active.borrow();
        properties
            .iter()
            .map(|(name, value)| {
                let mut value = value.clone();
                redactor.scrub_value(&mut value);
                (*name, value)
            })
            .collect()
    })
}

/// A run's outcome, scrubbed.
pub fn outcome<T: Redact>(mut outcome: T) -> T {
    ACTIVE.with(|active| outcome.redact(&active.borrow()));
    outcome
}

/// What leaves the component as a value.
pub trait Redact {
    fn redact(&mut self, redactor: &Redactor);
}

impl Redact for tenant_sync_core::report::Report {
    fn redact(&mut self, redactor: &Redactor) {
        tenant_sync_core::report::Report::redact(self, redactor);
    }
}

impl Redact for Failure {
    fn redact(&mut self, redactor: &Redactor) {
        match self {
            Failure::Config(message) => redactor.scrub_in_place(message),
            Failure::Mapping(issues) => issues.iter_mut().for_each(|i| i.redact(redactor)),
            Failure::Upstream(upstream) => redactor.scrub_in_place(&mut upstream.message),
            Failure::Partial(report) => report.redact(redactor),
        }
    }
}

impl<T: Redact, E: Redact> Redact for Result<T, E> {
    fn redact(&mut self, redactor: &Redactor) {
        match self {
            Ok(value) => value.redact(redactor),
            Err(error) => error.redact(redactor),
        }
    }
}
