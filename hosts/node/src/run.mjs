// One sync run on a worker thread, so the host can enforce a deadline and a stop signal: the
// component runs synchronously (jco's sync instantiation, the shim's blocking HTTP), and only
// terminating its thread stops it outright. `done` resolves to { printed: { stdout, exitCode } }
// (the component's `sync.run-printed`) | { trap: message } | { deadline: true } | { stopped: true }
// (the grace period after a stop signal ran out).

import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { CONTRACT } from './contract.mjs';
import { END_OUTPUT, loadComponent, sendEventsTo } from './host.mjs';

/** How long requests in flight may take to finish after a stop signal, as in the wasmtime host. */
export const STOP_GRACE_MS = CONTRACT.limits.stopGraceSecs * 1000;

/**
 * Starts `sync` (the sync-options record) under `grants` with the component in `bindings`
 * (`modules`: its core modules, compiled already). Returns `{ done, stop }`: `stop()` makes the
 * sandbox refuse every new request (so no further write starts) and terminates the run if it
 * has not returned within `STOP_GRACE_MS`.
 */
export function startRun({ bindings, modules, grants, sync }, deadlineMs) {
  // Read by the worker's outgoing-handler on every request; the worker is blocked inside the
  // component, so a message could not reach it.
  const stopFlag = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(new URL(import.meta.url), {
    workerData: { bindings, modules, grants: { ...grants, stop: stopFlag }, sync },
  });
  let finish;
  const done = new Promise((resolve, reject) => {
    const timers = [];
    let settled = false;
    finish = (outcome) => {
      if (settled) return;
      settled = true;
      timers.forEach(clearTimeout);
      worker.terminate().then(() => resolve(outcome), reject);
    };
    timers.push(setTimeout(() => finish({ deadline: true }), deadlineMs));
    // The worker's events, then its outcome: one port, so in that order.
    worker.on('message', ({ events, outcome }) => (outcome === undefined ? process.stderr.write(events) : finish(outcome)));
    // Ended without an outcome (the WASI shim exits the thread on some I/O errors): said at
    // once, not after the deadline. After an outcome, terminate() ends it: finish runs once.
    worker.once('exit', (code) => finish({ trap: `the run's worker ended (exit code ${code}) without an outcome` }));
    worker.once('error', (error) => {
      settled = true;
      timers.forEach(clearTimeout);
      reject(error);
    });
    finish.later = (outcome, ms) => timers.push(setTimeout(() => finish(outcome), ms));
  });
  const stop = () => {
    if (Atomics.compareExchange(stopFlag, 0, 0, 1) === 0) {
      finish.later({ stopped: true }, STOP_GRACE_MS);
    }
  };
  return { done, stop };
}

if (!isMainThread) {
  const { bindings, modules, grants, sync } = workerData;
  sendEventsTo((events) => parentPort.postMessage({ events: String(events) }));
  const instantiate = await loadComponent(bindings, modules);
  let outcome;
  let instance;
  try {
    instance = instantiate(grants);
    outcome = { printed: instance.sync.runPrinted(sync) };
  } catch (error) {
    outcome = { trap: String(error?.message ?? error) };
  } finally {
    instance?.[END_OUTPUT]();
  }
  parentPort.postMessage({ outcome });
}
