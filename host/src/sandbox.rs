//! The store state a run executes in, and the enforcement of its grants: outgoing HTTP only to
//! the allowlist (with bounded timeouts), a memory cap, no filesystem, no sockets, no stdin.

use crate::grants::{Allowlist, MAX_BODY_BYTES, Permit, Refusal, Tokens};
use crate::held::{Answer, Held, Recording};
use crate::in_flight::{InFlight, Place};
use crate::logging::{ComponentLog, Level, LogSink};
use crate::stop::Stop;
use crate::transport::Transport;
use crate::watched::Watched;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use serde_json::json;
use std::time::{Duration, Instant};
use tenant_sync_core::untrusted::excerpt;
use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{
    Error as HttpError, RequestOptions, WasiBody, WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks,
    WasiHttpView,
};

/// Resource limits of one run.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub memory_bytes: usize,
    pub deadline: Duration,
    pub connect_timeout: Duration,
    pub first_byte_timeout: Duration,
    pub between_bytes_timeout: Duration,
    /// One whole exchange, connecting to the last byte of the answer: a server that drips a
    /// byte just within `between_bytes_timeout` is still cut off here.
    pub request_timeout: Duration,
}

impl Limits {
    /// A run's limits unless the command line sets others.
    pub const DEFAULT: Limits = Limits {
        memory_bytes: 256 * 1024 * 1024,
        deadline: Duration::from_secs(10 * 60),
        connect_timeout: Duration::from_secs(10),
        first_byte_timeout: Duration::from_secs(30),
        between_bytes_timeout: Duration::from_secs(30),
        request_timeout: Duration::from_secs(60),
    };
}

impl Default for Limits {
    fn default() -> Limits {
        Limits::DEFAULT
    }
}

/// Everything a run is granted.
#[derive(Clone)]
pub struct Grants {
    pub allowlist: Allowlist,
    /// The component's whole environment.
    pub env: Vec<(String, String)>,
    pub limits: Limits,
    /// Where events go; with Debug on (`--verbose`), also one event per HTTP request.
    pub log: LogSink,
    /// How allowed requests reach the network: a pooled client with the run's TLS trust.
    pub transport: Transport,
    /// Set when the run is being stopped: every new request is refused from then on.
    pub stop: Stop,
}

pub struct HostState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    hooks: Hooks,
    pub(crate) memory: MemoryCap,
    /// What the component printed on stdout (only `wasi:cli/run` prints: the JSON report).
    pub(crate) stdout: MemoryOutputPipe,
}

/// Largest stdout the component may produce: the report of a 100,000-group mapping fits.
const MAX_STDOUT_BYTES: usize = 128 * 1024 * 1024;

impl HostState {
    pub fn new(grants: &Grants) -> HostState {
        let stdout = MemoryOutputPipe::new(MAX_STDOUT_BYTES);
        // No preopens, no inherited env/args/stdin, no network: WasiCtxBuilder grants nothing
        // it is not told to, and sockets stay denied because `inherit_network` is never called.
        // Which token is whose: for the requests, and never to be seen in what it writes.
        let tokens = Tokens::of(&grants.env);
        let wasi = WasiCtx::builder()
            .envs(&grants.env)
            .stdout(stdout.clone())
            .stderr(ComponentLog::new(grants.log.clone(), tokens.values()))
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        HostState {
            wasi,
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            hooks: Hooks {
                allowlist: grants.allowlist.clone(),
                transport: grants.transport.clone(),
                limits: grants.limits,
                log: grants.log.clone(),
                verbose: grants.log.debug(),
                stop: grants.stop.clone(),
                tokens,
                held: Held::default(),
                in_flight: InFlight::default(),
            },
            memory: MemoryCap {
                limit: grants.limits.memory_bytes,
                exceeded: false,
                peak: 0,
            },
            stdout,
        }
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

struct Hooks {
    stop: Stop,
    /// Which token belongs to which service.
    tokens: Tokens,
    /// What each group held in the answers relayed so far: a PATCH may change only its
    /// managed keys.
    held: Held,
    /// Bounds the requests out at once (`in_flight::MAX_IN_FLIGHT`).
    in_flight: InFlight,
    allowlist: Allowlist,
    transport: Transport,
    limits: Limits,
    log: LogSink,
    verbose: bool,
}

type SendFuture = Box<
    dyn Future<
            Output = Result<
                (
                    http::Response<WasiBody>,
                    Box<dyn Future<Output = Result<(), HttpError>> + Send>,
                ),
                HttpError,
            >,
        > + Send,
>;

impl Hooks {
    /// The Warning for a refused request: what was asked for and what is granted instead.
    fn refuse(&self, refused: &Refusal) {
        match refused {
            Refusal::Origin(origin) => self.log.event(
                Level::Warning,
                "Refused a request to {Origin}: the sandbox grants only {Allowed}",
                &[
                    ("Origin", json!(origin)),
                    (
                        "Allowed",
                        json!(
                            self.allowlist
                                .origins()
                                .iter()
                                .map(ToString::to_string)
                                .collect::<Vec<_>>()
                        ),
                    ),
                ],
            ),
            other => log_refusal(&self.log, other),
        }
    }
}

/// The Warning for a refused request (`Hooks::refuse` names the granted origins, too).
fn log_refusal(log: &LogSink, refused: &Refusal) {
    match refused {
        Refusal::Origin(origin) => log.event(
            Level::Warning,
            "Refused a request to {Origin}: no service is granted there",
            &[("Origin", json!(origin))],
        ),
        Refusal::Operation {
            service,
            origin,
            method,
            path,
        } => log.event(
            Level::Warning,
            "Refused {Method} {Path} to {Service} at {Origin}: the sandbox grants only the group requests the sync needs",
            &[
                ("Method", json!(excerpt(method))),
                ("Path", json!(excerpt(path))),
                ("Service", json!(service)),
                ("Origin", json!(origin)),
            ],
        ),
        Refusal::Content(refused) => log.event(
            Level::Warning,
            "Refused {Method} {Path} to {Service} at {Origin}: {Reason}",
            &[
                ("Method", json!(excerpt(&refused.method))),
                ("Path", json!(excerpt(&refused.path))),
                ("Service", json!(refused.service)),
                ("Origin", json!(refused.origin)),
                ("Reason", json!(refused.reason)),
                ("Key", json!(refused.key)),
            ],
        ),
    }
}

impl WasiHttpHooks for Hooks {
    /// The network grant: method, origin, path, query and headers checked on the final request
    /// before any connection is made; the body read whole and checked before any of it is sent.
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _response_errors: Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ) -> SendFuture {
        // Stopping: what is in flight may finish, nothing new starts (the signal was logged).
        if self.stop.requested().is_some() {
            return Box::new(async { Err(HttpError::HttpRequestDenied) });
        }
        let permit = self
            .allowlist
            .check(request.method().as_str(), request.uri())
            .and_then(|permit| {
                let headers = request
                    .headers()
                    .iter()
                    .map(|(name, value)| (name.as_str(), value.as_bytes()));
                permit.check_headers(headers).map(|()| permit)
            });
        let permit = match permit {
            Ok(permit) => permit,
            Err(refused) => {
                self.refuse(&refused);
                return Box::new(async { Err(HttpError::HttpRequestDenied) });
            }
        };
        // wasmtime's own defaults are 600 s each; a stuck server must not hold the job that long.
        // The connect timeout is the transport's own (connections are shared between requests).
        let requested = options.unwrap_or_default();
        let first_byte = bounded(requested.first_byte_timeout, self.limits.first_byte_timeout);
        let between_bytes = bounded(
            requested.between_bytes_timeout,
            self.limits.between_bytes_timeout,
        );
        let verbose = self.verbose.then(|| {
            (
                request.method().to_string(),
                request.uri().path().to_owned(),
                permit.service.origin.to_string(),
            )
        });
        let (transport, log) = (self.transport.clone(), self.log.clone());
        let request_timeout = self.limits.request_timeout;
        let (tokens, stop, held) = (self.tokens.clone(), self.stop.clone(), self.held.clone());
        let in_flight = self.in_flight.clone();
        Box::new(async move {
            // Before the body is read: what a flood of requests holds is bounded too.
            let place = in_flight.enter().await;
            let request = match checked_body(request, &permit, &tokens, &held).await {
                Ok(request) => request,
                Err(Denied::Refused(refused)) => {
                    log_refusal(&log, &refused);
                    return Err(HttpError::HttpRequestDenied);
                }
                Err(Denied::Failed(error)) => return Err(error),
            };
            // The body may have taken a while: a stop that came meanwhile still holds it back.
            if stop.requested().is_some() {
                return Err(HttpError::HttpRequestDenied);
            }
            let started = Instant::now();
            let result = transport
                .send(request, first_byte, between_bytes, request_timeout, &log)
                .await;
            if let Some((method, path, origin)) = verbose {
                let status = result
                    .as_ref()
                    .ok()
                    .map(|response| response.status().as_u16());
                log.event(
                    Level::Debug,
                    "HTTP {Method} {Origin}{Path} answered {StatusCode} in {Elapsed} ms",
                    &[
                        ("Method", json!(method)),
                        ("Origin", json!(origin)),
                        ("Path", json!(path)),
                        ("StatusCode", json!(status)),
                        ("Elapsed", json!(started.elapsed().as_millis() as u64)),
                    ],
                );
            }
            // The answer keeps the request's place until it is read or dropped.
            let response = result?.map(|body| Watched::new(body, Place::new(place)).boxed_unsync());
            // A success answer's groups are recorded as the component reads them.
            let response = match (response, permit.operation.answer) {
                (response, Answer::Nothing) => response,
                (response, _) if !response.status().is_success() => response,
                (response, answer) => response
                    .map(|body| Watched::new(body, Recording::new(answer, held)).boxed_unsync()),
            };
            // The pool drives each connection on its own task: nothing is left to await here.
            let io: Box<dyn Future<Output = Result<(), HttpError>> + Send> =
                Box::new(async { Ok(()) });
            Ok((response, io))
        })
    }
}

/// Why a request's body did not go out.
enum Denied {
    /// The grants refuse it.
    Refused(Refusal),
    /// The component's body stream failed.
    Failed(HttpError),
}

/// `request` with its body read whole (at most what the operation allows) and checked: the
/// server sees a body only once all of it is known to be granted.
async fn checked_body(
    request: http::Request<WasiBody>,
    permit: &Permit,
    tokens: &Tokens,
    held: &Held,
) -> Result<http::Request<WasiBody>, Denied> {
    let limit = match permit.operation.body {
        Some(_) => MAX_BODY_BYTES,
        None => 0,
    };
    let (parts, body) = request.into_parts();
    let bytes = match Limited::new(body, limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.is::<LengthLimitError>() => {
            return Err(Denied::Refused(permit.oversized()));
        }
        Err(error) => {
            return Err(Denied::Failed(match error.downcast::<HttpError>() {
                Ok(error) => *error,
                Err(other) => HttpError::InternalError(Some(other.to_string())),
            }));
        }
    };
    let parsed = permit.parse_body(&bytes).map_err(Denied::Refused)?;
    let authorization: Vec<&[u8]> = parts
        .headers
        .get_all(http::header::AUTHORIZATION)
        .iter()
        .map(|value| value.as_bytes())
        .collect();
    let target = parts.uri.path_and_query().map_or("", |p| p.as_str());
    permit
        .check_tokens(&authorization, target, &bytes, parsed.as_ref(), tokens)
        .and_then(|()| permit.check_held(parsed.as_ref(), held))
        .map_err(Denied::Refused)?;
    let body = Full::new(bytes)
        .map_err(|never| match never {})
        .boxed_unsync();
    Ok(http::Request::from_parts(parts, body))
}

/// The component may ask for shorter timeouts, never longer ones.
fn bounded(requested: Option<Duration>, cap: Duration) -> Duration {
    requested.map_or(cap, |r| r.min(cap))
}

/// The memory grant. Growing past it traps the component with `LimitExceeded`.
pub(crate) struct MemoryCap {
    limit: usize,
    pub(crate) exceeded: bool,
    /// The largest linear memory the component grew to, for the verbose closing figures.
    pub(crate) peak: usize,
}

/// Which sandbox limit ended the run; its Display says which flag raises it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LimitExceeded {
    /// Growing the memory past the grant was refused.
    Memory {
        limit_mib: usize,
    },
    /// The component trapped after a refused growth (its own allocator gave up).
    OutOfMemory,
    Deadline {
        secs: u64,
    },
}

impl std::fmt::Display for LimitExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LimitExceeded::Memory { limit_mib } => write!(
                f,
                "the component needed more than its {limit_mib} MiB memory limit; raise --memory-limit-mib if the mapping really is that large"
            ),
            LimitExceeded::OutOfMemory => {
                f.write_str("the component ran out of memory under its limit")
            }
            LimitExceeded::Deadline { secs } => {
                f.write_str(&tenant_sync_core::usage::deadline_exceeded(*secs))
            }
        }
    }
}

impl std::error::Error for LimitExceeded {}

impl ResourceLimiter for MemoryCap {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.limit {
            self.exceeded = true;
            let limit_mib = self.limit / (1024 * 1024);
            return Err(LimitExceeded::Memory { limit_mib }.into());
        }
        self.peak = self.peak.max(desired);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 1_000_000)
    }
}

impl Default for Grants {
    /// Nothing granted: no origin, no environment, default limits, a memory log.
    fn default() -> Grants {
        let limits = Limits::default();
        Grants {
            allowlist: Allowlist::default(),
            env: Vec::new(),
            limits,
            log: LogSink::default(),
            transport: Transport::plain(limits.connect_timeout),
            stop: Stop::default(),
        }
    }
}
