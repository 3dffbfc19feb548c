#!/usr/bin/env node
// tenant-sync under Node.js: the same reconcile as `tenant-sync run`, through jco, with the
// same grants. Prints the same JSON report and uses the same exit codes.

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { allowlist, grantedEnv, UsageError } from '../src/grants.mjs';
import { loadComponent } from '../src/host.mjs';
import { logEvent } from '../src/log.mjs';
import { issueText, reportJson } from '../src/report.mjs';

const HELP = `Usage: tenant-sync-node [options]

Reconciles the tenant mapping kept in 1Password into Authentik groups by running the
tenant-sync component under Node.js (jco), with the same sandbox grants as the tenant-sync
binary: HTTP only to OP_CONNECT_HOST and AUTHENTIK_URL, only the token variables visible,
no filesystem, no sockets.

Environment:
  AUTHENTIK_URL       Authentik origin, e.g. https://authentik.example.com (required)
  AUTHENTIK_TOKEN     Authentik API token (required)
  OP_CONNECT_HOST     1Password Connect origin (required unless --mapping is given)
  OP_TOKEN            1Password Connect token (OP_CONNECT_TOKEN also works)

Options:
  --dry-run           Plan only: read everything, write nothing
  --concurrency N     Most writes in flight at once (default 4, 1 = one at a time)
  --manager-id ID     Value of fc:managed-by that marks groups this run owns
  --mapping FILE      Read the mapping from FILE instead of 1Password
  --vault NAME, --item TITLE, --field LABEL
                      Where the mapping is in 1Password (defaults: IAmWorkin,
                      flowercore-tenant-mapping, mapping)
  --bindings DIR      The transpiled component (default: gen/ beside this package;
                      make it with \`npm run transpile -- COMPONENT.wasm\`)
  -h, --help          Show this help

Exit codes: 0 in sync, 2 usage or configuration, 3 invalid mapping, 4 a service failed
before any write, 5 not in sync (a conflict or a failed write), 1 the component failed.`;

const EXIT = { success: 0, internal: 1, usage: 2, invalidMapping: 3, upstream: 4, notInSync: 5 };

function options() {
  const { values } = parseArgs({
    options: {
      'dry-run': { type: 'boolean', default: false },
      concurrency: { type: 'string', default: '0' },
      'manager-id': { type: 'string' },
      mapping: { type: 'string' },
      vault: { type: 'string' },
      item: { type: 'string' },
      field: { type: 'string' },
      bindings: { type: 'string' },
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
  const env = process.env;
  const authentikUrl = env.AUTHENTIK_URL?.trim();
  if (!authentikUrl) {
    throw new UsageError('AUTHENTIK_URL is not set; set it to the Authentik origin, e.g. https://authentik.example.com');
  }
  let source;
  const urls = [authentikUrl];
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
    urls.push(connectUrl);
  }
  const here = dirname(fileURLToPath(import.meta.url));
  return {
    bindings: values.bindings ?? join(here, '..', 'gen'),
    grants: { origins: allowlist(urls), env: grantedEnv(env) },
    sync: {
      source,
      authentikUrl,
      dryRun: values['dry-run'],
      concurrency,
      managerId: values['manager-id'],
      maxResponseBytes: 0n,
    },
  };
}

/** Prints the outcome of `sync.run` and returns the exit code. */
function outcome(run) {
  try {
    const report = run();
    print(reportJson(report));
    return report.summary.conflict > 0 ? EXIT.notInSync : EXIT.success;
  } catch (error) {
    const payload = error?.payload;
    if (payload === undefined) {
      throw error;
    }
    switch (payload.tag) {
      case 'partial-apply':
        print(reportJson(payload.val));
        return EXIT.notInSync;
      case 'invalid-mapping':
        return failure('invalid-mapping', `the mapping has ${payload.val.length} problems; nothing was written`, payload.val, EXIT.invalidMapping);
      case 'invalid-config':
        return failure('invalid-config', payload.val, [], EXIT.usage);
      case 'upstream':
        return failure('upstream', payload.val.message, [], EXIT.upstream);
      default:
        throw error;
    }
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
  let instantiate;
  try {
    instantiate = await loadComponent(parsed.bindings);
  } catch (error) {
    const message = `cannot load the transpiled component from ${parsed.bindings} (${error.message}); run \`npm run transpile -- COMPONENT.wasm\` first`;
    logEvent('Error', 'Usage error: {Message}', { Message: message });
    failure('usage', message, [], EXIT.usage);
    return EXIT.usage;
  }
  const component = instantiate(parsed.grants);
  try {
    return outcome(() => component.sync.run(parsed.sync));
  } catch (error) {
    // A trap: the component's own bug. Tokens never reach this message (they are only in the
    // guest's environment), but the text is still cut short.
    const message = String(error?.message ?? error).slice(0, 500);
    logEvent('Error', 'The component failed: {Message}', { Message: message });
    failure('internal', message, [], EXIT.internal);
    return EXIT.internal;
  }
}

process.exitCode = await main();
