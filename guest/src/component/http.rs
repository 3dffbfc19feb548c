//! A small async HTTP client over wasi:http/outgoing-handler, one per service: requests wait on
//! their pollables through wstd's reactor, so several can be in flight at once. It bounds what
//! it reads, retries idempotent requests under the shared policy, counts its requests for the
//! report, and never puts the token in a message.

use super::{log, stream};
use serde_json::json;
use std::cell::Cell;
use std::time::{Duration, SystemTime};
use tenant_sync_core::certificate;
use tenant_sync_core::endpoint::Endpoint;
use tenant_sync_core::retry::{self, Outage, Policy, ServerFault, Trouble};
use tenant_sync_core::untrusted::excerpt;
use wasi::clocks::{monotonic_clock, wall_clock};
use wasi::http::outgoing_handler;
use wasi::http::types::{
    ErrorCode, Fields, IncomingResponse, Method, OutgoingBody, OutgoingRequest, Scheme,
};
use wasi::io::streams::{InputStream, StreamError};
use wstd::runtime::AsyncPollable;

const READ_CHUNK: u64 = 64 * 1024;
const USER_AGENT: &str = concat!("tenant-sync/", env!("CARGO_PKG_VERSION"));

pub struct Response {
    pub status: u16,
    pub content_type: Option<String>,
    pub retry_after: Option<String>,
    /// Where a redirect points (never followed).
    pub location: Option<String>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    pub fn is_redirect(&self) -> bool {
        (300..400).contains(&self.status)
    }

    /// The server fault this answer is, if it is one (`expects_json`: an answer of the JSON
    /// API, not a file's content).
    pub fn fault(&self, expects_json: bool) -> Option<ServerFault> {
        retry::server_fault(
            self.status,
            self.content_type.as_deref(),
            &self.body,
            expects_json,
        )
    }

    /// What retrying needs to know about this answer, a `fault`.
    pub fn trouble(&self, fault: ServerFault) -> Trouble {
        let now = wall_clock::now();
        let now = SystemTime::UNIX_EPOCH + Duration::new(now.seconds, now.nanoseconds);
        Trouble::Fault {
            fault,
            retry_after: self
                .retry_after
                .as_deref()
                .and_then(|v| retry::parse_retry_after(v, now)),
        }
    }

    /// The body, if the server said it is JSON; anything else (an HTML error page from a proxy,
    /// say) is not an API answer.
    pub fn json_body(&self) -> Result<&[u8], String> {
        match &self.content_type {
            Some(_) if retry::is_json(self.content_type.as_deref()) => Ok(&self.body),
            other => Err(format!(
                "expected a JSON answer, got {} (HTTP {}); is the URL pointing at the API?",
                other.as_deref().map_or("no content type".into(), excerpt),
                self.status
            )),
        }
    }
}

/// A request that got no HTTP answer.
pub struct NoAnswer {
    pub trouble: Trouble,
    pub message: String,
}

impl NoAnswer {
    /// Whether nothing of the call left the component: the host refused its first request.
    pub fn sent_nothing(&self) -> bool {
        self.trouble == Trouble::Refused
    }

    /// This, as the result of the `attempt`th try: after the first, earlier attempts went
    /// out, so the call did send something.
    fn after_attempts(self, attempt: u32) -> NoAnswer {
        match attempt {
            1 => self,
            _ => NoAnswer {
                trouble: match self.trouble {
                    Trouble::Refused => Trouble::Denied,
                    other => other,
                },
                message: format!("{} (after {attempt} attempts)", self.message),
            },
        }
    }
}

impl From<NoAnswer> for String {
    fn from(no_answer: NoAnswer) -> String {
        no_answer.message
    }
}

/// One attempt of a retried call.
pub enum Attempt<T> {
    /// The call's result.
    Settled(T),
    /// Worth another attempt, if the policy allows one; `given_up` is the result if not.
    Again {
        trouble: Trouble,
        reason: String,
        given_up: T,
    },
}

pub struct Client {
    endpoint: Endpoint,
    authorization: String,
    requests: Cell<u32>,
    policy: Policy,
    /// Shared by the reads, and by the writes, to this service (see `retry::Outage`): a
    /// database that reads but does not write must not have its writes' outage ended by reads.
    outages: [Cell<Outage>; 2],
    max_response_bytes: usize,
}

impl Client {
    pub fn new(
        endpoint: Endpoint,
        token: &str,
        max_response_bytes: usize,
        policy: Policy,
    ) -> Client {
        Client {
            endpoint,
            authorization: format!("Bearer {token}"),
            requests: Cell::new(0),
            policy,
            outages: [Cell::new(Outage::default()), Cell::new(Outage::default())],
            max_response_bytes,
        }
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    pub fn requests(&self) -> u32 {
        self.requests.get()
    }

    /// A GET of the JSON API, retried on transient failures and server faults. Once retries
    /// are exhausted the last answer is returned whatever its status; `Err` means no answer at
    /// all.
    pub async fn get(&self, target: &str) -> Result<Response, NoAnswer> {
        self.idempotent(Method::Get, target, None, true).await
    }

    /// A GET of a file's content (not JSON), retried like `get`.
    pub async fn get_content(&self, target: &str) -> Result<Response, NoAnswer> {
        self.idempotent(Method::Get, target, None, false).await
    }

    /// One POST attempt: creating is not idempotent, so the caller decides what a failure means.
    pub async fn post_json_once(
        &self,
        target: &str,
        body: &serde_json::Value,
    ) -> Result<Response, NoAnswer> {
        let body = body.to_string();
        self.send(&Method::Post, target, Some(body.as_bytes()), true)
            .await
    }

    /// One PATCH attempt: the caller re-reads the group before another, since what it merged
    /// into may have changed during an outage.
    pub async fn patch_json_once(
        &self,
        target: &str,
        body: &serde_json::Value,
    ) -> Result<Response, NoAnswer> {
        let body = body.to_string();
        self.send(&Method::Patch, target, Some(body.as_bytes()), true)
            .await
    }

    async fn idempotent(
        &self,
        method: Method,
        target: &str,
        body: Option<Vec<u8>>,
        expects_json: bool,
    ) -> Result<Response, NoAnswer> {
        self.retrying(&method, target, async |attempt| {
            match self
                .send(&method, target, body.as_deref(), expects_json)
                .await
            {
                Ok(response) => match response.fault(expects_json) {
                    None => Attempt::Settled(Ok(response)),
                    Some(fault) => Attempt::Again {
                        trouble: response.trouble(fault),
                        reason: fault.to_string(),
                        given_up: Ok(response),
                    },
                },
                Err(no_answer) => Attempt::Again {
                    trouble: no_answer.trouble.clone(),
                    reason: no_answer.message.clone(),
                    given_up: Err(no_answer.after_attempts(attempt)),
                },
            }
        })
        .await
    }

    /// The one retry loop: runs `attempt` (given its number, from 1) until it settles or the
    /// retry policy gives up, waiting between attempts.
    pub async fn retrying<T>(
        &self,
        method: &Method,
        target: &str,
        mut attempt: impl AsyncFnMut(u32) -> Attempt<T>,
    ) -> T {
        let mut number = 0;
        let mut first_failure = None;
        loop {
            number += 1;
            match attempt(number).await {
                Attempt::Settled(value) => return value,
                Attempt::Again {
                    trouble,
                    reason,
                    given_up,
                } => {
                    let now = Duration::from_nanos(monotonic_clock::now());
                    let since = *first_failure.get_or_insert(now);
                    if !self
                        .back_off(method, target, &trouble, number, since, &reason)
                        .await
                    {
                        return given_up;
                    }
                }
            }
        }
    }

    /// Waits before the next attempt, with a Warning event, if the policy allows one more
    /// within the outage's budget.
    async fn back_off(
        &self,
        method: &Method,
        target: &str,
        trouble: &Trouble,
        failed_attempt: u32,
        first_failure: Duration,
        reason: &str,
    ) -> bool {
        let now = Duration::from_nanos(monotonic_clock::now());
        let lasted = self.with_outage(method, |outage| retry::lasted(outage, first_failure, now));
        let jitter =
            (wasi::random::insecure::get_insecure_random_u64() >> 11) as f64 / (1u64 << 53) as f64;
        let Some(delay) = retry::next_delay(&self.policy, trouble, failed_attempt, lasted, jitter)
        else {
            return false;
        };
        log::warning(
            "Retrying {Method} {Origin}{Path} in {DelayMs} ms: attempt {Attempt} failed: {Reason}; the service has been failing for {OutageSecs} s of the {BudgetSecs} s a run waits",
            &[
                ("Method", json!(method_name(method))),
                ("Origin", json!(self.endpoint.to_string())),
                ("Path", json!(self.endpoint.target(target))),
                ("DelayMs", json!(delay.as_millis() as u64)),
                ("Attempt", json!(failed_attempt)),
                ("Reason", json!(reason)),
                ("OutageSecs", json!(lasted.as_secs())),
                ("BudgetSecs", json!(self.policy.budget.as_secs())),
            ],
        );
        if !delay.is_zero() {
            wstd::task::sleep(delay.into()).await;
        }
        true
    }

    /// `change` applied to the outage state `method`'s requests share: reads', or writes'.
    fn with_outage<R>(&self, method: &Method, change: impl FnOnce(&mut Outage) -> R) -> R {
        let shared = &self.outages[usize::from(!matches!(method, Method::Get))];
        let mut outage = shared.get();
        let result = change(&mut outage);
        shared.set(outage);
        result
    }

    /// Sends one request and reads the whole answer. `Err` means no HTTP answer was read.
    /// `expects_json`: an answer of the JSON API (see `Response::fault`).
    async fn send(
        &self,
        method: &Method,
        target: &str,
        body: Option<&[u8]>,
        expects_json: bool,
    ) -> Result<Response, NoAnswer> {
        self.requests.set(self.requests.get() + 1);
        let request = self.request(method, target, body)?;
        let outgoing_body = request
            .body()
            .map_err(|()| local("request body unavailable".to_owned()))?;
        let transport = |code: &ErrorCode| transport(code, &self.endpoint.host_port());
        let future = outgoing_handler::handle(request, None).map_err(|code| transport(&code))?;
        let sent = {
            let stream = outgoing_body
                .write()
                .map_err(|()| local("request body unavailable".to_owned()))?;
            match body {
                Some(bytes) => stream::write_all(&stream, bytes),
                None => Ok(()),
            }
        };
        let finished = OutgoingBody::finish(outgoing_body, None);

        // Await readiness through the reactor, so other requests progress meanwhile. A host that
        // refuses the request closes its body first: the answer says why, so it is awaited even
        // when writing the body failed.
        AsyncPollable::new(future.subscribe()).wait_for().await;
        let response = match future.get() {
            Some(Ok(Ok(response))) => response,
            Some(Ok(Err(code))) => return Err(transport(&code)),
            Some(Err(())) | None => {
                return Err(local("the HTTP response was lost by the host".to_owned()));
            }
        };
        sent.map_err(|e| NoAnswer {
            trouble: Trouble::Transport,
            message: format!("sending the request body failed: {e}"),
        })?;
        finished.map_err(|code| transport(&code))?;
        let response = self.read(response).await?;
        // The server answered as the API does: an outage of this kind of request is over.
        if response.fault(expects_json).is_none() {
            self.with_outage(method, Outage::answered);
        }
        Ok(response)
    }

    /// The request: its target under the endpoint, the token, and a JSON body's type and length.
    fn request(
        &self,
        method: &Method,
        target: &str,
        body: Option<&[u8]>,
    ) -> Result<OutgoingRequest, NoAnswer> {
        let mut headers: Vec<(String, Vec<u8>)> = vec![
            (
                "authorization".into(),
                self.authorization.clone().into_bytes(),
            ),
            ("accept".into(), b"application/json".to_vec()),
            ("user-agent".into(), USER_AGENT.as_bytes().to_vec()),
        ];
        // A body without `content-length` goes out chunked, and Django REST framework (Authentik)
        // reads a chunked body as empty: a POST then fails and a PATCH changes nothing. The body
        // is complete before sending, so its length is always known.
        if let Some(bytes) = body {
            headers.push(("content-type".into(), b"application/json".to_vec()));
            headers.push((
                "content-length".into(),
                bytes.len().to_string().into_bytes(),
            ));
        }
        // A token with characters a header cannot carry fails here; say so without echoing it.
        let fields = Fields::from_list(&headers).map_err(|_| {
            local("the token contains characters that cannot be sent in an HTTP header; check for stray newlines or quotes".to_owned())
        })?;
        let request = OutgoingRequest::new(fields);
        let scheme = if self.endpoint.https {
            Scheme::Https
        } else {
            Scheme::Http
        };
        let target = self.endpoint.target(target);
        request
            .set_method(method)
            .and(request.set_scheme(Some(&scheme)))
            .and(request.set_authority(Some(&self.endpoint.authority)))
            .and(request.set_path_with_query(Some(&target)))
            .map_err(|()| local(format!("the request target {target:?} is not valid")))?;
        Ok(request)
    }

    /// The answer: the headers the client acts on, and the whole body within the size limit.
    async fn read(&self, response: IncomingResponse) -> Result<Response, NoAnswer> {
        let status = response.status();
        let headers = response.headers();
        let header = |name: &str| {
            headers
                .get(name)
                .first()
                .map(|v| String::from_utf8_lossy(v).into_owned())
        };
        let (content_type, retry_after, location) = (
            header("content-type"),
            header("retry-after"),
            header("location"),
        );
        drop(headers);
        let incoming = response
            .consume()
            .map_err(|()| local("response body unavailable".to_owned()))?;
        let body = {
            let stream = incoming
                .stream()
                .map_err(|()| local("response body unavailable".to_owned()))?;
            read_bounded(&stream, self.max_response_bytes).await?
        };
        drop(incoming);
        Ok(Response {
            status,
            content_type,
            retry_after,
            location,
            body,
        })
    }
}

/// A request that failed here, before or without a server's answer: not worth a retry.
fn local(message: String) -> NoAnswer {
    NoAnswer {
        trouble: Trouble::Denied,
        message,
    }
}

async fn read_bounded(stream: &InputStream, limit: usize) -> Result<Vec<u8>, NoAnswer> {
    let mut body = Vec::new();
    loop {
        match stream.read(READ_CHUNK) {
            // Nothing buffered yet: wait for more without blocking the other requests.
            Ok(chunk) if chunk.is_empty() => {
                AsyncPollable::new(stream.subscribe()).wait_for().await
            }
            Ok(chunk) => {
                if body.len() + chunk.len() > limit {
                    return Err(NoAnswer {
                        // A server that sends too much will do so again: not worth a retry.
                        trouble: Trouble::Denied,
                        message: format!(
                            "the response is larger than the {limit}-byte limit; refusing to read it"
                        ),
                    });
                }
                body.extend_from_slice(&chunk);
            }
            Err(StreamError::Closed) => return Ok(body),
            Err(StreamError::LastOperationFailed(e)) => {
                return Err(NoAnswer {
                    trouble: Trouble::Transport,
                    message: format!(
                        "the connection failed while reading the response: {}",
                        e.to_debug_string()
                    ),
                });
            }
        }
    }
}

fn method_name(method: &Method) -> &str {
    match method {
        Method::Get => "GET",
        Method::Post => "POST",
        Method::Patch => "PATCH",
        Method::Put => "PUT",
        Method::Delete => "DELETE",
        Method::Head => "HEAD",
        Method::Options => "OPTIONS",
        Method::Connect => "CONNECT",
        Method::Trace => "TRACE",
        Method::Other(other) => other,
    }
}

/// Transport errors in the words an operator needs (naming `host:port`), and whether retrying
/// may help.
fn transport(code: &ErrorCode, at: &str) -> NoAnswer {
    let (trouble, message) = match code {
        ErrorCode::HttpRequestDenied => (
            Trouble::Refused,
            format!(
                "the host refused to send the request to {at} (HttpRequestDenied): it is not granted, or the run is being stopped"
            ),
        ),
        ErrorCode::ConnectionRefused => (
            Trouble::Transport,
            format!(
                "{at} refused the connection; is the service running there, and is the URL right?"
            ),
        ),
        ErrorCode::ConnectionTimeout => {
            (Trouble::Transport, format!("timed out connecting to {at}"))
        }
        ErrorCode::ConnectionReadTimeout | ErrorCode::HttpResponseTimeout => (
            Trouble::Transport,
            format!("timed out waiting for {at} to answer"),
        ),
        ErrorCode::ConnectionTerminated => (
            Trouble::Transport,
            format!("{at} closed the connection before the response was complete"),
        ),
        ErrorCode::HttpResponseIncomplete => (
            Trouble::Transport,
            format!("the response from {at} ended early"),
        ),
        ErrorCode::DnsError(_) => (
            Trouble::Transport,
            format!("the host name of {at} could not be resolved; check the URL"),
        ),
        ErrorCode::DnsTimeout => (
            Trouble::Transport,
            format!("timed out resolving the host name of {at}"),
        ),
        // Neither heals by itself: retrying only delays the message.
        ErrorCode::TlsCertificateError => (Trouble::Denied, certificate::component_message(at)),
        ErrorCode::TlsProtocolError | ErrorCode::TlsAlertReceived(_) => (
            Trouble::Denied,
            format!(
                "TLS with {at} failed ({code:?}); does that port speak https, and is the URL's scheme right?"
            ),
        ),
        other => (
            Trouble::Transport,
            format!("HTTP transport error with {at}: {other:?}"),
        ),
    };
    NoAnswer { trouble, message }
}
