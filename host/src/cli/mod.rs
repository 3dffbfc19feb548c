//! The command line: its commands and their dispatch. The flags are `args.rs`, each command
//! its own file; what goes to stdout and the exit codes are `crate::outcome`. stderr carries
//! only CLEF events, usage errors included.

mod args;
mod mapping_file;
mod mcp;
mod prepare;
mod run;
mod validate;

use crate::logging::{Level, LogSink};
use crate::outcome::Exit;
use crate::stdout;
use args::{RunArgs, ValidateArgs};
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use serde_json::json;
use tenant_sync_core::outcome;

#[derive(Parser)]
#[command(
    name = "tenant-sync",
    version,
    about = "Reconciles the tenant mapping kept in 1Password into Authentik groups, inside a WebAssembly sandbox."
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
    /// Serve the sync, plan and validate tools to MCP clients, on stdio or streamable HTTP
    /// (--listen): the on-demand hot path. Writes only with --allow-writes.
    Mcp(Box<mcp::McpArgs>),
    /// Print the JSON Schema (2020-12) of the mapping document, for editors and pre-merge checks.
    Schema,
    /// Show a dry run, an apply and a no-op re-run against built-in fake services.
    #[cfg(feature = "demo")]
    Demo(args::ComponentArgs),
}

/// `--help`'s long description; the exit codes are the core's.
fn long_about() -> String {
    format!(
        "Reconciles the tenant mapping kept in 1Password into Authentik groups, inside a WebAssembly sandbox.\n\n\
        Creates missing groups, asserts the managed attributes (fc:managed-by, fc:tenant, fc:role, fc:label, \
        fc:regulated, fc:strict-mode) where they drifted, and never deletes or touches anything it does not manage. \
        Tokens come from the environment: OP_TOKEN (or OP_CONNECT_TOKEN) and AUTHENTIK_TOKEN. On a workstation, an unset one \
        is read from its Kubernetes Secret with kubectl (or, for 1Password, from --op-token-command).\n\n\
        Results go to stdout; stderr carries only CLEF log events (one JSON object per line).\n\n{}",
        outcome::exit_codes_help()
    )
}

/// Parses the command line and runs it. Usage errors are CLEF events too, since stderr is
/// reserved for them.
pub fn main(log: &LogSink) -> Exit {
    let parsed = Cli::command()
        .long_about(long_about())
        .try_get_matches()
        .and_then(|matches| Cli::from_arg_matches(&matches));
    let cli = match parsed {
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
        Command::Run(args) => tokio.block_on(run::run(*args, log)),
        Command::Mcp(args) => tokio.block_on(mcp::mcp(*args, log)),
        Command::Validate(args) => tokio.block_on(validate::validate(args, log)),
        Command::Schema => schema(log),
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
fn schema(log: &LogSink) -> Exit {
    let schema = tenant_sync_core::mapping_schema::json_schema();
    let text = serde_json::to_string_pretty(&schema).expect("a schema serializes");
    stdout::print(&text, log);
    Exit::Success
}

pub(crate) fn usage(log: &LogSink, message: String) -> Exit {
    log.event(
        Level::Error,
        "Configuration error: {Message}",
        &[("Message", json!(message))],
    );
    Exit::Usage
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Node host is tested against the same table (`hosts/node/test/options.test.mjs`).
    #[test]
    fn run_takes_every_shared_flag_with_its_variable() {
        let command = Cli::command();
        let run = command.find_subcommand("run").unwrap();
        for (flag, var) in tenant_sync_core::usage::RUN_FLAGS {
            let arg = run
                .get_arguments()
                .find(|arg| arg.get_long() == Some(flag))
                .unwrap_or_else(|| panic!("run has no --{flag}"));
            let env = arg.get_env().map(|e| e.to_str().unwrap());
            assert_eq!(env, *var, "--{flag}");
        }
    }
}
