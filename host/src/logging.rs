//! Where CLEF lines go: the process's stderr (the CLI) or a buffer (tests). The component's
//! stderr is wired to the same sink, so host and guest events form one stream.

use serde_json::Value;
use std::io::Write;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::SystemTime;
use tenant_sync_guest::sync_core::clef;
pub use tenant_sync_guest::sync_core::clef::Level;
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};

#[derive(Clone, Default)]
pub struct LogSink {
    /// `None`: the process's stderr.
    buffer: Option<Arc<Mutex<Vec<u8>>>>,
    /// Whether host Debug events are written (`--verbose`).
    debug: Arc<AtomicBool>,
}

impl LogSink {
    /// The process's stderr, without Debug events until `set_debug(true)`.
    pub fn stderr() -> LogSink {
        LogSink::default()
    }

    /// A buffer that keeps every event, Debug included (tests, the demo).
    pub fn memory() -> LogSink {
        LogSink {
            buffer: Some(Arc::default()),
            debug: Arc::new(AtomicBool::new(true)),
        }
    }

    pub fn set_debug(&self, on: bool) {
        self.debug.store(on, Ordering::Relaxed);
    }

    /// Whether Debug events are written, for events that cost something to gather.
    pub fn debug(&self) -> bool {
        self.debug.load(Ordering::Relaxed)
    }

    /// Writes one host event.
    pub fn event(&self, level: Level, template: &str, properties: &[(&str, Value)]) {
        if level == Level::Debug && !self.debug.load(Ordering::Relaxed) {
            return;
        }
        let since_epoch = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        let mut line = clef::render(&clef::timestamp(since_epoch), level, template, properties);
        line.push('\n');
        match &self.buffer {
            Some(buffer) => buffer.lock().unwrap().extend_from_slice(line.as_bytes()),
            None => {
                let _ = std::io::stderr().lock().write_all(line.as_bytes());
            }
        }
    }

    /// Everything written so far (tests only; empty for stderr).
    pub fn contents(&self) -> String {
        self.buffer
            .as_ref()
            .map(|b| String::from_utf8_lossy(&b.lock().unwrap()).into_owned())
            .unwrap_or_default()
    }
}

impl IsTerminal for LogSink {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for LogSink {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        match &self.buffer {
            Some(buffer) => Box::new(BufferWriter(buffer.clone())),
            None => Box::new(tokio::io::stderr()),
        }
    }
}

struct BufferWriter(Arc<Mutex<Vec<u8>>>);

impl AsyncWrite for BufferWriter {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
