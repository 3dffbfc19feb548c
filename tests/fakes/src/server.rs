//! A tiny HTTP/1.1 server on 127.0.0.1 (ephemeral port) for the fakes: it runs on its own thread
//! and tokio runtime, so sync tests, async tests and the demo can all use it, and it stops (and
//! its thread is joined) when dropped.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::sync::oneshot;

/// A request as the fake saw it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    /// Decoded query parameters; a repeated key keeps its last value.
    pub query: BTreeMap<String, String>,
    pub raw_query: String,
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// What the fake answers.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub content_type: &'static str,
    pub retry_after: Option<String>,
    pub location: Option<String>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn json(status: u16, body: &serde_json::Value) -> Response {
        Response::bytes(status, "application/json", body.to_string().into_bytes())
    }

    pub fn bytes(status: u16, content_type: &'static str, body: Vec<u8>) -> Response {
        Response {
            status,
            content_type,
            retry_after: None,
            location: None,
            body,
        }
    }
}

/// What the server does with a request.
#[derive(Debug)]
pub enum Reply {
    Respond(Response),
    /// Answer after a pause (a slow first byte).
    Delayed(Duration, Response),
    /// Close the connection without answering.
    Drop,
}

pub type Handler = Arc<dyn Fn(Request) -> Reply + Send + Sync>;

/// A misbehaviour a test scripts into a fake: the failures a flaky network, a throttling proxy
/// or a half-broken server produce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer this status with an HTML error page (and `Retry-After`, if given); the request
    /// has no effect.
    Status {
        status: u16,
        retry_after: Option<String>,
    },
    /// Close the connection before handling: the request has no effect.
    DropBefore,
    /// Handle the request (a write takes effect), then close without answering.
    DropAfter,
    /// Handle the request (a write takes effect), then answer 405 with an HTML content type
    /// and no body, as the real Authentik did to creates it committed while its database
    /// restarted (`../shared/api/OBSERVED.md`, "Faults").
    CommittedThen405,
    /// Handle and answer normally, after a pause.
    Delay(Duration),
    /// Handle normally but cut the body in half: valid HTTP, broken JSON.
    Truncate,
    /// Handle normally but label the body with this content type.
    ContentType(&'static str),
    /// Handle normally but put a byte that is never valid UTF-8 inside the first JSON string.
    InvalidUtf8,
    /// Answer this status with this JSON body (a server's own error message); the request has
    /// no effect.
    Answer { status: u16, body: String },
    /// Answer this redirect status pointing at `location` (an ingress sending http to https);
    /// the request has no effect.
    Redirect { status: u16, location: String },
    /// Handle the request as if it had no body, as a proxy that drops request bodies makes a
    /// server do: a create lacks its name, an update answers 200 and changes nothing. Only a
    /// fake that reads bodies applies it (its record of the request keeps the body the client
    /// sent); to [`with_fault`] it is no fault.
    BodyUnread,
}

/// Faults waiting for requests, by route name (each fake names its routes).
#[derive(Debug, Default)]
pub struct Faults {
    rules: Vec<(String, usize, Fault)>,
}

impl Faults {
    /// The next `times` requests to `route` suffer `fault`.
    pub fn add(&mut self, route: &str, times: usize, fault: Fault) {
        self.rules.push((route.to_owned(), times, fault));
    }

    pub fn take(&mut self, route: &str) -> Option<Fault> {
        let (_, times, fault) = self
            .rules
            .iter_mut()
            .find(|(r, times, _)| r == route && *times > 0)?;
        *times -= 1;
        Some(fault.clone())
    }
}

/// Applies `fault` around `handle`, which performs the request's effect and builds the answer.
pub fn with_fault(fault: Option<Fault>, handle: impl FnOnce() -> Response) -> Reply {
    match fault {
        None | Some(Fault::BodyUnread) => Reply::Respond(handle()),
        Some(Fault::Status {
            status,
            retry_after,
        }) => {
            let page = format!(
                "<html><head><title>{status}</title></head><body><h1>{status}</h1></body></html>"
            );
            let mut response = Response::bytes(status, "text/html", page.into_bytes());
            response.retry_after = retry_after;
            Reply::Respond(response)
        }
        Some(Fault::Answer { status, body }) => Reply::Respond(Response::bytes(
            status,
            "application/json",
            body.into_bytes(),
        )),
        Some(Fault::Redirect { status, location }) => {
            let mut response = Response::bytes(status, "text/html", Vec::new());
            response.location = Some(location);
            Reply::Respond(response)
        }
        Some(Fault::DropBefore) => Reply::Drop,
        Some(Fault::DropAfter) => {
            handle();
            Reply::Drop
        }
        Some(Fault::CommittedThen405) => {
            handle();
            Reply::Respond(Response::bytes(405, "text/html; charset=utf-8", Vec::new()))
        }
        Some(Fault::Delay(pause)) => Reply::Delayed(pause, handle()),
        Some(Fault::Truncate) => {
            let mut response = handle();
            response.body.truncate(response.body.len() / 2);
            Reply::Respond(response)
        }
        Some(Fault::InvalidUtf8) => {
            let mut response = handle();
            if let Some(quote) = response.body.iter().position(|b| *b == b'"') {
                response.body.insert(quote + 1, 0xFF);
            }
            Reply::Respond(response)
        }
        Some(Fault::ContentType(content_type)) => {
            let mut response = handle();
            response.content_type = content_type;
            Reply::Respond(response)
        }
    }
}

/// The service error that makes hyper close the connection without an answer.
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by a scripted fault")
    }
}

impl std::error::Error for Dropped {}

/// A TLS configuration to serve with, when the `tls` feature is on.
#[cfg(feature = "tls")]
pub type Tls = Option<std::sync::Arc<tokio_rustls::rustls::ServerConfig>>;
/// Without it, never a configuration (shared like the real one, so the code is the same).
#[cfg(not(feature = "tls"))]
pub type Tls = Option<std::sync::Arc<std::convert::Infallible>>;

pub struct Server {
    addr: SocketAddr,
    https: bool,
    load: Arc<Load>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

/// How many requests are being answered right now, the most ever at once, and the latency
/// added to every answer (in microseconds).
#[derive(Debug, Default)]
struct Load {
    now: AtomicUsize,
    peak: AtomicUsize,
    /// TCP connections accepted so far.
    connections: AtomicUsize,
    latency_micros: AtomicU64,
}

impl Server {
    /// The most requests that were being answered at the same time.
    pub fn peak_in_flight(&self) -> usize {
        self.load.peak.load(Ordering::SeqCst)
    }

    /// How many TCP connections clients opened so far: a client that keeps connections alive
    /// opens few.
    pub fn connections(&self) -> usize {
        self.load.connections.load(Ordering::SeqCst)
    }

    /// Adds `latency` to every answer from now on, like a server across a network.
    pub fn set_latency(&self, latency: Duration) {
        self.load
            .latency_micros
            .store(latency.as_micros() as u64, Ordering::SeqCst);
    }

    fn start_with(handler: Handler, tls: Tls) -> Server {
        let https = tls.is_some();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binding a loopback port");
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let load = Arc::new(Load::default());
        let server_load = load.clone();
        let thread = std::thread::Builder::new()
            .name(format!("fake-{addr}"))
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                runtime.block_on(serve(listener, handler, server_load, stopped, tls));
            })
            .unwrap();
        Server {
            addr,
            https,
            load,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    pub fn url(&self) -> String {
        if self.https {
            format!("https://localhost:{}", self.addr.port())
        } else {
            format!("http://{}", self.addr)
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

/// A fake service: its state, and the server answering from it. It dereferences to the server
/// (`url`, `addr`, `connections`, `set_latency`, ...), so each fake adds only what it models.
pub struct Fake<S> {
    state: Arc<Mutex<S>>,
    server: Server,
}

impl<S: Send + 'static> Fake<S> {
    /// Serves `state` with `handle` over plain HTTP.
    pub fn start(state: S, handle: fn(&Mutex<S>, Request) -> Reply) -> Fake<S> {
        Fake::start_with(state, handle, None)
    }

    /// The same over TLS with `config`, at `https://localhost:<port>`.
    #[cfg(feature = "tls")]
    pub fn start_tls(
        state: S,
        handle: fn(&Mutex<S>, Request) -> Reply,
        config: std::sync::Arc<tokio_rustls::rustls::ServerConfig>,
    ) -> Fake<S> {
        Fake::start_with(state, handle, Some(config))
    }

    fn start_with(state: S, handle: fn(&Mutex<S>, Request) -> Reply, tls: Tls) -> Fake<S> {
        let state = Arc::new(Mutex::new(state));
        let handler_state = state.clone();
        let handler: Handler = Arc::new(move |request| handle(&handler_state, request));
        Fake {
            state,
            server: Server::start_with(handler, tls),
        }
    }

    /// The state, locked.
    pub fn state(&self) -> MutexGuard<'_, S> {
        self.state.lock().unwrap()
    }
}

impl<S> std::ops::Deref for Fake<S> {
    type Target = Server;

    fn deref(&self) -> &Server {
        &self.server
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn serve(
    listener: std::net::TcpListener,
    handler: Handler,
    load: Arc<Load>,
    mut stopped: oneshot::Receiver<()>,
    tls: Tls,
) {
    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut stopped => break,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                // As the real servers (Go's net/http behind Authentik and 1Password Connect) do:
                // without it, Nagle holds a response written just after a TLS session ticket
                // until the client's delayed ACK, 40 ms on Linux.
                let _ = stream.set_nodelay(true);
                load.connections.fetch_add(1, Ordering::SeqCst);
                let handler = handler.clone();
                let load = load.clone();
                let tls = tls.clone();
                connections.spawn(async move {
                    let service = service_fn(move |request| {
                        let handler = handler.clone();
                        let load = load.clone();
                        async move {
                            let now = load.now.fetch_add(1, Ordering::SeqCst) + 1;
                            load.peak.fetch_max(now, Ordering::SeqCst);
                            let latency = load.latency_micros.load(Ordering::SeqCst);
                            if latency > 0 {
                                tokio::time::sleep(Duration::from_micros(latency)).await;
                            }
                            let answered = answer(&handler, request).await;
                            load.now.fetch_sub(1, Ordering::SeqCst);
                            answered
                        }
                    });
                    #[cfg(feature = "tls")]
                    if let Some(config) = tls {
                        // A client that refuses the certificate ends the handshake: nothing to serve.
                        if let Ok(stream) = tokio_rustls::TlsAcceptor::from(config).accept(stream).await {
                            let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
                        }
                        return;
                    }
                    #[cfg(not(feature = "tls"))]
                    let _ = tls;
                    let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
                });
            }
        }
    }
    connections.abort_all();
}

async fn answer(
    handler: &Handler,
    request: hyper::Request<hyper::body::Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, Dropped> {
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes().to_vec())
        .unwrap_or_default();
    let raw_query = parts.uri.query().unwrap_or("").to_owned();
    let query = raw_query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect();
    let headers = parts
        .headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let request = Request {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query,
        raw_query,
        headers,
        body,
    };
    let response = match handler(request) {
        Reply::Respond(response) => response,
        Reply::Delayed(pause, response) => {
            tokio::time::sleep(pause).await;
            response
        }
        Reply::Drop => return Err(Dropped),
    };
    let mut builder = hyper::Response::builder()
        .status(response.status)
        .header("content-type", response.content_type);
    if let Some(retry_after) = &response.retry_after {
        builder = builder.header("retry-after", retry_after);
    }
    if let Some(location) = &response.location {
        builder = builder.header("location", location);
    }
    Ok(builder.body(Full::new(Bytes::from(response.body))).unwrap())
}

fn decode(text: &str) -> String {
    percent_encoding::percent_decode_str(&text.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}
