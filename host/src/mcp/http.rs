//! MCP over streamable HTTP (`tenant-sync mcp --listen ADDR`): rmcp's service behind a front
//! door that checks the bearer token before anything else reads the request. rmcp checks Host
//! and Origin (DNS rebinding) and runs each POST statelessly: no session to lose when a pod
//! restarts, and every answer is plain JSON.

use super::server::Server;
use bytes::Bytes;
use http::{Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, combinators::BoxBody};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use sha2::{Digest, Sha256};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;
use tower_service::Service as _;

/// The path the MCP endpoint answers on; every other path is a 404.
pub const PATH: &str = "/mcp";

/// Shortest bearer token accepted: 128 bits of hex or base64 is at least 22 characters.
pub const MIN_TOKEN_CHARS: usize = 22;

/// A request body larger than this is refused (413) while it streams in: an inline mapping may
/// be 4 MiB, and JSON escaping can double it inside the JSON-RPC request.
const MAX_REQUEST_BYTES: usize = 9 * 1024 * 1024;

/// Most connections open at once; more wait to be accepted. A client holds one or two.
pub const MAX_CONNECTIONS: usize = 64;

/// How long a client may take to send a request's headers, and how long a kept-alive
/// connection may wait for its next request.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Largest request head buffered (hyper's smallest is 8 KiB); MCP requests have a few headers.
const MAX_HEAD_BYTES: usize = 16 * 1024;

/// The token every request must carry, kept as its SHA-256 so that comparing a guess takes the
/// same time whichever byte differs, and the token itself is not held.
#[derive(Clone)]
pub struct BearerToken([u8; 32]);

impl BearerToken {
    /// The token in `text` (a file's content; surrounding whitespace is not part of it).
    pub fn from_text(text: &str) -> Result<BearerToken, String> {
        let token = text.trim();
        if token.chars().count() < MIN_TOKEN_CHARS {
            return Err(format!(
                "the bearer token is {} characters long; use at least {MIN_TOKEN_CHARS} random ones, e.g. `openssl rand -hex 32`",
                token.chars().count()
            ));
        }
        if !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(
                "the bearer token has a character HTTP cannot carry in a header (only visible ASCII); e.g. `openssl rand -hex 32`"
                    .to_owned(),
            );
        }
        Ok(BearerToken(Sha256::digest(token.as_bytes()).into()))
    }

    /// Whether an `Authorization` header value carries this token.
    fn admits(&self, authorization: Option<&[u8]>) -> bool {
        let Some(value) = authorization else {
            return false;
        };
        let Some(given) = value
            .strip_prefix(b"Bearer ")
            .or_else(|| value.strip_prefix(b"bearer "))
        else {
            return false;
        };
        let digest: [u8; 32] = Sha256::digest(given).into();
        digest
            .iter()
            .zip(self.0.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }
}

/// Who may call, beyond the token: the Host names accepted. A request that carries an Origin
/// header (a web page's) is always refused (403): MCP clients are not web pages, and this is
/// what stops a page from reaching a loopback server through DNS rebinding.
pub struct Doors {
    /// Host header values accepted (`name` or `name:port`); empty: rmcp's loopback names.
    pub hosts: Vec<String>,
    pub token: Option<BearerToken>,
}

/// Serves `server` on `listener` until `closed` resolves. Then it accepts no new connection,
/// lets each open one finish the exchange it is in (a call in flight stops writing on the same
/// signal and answers within the stop's grace period), and returns once they are done or
/// `drain` has passed.
pub async fn serve(
    listener: TcpListener,
    server: Server,
    doors: Doors,
    closed: impl Future<Output = ()>,
    drain: Duration,
) {
    let mut config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_sse_keep_alive(None)
        .with_max_request_body_bytes(MAX_REQUEST_BYTES)
        .enforce_origin_validation();
    if !doors.hosts.is_empty() {
        config = config.with_allowed_hosts(doors.hosts);
    }
    let mcp = StreamableHttpService::new(
        move || Ok(server.clone()),
        Arc::new(NeverSessionManager::default()),
        config,
    );
    let token = doors.token.map(Arc::new);
    let (closing, closing_seen) = watch::channel(false);
    let mut connections = JoinSet::new();
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    tokio::pin!(closed);
    loop {
        while connections.try_join_next().is_some() {}
        let accepted = tokio::select! {
            accepted = accept(&listener, &slots) => accepted,
            () = &mut closed => break,
        };
        let Some((stream, slot)) = accepted else {
            // Out of file descriptors, or a connection reset before it was accepted: the next
            // accept may work, but not at once.
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let mcp = mcp.clone();
        let token = token.clone();
        let door = hyper::service::service_fn(move |request: Request<Incoming>| {
            let mut mcp = mcp.clone();
            let token = token.clone();
            async move {
                if let Some(refused) = refusal(&request, token.as_deref()) {
                    return Ok::<_, Infallible>(refused);
                }
                mcp.call(request).await
            }
        });
        let mut closing = closing_seen.clone();
        connections.spawn(async move {
            let _slot = slot;
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .max_buf_size(MAX_HEAD_BYTES)
                .serve_connection(TokioIo::new(stream), door);
            tokio::pin!(connection);
            // A client that goes away mid-request is its own problem, not the server's.
            tokio::select! {
                _ = connection.as_mut() => return,
                _ = closing.wait_for(|closing| *closing) => {}
            }
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        });
    }
    // No new connection from now on (the kernel refuses them: the listener is closed).
    drop(listener);
    let _ = closing.send(true);
    let _ = tokio::time::timeout(drain, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
}

/// The next connection, once fewer than [`MAX_CONNECTIONS`] are open; `None` if accepting failed.
async fn accept(
    listener: &TcpListener,
    slots: &Arc<Semaphore>,
) -> Option<(tokio::net::TcpStream, OwnedSemaphorePermit)> {
    let slot = slots.clone().acquire_owned().await.ok()?;
    let (stream, _peer) = listener.accept().await.ok()?;
    Some((stream, slot))
}

/// The answer a request gets before rmcp sees it: a wrong path, or a missing or wrong token.
fn refusal(
    request: &Request<Incoming>,
    token: Option<&BearerToken>,
) -> Option<Response<BoxBody<Bytes, Infallible>>> {
    if request.uri().path() != PATH {
        return Some(plain(
            StatusCode::NOT_FOUND,
            &format!("Not Found: the MCP endpoint is {PATH}"),
        ));
    }
    let token = token?;
    let authorization = request
        .headers()
        .get(header::AUTHORIZATION)
        .map(|v| v.as_bytes());
    if token.admits(authorization) {
        return None;
    }
    let mut refused = plain(
        StatusCode::UNAUTHORIZED,
        "Unauthorized: send the server's token as Authorization: Bearer <token>",
    );
    let challenge = if authorization.is_some() {
        r#"Bearer realm="tenant-sync", error="invalid_token""#
    } else {
        r#"Bearer realm="tenant-sync""#
    };
    refused.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static(challenge),
    );
    Some(refused)
}

fn plain(status: StatusCode, text: &str) -> Response<BoxBody<Bytes, Infallible>> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .body(Full::new(Bytes::from(text.to_owned())).boxed())
        .expect("a static response is valid")
}

/// Whether clients on other machines can reach `addr`.
pub fn beyond_loopback(addr: &SocketAddr) -> bool {
    !addr.ip().is_loopback()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "3f1c0a9be87d4e2f9a6b5c4d3e2f1a0b";

    #[test]
    fn a_token_admits_only_itself() {
        let token = BearerToken::from_text(&format!("{TOKEN}\n")).unwrap();
        assert!(token.admits(Some(format!("Bearer {TOKEN}").as_bytes())));
        assert!(!token.admits(None));
        assert!(!token.admits(Some(TOKEN.as_bytes())));
        assert!(!token.admits(Some(format!("Bearer {TOKEN}x").as_bytes())));
        assert!(!token.admits(Some(format!("Basic {TOKEN}").as_bytes())));
        assert!(!token.admits(Some(b"Bearer ")));
    }

    #[test]
    fn a_short_or_unprintable_token_is_refused_with_how_to_make_one() {
        let short = BearerToken::from_text("secret").err().unwrap();
        assert!(short.contains("6 characters") && short.contains("openssl rand"));
        assert!(
            !short.contains("secret"),
            "the token is not quoted: {short}"
        );
        let spaced = BearerToken::from_text(&format!("{TOKEN} {TOKEN}"))
            .err()
            .unwrap();
        assert!(spaced.contains("visible ASCII"));
    }
}
