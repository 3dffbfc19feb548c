//! `tenant-sync`: the CLI a CronJob runs. See `tenant-sync --help` and the README.

use std::process::ExitCode;
use tenant_sync::logging::LogSink;

fn main() -> ExitCode {
    let exit = tenant_sync::cli::main(&LogSink::stderr());
    ExitCode::from(exit as u8)
}
