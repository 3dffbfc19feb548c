//! `wasi:cli/run`: the same reconcile, configured from environment variables, so any WASI host
//! (`wasmtime run -S http --env ...`) can run the component unchanged. stdout gets what
//! `sync.run-printed` gives every host (the JSON report, or the failure document), CLEF logs go
//! to stderr; `wasi:cli/run` can only say success (in sync) or failure.

use super::wit::{MappingSource, OnepasswordLocation, SyncOptions};
use super::{config, log, redact, render, stream};
use serde_json::json;
use std::collections::BTreeMap;
use tenant_sync_core::outcome::{Exit, Failure, FailureKind, Outcome};
use tenant_sync_core::{defaults, usage};

pub fn run() -> Result<(), ()> {
    let env: BTreeMap<String, String> = wasi::cli::environment::get_environment()
        .into_iter()
        .collect();
    // Installed before the variables are read: a value in the wrong variable may be a token,
    // and the message that names the variable quotes its value.
    redact::install(config::redactor(&env));
    let printed = match options_from(&env) {
        Ok(options) => render::run_printed(&options),
        Err(message) => {
            let message = redact::scrub(&message);
            log::error(
                "Configuration error: {Message}; nothing was written",
                &[("Message", json!(message))],
            );
            render::printed(Outcome::Failed(Failure::new(
                FailureKind::InvalidConfig,
                message,
            )))
        }
    };
    let text = format!("{}\n", printed.stdout);
    let _ = stream::write_all(&wasi::cli::stdout::get_stdout(), text.as_bytes());
    match printed.exit_code == Exit::Success.code() {
        true => Ok(()),
        false => Err(()),
    }
}

fn options_from(env: &BTreeMap<String, String>) -> Result<SyncOptions, String> {
    let get = |name: &str| {
        env.get(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let source = match (get("TENANT_SYNC_MAPPING"), get(usage::OP_CONNECT_VAR)) {
        (Some(document), _) => MappingSource::Inline(document),
        (None, Some(connect_url)) => MappingSource::Onepassword(OnepasswordLocation {
            connect_url,
            vault: Some(get("TENANT_SYNC_OP_VAULT").unwrap_or_else(|| defaults::VAULT.to_owned())),
            item: Some(get("TENANT_SYNC_OP_ITEM").unwrap_or_else(|| defaults::ITEM.to_owned())),
            field: Some(get("TENANT_SYNC_OP_FIELD").unwrap_or_else(|| defaults::FIELD.to_owned())),
            known: None,
        }),
        (None, None) => {
            return Err(format!(
                "set {} (read the mapping from 1Password Connect) or TENANT_SYNC_MAPPING (the mapping document itself)",
                usage::OP_CONNECT_VAR
            ));
        }
    };
    let authentik_url = get(usage::AUTHENTIK_URL_VAR).ok_or_else(|| {
        format!(
            "{} is not set; set it to the Authentik origin, e.g. https://authentik.example.com",
            usage::AUTHENTIK_URL_VAR
        )
    })?;
    // The value is quoted as given (scrubbed): lowercased, a token would not be recognised.
    let flag = |name: &str| match get(name) {
        None => Ok(false),
        Some(value) => match value.to_ascii_lowercase().as_str() {
            "0" | "false" | "no" => Ok(false),
            "1" | "true" | "yes" => Ok(true),
            _ => Err(format!(
                "{name}={:?} is not a boolean; use true or false",
                redact::scrub(&value)
            )),
        },
    };
    let dry_run = flag("TENANT_SYNC_DRY_RUN")?;
    let allow_superuser_groups = flag("TENANT_SYNC_ALLOW_SUPERUSER_GROUPS")?;
    let concurrency = whole_number(
        get,
        "TENANT_SYNC_CONCURRENCY",
        "a whole number",
        defaults::MAX_CONCURRENCY,
    )?;
    Ok(SyncOptions {
        source,
        authentik_url,
        dry_run,
        concurrency,
        manager_id: get("TENANT_SYNC_MANAGER_ID"),
        allow_superuser_groups,
        // One per line: group names may contain commas.
        only_groups: lines(get("TENANT_SYNC_GROUPS")),
        only_tenants: lines(get("TENANT_SYNC_TENANTS")),
        retry_budget_secs: whole_number(
            get,
            "TENANT_SYNC_RETRY_BUDGET_SECS",
            "a whole number of seconds",
            defaults::MAX_RETRY_BUDGET_SECS,
        )?,
        max_response_bytes: whole_number(
            get,
            "TENANT_SYNC_MAX_RESPONSE_BYTES",
            "a whole number of bytes",
            defaults::LARGEST_RESPONSE_CAP_MIB * 1024 * 1024,
        )?,
    })
}

/// The variable `name` as a number from 1 to `largest` (unset: 0, the default). The same
/// ranges, in the same words, as the other hosts' flags: out of range is an error, not quietly
/// the nearest limit, and the value is quoted scrubbed (a token may be in the wrong variable).
fn whole_number<T>(
    get: impl Fn(&str) -> Option<String>,
    name: &str,
    what: &str,
    largest: T,
) -> Result<T, String>
where
    T: std::str::FromStr + PartialOrd + From<u8> + Default + std::fmt::Display + Copy,
{
    let Some(text) = get(name) else {
        return Ok(T::default());
    };
    text.parse()
        .ok()
        .filter(|n| (T::from(1)..=largest).contains(n))
        .ok_or_else(|| {
            format!(
                "{name} takes {what} from 1 to {largest}, not {:?}",
                redact::scrub(&text)
            )
        })
}

fn lines(value: Option<String>) -> Vec<String> {
    value
        .iter()
        .flat_map(|v| v.lines())
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect()
}
