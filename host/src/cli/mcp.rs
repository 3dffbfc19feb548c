//! `tenant-sync mcp`: the hot path as a Model Context Protocol server, on stdio or (`--listen`)
//! streamable HTTP. The session is prepared once (tokens, grants, the compiled component, the
//! connection pools); each tool call is a run of it. stdout may be the protocol's, so
//! everything else goes to stderr as CLEF.

use super::args::ServiceArgs;
use super::prepare;
use super::usage;
use crate::logging::{Level, LogSink};
use crate::mcp::Server;
use crate::mcp::http::{self, BearerToken, Doors};
use crate::outcome::Exit;
use crate::output::Format;
use crate::stop::{GRACE, Signal, Stop};
use clap::Args;
use rmcp::ServiceExt;
use serde_json::json;
use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(Args)]
pub struct McpArgs {
    /// Let the sync tool write. Without it the server never writes: the sync tool answers with
    /// the plan and says so.
    #[arg(long)]
    pub allow_writes: bool,
    /// Also log every HTTP request (method, origin, path, status, duration) as Debug events.
    #[arg(long, short)]
    pub verbose: bool,
    /// Serve streamable HTTP on this address (HOST:PORT; port 0 picks a free one) at /mcp,
    /// instead of stdio, e.g. 127.0.0.1:8787. Any address but loopback needs --bearer-token-file.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// File holding the token HTTP clients must send as `Authorization: Bearer TOKEN` (e.g. a
    /// mounted Secret; at least 22 visible ASCII characters, e.g. `openssl rand -hex 32`).
    #[arg(
        long,
        env = "TENANT_SYNC_MCP_TOKEN_FILE",
        value_name = "PATH",
        requires = "listen"
    )]
    pub bearer_token_file: Option<PathBuf>,
    /// Also accept HTTP requests whose Host header is this name (repeatable; NAME or NAME:PORT),
    /// e.g. the Service's DNS name. Loopback names are always accepted on a loopback address.
    #[arg(long = "allow-host", value_name = "NAME", requires = "listen")]
    pub allow_hosts: Vec<String>,
    /// Most tool calls that run at once, each in its own instance of the component (with up to
    /// --memory-limit-mib); more wait their turn.
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=16))]
    pub concurrent_calls: u32,
    #[command(flatten)]
    pub service: ServiceArgs,
}

/// The largest bearer token file read.
const MAX_TOKEN_FILE_BYTES: u64 = 4096;

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
    // Flags first: a bad one is reported before the session reads any secret.
    let doors = match &args.listen {
        Some(addr) => match doors(addr, &args) {
            Ok(doors) => Some(doors),
            Err(message) => return usage(log, message),
        },
        None => None,
    };
    let session = match prepare::session(&args.service, Format::Json, log) {
        Ok(session) => session,
        Err(exit) => return exit,
    };
    let server = Server::new(
        session,
        args.allow_writes,
        args.concurrent_calls as usize,
        stop.clone(),
    );
    match (args.listen, doors) {
        (Some(addr), Some(doors)) => {
            serve_http(server, addr, doors, args.allow_writes, log, stop).await
        }
        _ => serve_stdio(server, args.allow_writes, log, stop).await,
    }
}

async fn serve_stdio(server: Server, allow_writes: bool, log: &LogSink, stop: &Stop) -> Exit {
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
    serving(log, "stdio", allow_writes);
    let cancel = running.cancellation_token();
    tokio::select! {
        _ = running.waiting() => {
            // The client is gone; the calls it left running finish their writes (a stop
            // signal still ends them between writes) before the process exits.
            in_flight.finished().await;
            Exit::Success
        }
        signal = stop.stopping() => {
            // The calls in flight start no new write from now on; their requests in flight
            // get the grace period, then they are stopped outright and answer.
            in_flight.finished().await;
            cancel.cancel();
            stopped(signal)
        }
    }
}

async fn serve_http(
    server: Server,
    addr: SocketAddr,
    doors: Doors,
    allow_writes: bool,
    log: &LogSink,
    stop: &Stop,
) -> Exit {
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(listener) => listener,
        Err(e) => {
            return usage(
                log,
                format!("cannot listen on {addr}: {e}; pick another --listen address or port"),
            );
        }
    };
    let bound = listener.local_addr().unwrap_or(addr);
    serving(log, &format!("http://{bound}{}", http::PATH), allow_writes);
    let stopping = async {
        stop.stopping().await;
    };
    // The calls in flight stop writing on the signal and answer within the grace period; the
    // rest of the drain is for their answers to reach the clients.
    let in_flight = server.in_flight();
    http::serve(listener, server, doors, stopping, GRACE * 3).await;
    // A call whose client went away answers no connection, and is waited for here.
    let _ = tokio::time::timeout(GRACE * 3, in_flight.finished()).await;
    stopped(stop.requested().unwrap_or(Signal::Term))
}

fn serving(log: &LogSink, at: &str, allow_writes: bool) {
    log.event(
        Level::Information,
        "Serving MCP on {Transport}; writes are {Writes}",
        &[
            ("Transport", json!(at)),
            (
                "Writes",
                json!(if allow_writes {
                    "enabled"
                } else {
                    "disabled (no --allow-writes)"
                }),
            ),
        ],
    );
}

fn stopped(signal: Signal) -> Exit {
    match signal {
        Signal::Term => Exit::Terminated,
        Signal::Int => Exit::Interrupted,
    }
}

/// Who the HTTP transport lets in, from the flags.
fn doors(addr: &SocketAddr, args: &McpArgs) -> Result<Doors, String> {
    let token = match &args.bearer_token_file {
        Some(path) => Some(read_token(path)?),
        None if http::beyond_loopback(addr) => {
            return Err(format!(
                "--listen {addr} is reachable from other machines: give the clients' token with --bearer-token-file PATH (or TENANT_SYNC_MCP_TOKEN_FILE), or listen on 127.0.0.1"
            ));
        }
        None => None,
    };
    let mut hosts = Vec::new();
    if http::beyond_loopback(addr) || !args.allow_hosts.is_empty() {
        if addr.ip().is_loopback() {
            hosts.extend(["localhost", "127.0.0.1", "::1"].map(String::from));
        } else if !addr.ip().is_unspecified() {
            hosts.push(addr.ip().to_string());
        }
        hosts.extend(args.allow_hosts.iter().cloned());
        if hosts.is_empty() {
            return Err(format!(
                "--listen {addr} accepts any address: name the host clients use with --allow-host NAME (repeatable), e.g. the Service's DNS name"
            ));
        }
    }
    Ok(Doors { hosts, token })
}

fn read_token(path: &Path) -> Result<BearerToken, String> {
    let shown = path.display();
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_TOKEN_FILE_BYTES + 1).read_to_string(&mut text))
        .map_err(|e| format!("cannot read the bearer token file {shown}: {e}"))?;
    if text.len() as u64 > MAX_TOKEN_FILE_BYTES {
        return Err(format!(
            "the bearer token file {shown} is over {MAX_TOKEN_FILE_BYTES} bytes: it should hold only the token"
        ));
    }
    BearerToken::from_text(&text).map_err(|e| format!("{shown}: {e}"))
}
