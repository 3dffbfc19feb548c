//! The flags of each command, with their defaults from the one place each is written, and how
//! they become what a run is given (token fallbacks, limits, the component to load).

use super::usage;
use crate::credentials::{self, Fallback, SecretRef};
use crate::loading::{self, Cache, Code};
use crate::logging::LogSink;
use crate::outcome::Exit;
use crate::output::Format;
use crate::runtime::Runtime;
use crate::sandbox::Limits;
use clap::Args;
use std::path::PathBuf;
use std::time::Duration;
use tenant_sync_core::defaults;

pub const MIB: u64 = 1024 * 1024;

#[derive(Args)]
pub struct RunArgs {
    /// Plan only: read everything, print what would change, write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// How to print the result on stdout.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub output: Format,
    /// Also log every HTTP request (method, origin, path, status, duration) as Debug events.
    #[arg(long, short)]
    pub verbose: bool,
    /// Reconcile only this group of the mapping (repeatable): each selected group is looked up by
    /// name instead of listing all groups; orphans are not reported.
    #[arg(long = "group", value_name = "NAME")]
    pub groups: Vec<String>,
    /// Reconcile only the groups of this tenant (repeatable; with --group, both sets).
    #[arg(long = "tenant", value_name = "ID")]
    pub tenants: Vec<String>,
    /// After the run, successful or not, push its metrics to this Prometheus Pushgateway (its base
    /// URL, e.g. http://pushgateway.monitoring:9091, no credentials), grouped under
    /// job="tenant-sync" and the manager id; with --ca-file's trust, in at most 10 s. A failed
    /// push is a Warning; it never changes the exit code. Not with --group/--tenant.
    #[arg(long, env = "TENANT_SYNC_METRICS_PUSH", value_name = "URL")]
    pub metrics_push: Option<String>,
    #[command(flatten)]
    pub service: ServiceArgs,
}

/// What every run of a process is given, whichever command runs it: the services, their
/// tokens, the component and its limits. `run` uses it once, `mcp` for every tool call.
#[derive(Args)]
pub struct ServiceArgs {
    /// Most Authentik requests in flight at once: writes, and list pages after the first (1 = one at a time).
    #[arg(long, default_value_t = defaults::CONCURRENCY, value_parser = clap::value_parser!(u32).range(1..=i64::from(defaults::MAX_CONCURRENCY)))]
    pub concurrency: u32,
    /// 1Password Connect URL, e.g. http://onepassword-connect:8080.
    #[arg(long, env = tenant_sync_core::usage::OP_CONNECT_VAR, value_name = "URL")]
    pub op_connect_url: Option<String>,
    /// Vault holding the mapping item (exact name).
    #[arg(long, value_name = "NAME", default_value = defaults::VAULT)]
    pub op_vault: String,
    /// Title of the mapping item (exact).
    #[arg(long, value_name = "TITLE", default_value = defaults::ITEM)]
    pub op_item: String,
    /// Label of the field holding the JSON; without one, the item's document file is read.
    #[arg(long, value_name = "LABEL", default_value = defaults::FIELD)]
    pub op_field: String,
    /// Read the mapping from this file instead of 1Password (no 1Password access is granted).
    #[arg(long, value_name = "PATH")]
    pub mapping_file: Option<PathBuf>,
    /// Authentik URL, e.g. https://authentik.example.com.
    #[arg(long, env = tenant_sync_core::usage::AUTHENTIK_URL_VAR, value_name = "URL")]
    pub authentik_url: Option<String>,
    /// Also trust the certificate authorities in this PEM file for https (repeatable), e.g. the
    /// cluster's own CA. The system's trust store (or SSL_CERT_FILE / SSL_CERT_DIR) is always used.
    #[arg(long, value_name = "PATH")]
    pub ca_file: Vec<PathBuf>,
    /// The fc:managed-by value that marks groups this job owns.
    #[arg(long, value_name = "ID", default_value = defaults::MANAGER)]
    pub manager_id: String,
    /// Also manage mapped groups that are superuser groups (is_superuser in Authentik); without
    /// this they are conflicts, left untouched.
    #[arg(long)]
    pub allow_superuser_groups: bool,
    #[arg(long, value_name = "SECONDS", help = retry_budget_help(), value_parser = clap::value_parser!(u32).range(1..=i64::from(defaults::MAX_RETRY_BUDGET_SECS)))]
    pub retry_budget_secs: Option<u32>,
    #[command(flatten)]
    pub credentials: CredentialArgs,
    #[command(flatten)]
    pub limits: LimitArgs,
    #[command(flatten)]
    pub component: ComponentArgs,
}

/// Where the tokens come from when their variables are unset (a workstation; the CronJob sets
/// them from Secrets).
#[derive(Args)]
pub struct CredentialArgs {
    /// Without AUTHENTIK_TOKEN, read the token from this Secret with the kubectl on PATH (current context).
    #[arg(
        long,
        value_name = "NAMESPACE/NAME:KEY",
        default_value = "authentik/authentik-credentials:BOOTSTRAP_ADMIN_TOKEN"
    )]
    pub authentik_token_secret: SecretRef,
    /// Without OP_TOKEN or OP_CONNECT_TOKEN, run this shell command (your credential helper); its trimmed output is the 1Password token.
    #[arg(long, env = "OP_TOKEN_COMMAND", value_name = "COMMAND")]
    pub op_token_command: Option<String>,
    /// Without OP_TOKEN, OP_CONNECT_TOKEN or a token command, read the 1Password token from this Secret with kubectl.
    #[arg(
        long,
        value_name = "NAMESPACE/NAME:KEY",
        default_value = "authentik/tenant-mapping-sync-op-token:token"
    )]
    pub op_token_secret: SecretRef,
}

#[derive(Args)]
pub struct ValidateArgs {
    /// The mapping document (JSON, schema version 1).
    pub path: PathBuf,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub output: Format,
    #[command(flatten)]
    pub component: ComponentArgs,
}

#[derive(Args)]
pub struct LimitArgs {
    /// Memory the component may use.
    #[arg(long, value_name = "MIB", default_value_t = Limits::DEFAULT.memory_bytes as u64 / MIB, value_parser = clap::value_parser!(u64).range(16..=4096))]
    pub memory_limit_mib: u64,
    /// Wall-clock limit for the whole run.
    #[arg(long, value_name = "SECONDS", default_value_t = Limits::DEFAULT.deadline.as_secs(), value_parser = clap::value_parser!(u64).range(1..))]
    pub deadline_secs: u64,
    /// Per-request connect timeout.
    #[arg(long, value_name = "SECONDS", default_value_t = Limits::DEFAULT.connect_timeout.as_secs(), value_parser = clap::value_parser!(u64).range(1..))]
    pub connect_timeout_secs: u64,
    /// Largest response body accepted from either service.
    #[arg(long, value_name = "MIB", default_value_t = defaults::MAX_RESPONSE_BYTES / MIB, value_parser = clap::value_parser!(u64).range(1..=defaults::LARGEST_RESPONSE_CAP_MIB))]
    pub max_response_mib: u64,
    /// Per-request limit for the first response byte, and between later bytes.
    #[arg(long, value_name = "SECONDS", default_value_t = Limits::DEFAULT.first_byte_timeout.as_secs(), value_parser = clap::value_parser!(u64).range(1..))]
    pub response_timeout_secs: u64,
    /// Per-request limit for the whole exchange, connecting to the answer's last byte.
    #[arg(long, value_name = "SECONDS", default_value_t = Limits::DEFAULT.request_timeout.as_secs(), value_parser = clap::value_parser!(u64).range(1..))]
    pub request_timeout_secs: u64,
}

#[derive(Args)]
pub struct ComponentArgs {
    /// Run this component instead of the built-in one (e.g. a newer one mounted from a ConfigMap).
    /// Needs --component-sha256.
    #[arg(long, value_name = "PATH", requires = "component_sha256")]
    pub component: Option<PathBuf>,
    /// The SHA-256 the --component file must have (64 hex digits, as `sha256sum` prints it);
    /// any other file is refused before it is compiled.
    #[arg(long, value_name = "HEX", requires = "component", value_parser = loading::parse_sha256)]
    component_sha256: Option<[u8; 32]>,
    /// Where compiled code is cached [default: $XDG_CACHE_HOME/tenant-sync or ~/.cache/tenant-sync].
    #[arg(long, env = "TENANT_SYNC_CACHE_DIR", value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Compile the component in memory on every start.
    #[arg(long)]
    pub no_cache: bool,
}

/// `--retry-budget-secs`, with its default from the one place it is written.
fn retry_budget_help() -> String {
    format!(
        "How long an outage of Authentik or 1Password Connect (refused connections, 5xx, answers that are not the API's, as while Authentik or its database restarts) is waited out before a request fails, counted from the outage's first failure and shared by the requests in flight. Given, it must be shorter than --deadline-secs [default: {}]",
        defaults::RETRY_BUDGET_SECS
    )
}

impl CredentialArgs {
    /// Fills in the tokens the environment lacks, from their fallbacks.
    pub fn complete(
        &self,
        env: &mut Vec<(String, String)>,
        reads_onepassword: bool,
        log: &LogSink,
    ) -> Result<(), String> {
        credentials::complete(
            env,
            defaults::AUTHENTIK,
            &Fallback::Secret(self.authentik_token_secret.clone()),
            log,
        )?;
        if reads_onepassword {
            let fallback = match &self.op_token_command {
                Some(command) => Fallback::Command(command.clone()),
                None => Fallback::Secret(self.op_token_secret.clone()),
            };
            credentials::complete(env, defaults::ONEPASSWORD, &fallback, log)?;
        }
        Ok(())
    }
}

impl LimitArgs {
    pub fn limits(&self) -> Limits {
        Limits {
            memory_bytes: (self.memory_limit_mib * MIB) as usize,
            deadline: Duration::from_secs(self.deadline_secs),
            connect_timeout: Duration::from_secs(self.connect_timeout_secs),
            first_byte_timeout: Duration::from_secs(self.response_timeout_secs),
            between_bytes_timeout: Duration::from_secs(self.response_timeout_secs),
            request_timeout: Duration::from_secs(self.request_timeout_secs),
        }
    }
}

impl ComponentArgs {
    /// The component this command runs, compiled or loaded; a problem is a usage error.
    pub fn load(&self, log: &LogSink) -> Result<Runtime, Exit> {
        let code = Code {
            file: self
                .component
                .as_deref()
                .zip(self.component_sha256.as_ref()),
            cache: match (self.no_cache, &self.cache_dir) {
                (true, _) => Cache::Off,
                (false, Some(dir)) => Cache::In(dir.clone()),
                (false, None) => Cache::Default,
            },
        };
        loading::runtime(&code, log).map_err(|message| usage(log, message))
    }
}
