//! How a run ends other than in sync, shared by the run, the service clients and the
//! `wasi:cli/run` export; `SyncError` is its WIT form.

use super::convert;
use super::wit::{self, Service, SyncError};
use tenant_sync_core::mapping::ValidationIssue;
use tenant_sync_core::outcome::{self, FailureKind, Outcome};
use tenant_sync_core::report::Report;

/// A failure of a service before anything was written.
pub struct Upstream {
    pub service: Service,
    pub status: Option<u16>,
    pub message: String,
}

/// How a run can end other than in sync; `SyncError` is its WIT form.
pub enum Failure {
    Config(String),
    Mapping(Vec<ValidationIssue>),
    Upstream(Upstream),
    /// Every write was attempted and at least one failed.
    Partial(Report),
}

impl From<Upstream> for Failure {
    fn from(u: Upstream) -> Failure {
        Failure::Upstream(u)
    }
}

/// The outcome the core prints: a partial apply is a report; the rest are failures of their kind.
impl From<Failure> for Outcome {
    fn from(failure: Failure) -> Outcome {
        let failed = |kind, message| Outcome::Failed(outcome::Failure::new(kind, message));
        match failure {
            Failure::Partial(report) => Outcome::Reported(report),
            Failure::Mapping(issues) => Outcome::Failed(outcome::Failure::invalid_mapping(issues)),
            Failure::Config(message) => failed(FailureKind::InvalidConfig, message),
            Failure::Upstream(upstream) => failed(FailureKind::Upstream, upstream.message),
        }
    }
}

impl From<Failure> for SyncError {
    fn from(failure: Failure) -> SyncError {
        match failure {
            Failure::Config(message) => SyncError::InvalidConfig(message),
            Failure::Mapping(issues) => SyncError::InvalidMapping(convert::issues(issues)),
            Failure::Upstream(u) => SyncError::Upstream(wit::UpstreamFailure {
                service: u.service,
                status: u.status,
                message: u.message,
            }),
            Failure::Partial(report) => SyncError::PartialApply(convert::report(report)),
        }
    }
}
