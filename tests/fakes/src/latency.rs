//! A TCP proxy that puts a network's round trip between a client and a fake: every piece of data
//! arrives half a round trip after it was sent, in each direction, and a new connection's first
//! bytes wait one more round trip (the TCP handshake a real network costs). It works below TLS
//! and HTTP, so connection reuse and handshakes cost what they cost across a network.

use std::net::SocketAddr;
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

pub struct LatencyProxy {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl LatencyProxy {
    /// Listens on 127.0.0.1 (ephemeral port) and relays to `upstream` with `rtt`.
    pub fn start(upstream: SocketAddr, rtt: Duration) -> LatencyProxy {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, mut stopped) = oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = TcpListener::from_std(listener).unwrap();
                let mut connections = tokio::task::JoinSet::new();
                loop {
                    tokio::select! {
                        _ = &mut stopped => break,
                        accepted = listener.accept() => {
                            let Ok((client, _)) = accepted else { continue };
                            connections.spawn(relay(client, upstream, rtt));
                        }
                    }
                }
                connections.abort_all();
            });
        });
        LatencyProxy {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }
}

impl Drop for LatencyProxy {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn relay(client: TcpStream, upstream: SocketAddr, rtt: Duration) {
    let Ok(server) = TcpStream::connect(upstream).await else {
        return;
    };
    let _ = (client.set_nodelay(true), server.set_nodelay(true));
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    tokio::join!(
        delayed(client_read, server_write, rtt / 2, rtt),
        delayed(server_read, client_write, rtt / 2, Duration::ZERO),
    );
}

/// Copies `from` to `to`, each piece `one_way` after it was read; the first piece waits
/// `first_extra` more. Order is kept: pieces are written in the order they were read.
async fn delayed(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    one_way: Duration,
    first_extra: Duration,
) {
    let (pieces, mut due) = mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let read = async move {
        let mut buffer = vec![0; 64 * 1024];
        let mut extra = first_extra;
        while let Ok(n) = from.read(&mut buffer).await {
            if n == 0
                || pieces
                    .send((Instant::now() + one_way + extra, buffer[..n].to_vec()))
                    .is_err()
            {
                break;
            }
            extra = Duration::ZERO;
        }
    };
    let write = async move {
        while let Some((at, piece)) = due.recv().await {
            tokio::time::sleep_until(at).await;
            if to.write_all(&piece).await.is_err() {
                return;
            }
        }
        let _ = to.shutdown().await;
    };
    tokio::join!(read, write);
}
