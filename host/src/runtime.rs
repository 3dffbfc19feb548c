//! The wasmtime engine, the compiled component (cached on disk so a warm start does not JIT),
//! and the three ways to call it: `sync.run`, `mapping.validate` and `wasi:cli/run`.

use crate::bindings::{TenantSync, TenantSyncPre, types};
use crate::cache::CodeCache;
use crate::fingerprint::{fingerprint, hex};
use crate::logging::Level;
use crate::sandbox::{Grants, HostState, LimitExceeded};
use anyhow::{Context, Result, anyhow};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::hash::{Hash, Hasher};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine, Store, UpdateDeadline};

/// The component this binary was built with.
pub static EMBEDDED_COMPONENT: &[u8] = include_bytes!(env!("TENANT_SYNC_EMBEDDED_COMPONENT"));

/// Its fingerprint (SHA-256, hex), computed by build.rs.
const EMBEDDED_FINGERPRINT: &str = env!("TENANT_SYNC_EMBEDDED_FINGERPRINT");

/// A component's bytes and the fingerprint its compiled artifact is cached under.
pub struct Wasm<'a> {
    bytes: Cow<'a, [u8]>,
    fingerprint: Cow<'static, str>,
}

impl Wasm<'static> {
    /// The embedded component, fingerprinted at build time.
    pub fn embedded() -> Wasm<'static> {
        Wasm {
            bytes: Cow::Borrowed(EMBEDDED_COMPONENT),
            fingerprint: Cow::Borrowed(EMBEDDED_FINGERPRINT),
        }
    }
}

impl<'a> Wasm<'a> {
    /// A component read from elsewhere (`--component`).
    pub fn new(bytes: impl Into<Cow<'a, [u8]>>) -> Wasm<'a> {
        let bytes = bytes.into();
        let fingerprint = Cow::Owned(fingerprint(&bytes));
        Wasm { bytes, fingerprint }
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

/// How often the engine's epoch advances; the deadline is checked at this granularity.
const EPOCH_TICK: Duration = Duration::from_millis(10);

/// A compiled, linked component, ready to instantiate once per run.
pub struct Runtime {
    engine: Engine,
    pre: TenantSyncPre<HostState>,
    compiled_now: bool,
    cache_problem: Option<String>,
    ticker_stop: Arc<AtomicBool>,
}

/// How a call ended when it did not return normally.
#[derive(Debug)]
pub enum RunFailure {
    /// A sandbox limit (memory, deadline) stopped the component.
    Limit(LimitExceeded),
    /// The component trapped or the host failed.
    Trap(anyhow::Error),
    /// A stop signal's grace period ended before the component returned.
    Stopped(String),
}

impl std::fmt::Display for RunFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunFailure::Limit(limit) => write!(f, "sandbox limit hit: {limit}"),
            RunFailure::Trap(error) => write!(f, "the component failed: {error:#}"),
            RunFailure::Stopped(message) => write!(f, "{message}"),
        }
    }
}

impl Runtime {
    /// Compiles (or loads from `cache_dir`) the component. Without a cache directory, or when
    /// the cache cannot be trusted or written ([`Runtime::cache_problem`] says why), the
    /// component is compiled in memory.
    pub fn new(wasm: &Wasm, cache_dir: Option<&Path>) -> Result<Runtime> {
        let mut config = Config::new();
        config.wasm_component_model(true).epoch_interruption(true);
        let engine = Engine::new(&config).map_err(|e| anyhow!(e))?;
        let Loaded {
            component,
            compiled_now,
            cache_problem,
        } = match cache_dir {
            Some(dir) => load_cached(&engine, wasm, &CodeCache::new(dir))?,
            None => Loaded {
                component: compile(&engine, wasm)?,
                compiled_now: true,
                cache_problem: None,
            },
        };
        let mut linker = Linker::<HostState>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(|e| anyhow!(e))?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)
            .map_err(|e| anyhow!(e))?;
        let pre = linker
            .instantiate_pre(&component)
            .map_err(|e| anyhow!(e))
            .context("the component's imports are not the ones this host provides; is it a tenant-sync component?")?;
        let pre = TenantSyncPre::new(pre)
            .map_err(|e| anyhow!(e))
            .context("the component does not export the tenant-sync world")?;
        let ticker_stop = Arc::new(AtomicBool::new(false));
        spawn_ticker(engine.clone(), ticker_stop.clone());
        Ok(Runtime {
            engine,
            pre,
            compiled_now,
            cache_problem,
            ticker_stop,
        })
    }

    /// Whether creating this runtime compiled the component (false: loaded from the cache).
    pub fn compiled_now(&self) -> bool {
        self.compiled_now
    }

    /// Why the compilation cache was not used (read or written), if it was not.
    pub fn cache_problem(&self) -> Option<&str> {
        self.cache_problem.as_deref()
    }

    /// The names of the component's imports (e.g. `wasi:http/outgoing-handler@0.2.12`).
    pub fn imports(&self) -> Vec<String> {
        let ty = self.pre.instance_pre().component().component_type();
        ty.imports(&self.engine)
            .map(|(name, _)| name.to_owned())
            .collect()
    }

    /// The names of the component's exports.
    pub fn exports(&self) -> Vec<String> {
        let ty = self.pre.instance_pre().component().component_type();
        ty.exports(&self.engine)
            .map(|(name, _)| name.to_owned())
            .collect()
    }

    /// Runs `sync.run` under `grants`.
    // The WIT bindings' `SyncError` carries a whole report by value; it is returned once per
    // run, so its size costs nothing worth boxing generated types for.
    #[allow(clippy::result_large_err)]
    pub async fn sync(
        &self,
        grants: &Grants,
        options: &types::SyncOptions,
    ) -> Result<Result<types::Report, types::SyncError>, RunFailure> {
        self.call(grants, async |bindings, store| {
            bindings
                .flowercore_tenant_sync_sync()
                .call_run(store, options)
                .await
        })
        .await
        .map(|(result, _)| result)
    }

    /// Runs the pure `mapping.validate`, with nothing granted.
    pub async fn validate(
        &self,
        document: &str,
        grants: &Grants,
    ) -> Result<Result<types::DesiredState, Vec<types::ValidationIssue>>, RunFailure> {
        self.call(grants, async |bindings, store| {
            bindings
                .flowercore_tenant_sync_mapping()
                .call_validate(store, document)
                .await
        })
        .await
        .map(|(result, _)| result)
    }

    /// Runs `wasi:cli/run`, returning its result and what it printed on stdout.
    pub async fn cli_run(&self, grants: &Grants) -> Result<(Result<(), ()>, Vec<u8>), RunFailure> {
        self.call(grants, async |bindings, store| {
            bindings.wasi_cli_run().call_run(store).await
        })
        .await
    }

    async fn call<R>(
        &self,
        grants: &Grants,
        f: impl AsyncFnOnce(&TenantSync, &mut Store<HostState>) -> wasmtime::Result<R>,
    ) -> Result<(R, Vec<u8>), RunFailure> {
        let mut store = Store::new(&self.engine, HostState::new(grants));
        store.limiter(|state| &mut state.memory);
        let deadline = Instant::now() + grants.limits.deadline;
        let over_time = LimitExceeded::Deadline {
            secs: grants.limits.deadline.as_secs(),
        };
        let timed_out = over_time.clone();
        // A busy component yields to the executor every tick, so the timeout below can fire
        // even inside a tight loop; the callback stops it outright once the deadline passed.
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |_| {
            if Instant::now() >= deadline {
                return Err(over_time.clone().into());
            }
            Ok(UpdateDeadline::Yield(1))
        });
        let run = async {
            let bindings = self.pre.instantiate_async(&mut store).await?;
            f(&bindings, &mut store).await
        };
        let outcome = tokio::select! {
            outcome = tokio::time::timeout_at(deadline.into(), run) => outcome,
            () = grants.stop.forced() => {
                let signal = grants.stop.requested().map_or("a stop signal", |s| s.name());
                return Err(RunFailure::Stopped(format!(
                    "stopped by {signal}: requests in flight did not finish within {} s, so their outcome is unknown; re-run to converge",
                    crate::stop::GRACE.as_secs()
                )));
            }
        };
        let exceeded_memory = store.data().memory.exceeded;
        if grants.log.debug() {
            grants.log.event(
                Level::Debug,
                "The component's memory peaked at {GuestMemoryKiB} KiB",
                &[("GuestMemoryKiB", json!(store.data().memory.peak / 1024))],
            );
        }
        match outcome {
            Err(_elapsed) => Err(RunFailure::Limit(timed_out)),
            Ok(Ok(result)) => Ok((result, store.data().stdout.contents().to_vec())),
            Ok(Err(error)) => match error.downcast_ref::<LimitExceeded>() {
                Some(limit) => Err(RunFailure::Limit(limit.clone())),
                None if exceeded_memory => Err(RunFailure::Limit(LimitExceeded::OutOfMemory)),
                None => Err(RunFailure::Trap(anyhow!(error))),
            },
        }
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.ticker_stop.store(true, Ordering::Relaxed);
    }
}

fn spawn_ticker(engine: Engine, stop: Arc<AtomicBool>) {
    std::thread::Builder::new()
        .name("tenant-sync-epoch".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(EPOCH_TICK);
                engine.increment_epoch();
            }
        })
        .expect("spawning the epoch ticker thread");
}

struct Loaded {
    component: Component,
    compiled_now: bool,
    cache_problem: Option<String>,
}

fn compile(engine: &Engine, wasm: &Wasm) -> Result<Component> {
    Component::new(engine, wasm.bytes())
        .map_err(|e| anyhow!(e))
        .context("compiling the component")
}

/// The precompiled artifact for `wasm` under this engine's configuration, compiling and storing
/// it on a miss. The file name is a hash of both, so a new component or wasmtime never loads a
/// stale artifact. A cache that cannot be trusted is neither read nor written.
fn load_cached(engine: &Engine, wasm: &Wasm, cache: &CodeCache) -> Result<Loaded> {
    let name = cache_name(engine, wasm);
    let mut problem = None;
    match cache.read(&name) {
        Ok(Some(artifact)) => {
            // SAFETY: the artifact is what `precompile_component` of this engine configuration
            // wrote (the name says so), read without following links from a file and directory
            // that only this user or root can write (`cache::may_hold_code`).
            match unsafe { Component::deserialize(engine, &artifact) } {
                Ok(component) => {
                    return Ok(Loaded {
                        component,
                        compiled_now: false,
                        cache_problem: None,
                    });
                }
                Err(e) => {
                    problem = Some(format!(
                        "{} is not usable ({e}); it is replaced",
                        cache.path(&name).display()
                    ))
                }
            }
        }
        Ok(None) => {}
        Err(untrusted) => {
            return Ok(Loaded {
                component: compile(engine, wasm)?,
                compiled_now: true,
                cache_problem: Some(untrusted),
            });
        }
    }
    let artifact = engine
        .precompile_component(wasm.bytes())
        .map_err(|e| anyhow!(e))
        .context("compiling the component")?;
    if let Err(unstored) = cache.write(&name, &artifact) {
        problem = Some(unstored);
    }
    // SAFETY: produced just above by this engine.
    let component = unsafe { Component::deserialize(engine, &artifact) }.map_err(|e| anyhow!(e))?;
    Ok(Loaded {
        component,
        compiled_now: true,
        cache_problem: problem,
    })
}

/// The artifact's file name: a SHA-256 of the component's fingerprint and of everything about
/// the engine that makes compiled code compatible, so no other component, wasmtime or
/// configuration can name the same file.
fn cache_name(engine: &Engine, wasm: &Wasm) -> String {
    let mut hasher = Sha256Hasher(Sha256::new());
    hasher.write(wasm.fingerprint.as_bytes());
    engine.precompile_compatibility_hash().hash(&mut hasher);
    format!("tenant-sync-{}.cwasm", hex(&hasher.0.finalize()))
}

/// Feeds what `Hash` writes into a SHA-256 (wasmtime exposes its compatibility only as `Hash`).
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    fn finish(&self) -> u64 {
        unreachable!("only the SHA-256 digest is read")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_fingerprint_is_the_one_a_component_file_gets() {
        // So `--component` with the same bytes shares the embedded component's cache entry,
        // and a stale build.rs figure cannot name the wrong artifact.
        assert_eq!(
            Wasm::embedded().fingerprint,
            Wasm::new(EMBEDDED_COMPONENT).fingerprint
        );
        assert_ne!(Wasm::new(&b"\0asm"[..]).fingerprint, EMBEDDED_FINGERPRINT);
    }

    #[test]
    fn the_cache_name_is_a_sha256_of_the_component_and_the_engine() {
        let engine = Engine::default();
        let name = cache_name(&engine, &Wasm::new(&b"\0asm one"[..]));
        let digest = name
            .strip_prefix("tenant-sync-")
            .and_then(|rest| rest.strip_suffix(".cwasm"))
            .unwrap();
        assert_eq!(digest.len(), 64, "{name}");
        assert!(digest.bytes().all(|b| b.is_ascii_hexdigit()), "{name}");
        assert_ne!(name, cache_name(&engine, &Wasm::new(&b"\0asm two"[..])));
        assert_eq!(name, cache_name(&engine, &Wasm::new(&b"\0asm one"[..])));
    }
}
