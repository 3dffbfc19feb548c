//! From the flags and the environment to a prepared session (`crate::session`): the services
//! granted and their tokens, the mapping's source, the HTTP client and the component. Every
//! problem is a usage error, logged before anything is sent.

use super::args::{MIB, ServiceArgs};
use super::mapping_file::{self, ReadError};
use super::usage;
use crate::bindings::types::{MappingSource, OnepasswordLocation};
use crate::grants::{self, Allowlist, Origin, ServiceGrant};
use crate::logging::LogSink;
use crate::outcome::Exit;
use crate::output::Format;
use crate::sandbox::{Grants, Limits};
use crate::session::{Session, Settings};
use crate::stop::Stop;
use crate::transport::Transport;
use crate::trust;
use std::path::PathBuf;
use tenant_sync_core::defaults;
use tenant_sync_core::usage as usage_text;

/// Everything a run needs that does not change between calls. A problem is a usage error,
/// already logged; `format` is how a mapping file that is not text is reported.
pub fn session(args: &ServiceArgs, format: Format, log: &LogSink) -> Result<Session, Exit> {
    let Granted {
        services,
        env,
        source,
        authentik_url,
    } = granted(args, format, log)?;
    let limits = args.limits.limits();
    // Only a budget given: a deadline lowered alone still ends a run stuck that long.
    if let Some(budget) = args.retry_budget_secs {
        usage_text::check_budget(budget.into(), limits.deadline.as_secs())
            .map_err(|message| usage(log, message))?;
    }
    let allowlist = Allowlist::new(services);
    let transport = transport(&allowlist.origins(), &args.ca_file, &limits)
        .map_err(|error| usage(log, format!("{error:#}")))?;
    let runtime = args.component.load(log)?;
    let grants = Grants {
        allowlist,
        env,
        limits,
        log: log.clone(),
        transport,
        stop: Stop::default(),
    };
    let settings = Settings {
        source,
        authentik_url,
        concurrency: args.concurrency,
        manager_id: args.manager_id.clone(),
        max_response_bytes: args.limits.max_response_mib * MIB,
        retry_budget_secs: args.retry_budget_secs.unwrap_or(0),
        allow_superuser_groups: args.allow_superuser_groups,
    };
    Ok(Session::new(runtime, grants, settings))
}

/// What a run may reach and see, and where its mapping comes from.
struct Granted {
    services: Vec<ServiceGrant>,
    /// The component's whole environment: the tokens of the services it reads.
    env: Vec<(String, String)>,
    source: MappingSource,
    authentik_url: String,
}

/// From the flags and the environment to what the run is granted; a usage error (already
/// reported) otherwise. Tokens missing from the environment come from their fallbacks.
fn granted(args: &ServiceArgs, format: Format, log: &LogSink) -> Result<Granted, Exit> {
    let Some(authentik_url) = args.authentik_url.clone() else {
        return Err(usage(log, usage_text::NO_AUTHENTIK_URL.into()));
    };
    let mut services = vec![
        ServiceGrant::authentik(&authentik_url)
            .map_err(|e| usage(log, format!("the Authentik URL: {e:#}")))?,
    ];
    let mut env_names: Vec<&str> = defaults::token_vars(defaults::AUTHENTIK).collect();
    let source = match (&args.mapping_file, &args.op_connect_url) {
        (Some(path), _) => match mapping_file::read(path) {
            Ok(text) => MappingSource::Inline(text),
            Err(ReadError::Unreadable(message)) => return Err(usage(log, message)),
            Err(ReadError::NotText(message)) => {
                return Err(mapping_file::not_text(log, &message, format));
            }
        },
        (None, Some(url)) => {
            services.push(
                ServiceGrant::onepassword(url)
                    .map_err(|e| usage(log, format!("the 1Password Connect URL: {e:#}")))?,
            );
            env_names.extend(defaults::token_vars(defaults::ONEPASSWORD));
            MappingSource::Onepassword(OnepasswordLocation {
                connect_url: url.clone(),
                vault: Some(args.op_vault.clone()),
                item: Some(args.op_item.clone()),
                field: Some(args.op_field.clone()),
                known: None,
            })
        }
        (None, None) => {
            return Err(usage(log, usage_text::NO_MAPPING_SOURCE.into()));
        }
    };
    let mut env = grants::granted_env(std::env::vars_os(), env_names).map_err(|m| usage(log, m))?;
    let reads_onepassword = args.mapping_file.is_none();
    args.credentials
        .complete(&mut env, reads_onepassword, log)
        .map_err(|m| usage(log, m))?;
    Ok(Granted {
        services,
        env,
        source,
        authentik_url,
    })
}

/// The run's HTTP client. The trust store is read only when an https origin is granted or a
/// `--ca-file` is given (so a bad one fails before anything runs).
pub(super) fn transport(
    origins: &[Origin],
    ca_files: &[PathBuf],
    limits: &Limits,
) -> anyhow::Result<Transport> {
    if ca_files.is_empty() && origins.iter().all(|o| !o.https) {
        return Ok(Transport::plain(limits.connect_timeout));
    }
    let roots = trust::roots(ca_files)?;
    Ok(Transport::new(
        trust::client_config(roots),
        limits.connect_timeout,
    ))
}
