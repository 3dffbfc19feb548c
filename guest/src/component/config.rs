//! A run's configuration, checked before the first request: the redactor that keeps every
//! token out of every message, the service clients with their tokens, where the mapping comes
//! from, and the manager id.

use super::failure::Failure;
use super::http::Client;
use super::onepassword::Location;
use super::wit::{MappingSource, SyncOptions};
use std::collections::BTreeMap;
use tenant_sync_core::defaults;
use tenant_sync_core::endpoint::Endpoint;
use tenant_sync_core::onepassword::ItemIds;
use tenant_sync_core::retry::Policy;
use tenant_sync_core::secrets::Redactor;

/// Everything a run needs, resolved from its options and environment.
pub struct Resolved<'a> {
    pub authentik: Client,
    pub source: Source<'a>,
    pub manager: String,
}

/// Where the mapping document comes from.
pub enum Source<'a> {
    /// The document itself (`--mapping-file`, `TENANT_SYNC_MAPPING`).
    Inline(&'a str),
    /// Read through 1Password Connect with this client.
    Onepassword(Client, Location<'a>),
}

impl Source<'_> {
    /// For the opening event.
    pub fn describe(&self) -> String {
        match self {
            Source::Onepassword(client, at) => format!(
                "1Password {} vault {:?} item {:?}",
                client.endpoint(),
                at.vault,
                at.item
            ),
            Source::Inline(_) => "an inline document".to_owned(),
        }
    }

    /// Requests sent to 1Password so far.
    pub fn requests(&self) -> u32 {
        match self {
            Source::Onepassword(client, _) => client.requests(),
            Source::Inline(_) => 0,
        }
    }
}

/// Every token the environment holds, used or not: none may leave in a message. Installed
/// before anything else reads the environment, since a message about a bad setting quotes it.
pub fn redactor(env: &BTreeMap<String, String>) -> Redactor {
    Redactor::new(
        defaults::TOKEN_VARS
            .iter()
            .filter_map(|name| env.get(*name))
            .map(|token| token.trim().to_owned())
            .filter(|token| !token.is_empty()),
    )
}

pub fn resolve<'a>(
    options: &'a SyncOptions,
    env: &BTreeMap<String, String>,
) -> Result<Resolved<'a>, Failure> {
    let config = Failure::Config;
    let token = |names: &[&str]| -> Option<String> {
        names
            .iter()
            .find_map(|n| env.get(*n))
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
    };
    let manager = options
        .manager_id
        .clone()
        .unwrap_or_else(|| defaults::MANAGER.to_owned());
    if manager.trim().is_empty() || manager.chars().any(char::is_control) {
        return Err(config(format!(
            "the manager id {manager:?} must be non-empty printable text"
        )));
    }
    let authentik_url =
        Endpoint::parse(&options.authentik_url, "the Authentik URL (AUTHENTIK_URL)")
            .map_err(|e| config(e.to_string()))?;
    let vars = |service| defaults::token_vars(service).collect::<Vec<_>>();
    let authentik_token = token(&vars(defaults::AUTHENTIK)).ok_or_else(|| {
        config("AUTHENTIK_TOKEN is not set (or empty); provide an Authentik API token that may view and change groups".to_owned())
    })?;
    let max_response_bytes = defaults::max_response_bytes(options.max_response_bytes);
    let policy = Policy::with_budget_secs(options.retry_budget_secs);
    let source = match &options.source {
        MappingSource::Inline(document) => Source::Inline(document),
        MappingSource::Onepassword(at) => {
            let url = Endpoint::parse(
                &at.connect_url,
                "the 1Password Connect URL (OP_CONNECT_HOST)",
            )
            .map_err(|e| config(e.to_string()))?;
            let op_token = token(&vars(defaults::ONEPASSWORD)).ok_or_else(|| {
                config("OP_TOKEN (or OP_CONNECT_TOKEN) is not set (or empty); provide a 1Password Connect token that can read the mapping's vault".to_owned())
            })?;
            Source::Onepassword(
                Client::new(url, &op_token, max_response_bytes, policy),
                Location {
                    vault: at.vault.as_deref().unwrap_or(defaults::VAULT),
                    item: at.item.as_deref().unwrap_or(defaults::ITEM),
                    field: at.field.as_deref().unwrap_or(defaults::FIELD),
                    known: at.known.as_ref().map(|ids| ItemIds {
                        vault: ids.vault_id.clone(),
                        item: ids.item_id.clone(),
                    }),
                },
            )
        }
    };
    Ok(Resolved {
        authentik: Client::new(authentik_url, &authentik_token, max_response_bytes, policy),
        source,
        manager,
    })
}
