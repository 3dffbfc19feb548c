//! The host's outgoing HTTP, used once the sandbox has allowed a request: a pooled client that
//! keeps connections alive per origin and reuses them across the component's requests
//! (wasmtime's default sender opens a new connection, and a new TLS handshake, for each), with
//! TLS verified against the trust the operator configured, the run's timeouts, and errors
//! mapped to wasi:http error codes that say what happened.

use crate::logging::{Level, LogSink};
use crate::trust;
use bytes::Bytes;
use http_body::{Body, Frame};
use http_body_util::BodyExt;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::json;
use std::error::Error as StdError;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;
use tenant_sync_core::certificate;
use tenant_sync_core::defaults;
use tokio::time::{Instant, Sleep};
use wasmtime_wasi_http::{Error as HttpError, WasiBody};

/// Idle keep-alive connections kept per origin: the most writes the component runs at once
/// (its `--concurrency` cap), plus the one that lists.
pub const IDLE_CONNECTIONS_PER_ORIGIN: usize = defaults::MAX_CONCURRENCY as usize + 1;

/// A pooled HTTP/1.1 client for one run's granted origins. Cloning shares the pool.
#[derive(Clone)]
pub struct Transport {
    client: Client<HttpsConnector<HttpConnector>, WasiBody>,
}

impl Transport {
    /// A client whose TCP connects give up after `connect_timeout` and whose https
    /// connections trust `tls`.
    pub fn new(tls: rustls::ClientConfig, connect_timeout: Duration) -> Transport {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(connect_timeout));
        http.set_nodelay(true);
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(IDLE_CONNECTIONS_PER_ORIGIN)
            .pool_idle_timeout(Duration::from_secs(60))
            .build(connector);
        Transport { client }
    }

    /// Plain HTTP only: https requests fail certificate checks (nothing is trusted). For runs
    /// whose granted origins are all http, which then never read a trust store.
    pub fn plain(connect_timeout: Duration) -> Transport {
        Transport::new(
            trust::client_config(rustls::RootCertStore::empty()),
            connect_timeout,
        )
    }

    /// Sends `request` (absolute URI), waiting at most `first_byte` for the answer to begin
    /// (connecting included), `between_bytes` between the pieces of its body, and `whole` for
    /// all of it.
    pub async fn send(
        &self,
        request: http::Request<WasiBody>,
        first_byte: Duration,
        between_bytes: Duration,
        whole: Duration,
        log: &LogSink,
    ) -> Result<http::Response<WasiBody>, HttpError> {
        let deadline = Instant::now() + whole;
        // Named only if the request fails; cloning an Authority shares its bytes.
        let authority = request.uri().authority().cloned();
        let first_byte = first_byte.min(whole);
        let response = match tokio::time::timeout(first_byte, self.client.request(request)).await {
            Err(_) => return Err(HttpError::ConnectionReadTimeout),
            Ok(Err(error)) => {
                let at = authority.as_ref().map_or("", |a| a.as_str());
                return Err(classify(&error, at, log));
            }
            Ok(Ok(response)) => response,
        };
        Ok(response.map(|body| TimedBody::new(body, between_bytes, deadline).boxed_unsync()))
    }
}

/// What a failed request means, as the wasi:http error the component understands. A
/// certificate the run does not trust is also an Error event naming the host, the reason and
/// what to pass, since the error code has no room for that.
fn classify(
    error: &hyper_util::client::legacy::Error,
    authority: &str,
    log: &LogSink,
) -> HttpError {
    let causes = causes(error);
    if let Some(tls) = causes
        .iter()
        .find_map(|c| c.downcast_ref::<rustls::Error>())
    {
        return tls_error(tls, authority, log);
    }
    for io in causes
        .iter()
        .filter_map(|c| c.downcast_ref::<std::io::Error>())
    {
        match io.kind() {
            std::io::ErrorKind::ConnectionRefused => return HttpError::ConnectionRefused,
            std::io::ErrorKind::TimedOut => return HttpError::ConnectionTimeout,
            _ => {}
        }
    }
    let text = causes
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(": ");
    // hyper-util's connector says which step failed only in its message.
    if error.is_connect() && text.contains("dns error") {
        return HttpError::DnsError {
            rcode: None,
            info_code: None,
        };
    }
    if error.is_connect() {
        return HttpError::InternalError(Some(format!("connecting to {authority}: {text}")));
    }
    HttpError::InternalError(Some(text))
}

/// Every error behind `error`, outermost first. An `io::Error` hides what it wraps from
/// `source()` (and TLS failures arrive as an io::Error inside an io::Error), so it is opened too.
fn causes<'e>(error: &'e (dyn StdError + 'static)) -> Vec<&'e (dyn StdError + 'static)> {
    let mut found = Vec::new();
    let mut next = Some(error);
    while let Some(cause) = next {
        found.push(cause);
        next = match cause.downcast_ref::<std::io::Error>() {
            Some(io) => io.get_ref().map(|inner| inner as &(dyn StdError + 'static)),
            None => cause.source(),
        };
    }
    found
}

fn tls_error(error: &rustls::Error, authority: &str, log: &LogSink) -> HttpError {
    match error {
        rustls::Error::InvalidCertificate(problem) => {
            log.event(
                Level::Error,
                certificate::EVENT,
                &[
                    ("Authority", json!(authority)),
                    ("Reason", json!(trust::describe(problem))),
                    (
                        "Advice",
                        json!(certificate::advice(certificate::Host::Wasmtime)),
                    ),
                ],
            );
            HttpError::TlsCertificateError
        }
        rustls::Error::AlertReceived(alert) => HttpError::TlsAlertReceived {
            alert_id: Some(u8::from(*alert)),
            alert_message: Some(format!("{alert:?}")),
        },
        _ => HttpError::TlsProtocolError,
    }
}

/// A response body that fails with `ConnectionReadTimeout` when the next piece takes longer
/// than the limit, or the whole exchange outlasts its deadline.
struct TimedBody {
    body: hyper::body::Incoming,
    limit: Duration,
    timer: Pin<Box<Sleep>>,
    deadline: Pin<Box<Sleep>>,
}

impl TimedBody {
    fn new(body: hyper::body::Incoming, limit: Duration, deadline: Instant) -> TimedBody {
        TimedBody {
            body,
            limit,
            timer: Box::pin(tokio::time::sleep(limit)),
            deadline: Box::pin(tokio::time::sleep_until(deadline)),
        }
    }
}

impl Body for TimedBody {
    type Data = Bytes;
    type Error = HttpError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, HttpError>>> {
        if self.deadline.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Some(Err(HttpError::ConnectionReadTimeout)));
        }
        match Pin::new(&mut self.body).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                let next = Instant::now() + self.limit;
                self.timer.as_mut().reset(next);
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(error))) => Poll::Ready(Some(Err(HttpError::from(error)))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => {
                ready!(self.timer.as_mut().poll(cx));
                Poll::Ready(Some(Err(HttpError::ConnectionReadTimeout)))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}
