//! `tenant-sync mcp`: the hot path as a Model Context Protocol server on stdio. The session is
//! prepared once (tokens, grants, the compiled component, the connection pools); each tool
//! call is a run of it. stdout is the protocol's, so everything else goes to stderr as CLEF.

use super::args::ServiceArgs;
use super::prepare;
use super::usage;
use crate::logging::{Level, LogSink};
use crate::mcp::Server;
use crate::outcome::Exit;
use crate::output::Format;
use crate::stop::{Signal, Stop};
use clap::Args;
use rmcp::ServiceExt;
use serde_json::json;

#[derive(Args)]
pub struct McpArgs {
    /// Let the sync tool write. Without it the server never writes: the sync tool answers with
    /// the plan and says so.
    #[arg(long)]
    pub allow_writes: bool,
    /// Also log every HTTP request (method, origin, path, status, duration) as Debug events.
    #[arg(long, short)]
    pub verbose: bool,
    #[command(flatten)]
    pub service: ServiceArgs,
}

pub async fn mcp(args: McpArgs, log: &LogSink) -> Exit {
    log.set_debug(args.verbose);
    let stop = Stop::default();
    let signals = match stop.on_signals(log) {
        Ok(task) => task,
        Err(e) => return usage(log, format!("cannot listen for stop signals: {e}")),
    };
    let exit = serve(args, log, &stop).await;
    signals.abort();
    exit
}

async fn serve(args: McpArgs, log: &LogSink, stop: &Stop) -> Exit {
    // A mapping file that is not text is refused as a failure document would be; stdout is
    // not the place for it here, so it is only logged.
    let session = match prepare::session(&args.service, Format::Json, log) {
        Ok(session) => session,
        Err(exit) => return exit,
    };
    let server = Server::new(session, args.allow_writes, stop.clone());
    let in_flight = server.in_flight();
    let running = match server.serve(rmcp::transport::stdio()).await {
        Ok(running) => running,
        Err(e) => {
            log.event(
                Level::Error,
                "The MCP client did not complete the handshake: {Message}",
                &[("Message", json!(e.to_string()))],
            );
            return Exit::Usage;
        }
    };
    log.event(
        Level::Information,
        "Serving MCP on stdio; writes are {Writes}",
        &[(
            "Writes",
            json!(if args.allow_writes {
                "enabled"
            } else {
                "disabled (no --allow-writes)"
            }),
        )],
    );
    let cancel = running.cancellation_token();
    tokio::select! {
        _ = running.waiting() => Exit::Success,
        signal = stop.stopping() => {
            // The calls in flight start no new write from now on; their requests in flight
            // get the grace period, then they are stopped outright and answer.
            in_flight.finished().await;
            cancel.cancel();
            match signal {
                Signal::Term => Exit::Terminated,
                Signal::Int => Exit::Interrupted,
            }
        }
    }
}
