//! A TCP relay in front of a real server. By default it passes every byte through unchanged (so
//! request framing reaches the server exactly as the client sent it); a test can watch what the
//! client sends, act on the server at the moment a request starts to arrive ("someone else"
//! creates a group between this tool's listing and its POST), or play a broken proxy that
//! drops request bodies.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;

/// Turns each piece of what one connection's client sends into what the server gets.
pub type Rewrite = Box<dyn FnMut(&[u8]) -> Vec<u8> + Send>;

/// What clients sent through a counting relay.
#[derive(Clone)]
pub struct Traffic {
    pub writes: Arc<AtomicUsize>,
    pub bytes: Arc<AtomicUsize>,
}

pub struct Relay {
    url: String,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl Relay {
    /// Relays `127.0.0.1:<ephemeral>` to `upstream` (`http://host:port`); `rewrite` makes each
    /// connection's rewriter.
    pub fn start(upstream: &str, rewrite: impl Fn() -> Rewrite + Send + Sync + 'static) -> Relay {
        let upstream = upstream
            .strip_prefix("http://")
            .expect("an http:// upstream")
            .to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let accept = std::thread::spawn(move || {
            for client in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = client else { continue };
                let Ok(server) = TcpStream::connect(&upstream) else {
                    continue;
                };
                let (client_read, server_write) =
                    (client.try_clone().unwrap(), server.try_clone().unwrap());
                let requests = rewrite();
                std::thread::spawn(move || pump(client_read, server_write, requests));
                std::thread::spawn(move || pump(server, client, Box::new(|b| b.to_vec())));
            }
        });
        Relay {
            url,
            stop,
            accept: Some(accept),
        }
    }

    /// Passes everything through, showing `tap` each piece the client sends before it is
    /// forwarded.
    pub fn watching(upstream: &str, tap: impl Fn(&[u8]) + Send + Sync + 'static) -> Relay {
        let tap = Arc::new(tap);
        Relay::start(upstream, move || {
            let tap = tap.clone();
            Box::new(move |bytes: &[u8]| {
                tap(bytes);
                bytes.to_vec()
            })
        })
    }

    /// A relay that counts the write requests (anything but GET) that start through it.
    pub fn counting_writes(upstream: &str) -> (Relay, Arc<AtomicUsize>) {
        let (relay, traffic) = Relay::counting(upstream);
        (relay, traffic.writes)
    }

    /// A relay that counts the write requests that start through it, and every byte a client
    /// sent (none: the server was never contacted).
    pub fn counting(upstream: &str) -> (Relay, Traffic) {
        let traffic = Traffic {
            writes: Arc::new(AtomicUsize::new(0)),
            bytes: Arc::new(AtomicUsize::new(0)),
        };
        let counters = traffic.clone();
        let relay = Relay::watching(upstream, move |bytes| {
            counters.bytes.fetch_add(bytes.len(), Ordering::SeqCst);
            if WRITES.iter().any(|method| bytes.starts_with(method)) {
                counters.writes.fetch_add(1, Ordering::SeqCst);
            }
        });
        (relay, traffic)
    }

    /// A broken proxy: the body of every POST and PATCH is dropped on the way, and the request
    /// goes on as a chunked request with an empty body.
    pub fn dropping_bodies(upstream: &str) -> Relay {
        Relay::start(upstream, || {
            let mut swallow = 0usize;
            Box::new(move |bytes: &[u8]| {
                let skipped = swallow.min(bytes.len());
                swallow -= skipped;
                let bytes = &bytes[skipped..];
                let is_write = [&b"POST "[..], b"PATCH "]
                    .iter()
                    .any(|method| bytes.starts_with(method));
                if !is_write {
                    return bytes.to_vec();
                }
                let head_end = bytes
                    .windows(4)
                    .position(|w| w == b"\r\n\r\n")
                    .expect("a request head split across reads; this relay cannot rewrite it");
                let head = String::from_utf8_lossy(&bytes[..head_end]);
                let mut length = 0;
                let mut out = String::new();
                for line in head.split("\r\n") {
                    match line.split_once(':') {
                        Some((name, value)) if name.eq_ignore_ascii_case("content-length") => {
                            length = value.trim().parse().unwrap_or(0);
                        }
                        _ => {
                            out.push_str(line);
                            out.push_str("\r\n");
                        }
                    }
                }
                out.push_str("Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
                let body = &bytes[head_end + 4..];
                let dropped = length.min(body.len());
                swallow = length - dropped;
                let mut forwarded = out.into_bytes();
                forwarded.extend_from_slice(&body[dropped..]);
                forwarded
            })
        })
    }

    /// The origin to give the client.
    pub fn url(&self) -> &str {
        &self.url
    }
}

const WRITES: [&[u8]; 4] = [b"POST ", b"PATCH ", b"PUT ", b"DELETE "];

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.url.trim_start_matches("http://"));
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

/// Copies until either side closes; the connection threads end with their sockets.
fn pump(mut from: TcpStream, mut to: TcpStream, mut rewrite: Rewrite) {
    let mut buffer = vec![0; 64 * 1024];
    loop {
        match from.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if to.write_all(&rewrite(&buffer[..n])).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}
