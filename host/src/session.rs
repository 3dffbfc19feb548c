//! A prepared run: what it is granted, its pooled HTTP client and the compiled component. `run`
//! calls it once; `mcp` once per tool call, so the calls share the compiled code and the
//! connections, and each runs in its own instance. `cli::prepare` makes one from the flags.
//! A session also remembers where the last call found the mapping item in 1Password, so the
//! next call reads it directly (one request, not three) until the lookup is due again.

use crate::bindings::types::{
    DesiredState, MappingSource, OnepasswordItem, OnepasswordLocation, SyncError, SyncOptions,
    ValidationIssue,
};
use crate::logging::LogSink;
use crate::outcome::CallResult;
use crate::runtime::{RunFailure, Runtime};
use crate::sandbox::Grants;
use crate::stop::Stop;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long the ids of a lookup by name are reused before the next call looks the item up by
/// name again: a second item given the same title is refused as ambiguous within this time,
/// as every `run` refuses it.
pub const ITEM_LOOKUP_EVERY: Duration = Duration::from_secs(5 * 60);

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
    /// Where the last lookup by name found the mapping item, and when.
    found: Mutex<Option<(OnepasswordItem, Instant)>>,
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
            found: Mutex::new(None),
        }
    }

    /// One reconcile of `selection` in a fresh instance; `stop` ends it between writes.
    pub async fn sync(&self, selection: &Selection, stop: &Stop) -> CallResult {
        let grants = Grants {
            stop: stop.clone(),
            ..self.grants.clone()
        };
        let started = Instant::now();
        let known = self.known_item(started);
        let result = self
            .runtime
            .sync(&grants, &self.options(selection, known.clone()))
            .await;
        self.remember(known, started, &result);
        result
    }

    /// The item's ids, while the lookup that found them is recent enough to skip.
    fn known_item(&self, now: Instant) -> Option<OnepasswordItem> {
        let found = self.found.lock().unwrap_or_else(|e| e.into_inner());
        reusable(found.as_ref(), now)
    }

    /// What a call that `started` then found: ids other than the ones it was given come from a
    /// lookup by name, made after it started (counted from then, so they are never kept longer),
    /// and replace only what an earlier lookup found. A call that failed before it reported
    /// forgets them, so the next one looks up.
    fn remember(&self, given: Option<OnepasswordItem>, started: Instant, result: &CallResult) {
        let reported = match result {
            Ok(Ok(report)) | Ok(Err(SyncError::PartialApply(report))) => report.source_item.clone(),
            _ => None,
        };
        let mut found = self.found.lock().unwrap_or_else(|e| e.into_inner());
        let same = |a: &OnepasswordItem, b: &OnepasswordItem| {
            a.vault_id == b.vault_id && a.item_id == b.item_id
        };
        let newer = found.as_ref().is_none_or(|(_, at)| *at <= started);
        match (reported, given) {
            (Some(ids), Some(given)) if same(&ids, &given) => {}
            (Some(ids), _) if newer => *found = Some((ids, started)),
            (Some(_), _) => {}
            (None, _) => *found = None,
        }
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
    fn options(&self, selection: &Selection, known: Option<OnepasswordItem>) -> SyncOptions {
        let settings = &self.settings;
        let source = match &settings.source {
            MappingSource::Onepassword(at) => MappingSource::Onepassword(OnepasswordLocation {
                known,
                ..at.clone()
            }),
            inline @ MappingSource::Inline(_) => inline.clone(),
        };
        SyncOptions {
            source,
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

/// The ids of a lookup by name made at the time `found` records, if they may still be used `now`.
fn reusable(found: Option<&(OnepasswordItem, Instant)>, now: Instant) -> Option<OnepasswordItem> {
    found
        .filter(|(_, at)| now.saturating_duration_since(*at) < ITEM_LOOKUP_EVERY)
        .map(|(ids, _)| ids.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ids_of_a_lookup_are_reused_for_less_than_five_minutes() {
        let ids = OnepasswordItem {
            vault_id: "v".into(),
            item_id: "i".into(),
        };
        let at = Instant::now();
        let found = Some((ids, at));
        assert!(reusable(found.as_ref(), at + Duration::from_secs(299)).is_some());
        assert!(reusable(found.as_ref(), at + ITEM_LOOKUP_EVERY).is_none());
        assert!(reusable(None, at).is_none());
    }
}
