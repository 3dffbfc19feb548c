//! Where CLEF lines go: the process's stderr (the CLI) or a buffer (tests). The component's
//! stderr is wired to the same sink through `ComponentLog`, so host and guest events form one
//! stream of whole lines.

use serde_json::Value;
use std::io::Write;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::SystemTime;
use tenant_sync_core::clef;
pub use tenant_sync_core::clef::Level;
use tenant_sync_core::secrets::Redactor;
use tenant_sync_core::untrusted::{excerpt, json_terminal_safe};
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
        self.write_line(line.as_bytes());
    }

    /// One whole line, written at once.
    fn write_line(&self, line: &[u8]) {
        match &self.buffer {
            Some(buffer) => buffer.lock().unwrap().extend_from_slice(line),
            None => {
                let _ = std::io::stderr().lock().write_all(line);
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

/// The component's stderr, as it reaches the log: whole lines only, each written at once (so a
/// partial line cannot swallow a host event written meanwhile), scrubbed of the run's tokens,
/// and a line that is not a CLEF event, or is longer than any event the component writes, is
/// quoted inside a host Warning instead of passed on. The component's own scrubbing is its
/// good manners; this is the sandbox's guarantee.
#[derive(Clone)]
pub struct ComponentLog {
    sink: LogSink,
    redactor: Arc<Redactor>,
}

/// The longest line passed on as the component wrote it.
pub const MAX_COMPONENT_LINE: usize = 64 * 1024;

impl ComponentLog {
    pub fn new(sink: LogSink, secrets: impl IntoIterator<Item = String>) -> ComponentLog {
        ComponentLog {
            sink,
            redactor: Arc::new(Redactor::new(secrets)),
        }
    }

    fn line(&self, raw: &[u8]) {
        let text = String::from_utf8_lossy(raw);
        let text = self.redactor.scrub(text.trim_end_matches('\r'));
        let event = (text.len() <= MAX_COMPONENT_LINE)
            .then(|| serde_json::from_str::<Value>(&text).ok())
            .flatten()
            .filter(|v| v.get("@mt").is_some());
        let Some(event) = event else {
            if text.trim().is_empty() {
                return;
            }
            self.sink.event(
                Level::Warning,
                "The component wrote a line that is not a log event: {Line}",
                &[("Line", Value::from(excerpt(&text)))],
            );
            return;
        };
        // The component's Debug events (a group left as it is) only with `--verbose`, as the
        // host's own.
        if event["@l"] == "Debug" && !self.sink.debug() {
            return;
        }
        // Escaped as the host's own events are (a bidi control, U+2028).
        let mut line = json_terminal_safe(text);
        line.push('\n');
        self.sink.write_line(line.as_bytes());
    }
}

impl IsTerminal for ComponentLog {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for ComponentLog {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(LineWriter {
            log: self.clone(),
            pending: Vec::new(),
        })
    }
}

/// One stderr stream of the component: bytes until a newline, then one line.
struct LineWriter {
    log: ComponentLog,
    pending: Vec<u8>,
}

impl AsyncWrite for LineWriter {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        for &byte in buf {
            if byte == b'\n' {
                let line = std::mem::take(&mut self.pending);
                self.log.line(&line);
            } else if self.pending.len() <= MAX_COMPONENT_LINE {
                self.pending.push(byte);
            }
        }
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl Drop for LineWriter {
    /// A last line without its newline is still a line of its own.
    fn drop(&mut self) {
        if !self.pending.is_empty() {
            let line = std::mem::take(&mut self.pending);
            self.log.line(&line);
        }
    }
}
