//! Which component runs, and from where its compiled code comes: the built-in component or a
//! file the operator vouched for by its SHA-256, compiled now or loaded from the trusted cache.

use crate::logging::{Level, LogSink};
use crate::runtime::{Runtime, Wasm};
use serde_json::json;
use std::path::{Path, PathBuf};

/// The component to run and where its compiled code is kept.
pub struct Code<'a> {
    /// A component file and the SHA-256 it must have; `None`: the built-in component.
    pub file: Option<(&'a Path, &'a [u8; 32])>,
    pub cache: Cache,
}

/// Where compiled code is cached.
pub enum Cache {
    /// Compiled in memory on every start.
    Off,
    In(PathBuf),
    /// `$XDG_CACHE_HOME/tenant-sync`, or `~/.cache/tenant-sync`.
    Default,
}

/// Compiles or loads the component. A cache that cannot be used (read-only filesystem, say)
/// costs start-up time, not the run.
pub fn runtime(code: &Code, log: &LogSink) -> Result<Runtime, String> {
    let wasm = match code.file {
        Some((path, expected)) => {
            let bytes = std::fs::read(path)
                .map_err(|e| format!("cannot read the component {}: {e}", path.display()))?;
            verify_component(path, &bytes, expected)?;
            Wasm::new(bytes)
        }
        None => Wasm::embedded(),
    };
    let cache_dir = match &code.cache {
        Cache::Off => None,
        Cache::In(dir) => Some(dir.clone()),
        Cache::Default => default_cache_dir(),
    };
    let started = std::time::Instant::now();
    let loaded = |runtime: Runtime, from: &str| {
        log.event(
            Level::Debug,
            "Component ready in {Elapsed} ms ({How})",
            &[
                ("Elapsed", json!(started.elapsed().as_millis() as u64)),
                (
                    "How",
                    json!(if runtime.compiled_now() {
                        format!("compiled, {from}")
                    } else {
                        format!("loaded from {from}")
                    }),
                ),
            ],
        );
        runtime
    };
    let runtime = Runtime::new(&wasm, cache_dir.as_deref()).map_err(|e| format!("{e:#}"))?;
    match (&cache_dir, runtime.cache_problem()) {
        (Some(dir), Some(problem)) => {
            log.event(
                Level::Warning,
                "Cannot use the compilation cache in {Dir}, compiled in memory: {Message}",
                &[
                    ("Dir", json!(dir.display().to_string())),
                    ("Message", json!(problem)),
                ],
            );
            Ok(loaded(runtime, "no cache"))
        }
        (Some(dir), None) => Ok(loaded(runtime, &format!("cache {}", dir.display()))),
        (None, _) => Ok(loaded(runtime, "no cache")),
    }
}

pub fn parse_sha256(hex: &str) -> Result<[u8; 32], String> {
    let hex = hex.trim();
    let digits: Option<Vec<u8>> = (hex.len() == 64 && hex.is_ascii())
        .then(|| {
            (0..32)
                .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok())
                .collect()
        })
        .flatten();
    digits
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| "expected 64 hexadecimal digits, as `sha256sum FILE` prints them".into())
}

/// Code from a file runs only when it is exactly the file the operator vouched for.
fn verify_component(path: &Path, bytes: &[u8], expected: &[u8; 32]) -> Result<(), String> {
    use sha2::Digest;
    let actual: [u8; 32] = sha2::Sha256::digest(bytes).into();
    if &actual == expected {
        return Ok(());
    }
    let hex = |digest: &[u8; 32]| {
        digest
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    Err(format!(
        "refusing to run {}: its SHA-256 is {}, not the {} given by --component-sha256; check that the file is the release you meant (sha256sum {})",
        path.display(),
        hex(&actual),
        hex(expected),
        path.display()
    ))
}

fn default_cache_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))?;
    Some(base.join("tenant-sync"))
}
