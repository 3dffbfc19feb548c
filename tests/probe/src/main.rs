//! A component that does what a tampered tenant-sync could: it sends, with the Authentik token
//! it was granted, whatever requests `PROBE_REQUESTS` lists and prints one JSON line per request
//! on stderr: `{"Request": "...", "Outcome": "status 200"}` or
//! `"refused ErrorCode::HttpRequestDenied"`. The sandbox tests run it under the host's grants.
//!
//! `PROBE_STDERR`, if set, is written on stderr first, as it is (`{token}` becomes the token).
//! A line is `METHOD URL`, then any `name:value` headers, then optionally a JSON body (from the
//! first `{` to the end of the line), which goes out as `application/json` with its length.

#[cfg(target_family = "wasm")]
fn main() {
    let token = std::env::var("AUTHENTIK_TOKEN").unwrap_or_default();
    let requests = std::env::var("PROBE_REQUESTS").unwrap_or_default();
    // Written raw first (`{token}` replaced by the token): what a tampered component prints.
    if let Ok(text) = std::env::var("PROBE_STDERR") {
        eprint!("{}", text.replace("{token}", &token));
    }
    for line in requests.lines() {
        let (head, body) = match line.find('{') {
            Some(at) => (&line[..at], Some(&line[at..])),
            None => (line, None),
        };
        let mut words = head.split_whitespace();
        let outcome = match (words.next(), words.next()) {
            (Some(method), Some(url)) => {
                let headers: Vec<(&str, &str)> =
                    words.filter_map(|header| header.split_once(':')).collect();
                probe::send(method, url, &headers, body, &token)
            }
            _ => format!("not a request line: {line}"),
        };
        let line = line.replace('\\', "\\\\").replace('"', "\\\"");
        eprintln!(r#"{{"@mt":"Probe","Request":"{line}","Outcome":"{outcome}"}}"#);
    }
}

#[cfg(target_family = "wasm")]
mod probe {
    use wasi::http::outgoing_handler;
    use wasi::http::types::{Fields, Method, OutgoingBody, OutgoingRequest, Scheme};

    pub fn send(
        method: &str,
        url: &str,
        extra_headers: &[(&str, &str)],
        body: Option<&str>,
        token: &str,
    ) -> String {
        let Some(rest) = url.strip_prefix("http://") else {
            return format!("not an http URL: {url}");
        };
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let mut list = vec![(
            "authorization".to_owned(),
            format!("Bearer {token}").into_bytes(),
        )];
        if let Some(body) = body {
            list.push(("content-type".into(), b"application/json".to_vec()));
            list.push(("content-length".into(), body.len().to_string().into_bytes()));
        }
        for (name, value) in extra_headers {
            list.push((name.to_string(), value.as_bytes().to_vec()));
        }
        let headers = match Fields::from_list(&list) {
            Ok(headers) => headers,
            Err(error) => return format!("refused header {error:?}"),
        };
        let request = OutgoingRequest::new(headers);
        let method = match method {
            "GET" => Method::Get,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "PATCH" => Method::Patch,
            "DELETE" => Method::Delete,
            other => Method::Other(other.into()),
        };
        let _ = request.set_method(&method);
        let _ = request.set_scheme(Some(&Scheme::Http));
        let _ = request.set_authority(Some(authority));
        let _ = request.set_path_with_query(Some(if path.is_empty() { "/" } else { path }));
        let outgoing = request.body().expect("the request's body");
        let future = match outgoing_handler::handle(request, None) {
            Ok(future) => future,
            Err(code) => return format!("refused {code:?}"),
        };
        if let Some(bytes) = body {
            let stream = outgoing.write().expect("the body's stream");
            for chunk in bytes.as_bytes().chunks(4096) {
                let _ = stream.blocking_write_and_flush(chunk);
            }
        }
        let _ = OutgoingBody::finish(outgoing, None);
        future.subscribe().block();
        match future.get() {
            Some(Ok(Ok(response))) => {
                // Read whole, as tenant-sync reads every answer before acting on it.
                let status = response.status();
                if let Ok(body) = response.consume()
                    && let Ok(stream) = body.stream()
                {
                    while stream.blocking_read(65536).is_ok() {}
                }
                format!("status {status}")
            }
            Some(Ok(Err(code))) => format!("refused {code:?}"),
            other => format!("no answer {other:?}"),
        }
    }
}

#[cfg(not(target_family = "wasm"))]
fn main() {
    eprintln!(
        "build me for wasm32-wasip2: cargo build --target wasm32-wasip2 -p tenant-sync-probe"
    );
    std::process::exit(2);
}
