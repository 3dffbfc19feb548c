import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CONTRACT } from '../src/contract.mjs';
import { HELP, OPTIONS, options } from '../src/options.mjs';

const parse = (args, env = {}) => options(args, env, 'gen', () => {});

test('every flag of the binary\'s run is taken, as the contract lists them (as host/src/cli/mod.rs)', () => {
  for (const flag of Object.keys(CONTRACT.runFlags)) {
    assert.ok(flag in OPTIONS, `--${flag}`);
  }
});

test('a variable stands in for its flag, and the flag wins', () => {
  const env = { AUTHENTIK_URL: 'http://127.0.0.1:1', OP_CONNECT_HOST: 'http://127.0.0.1:2' };
  assert.equal(CONTRACT.runFlags['authentik-url'], 'AUTHENTIK_URL');
  const fromEnv = parse([], env);
  assert.equal(fromEnv.sync.authentikUrl, 'http://127.0.0.1:1');
  assert.equal(fromEnv.sync.source.val.connectUrl, 'http://127.0.0.1:2');
  const fromFlags = parse(['--authentik-url', 'http://127.0.0.1:3', '--op-connect-url', 'http://127.0.0.1:4'], env);
  assert.equal(fromFlags.sync.authentikUrl, 'http://127.0.0.1:3');
  assert.equal(fromFlags.sync.source.val.connectUrl, 'http://127.0.0.1:4');
  assert.throws(() => parse([], {}), { message: CONTRACT.usage.noAuthentikUrl });
  assert.throws(() => parse([], { AUTHENTIK_URL: 'http://127.0.0.1:1' }), { message: CONTRACT.usage.noMappingSource });
});

test('an earlier spelling works and warns; with its current spelling it is refused', () => {
  const warned = [];
  const env = { AUTHENTIK_URL: 'http://127.0.0.1:1', OP_CONNECT_HOST: 'http://127.0.0.1:2' };
  const parsed = options(['--vault', 'V'], env, 'gen', (old, now) => warned.push([old, now]));
  assert.equal(parsed.sync.source.val.vault, 'V');
  assert.deepEqual(warned, [['vault', 'op-vault']]);
  assert.throws(() => parse(['--vault', 'V', '--op-vault', 'W'], env), /one flag/);
});

test('--help names every flag, every variable that stands in for one, and every token variable', () => {
  const named = [
    ...Object.keys(CONTRACT.runFlags).map((flag) => `--${flag}`),
    ...Object.values(CONTRACT.runFlags).filter((variable) => variable !== null),
    ...CONTRACT.secretVars,
  ];
  for (const name of named) {
    assert.match(HELP, new RegExp(`(^|[\\s,(])${name}\\b`), name);
  }
});

test('a retry budget the deadline would cut short is refused, as by the tenant-sync binary', () => {
  const env = { AUTHENTIK_URL: 'http://127.0.0.1:1', OP_CONNECT_HOST: 'http://127.0.0.1:2' };
  assert.equal(parse(['--retry-budget-secs', '30', '--deadline-secs', '31'], env).sync.retryBudgetSecs, 30);
  assert.throws(() => parse(['--retry-budget-secs', '60', '--deadline-secs', '60'], env), {
    message: CONTRACT.usage.budgetPastDeadline.replace('{budget}', '60').replace('{deadline}', '60'),
  });
  assert.throws(() => parse(['--retry-budget-secs', '0'], env), /--retry-budget-secs takes/);
  assert.equal(parse(['--deadline-secs', '2'], env).sync.retryBudgetSecs, 0, 'not given: the default, and the deadline may cut it');
});
