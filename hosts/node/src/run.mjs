// One sync run on a worker thread, so the host can enforce a deadline: the component runs
// synchronously (jco's sync instantiation, the shim's blocking HTTP), and only terminating its
// thread stops it. Resolves to { ok: report } | { err: sync-error } | { trap: message } |
// { deadline: true }.

import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { loadComponent } from './host.mjs';

/** Runs `sync` (the sync-options record) under `grants` with the component in `bindings`. */
export function runWithDeadline({ bindings, grants, sync }, deadlineMs) {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL(import.meta.url), { workerData: { bindings, grants, sync } });
    const timer = setTimeout(() => {
      worker.terminate().then(() => resolve({ deadline: true }), reject);
    }, deadlineMs);
    worker.once('message', (outcome) => {
      clearTimeout(timer);
      resolve(outcome);
    });
    worker.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

if (!isMainThread) {
  const { bindings, grants, sync } = workerData;
  const instantiate = await loadComponent(bindings);
  let outcome;
  try {
    outcome = { ok: instantiate(grants).sync.run(sync) };
  } catch (error) {
    // A sync-error comes as jco's ComponentError with the variant as its payload; anything
    // else is a trap.
    outcome = error?.payload !== undefined ? { err: error.payload } : { trap: String(error?.message ?? error) };
  }
  parentPort.postMessage(outcome);
}
