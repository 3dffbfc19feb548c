//! A small blocking HTTP client over wasi:http/outgoing-handler, one per service. It bounds what
//! it reads, counts its requests for the report, and never puts the token in a message.

use crate::sync_core::endpoint::Endpoint;
use std::cell::Cell;
use wasi::http::outgoing_handler;
use wasi::http::types::{ErrorCode, Fields, Method, OutgoingBody, OutgoingRequest, Scheme};
use wasi::io::streams::{InputStream, OutputStream, StreamError};

/// Responses larger than this are refused: the biggest legitimate one is a page of 100 groups.
pub const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;
/// wasi:io output streams accept at most 4096 bytes per blocking write.
const WRITE_CHUNK: usize = 4096;
const READ_CHUNK: u64 = 64 * 1024;
const USER_AGENT: &str = concat!("tenant-sync/", env!("CARGO_PKG_VERSION"));

pub struct Response {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body, if the server said it is JSON; anything else (an HTML error page from a proxy,
    /// say) is not an API answer.
    pub fn json_body(&self) -> Result<&[u8], String> {
        match &self.content_type {
            Some(t) if t.to_ascii_lowercase().contains("json") => Ok(&self.body),
            other => Err(format!(
                "expected a JSON answer, got {} (HTTP {}); is the URL pointing at the API?",
                other.as_deref().unwrap_or("no content type"),
                self.status
            )),
        }
    }
}

pub struct Client {
    endpoint: Endpoint,
    authorization: String,
    requests: Cell<u32>,
}

impl Client {
    pub fn new(endpoint: Endpoint, token: &str) -> Client {
        Client {
            endpoint,
            authorization: format!("Bearer {token}"),
            requests: Cell::new(0),
        }
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    pub fn requests(&self) -> u32 {
        self.requests.get()
    }

    pub fn get(&self, target: &str) -> Result<Response, String> {
        self.send(Method::Get, target, None)
    }

    pub fn post_json(&self, target: &str, body: &serde_json::Value) -> Result<Response, String> {
        self.send(Method::Post, target, Some(body.to_string().into_bytes()))
    }

    pub fn patch_json(&self, target: &str, body: &serde_json::Value) -> Result<Response, String> {
        self.send(Method::Patch, target, Some(body.to_string().into_bytes()))
    }

    /// Sends one request and reads the whole answer. `Err` means no HTTP answer was read: the
    /// message says why, in words.
    fn send(
        &self,
        method: Method,
        target: &str,
        body: Option<Vec<u8>>,
    ) -> Result<Response, String> {
        self.requests.set(self.requests.get() + 1);
        let mut headers: Vec<(String, Vec<u8>)> = vec![
            (
                "authorization".into(),
                self.authorization.clone().into_bytes(),
            ),
            ("accept".into(), b"application/json".to_vec()),
            ("user-agent".into(), USER_AGENT.as_bytes().to_vec()),
        ];
        if body.is_some() {
            headers.push(("content-type".into(), b"application/json".to_vec()));
        }
        // A token with characters a header cannot carry fails here; say so without echoing it.
        let fields = Fields::from_list(&headers)
            .map_err(|_| "the token contains characters that cannot be sent in an HTTP header; check for stray newlines or quotes".to_owned())?;
        let request = OutgoingRequest::new(fields);
        let scheme = if self.endpoint.https {
            Scheme::Https
        } else {
            Scheme::Http
        };
        let target = self.endpoint.target(target);
        request
            .set_method(&method)
            .and(request.set_scheme(Some(&scheme)))
            .and(request.set_authority(Some(&self.endpoint.authority)))
            .and(request.set_path_with_query(Some(&target)))
            .map_err(|()| format!("the request target {target:?} is not valid"))?;
        let outgoing_body = request
            .body()
            .map_err(|()| "request body unavailable".to_owned())?;
        let future = outgoing_handler::handle(request, None).map_err(|code| describe(&code))?;
        {
            let stream = outgoing_body
                .write()
                .map_err(|()| "request body unavailable".to_owned())?;
            if let Some(bytes) = &body {
                write_all(&stream, bytes)
                    .map_err(|e| format!("sending the request body failed: {e}"))?;
            }
        }
        OutgoingBody::finish(outgoing_body, None).map_err(|code| describe(&code))?;

        future.subscribe().block();
        let response = match future.get() {
            Some(Ok(Ok(response))) => response,
            Some(Ok(Err(code))) => return Err(describe(&code)),
            Some(Err(())) | None => return Err("the HTTP response was lost by the host".to_owned()),
        };
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .first()
            .map(|v| String::from_utf8_lossy(v).into_owned());
        let incoming = response
            .consume()
            .map_err(|()| "response body unavailable".to_owned())?;
        let body = {
            let stream = incoming
                .stream()
                .map_err(|()| "response body unavailable".to_owned())?;
            read_bounded(&stream, MAX_RESPONSE_BYTES)?
        };
        drop(incoming);
        Ok(Response {
            status,
            content_type,
            body,
        })
    }
}

fn read_bounded(stream: &InputStream, limit: usize) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    loop {
        match stream.blocking_read(READ_CHUNK) {
            Ok(chunk) => {
                if body.len() + chunk.len() > limit {
                    return Err(format!(
                        "the response is larger than {} MiB; refusing to read it",
                        limit / (1024 * 1024)
                    ));
                }
                body.extend_from_slice(&chunk);
            }
            Err(StreamError::Closed) => return Ok(body),
            Err(StreamError::LastOperationFailed(e)) => {
                return Err(format!(
                    "the connection failed while reading the response: {}",
                    e.to_debug_string()
                ));
            }
        }
    }
}

/// Writes everything, in the chunk size wasi:io streams accept.
pub fn write_all(stream: &OutputStream, bytes: &[u8]) -> Result<(), String> {
    for chunk in bytes.chunks(WRITE_CHUNK) {
        stream
            .blocking_write_and_flush(chunk)
            .map_err(|e| match e {
                StreamError::Closed => "stream closed".to_owned(),
                StreamError::LastOperationFailed(e) => e.to_debug_string(),
            })?;
    }
    Ok(())
}

/// Transport errors in the words an operator needs.
fn describe(code: &ErrorCode) -> String {
    match code {
        ErrorCode::HttpRequestDenied => {
            "the sandbox refused the request (HttpRequestDenied): this origin was not granted"
                .to_owned()
        }
        ErrorCode::ConnectionRefused => {
            "connection refused; is the service running and the URL right?".to_owned()
        }
        ErrorCode::ConnectionTimeout => "timed out connecting".to_owned(),
        ErrorCode::ConnectionReadTimeout | ErrorCode::HttpResponseTimeout => {
            "timed out waiting for the response".to_owned()
        }
        ErrorCode::ConnectionTerminated => {
            "the connection was closed before the response was complete".to_owned()
        }
        ErrorCode::DnsError(_) => "the host name could not be resolved".to_owned(),
        ErrorCode::DnsTimeout => "timed out resolving the host name".to_owned(),
        ErrorCode::TlsCertificateError => {
            "the server's TLS certificate was not accepted".to_owned()
        }
        ErrorCode::HttpResponseIncomplete => "the response ended early".to_owned(),
        other => format!("HTTP transport error: {other:?}"),
    }
}
