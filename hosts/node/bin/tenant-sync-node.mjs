#!/usr/bin/env node
// tenant-sync under Node.js: the same reconcile as `tenant-sync run`, through jco, with the
// same grants. Prints the same JSON report and uses the same exit codes.

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { grantedEnv, serviceGrant, UsageError } from '../src/grants.mjs';
import { logEvent } from '../src/log.mjs';
import { issueText, reportJson } from '../src/report.mjs';
import { STOP_GRACE_MS, startRun } from '../src/run.mjs';

const HELP = `Usage: tenant-sync-node [options]

Reconciles the tenant mapping kept in 1Password into Authentik groups by running the
tenant-sync component under Node.js (jco), with the same sandbox grants as the tenant-sync
binary: HTTP only to OP_CONNECT_HOST and AUTHENTIK_URL and there only the group requests
the sync needs, only the token variables visible, no filesystem, no sockets.

Environment:
  AUTHENTIK_URL       Authentik origin, e.g. https://authentik.example.com (required)
  AUTHENTIK_TOKEN     Authentik API token (required)
  OP_CONNECT_HOST     1Password Connect origin (required unless --mapping is given)
  OP_TOKEN            1Password Connect token (OP_CONNECT_TOKEN also works)
  NODE_EXTRA_CA_CERTS PEM file of extra certificate authorities to trust for https (Node's
                      own setting), e.g. a cluster's CA; verification cannot be turned off

Options:
  --dry-run           Plan only: read everything, write nothing
  --concurrency N     Most Authentik requests in flight at once: writes, and list
                      pages after the first (default 4, 1 = one at a time)
  --manager-id ID     Value of fc:managed-by that marks groups this run owns
  --allow-superuser-groups
                      Also manage mapped groups that are superuser groups
                      (is_superuser in Authentik); without it they are conflicts
  --group NAME        Reconcile only this group (repeatable); each selected group
                      is looked up by name, orphans are not reported
  --tenant ID         Reconcile only this tenant's groups (repeatable)
  --mapping FILE      Read the mapping from FILE instead of 1Password
  --vault NAME, --item TITLE, --field LABEL
                      Where the mapping is in 1Password (defaults: IAmWorkin,
                      flowercore-tenant-mapping, mapping)
  --deadline-secs N   Stop the run after N seconds (default 600)
  --bindings DIR      The transpiled component (default: gen/ beside this package;
                      make it with \`npm run transpile -- COMPONENT.wasm\`)
  -h, --help          Show this help

Exit codes: 0 in sync, 2 usage or configuration, 3 invalid mapping, 4 a service failed
before any write, 5 not in sync (a conflict or a failed write), 6 the deadline ended the
run, 1 the component failed, 143 / 130 stopped by SIGTERM / SIGINT (no write starts after
the signal; the report marks the rest not-attempted).`;

const EXIT = { success: 0, internal: 1, usage: 2, invalidMapping: 3, upstream: 4, notInSync: 5, limit: 6 };

/** What a stop signal ends the run with: the shell's 128 + signal number. */
const STOP_SIGNALS = { SIGTERM: 143, SIGINT: 130 };

function options() {
  const { values } = parseArgs({
    options: {
      'dry-run': { type: 'boolean', default: false },
      concurrency: { type: 'string', default: '0' },
      'manager-id': { type: 'string' },
      'allow-superuser-groups': { type: 'boolean', default: false },
      group: { type: 'string', multiple: true, default: [] },
      tenant: { type: 'string', multiple: true, default: [] },
      mapping: { type: 'string' },
      vault: { type: 'string' },
      item: { type: 'string' },
      field: { type: 'string' },
      bindings: { type: 'string' },
      'deadline-secs': { type: 'string', default: '600' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    return { help: true };
  }
  const concurrency = Number(values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 0 || concurrency > 64) {
    throw new UsageError(`--concurrency takes a whole number from 1 to 64, not ${values.concurrency}`);
  }
  const deadlineSecs = Number(values['deadline-secs']);
  if (!Number.isInteger(deadlineSecs) || deadlineSecs < 1) {
    throw new UsageError(`--deadline-secs takes a whole number of seconds, not ${values['deadline-secs']}`);
  }
  const env = process.env;
  const authentikUrl = env.AUTHENTIK_URL?.trim();
  if (!authentikUrl) {
    throw new UsageError('AUTHENTIK_URL is not set; set it to the Authentik origin, e.g. https://authentik.example.com');
  }
  let source;
  const services = [serviceGrant('authentik', authentikUrl)];
  if (values.mapping !== undefined) {
    source = { tag: 'inline', val: readFileSync(values.mapping, 'utf8') };
  } else {
    const connectUrl = env.OP_CONNECT_HOST?.trim();
    if (!connectUrl) {
      throw new UsageError('OP_CONNECT_HOST is not set; set it to the 1Password Connect origin, or pass --mapping FILE');
    }
    source = {
      tag: 'onepassword',
      val: { connectUrl, vault: values.vault, item: values.item, field: values.field },
    };
    services.push(serviceGrant('onepassword', connectUrl));
  }
  const here = dirname(fileURLToPath(import.meta.url));
  return {
    bindings: values.bindings ?? join(here, '..', 'gen'),
    deadlineSecs,
    grants: { services, env: grantedEnv(env) },
    sync: {
      source,
      authentikUrl,
      dryRun: values['dry-run'],
      concurrency,
      managerId: values['manager-id'],
      maxResponseBytes: 0n,
      allowSuperuserGroups: values['allow-superuser-groups'],
      onlyGroups: values.group,
      onlyTenants: values.tenant,
    },
  };
}

/** Prints the outcome of a run (see src/run.mjs) and returns the exit code. */
function outcome(run, deadlineSecs) {
  if (run.ok !== undefined) {
    print(reportJson(run.ok));
    return run.ok.summary.conflict > 0 ? EXIT.notInSync : EXIT.success;
  }
  if (run.stopped) {
    const message = `stopped by a signal: requests in flight did not finish within ${STOP_GRACE_MS / 1000} s, so their outcome is unknown; re-run to converge`;
    logEvent('Error', 'The run was stopped: {Message}', { Message: message });
    return failure('stopped', message, [], EXIT.internal);
  }
  if (run.deadline) {
    const message = `the run did not finish within its ${deadlineSecs} s deadline; raise --deadline-secs or check for a stuck service`;
    logEvent('Error', 'Sandbox limit hit: {Message}', { Message: message });
    return failure('limit', message, [], EXIT.limit);
  }
  if (run.trap !== undefined) {
    // The component's own bug. Tokens never reach this text (they live only in the guest's
    // environment), but it is still cut short.
    const message = run.trap.slice(0, 500);
    logEvent('Error', 'The component failed: {Message}', { Message: message });
    return failure('internal', message, [], EXIT.internal);
  }
  const error = run.err;
  switch (error.tag) {
    case 'partial-apply':
      print(reportJson(error.val));
      return EXIT.notInSync;
    case 'invalid-mapping':
      return failure('invalid-mapping', `the mapping has ${error.val.length} problems; nothing was written`, error.val, EXIT.invalidMapping);
    case 'invalid-config':
      return failure('invalid-config', error.val, [], EXIT.usage);
    case 'upstream':
      return failure('upstream', error.val.message, [], EXIT.upstream);
    default:
      return failure('internal', `unknown sync-error ${JSON.stringify(error.tag)}`, [], EXIT.internal);
  }
}

function failure(kind, message, issues, code) {
  print({
    error: {
      kind,
      message,
      issues: issues.map((i) => ({ entry: i.entry ?? null, group: i.group ?? null, field: i.field ?? null, message: i.message, text: issueText(i) })),
    },
  });
  return code;
}

function print(document) {
  process.stdout.write(`${JSON.stringify(document)}\n`);
}

async function main() {
  let parsed;
  try {
    parsed = options();
  } catch (error) {
    if (error instanceof UsageError || error?.code?.startsWith?.('ERR_PARSE_ARGS') || error?.code === 'ENOENT') {
      logEvent('Error', 'Usage error: {Message}', { Message: error.message });
      failure('usage', error.message, [], EXIT.usage);
      return EXIT.usage;
    }
    throw error;
  }
  if (parsed.help) {
    process.stdout.write(`${HELP}\n`);
    return EXIT.success;
  }
  let received = null;
  try {
    const run = startRun(parsed, parsed.deadlineSecs * 1000);
    for (const signal of Object.keys(STOP_SIGNALS)) {
      process.once(signal, () => {
        if (received !== null) {
          return;
        }
        received = signal;
        logEvent('Warning', 'Received {Signal}: stopping. No new request is sent; requests in flight get {GraceSecs} s to finish, then the report is printed', {
          Signal: signal,
          GraceSecs: STOP_GRACE_MS / 1000,
        });
        run.stop();
      });
    }
    const ended = await run.done;
    const code = outcome(ended, parsed.deadlineSecs);
    if (received === null) {
      return code;
    }
    const report = ended.ok ?? (ended.err?.tag === 'partial-apply' ? ended.err.val : undefined);
    logEvent('Warning', 'The run was stopped by {Signal}: no write was started after it; {NotAttempted} groups not attempted. The next run picks up where this one stopped', {
      Signal: received,
      NotAttempted: report?.summary.notAttempted ?? null,
    });
    return STOP_SIGNALS[received];
  } catch (error) {
    // The worker could not start the component: most likely it was never transpiled.
    const message = `cannot run the transpiled component from ${parsed.bindings} (${error.message}); run \`npm run transpile -- COMPONENT.wasm\` first`;
    logEvent('Error', 'Usage error: {Message}', { Message: message });
    return failure('usage', message, [], EXIT.usage);
  }
}

process.exitCode = await main();
