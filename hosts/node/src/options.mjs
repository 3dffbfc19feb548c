// The command line of tenant-sync-node: the flags the tenant-sync binary's `run` takes (the
// contract's `runFlags`, with the variables that stand in for them), and what a run is given.

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { CONTRACT } from './contract.mjs';
import { grantedEnv, SECRET_VARS, serviceGrant, UsageError } from './grants.mjs';

const { defaults: DEFAULTS, limits: LIMITS } = CONTRACT;

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
  // A flag's value, or the variable that stands in for it (as the tenant-sync binary reads it).
  const given = (flag) => (values[flag] ?? env[CONTRACT.runFlags[flag]])?.trim();
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
      allowSuperuserGroups: values['allow-superuser-groups'],
      onlyGroups: values.group,
      onlyTenants: values.tenant,
    },
  };
}

