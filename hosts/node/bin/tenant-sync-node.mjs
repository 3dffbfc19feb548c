#!/usr/bin/env node
// tenant-sync under Node.js: the same reconcile as `tenant-sync run`, through jco, with the
// same grants. Prints the same JSON report and uses the same exit codes.

import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CONTRACT } from '../src/contract.mjs';
import { UsageError } from '../src/grants.mjs';
import { HELP, OPTIONS, options } from '../src/options.mjs';
import { loadComponent } from '../src/host.mjs';
import { STOP_GRACE_MS, startRun } from '../src/run.mjs';

const { exitCodes: EXIT } = CONTRACT;

/** What a stop signal ends the run with: the shell's 128 + signal number. */
const STOP_SIGNALS = { SIGTERM: EXIT.terminated, SIGINT: EXIT.interrupted };

/** Where the transpiled component is: needed before anything else, since it renders every message. */
function bindingsDir() {
  const { values } = parseArgs({ options: OPTIONS, strict: false });
  const here = dirname(fileURLToPath(import.meta.url));
  return typeof values.bindings === 'string' ? values.bindings : join(here, '..', 'gen');
}

/** Prints the outcome of a run (see src/run.mjs) and returns the exit code. */
function outcome(run, deadlineSecs, render) {
  if (run.printed !== undefined) {
    return print(run.printed);
  }
  const [kind, template, message] = run.stopped
    ? ['stopped', 'The run was stopped: {Message}', `stopped by a signal: requests in flight did not finish within ${STOP_GRACE_MS / 1000} s, so their outcome is unknown; re-run to converge`]
    : run.deadline
      ? ['limit', 'Sandbox limit hit: {Message}', CONTRACT.usage.deadlineExceeded.replace('{secs}', deadlineSecs)]
      : // The component's own bug. Tokens never reach this text (they live only in the
        // guest's environment), but it is still cut short.
        ['internal', 'The component failed: {Message}', run.trap.slice(0, 500)];
  render.log('Error', template, { Message: message });
  return print(render.failure(kind, message));
}

/** Writes a rendered document on stdout; returns its exit code. */
function print({ stdout, exitCode }) {
  process.stdout.write(`${stdout}\n`);
  return exitCode;
}

/**
 * The one message not rendered by the component, because the component could not be loaded:
 * a CLEF event and the failure document, written literally.
 */
function cannotLoad(bindings, error) {
  const message = `cannot use the transpiled component in ${bindings} (${error.message}); transpile the current one: \`npm run transpile -- COMPONENT.wasm\``;
  const event = { '@t': new Date().toISOString(), '@mt': 'Usage error: {Message}', '@l': 'Error', Message: message };
  process.stderr.write(`${JSON.stringify(event)}\n`);
  process.stdout.write(`${JSON.stringify({ error: { issues: [], kind: 'usage', message } })}\n`);
  return EXIT.usage;
}

/**
 * What a closed stdout (a reader that went away) costs: the document, never the exit code (the
 * writes were done), and a Warning instead of an unhandled 'error' that would crash the host.
 * Rendered by the component once it is loaded; written literally before that.
 */
let stdoutLost = (error) => {
  const event = { '@t': new Date().toISOString(), '@mt': 'The output could not be written to stdout ({Error}); the exit code still says how the run went', '@l': 'Warning', Error: error.message };
  process.stderr.write(`${JSON.stringify(event)}\n`);
};
process.stdout.on('error', (error) => stdoutLost(error));

async function main() {
  const bindings = bindingsDir();
  let instantiate;
  try {
    instantiate = await loadComponent(bindings);
  } catch (error) {
    return cannotLoad(bindings, error);
  }
  if (instantiate.render === undefined) {
    const error = new Error('it has no flowercore:tenant-sync/render export: an older tenant-sync, or another component');
    return cannotLoad(bindings, error);
  }
  const { render } = instantiate;
  stdoutLost = (error) => {
    render.log('Warning', 'The output could not be written to stdout ({Error}); the exit code still says how the run went', { Error: error.message });
  };
  let parsed;
  try {
    parsed = options(process.argv.slice(2), process.env, bindings, (old, now) =>
      render.log('Warning', '--{Flag} is deprecated: use --{Current}, as the tenant-sync binary does', { Flag: old, Current: now }),
    );
  } catch (error) {
    if (error instanceof UsageError || error?.code?.startsWith?.('ERR_PARSE_ARGS') || error?.code === 'ENOENT') {
      render.log('Error', 'Usage error: {Message}', { Message: error.message });
      return print(render.failure('usage', error.message));
    }
    throw error;
  }
  if (parsed.help) {
    process.stdout.write(`${HELP}\n`);
    return EXIT.success;
  }
  let received = null;
  const run = startRun({ ...parsed, modules: instantiate.modules }, parsed.deadlineSecs * 1000);
  for (const signal of Object.keys(STOP_SIGNALS)) {
    process.once(signal, () => {
      if (received !== null) {
        return;
      }
      received = signal;
      render.log('Warning', 'Received {Signal}: stopping. No new request is sent; requests in flight get {GraceSecs} s to finish, then the report is printed', {
        Signal: signal,
        GraceSecs: STOP_GRACE_MS / 1000,
      });
      run.stop();
    });
  }
  let ended;
  try {
    ended = await run.done;
  } catch (error) {
    // The worker died outside the component (out of memory, say).
    ended = { trap: `the run's worker failed: ${error?.message ?? error}` };
  }
  const code = outcome(ended, parsed.deadlineSecs, render);
  if (received === null) {
    return code;
  }
  const printed = ended.printed === undefined ? undefined : JSON.parse(ended.printed.stdout);
  render.log('Warning', 'The run was stopped by {Signal}: no write was started after it; {NotAttempted} groups not attempted. The next run picks up where this one stopped', {
    Signal: received,
    NotAttempted: printed?.summary?.notAttempted ?? null,
  });
  return STOP_SIGNALS[received];
}

process.exitCode = await main();
