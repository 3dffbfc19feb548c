//! The command-line contract: flags, environment fallbacks, what goes to stdout (results) and
//! stderr (CLEF events only), and the exit codes scripts rely on.

use crate::bindings::types::{MappingSource, OnepasswordLocation, SyncError, SyncOptions};
use crate::credentials::{self, Fallback, SecretRef};
use crate::grants::{self, Allowlist, Origin, ServiceGrant};
use crate::loading::{self, Cache, Code};
use crate::logging::{Level, LogSink};
use crate::outcome::{Exit, report_outcome};
use crate::output::{self, Format};
use crate::runtime::Runtime;
use crate::sandbox::{Grants, Limits};
use crate::stop::{Signal, Stop};
use crate::transport::Transport;
use crate::trust;
use clap::{Args, Parser, Subcommand};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tenant_sync_guest::sync_core::defaults;
use tenant_sync_guest::sync_core::outcome::FailureKind;

const MIB: u64 = 1024 * 1024;

#[derive(Parser)]
#[command(
    name = "tenant-sync",
    version,
    about = "Reconciles the tenant mapping kept in 1Password into Authentik groups, inside a WebAssembly sandbox.",
    long_about = "Reconciles the tenant mapping kept in 1Password into Authentik groups, inside a WebAssembly sandbox.\n\n\
        Creates missing groups, asserts the managed attributes (fc:managed-by, fc:tenant, fc:role, fc:label, \
        fc:regulated, fc:strict-mode) where they drifted, and never deletes or touches anything it does not manage. \
        Tokens come from the environment: OP_TOKEN (or OP_CONNECT_TOKEN) and AUTHENTIK_TOKEN. On a workstation, an unset one \
        is read from its Kubernetes Secret with kubectl (or, for 1Password, from --op-token-command).\n\n\
        Results go to stdout; stderr carries only CLEF log events (one JSON object per line).\n\n\
        Exit codes: 0 success (dry run included), 2 usage or configuration error, 3 invalid mapping (nothing written), \
        4 a service failed before any write (nothing written), 5 finished but not in sync (a write failed or a group \
        is a conflict), 6 a sandbox limit was hit, 143 / 130 stopped by SIGTERM / SIGINT (the report marks the groups not reached \
        as not-attempted)."
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Reconcile the mapping into Authentik. Run with --dry-run first.
    Run(Box<RunArgs>),
    /// Check a mapping file offline; print the normalized desired state or every problem.
    Validate(ValidateArgs),
    /// Print the JSON Schema (2020-12) of the mapping document, for editors and pre-merge checks.
    Schema,
    /// Show a dry run, an apply and a no-op re-run against built-in fake services.
    #[cfg(feature = "demo")]
    Demo(ComponentArgs),
}

#[derive(Args)]
struct RunArgs {
    /// Plan only: read everything, print what would change, write nothing.
    #[arg(long)]
    dry_run: bool,
    /// How to print the result on stdout.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    output: Format,
    /// Also log every HTTP request (method, origin, path, status, duration) as Debug events.
    #[arg(long, short)]
    verbose: bool,
    /// Most Authentik requests in flight at once: writes, and list pages after the first (1 = one at a time).
    #[arg(long, default_value_t = defaults::CONCURRENCY, value_parser = clap::value_parser!(u32).range(1..=i64::from(defaults::MAX_CONCURRENCY)))]
    concurrency: u32,
    /// 1Password Connect URL, e.g. http://onepassword-connect:8080.
    #[arg(long, env = "OP_CONNECT_HOST", value_name = "URL")]
    op_connect_url: Option<String>,
    /// Vault holding the mapping item (exact name).
    #[arg(long, value_name = "NAME", default_value = defaults::VAULT)]
    op_vault: String,
    /// Title of the mapping item (exact).
    #[arg(long, value_name = "TITLE", default_value = defaults::ITEM)]
    op_item: String,
    /// Label of the field holding the JSON; without one, the item's document file is read.
    #[arg(long, value_name = "LABEL", default_value = defaults::FIELD)]
    op_field: String,
    /// Read the mapping from this file instead of 1Password (no 1Password access is granted).
    #[arg(long, value_name = "PATH")]
    mapping_file: Option<PathBuf>,
    /// Authentik URL, e.g. https://authentik.example.com.
    #[arg(long, env = "AUTHENTIK_URL", value_name = "URL")]
    authentik_url: Option<String>,
    /// Also trust the certificate authorities in this PEM file for https (repeatable), e.g. the
    /// cluster's own CA. The system's trust store (or SSL_CERT_FILE / SSL_CERT_DIR) is always used.
    #[arg(long, value_name = "PATH")]
    ca_file: Vec<PathBuf>,
    /// The fc:managed-by value that marks groups this job owns.
    #[arg(long, value_name = "ID", default_value = defaults::MANAGER)]
    manager_id: String,
    /// Also manage mapped groups that are superuser groups (is_superuser in Authentik); without
    /// this they are conflicts, left untouched.
    #[arg(long)]
    allow_superuser_groups: bool,
    /// Reconcile only this group of the mapping (repeatable): each selected group is looked up by
    /// name instead of listing all groups; orphans are not reported.
    #[arg(long = "group", value_name = "NAME")]
    groups: Vec<String>,
    /// Reconcile only the groups of this tenant (repeatable; with --group, both sets).
    #[arg(long = "tenant", value_name = "ID")]
    tenants: Vec<String>,
    #[command(flatten)]
    credentials: CredentialArgs,
    #[command(flatten)]
    limits: LimitArgs,
    #[command(flatten)]
    component: ComponentArgs,
}

/// Where the tokens come from when their variables are unset (a workstation; the CronJob sets
/// them from Secrets).
#[derive(Args)]
struct CredentialArgs {
    /// Without AUTHENTIK_TOKEN, read the token from this Secret with the kubectl on PATH (current context).
    #[arg(
        long,
        value_name = "NAMESPACE/NAME:KEY",
        default_value = "authentik/authentik-credentials:BOOTSTRAP_ADMIN_TOKEN"
    )]
    authentik_token_secret: SecretRef,
    /// Without OP_TOKEN or OP_CONNECT_TOKEN, run this shell command (your credential helper); its trimmed output is the 1Password token.
    #[arg(long, env = "OP_TOKEN_COMMAND", value_name = "COMMAND")]
    op_token_command: Option<String>,
    /// Without OP_TOKEN, OP_CONNECT_TOKEN or a token command, read the 1Password token from this Secret with kubectl.
    #[arg(
        long,
        value_name = "NAMESPACE/NAME:KEY",
        default_value = "authentik/tenant-mapping-sync-op-token:token"
    )]
    op_token_secret: SecretRef,
}

#[derive(Args)]
struct ValidateArgs {
    /// The mapping document (JSON, schema version 1).
    path: PathBuf,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    output: Format,
    #[command(flatten)]
    component: ComponentArgs,
}

#[derive(Args)]
struct LimitArgs {
    /// Memory the component may use.
    #[arg(long, value_name = "MIB", default_value_t = Limits::DEFAULT.memory_bytes as u64 / MIB, value_parser = clap::value_parser!(u64).range(16..=4096))]
    memory_limit_mib: u64,
    /// Wall-clock limit for the whole run.
    #[arg(long, value_name = "SECONDS", default_value_t = Limits::DEFAULT.deadline.as_secs(), value_parser = clap::value_parser!(u64).range(1..))]
    deadline_secs: u64,
    /// Per-request connect timeout.
    #[arg(long, value_name = "SECONDS", default_value_t = Limits::DEFAULT.connect_timeout.as_secs(), value_parser = clap::value_parser!(u64).range(1..))]
    connect_timeout_secs: u64,
    /// Largest response body accepted from either service.
    #[arg(long, value_name = "MIB", default_value_t = defaults::MAX_RESPONSE_BYTES / MIB, value_parser = clap::value_parser!(u64).range(1..=1024))]
    max_response_mib: u64,
    /// Per-request limit for the first response byte, and between later bytes.
    #[arg(long, value_name = "SECONDS", default_value_t = Limits::DEFAULT.first_byte_timeout.as_secs(), value_parser = clap::value_parser!(u64).range(1..))]
    response_timeout_secs: u64,
}

#[derive(Args)]
pub struct ComponentArgs {
    /// Run this component instead of the built-in one (e.g. a newer one mounted from a ConfigMap).
    /// Needs --component-sha256.
    #[arg(long, value_name = "PATH", requires = "component_sha256")]
    component: Option<PathBuf>,
    /// The SHA-256 the --component file must have (64 hex digits, as `sha256sum` prints it);
    /// any other file is refused before it is compiled.
    #[arg(long, value_name = "HEX", requires = "component", value_parser = loading::parse_sha256)]
    component_sha256: Option<[u8; 32]>,
    /// Where compiled code is cached [default: $XDG_CACHE_HOME/tenant-sync or ~/.cache/tenant-sync].
    #[arg(long, env = "TENANT_SYNC_CACHE_DIR", value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// Compile the component in memory on every start.
    #[arg(long)]
    no_cache: bool,
}

/// Parses the command line and runs it. Usage errors are CLEF events too, since stderr is
/// reserved for them.
pub fn main(log: &LogSink) -> Exit {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            return Exit::Success;
        }
        Err(e) => {
            log.event(
                Level::Error,
                "Usage error: {Message}",
                &[("Message", json!(e.render().to_string().trim_end()))],
            );
            return Exit::Usage;
        }
    };
    // `validate` is pure: no I/O to overlap with the component, so no worker threads to start.
    let tokio = match cli.command {
        Command::Validate(_) | Command::Schema => tokio::runtime::Builder::new_current_thread(),
        _ => tokio::runtime::Builder::new_multi_thread(),
    }
    .enable_all()
    .build()
    .expect("starting the async runtime");
    let started = std::time::Instant::now();
    let exit = match cli.command {
        Command::Run(args) => tokio.block_on(run(*args, log)),
        Command::Validate(args) => tokio.block_on(validate(args, log)),
        Command::Schema => schema(),
        #[cfg(feature = "demo")]
        Command::Demo(args) => match args.load(log) {
            Ok(runtime) => tokio.block_on(crate::demo::run(&runtime)),
            Err(exit) => exit,
        },
    };
    if log.debug() {
        log.event(
            Level::Debug,
            "Finished with exit code {ExitCode} in {Elapsed} ms, peak memory {PeakRssKiB} KiB",
            &[
                ("ExitCode", json!(exit as i32)),
                ("Elapsed", json!(started.elapsed().as_millis() as u64)),
                ("PeakRssKiB", json!(peak_rss_kib())),
            ],
        );
    }
    exit
}

/// This process's peak resident memory (Linux `VmHWM`), for the closing Debug event.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// `schema`: generated from the validator's own rules, so it needs no component.
fn schema() -> Exit {
    let schema = tenant_sync_guest::sync_core::mapping_schema::json_schema();
    println!(
        "{}",
        serde_json::to_string_pretty(&schema).expect("a schema serializes")
    );
    Exit::Success
}

fn usage(log: &LogSink, message: String) -> Exit {
    log.event(
        Level::Error,
        "Configuration error: {Message}",
        &[("Message", json!(message))],
    );
    Exit::Usage
}

async fn run(args: RunArgs, log: &LogSink) -> Exit {
    log.set_debug(args.verbose);
    let Some(authentik_url) = args.authentik_url.clone() else {
        return usage(
            log,
            "no Authentik URL: pass --authentik-url or set AUTHENTIK_URL".into(),
        );
    };
    let mut services = vec![match ServiceGrant::authentik(&authentik_url) {
        Ok(service) => service,
        Err(e) => return usage(log, format!("the Authentik URL: {e:#}")),
    }];
    let mut env_names = vec!["AUTHENTIK_TOKEN"];
    let source = match (&args.mapping_file, &args.op_connect_url) {
        (Some(path), _) => match read_mapping(path) {
            Ok(text) => MappingSource::Inline(text),
            Err(ReadError::Unreadable(message)) => return usage(log, message),
            Err(ReadError::NotText(message)) => return not_text(log, &message, args.output),
        },
        (None, Some(url)) => {
            match ServiceGrant::onepassword(url) {
                Ok(service) => services.push(service),
                Err(e) => return usage(log, format!("the 1Password Connect URL: {e:#}")),
            }
            env_names.extend(["OP_TOKEN", "OP_CONNECT_TOKEN"]);
            MappingSource::Onepassword(OnepasswordLocation {
                connect_url: url.clone(),
                vault: Some(args.op_vault.clone()),
                item: Some(args.op_item.clone()),
                field: Some(args.op_field.clone()),
            })
        }
        (None, None) => {
            return usage(
                log,
                "no mapping source: pass --op-connect-url (or set OP_CONNECT_HOST) to read it from 1Password, or --mapping-file".into(),
            );
        }
    };
    let reads_onepassword = env_names.contains(&"OP_TOKEN");
    let mut env = match grants::granted_env(std::env::vars_os(), env_names) {
        Ok(env) => env,
        Err(message) => return usage(log, message),
    };
    if let Err(message) = args.credentials.complete(&mut env, reads_onepassword, log) {
        return usage(log, message);
    }
    let limits = args.limits.limits();
    let allowlist = Allowlist::new(services);
    let transport = match transport(&allowlist.origins(), &args.ca_file, &limits) {
        Ok(transport) => transport,
        Err(error) => return usage(log, format!("{error:#}")),
    };
    let runtime = match args.component.load(log) {
        Ok(runtime) => runtime,
        Err(exit) => return exit,
    };
    let stop = Stop::default();
    let signals = match stop.on_signals(log) {
        Ok(task) => task,
        Err(e) => return usage(log, format!("cannot listen for stop signals: {e}")),
    };
    let grants = Grants {
        allowlist,
        env,
        limits,
        log: log.clone(),
        transport,
        stop: stop.clone(),
    };
    let options = SyncOptions {
        source,
        authentik_url,
        dry_run: args.dry_run,
        concurrency: args.concurrency,
        manager_id: Some(args.manager_id.clone()),
        max_response_bytes: args.limits.max_response_mib * MIB,
        allow_superuser_groups: args.allow_superuser_groups,
        only_groups: args.groups.clone(),
        only_tenants: args.tenants.clone(),
    };
    let result = runtime.sync(&grants, &options).await;
    signals.abort();
    let not_attempted = match &result {
        Ok(Ok(report)) | Ok(Err(SyncError::PartialApply(report))) => {
            Some(report.summary.not_attempted)
        }
        _ => None,
    };
    let exit = report_outcome(result, args.output, log);
    match stop.requested() {
        None => exit,
        Some(signal) => {
            log.event(
                Level::Warning,
                "The run was stopped by {Signal}: no write was started after it; {NotAttempted} groups not attempted. The next run picks up where this one stopped",
                &[
                    ("Signal", json!(signal.name())),
                    ("NotAttempted", json!(not_attempted)),
                ],
            );
            match signal {
                Signal::Term => Exit::Terminated,
                Signal::Int => Exit::Interrupted,
            }
        }
    }
}

/// The run's HTTP client. The trust store is read only when an https origin is granted or a
/// `--ca-file` is given (so a bad one fails before anything runs).
fn transport(
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

async fn validate(args: ValidateArgs, log: &LogSink) -> Exit {
    let document = match read_mapping(&args.path) {
        Ok(text) => text,
        Err(ReadError::Unreadable(message)) => return usage(log, message),
        Err(ReadError::NotText(message)) => return not_text(log, &message, args.output),
    };
    let runtime = match args.component.load(log) {
        Ok(runtime) => runtime,
        Err(exit) => return exit,
    };
    let grants = Grants {
        log: log.clone(),
        ..Grants::default()
    };
    match runtime.validate(&document, &grants).await {
        Ok(Ok(state)) => {
            println!("{}", output::desired_state(&state, args.output).trim_end());
            Exit::Success
        }
        Ok(Err(issues)) => {
            let message = format!(
                "{} is not a valid mapping ({} problems)",
                args.path.display(),
                issues.len()
            );
            println!(
                "{}",
                output::failure(FailureKind::InvalidMapping, &message, &issues, args.output)
                    .trim_end()
            );
            Exit::InvalidMapping
        }
        Err(failure) => report_outcome(Err(failure), args.output, log),
    }
}

/// A mapping file that is not UTF-8 text is an invalid mapping: exit 3.
fn not_text(log: &LogSink, message: &str, format: Format) -> Exit {
    log.event(
        Level::Error,
        "Invalid mapping: {Issue}",
        &[("Issue", json!(message))],
    );
    println!(
        "{}",
        output::failure(FailureKind::InvalidMapping, message, &[], format).trim_end()
    );
    Exit::InvalidMapping
}

enum ReadError {
    /// Missing or unreadable: a usage error.
    Unreadable(String),
    /// Read, but not UTF-8 text: an invalid mapping.
    NotText(String),
}

fn read_mapping(path: &Path) -> Result<String, ReadError> {
    let bytes = std::fs::read(path).map_err(|e| {
        ReadError::Unreadable(format!(
            "cannot read the mapping file {}: {e}",
            path.display()
        ))
    })?;
    String::from_utf8(bytes).map_err(|e| {
        ReadError::NotText(format!(
            "the mapping file {} is not UTF-8 text (invalid byte at offset {})",
            path.display(),
            e.utf8_error().valid_up_to()
        ))
    })
}

impl CredentialArgs {
    /// Fills in the tokens the environment lacks, from their fallbacks.
    fn complete(
        &self,
        env: &mut Vec<(String, String)>,
        reads_onepassword: bool,
        log: &LogSink,
    ) -> Result<(), String> {
        credentials::complete(
            env,
            &["AUTHENTIK_TOKEN"],
            &Fallback::Secret(self.authentik_token_secret.clone()),
            log,
        )?;
        if reads_onepassword {
            let fallback = match &self.op_token_command {
                Some(command) => Fallback::Command(command.clone()),
                None => Fallback::Secret(self.op_token_secret.clone()),
            };
            credentials::complete(env, &["OP_TOKEN", "OP_CONNECT_TOKEN"], &fallback, log)?;
        }
        Ok(())
    }
}

impl LimitArgs {
    fn limits(&self) -> Limits {
        Limits {
            memory_bytes: (self.memory_limit_mib * MIB) as usize,
            deadline: Duration::from_secs(self.deadline_secs),
            connect_timeout: Duration::from_secs(self.connect_timeout_secs),
            first_byte_timeout: Duration::from_secs(self.response_timeout_secs),
            between_bytes_timeout: Duration::from_secs(self.response_timeout_secs),
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
