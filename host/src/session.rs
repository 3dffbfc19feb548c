//! A prepared run: what it is granted, its pooled HTTP client and the compiled component. `run`
//! calls it once; `mcp` once per tool call, so the calls share the compiled code and the
//! connections, and each runs in its own instance. `cli::prepare` makes one from the flags.

use crate::bindings::types::{DesiredState, MappingSource, SyncOptions, ValidationIssue};
use crate::logging::LogSink;
use crate::outcome::CallResult;
use crate::runtime::{RunFailure, Runtime};
use crate::sandbox::Grants;
use crate::stop::Stop;

/// Which part of the mapping one call reconciles, and whether it writes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Selection {
    pub dry_run: bool,
    /// Only these groups, and the groups of these tenants; both empty: the whole mapping.
    pub groups: Vec<String>,
    pub tenants: Vec<String>,
}

/// A run ready to be called: granted, connected and compiled.
pub struct Session {
    runtime: Runtime,
    /// Every call's grants but its stop, which is the caller's.
    grants: Grants,
    settings: Settings,
}

/// The options every call of a session shares.
pub struct Settings {
    pub source: MappingSource,
    pub authentik_url: String,
    pub concurrency: u32,
    pub manager_id: String,
    pub max_response_bytes: u64,
    pub retry_budget_secs: u32,
    pub allow_superuser_groups: bool,
}

impl Session {
    /// A session of `runtime` under `grants` (their stop is each call's own).
    pub fn new(runtime: Runtime, grants: Grants, settings: Settings) -> Session {
        Session {
            runtime,
            grants,
            settings,
        }
    }

    /// One reconcile of `selection` in a fresh instance; `stop` ends it between writes.
    pub async fn sync(&self, selection: &Selection, stop: &Stop) -> CallResult {
        let grants = Grants {
            stop: stop.clone(),
            ..self.grants.clone()
        };
        self.runtime.sync(&grants, &self.options(selection)).await
    }

    /// A mapping document checked offline, with nothing granted.
    pub async fn validate(
        &self,
        document: &str,
    ) -> Result<Result<DesiredState, Vec<ValidationIssue>>, RunFailure> {
        let grants = Grants {
            log: self.grants.log.clone(),
            ..Grants::default()
        };
        self.runtime.validate(document, &grants).await
    }

    /// Where the calls' events go.
    pub fn log(&self) -> &LogSink {
        &self.grants.log
    }

    /// The component's options for one call.
    fn options(&self, selection: &Selection) -> SyncOptions {
        let settings = &self.settings;
        SyncOptions {
            source: settings.source.clone(),
            authentik_url: settings.authentik_url.clone(),
            dry_run: selection.dry_run,
            concurrency: settings.concurrency,
            manager_id: Some(settings.manager_id.clone()),
            max_response_bytes: settings.max_response_bytes,
            retry_budget_secs: settings.retry_budget_secs,
            allow_superuser_groups: settings.allow_superuser_groups,
            only_groups: selection.groups.clone(),
            only_tenants: selection.tenants.clone(),
        }
    }
}
