//! Writing to a wasi:io output stream (a request body, stdout, stderr) in the pieces it accepts.

use wasi::io::streams::{OutputStream, StreamError};

/// wasi:io output streams accept at most 4096 bytes per blocking write.
const WRITE_CHUNK: usize = 4096;

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
