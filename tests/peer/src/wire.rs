//! A plain HTTP/1.1 client over a TCP stream, one connection per request, that frames a request
//! body exactly as told. Off-the-shelf clients always send a `Content-Length` when they know the
//! size, which is the one thing these tests must be able to leave out.

use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// How a request body goes on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// `Content-Length: N` and exactly N bytes.
    ContentLength,
    /// `Transfer-Encoding: chunked`, no `Content-Length` (what a wasi-http body without a
    /// `content-length` header becomes).
    Chunked,
}

/// An HTTP answer.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON, or `Null` when it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// Sends `method target` to `origin` (`http://host:port`) and reads the whole answer; a body
/// goes as `application/json`.
pub fn send(
    origin: &str,
    method: &str,
    target: &str,
    token: Option<&str>,
    body: Option<(&[u8], Framing)>,
) -> Answer {
    send_typed(origin, method, target, token, body, "application/json")
}

/// [`send`] with the body labelled `content_type` (`""`: no `Content-Type` header at all).
pub fn send_typed(
    origin: &str,
    method: &str,
    target: &str,
    token: Option<&str>,
    body: Option<(&[u8], Framing)>,
    content_type: &str,
) -> Answer {
    exchange(origin, method, target, token, body, content_type).unwrap_or_else(|e| panic!("{e}"))
}

/// A GET that may find nobody listening: for probing whether a server is up.
pub fn try_get(origin: &str, target: &str, token: Option<&str>) -> Result<Answer, String> {
    exchange(origin, "GET", target, token, None, "")
}

fn exchange(
    origin: &str,
    method: &str,
    target: &str,
    token: Option<&str>,
    body: Option<(&[u8], Framing)>,
    content_type: &str,
) -> Result<Answer, String> {
    let authority = origin
        .strip_prefix("http://")
        .ok_or_else(|| format!("{origin}: only http:// origins are supported here"))?;
    let mut stream =
        TcpStream::connect(authority).map_err(|e| format!("connecting to {origin}: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .map_err(|e| e.to_string())?;
    let mut head = format!(
        "{method} {target} HTTP/1.1\r\nHost: {authority}\r\nAccept: application/json\r\nConnection: close\r\n"
    );
    if let Some(token) = token {
        head.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    let mut request = Vec::new();
    match body {
        None => {
            head.push_str("\r\n");
            request.extend_from_slice(head.as_bytes());
        }
        Some((bytes, framing)) => {
            if !content_type.is_empty() {
                head.push_str(&format!("Content-Type: {content_type}\r\n"));
            }
            match framing {
                Framing::ContentLength => {
                    head.push_str(&format!("Content-Length: {}\r\n\r\n", bytes.len()));
                    request.extend_from_slice(head.as_bytes());
                    request.extend_from_slice(bytes);
                }
                Framing::Chunked => {
                    head.push_str("Transfer-Encoding: chunked\r\n\r\n");
                    request.extend_from_slice(head.as_bytes());
                    request.extend_from_slice(format!("{:x}\r\n", bytes.len()).as_bytes());
                    request.extend_from_slice(bytes);
                    request.extend_from_slice(b"\r\n0\r\n\r\n");
                }
            }
        }
    }
    stream
        .write_all(&request)
        .map_err(|e| format!("sending {method} {target} to {origin}: {e}"))?;
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .map_err(|e| format!("reading the answer to {method} {target} from {origin}: {e}"))?;
    parse(&raw).ok_or_else(|| {
        format!(
            "{method} {target}: not an HTTP answer: {:?}",
            String::from_utf8_lossy(&raw)
        )
    })
}

fn parse(raw: &[u8]) -> Option<Answer> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let rest = &raw[end + 4..];
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.to_ascii_lowercase().contains("chunked"));
    let body = if chunked {
        dechunk(rest)?
    } else {
        rest.to_vec()
    };
    Some(Answer {
        status,
        headers,
        body,
    })
}

fn dechunk(mut rest: &[u8]) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&rest[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Some(body);
        }
        body.extend_from_slice(rest.get(..size)?);
        rest = rest.get(size + 2..)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_chunked_and_plain_answers() {
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
        let answer = parse(chunked).unwrap();
        assert_eq!(
            (answer.status, answer.body.as_slice()),
            (200, &b"abcde"[..])
        );
        let plain = b"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n\r\n{}";
        let answer = parse(plain).unwrap();
        assert_eq!(answer.status, 404);
        assert_eq!(answer.header("content-type"), Some("application/json"));
        assert_eq!(answer.body, b"{}");
    }
}
