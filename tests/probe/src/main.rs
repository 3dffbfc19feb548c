//! A component that does what a tampered tenant-sync could: it sends, with the Authentik token
//! it was granted, whatever requests `PROBE_REQUESTS` lists (`METHOD URL` per line) and prints
//! one JSON line per request on stderr: `{"Request": "...", "Outcome": "status 200"}` or
//! `"refused ErrorCode::HttpRequestDenied"`. The sandbox tests run it under the host's grants.

#[cfg(target_family = "wasm")]
fn main() {
    let token = std::env::var("AUTHENTIK_TOKEN").unwrap_or_default();
    let requests = std::env::var("PROBE_REQUESTS").unwrap_or_default();
    for line in requests.lines() {
        let outcome = match line.split_once(' ') {
            Some((method, url)) => probe::send(method, url, &token),
            None => format!("not a request line: {line}"),
        };
        eprintln!(r#"{{"@mt":"Probe","Request":"{line}","Outcome":"{outcome}"}}"#);
    }
}

#[cfg(target_family = "wasm")]
mod probe {
    use wasi::http::outgoing_handler;
    use wasi::http::types::{Fields, Method, OutgoingBody, OutgoingRequest, Scheme};

    pub fn send(method: &str, url: &str, token: &str) -> String {
        let Some(rest) = url.strip_prefix("http://") else {
            return format!("not an http URL: {url}");
        };
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let headers = Fields::from_list(&[(
            "authorization".into(),
            format!("Bearer {token}").into_bytes(),
        )])
        .expect("a valid header");
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
        let body = request.body().expect("the request's body");
        let future = match outgoing_handler::handle(request, None) {
            Ok(future) => future,
            Err(code) => return format!("refused {code:?}"),
        };
        let _ = OutgoingBody::finish(body, None);
        future.subscribe().block();
        match future.get() {
            Some(Ok(Ok(response))) => format!("status {}", response.status()),
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
