// The command line of tenant-sync-node: the flags the tenant-sync binary's `run` takes (the
// contract's `runFlags`, with the variables that stand in for them), and what a run is given.

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { CONTRACT } from './contract.mjs';
import { grantedEnv, SECRET_VARS, serviceGrant, UsageError } from './grants.mjs';

const { defaults: DEFAULTS, limits: LIMITS } = CONTRACT;

/** `text` in lines of at most `width` characters, broken between words. */
function wrapped(text, width) {
  const lines = [];
  for (const word of text.split(' ')) {
    const last = lines.length - 1;
    if (last >= 0 && lines[last].length + 1 + word.length <= width) {
      lines[last] += ` ${word}`;
    } else {
      lines.push(word);
    }
  }
  return lines.join('\n');
}

export const HELP = `Usage: tenant-sync-node [options]

Reconciles the tenant mapping kept in 1Password into Authentik groups by running the
tenant-sync component under Node.js (jco), with the same sandbox grants as the tenant-sync
binary: HTTP only to OP_CONNECT_HOST and AUTHENTIK_URL and there only the group requests
the sync needs, only the token variables visible, no filesystem, no sockets.

Environment:
  AUTHENTIK_URL       Authentik origin, e.g. https://authentik.example.com (required
                      unless --authentik-url is given)
  AUTHENTIK_TOKEN     Authentik API token (required)
  OP_CONNECT_HOST     1Password Connect origin (required unless --op-connect-url or
                      --mapping-file is given)
  OP_TOKEN            1Password Connect token (OP_CONNECT_TOKEN also works)
  NODE_EXTRA_CA_CERTS PEM file of extra certificate authorities to trust for https (Node's
                      own setting), e.g. a cluster's CA; verification cannot be turned off

Options:
  --dry-run           Plan only: read everything, write nothing
  --concurrency N     Most Authentik requests in flight at once: writes, and list
                      pages after the first (1 to ${DEFAULTS.maxConcurrency}, default ${DEFAULTS.concurrency}; 1 = one at a time)
  --manager-id ID     Value of fc:managed-by that marks groups this run owns
                      (default ${DEFAULTS.manager})
  --allow-superuser-groups
                      Also manage mapped groups that are superuser groups
                      (is_superuser in Authentik); without it they are conflicts
  --group NAME        Reconcile only this group (repeatable); each selected group
                      is looked up by name, orphans are not reported
  --tenant ID         Reconcile only this tenant's groups (repeatable)
  --authentik-url URL Authentik origin (instead of AUTHENTIK_URL)
  --op-connect-url URL
                      1Password Connect origin (instead of OP_CONNECT_HOST)
  --mapping-file FILE Read the mapping from FILE instead of 1Password
  --op-vault NAME, --op-item TITLE, --op-field LABEL
                      Where the mapping is in 1Password (defaults: ${DEFAULTS.vault},
                      ${DEFAULTS.item}, ${DEFAULTS.field})
  (--mapping, --vault, --item and --field, this host's earlier spellings, still
  work and warn; the flags above are the tenant-sync binary's)
  --deadline-secs N   Stop the run after N seconds (default ${LIMITS.deadlineSecs})
  --retry-budget-secs N
                      Wait out an outage of Authentik or 1Password Connect (refused
                      connections, 5xx, answers that are not the API's) for up to N
                      seconds before a request fails (default ${DEFAULTS.retryBudgetSecs})
  -v, --verbose       Also log Debug events: each group left as it is
  --bindings DIR      The transpiled component (default: gen/ beside this package;
                      make it with \`npm run transpile -- COMPONENT.wasm\`)
  -h, --help          Show this help

${wrapped(CONTRACT.exitCodesHelp, 90)}`;


export const OPTIONS = {
  'dry-run': { type: 'boolean', default: false },
  concurrency: { type: 'string', default: String(DEFAULTS.concurrency) },
  'manager-id': { type: 'string' },
  'allow-superuser-groups': { type: 'boolean', default: false },
  group: { type: 'string', multiple: true, default: [] },
  tenant: { type: 'string', multiple: true, default: [] },
  'authentik-url': { type: 'string' },
  'op-connect-url': { type: 'string' },
  'mapping-file': { type: 'string' },
  'op-vault': { type: 'string' },
  'op-item': { type: 'string' },
  'op-field': { type: 'string' },
  // Earlier spellings of this host, kept with a warning.
  mapping: { type: 'string' },
  vault: { type: 'string' },
  item: { type: 'string' },
  field: { type: 'string' },
  bindings: { type: 'string' },
  'deadline-secs': { type: 'string', default: String(LIMITS.deadlineSecs) },
  'retry-budget-secs': { type: 'string' },
  verbose: { type: 'boolean', short: 'v', default: false },
  help: { type: 'boolean', short: 'h', default: false },
};

/** The tenant-sync binary's name for each earlier spelling of this host's flags. */
const RENAMED = { mapping: 'mapping-file', vault: 'op-vault', item: 'op-item', field: 'op-field' };

/** `values` with each earlier spelling moved to its current name; `warn(old, current)` for each used. */
function current(values, warn) {
  const moved = { ...values };
  for (const [old, now] of Object.entries(RENAMED)) {
    if (values[old] !== undefined) {
      warn(old, now);
      if (values[now] !== undefined) {
        throw new UsageError(`--${old} and --${now} are one flag; pass --${now} only`);
      }
      moved[now] = values[old];
    }
  }
  return moved;
}

export function options(args, env, bindings, warn) {
  const values = current(parseArgs({ args, options: OPTIONS }).values, warn);
  if (values.help) {
    return { help: true };
  }
  const concurrency = Number(values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > DEFAULTS.maxConcurrency) {
    throw new UsageError(`--concurrency takes a whole number from 1 to ${DEFAULTS.maxConcurrency}, not ${values.concurrency}`);
  }
  const deadlineSecs = Number(values['deadline-secs']);
  if (!Number.isInteger(deadlineSecs) || deadlineSecs < 1) {
    throw new UsageError(`--deadline-secs takes a whole number of seconds, not ${values['deadline-secs']}`);
  }
  // 0: the component's default. Only a budget given must fit in the deadline (as the binary).
  const budget = values['retry-budget-secs'];
  const retryBudgetSecs = budget === undefined ? 0 : Number(budget);
  if (budget !== undefined && (!Number.isInteger(retryBudgetSecs) || retryBudgetSecs < 1 || retryBudgetSecs > DEFAULTS.maxRetryBudgetSecs)) {
    throw new UsageError(`--retry-budget-secs takes a whole number of seconds from 1 to ${DEFAULTS.maxRetryBudgetSecs}, not ${budget}`);
  }
  if (budget !== undefined && retryBudgetSecs >= deadlineSecs) {
    throw new UsageError(CONTRACT.usage.budgetPastDeadline.replace('{budget}', retryBudgetSecs).replace('{deadline}', deadlineSecs));
  }
  // A flag's value, or the variable that stands in for it (as the tenant-sync binary reads it).
  const given = (flag) => {
    const variable = CONTRACT.runFlags[flag];
    return (values[flag] ?? (variable ? env[variable] : undefined))?.trim();
  };
  const authentikUrl = given('authentik-url');
  if (!authentikUrl) {
    throw new UsageError(CONTRACT.usage.noAuthentikUrl);
  }
  let source;
  const services = [serviceGrant('authentik', authentikUrl)];
  const mappingFile = values['mapping-file'];
  if (mappingFile !== undefined) {
    source = { tag: 'inline', val: readFileSync(mappingFile, 'utf8') };
  } else {
    const connectUrl = given('op-connect-url');
    if (!connectUrl) {
      throw new UsageError(CONTRACT.usage.noMappingSource);
    }
    source = {
      tag: 'onepassword',
      val: { connectUrl, vault: values['op-vault'], item: values['op-item'], field: values['op-field'] },
    };
    services.push(serviceGrant('onepassword', connectUrl));
  }
  return {
    bindings,
    deadlineSecs,
    // As the wasmtime host: the 1Password tokens only when 1Password is read.
    grants: { services, env: grantedEnv(env, mappingFile === undefined ? SECRET_VARS : CONTRACT.authentikTokenVars), verbose: values.verbose },
    sync: {
      source,
      authentikUrl,
      dryRun: values['dry-run'],
      concurrency,
      managerId: values['manager-id'],
      maxResponseBytes: 0n,
      retryBudgetSecs,
      allowSuperuserGroups: values['allow-superuser-groups'],
      onlyGroups: values.group,
      onlyTenants: values.tenant,
    },
  };
}

