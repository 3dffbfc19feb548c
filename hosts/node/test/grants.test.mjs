import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import { CONTRACT } from '../src/contract.mjs';
import { checkBody, checkHeaders, checkHeld, checkRequest, checkTokens, foreignChange, grantedEnv, groupsIn, Held, tokensOf, methodName, originOf, requestOrigin, SECRET_VARS, serviceGrant, UsageError } from '../src/grants.mjs';

test('origins are scheme, lower-cased host and explicit port', () => {
  assert.equal(originOf('https://Auth.Example.com/'), 'https://auth.example.com:443');
  assert.equal(originOf('http://127.0.0.1:8080/v1'), 'http://127.0.0.1:8080');
  assert.equal(originOf(' http://[::1]:9/ '), 'http://[::1]:9');
  assert.equal(originOf('ftp://example.com'), null);
  assert.equal(originOf('not a url'), null);
});

test('a service grant names a bad URL', () => {
  assert.equal(serviceGrant('authentik', 'http://a:1/x/').basePath, '/x');
  assert.throws(() => serviceGrant('authentik', 'file:///etc/passwd'), (e) => e instanceof UsageError && e.message.includes('file:///etc/passwd'));
});

// The cases the wasmtime host's tests read too.
const VECTORS = JSON.parse(readFileSync(new URL('../../../tests/vectors/grants.json', import.meta.url), 'utf8'));
const GROUP = VECTORS.group;
const filled = (text) => text.replaceAll('{group}', GROUP);
const bytes = (text) => new TextEncoder().encode(text);
// The target exactly as written: `new URL` would resolve `..` and change what is checked.
const split = (url) => {
  const at = url.indexOf('/', url.indexOf('//') + 2);
  return [originOf(url), url.slice(at)];
};
const expected = (c) => ('key' in c ? c.key : undefined);

test('requests are granted as tests/vectors/grants.json says (as host/src/grants.rs)', () => {
  for (const { grants, cases } of VECTORS.requests) {
    const services = [serviceGrant('authentik', grants.authentik), serviceGrant('onepassword', grants.onepassword)];
    for (const c of cases) {
      const [origin, target] = split(filled(c.url));
      const checked = checkRequest(services, origin, c.method, target);
      const what = `${c.method} ${c.url}: ${JSON.stringify(checked)}`;
      assert.equal(checked.refused, c.refused, what);
      if (c.service !== undefined) assert.equal(checked.service, c.service, what);
      if (c.refused === 'content') assert.equal(checked.key, c.key, what);
    }
  }
  const services = [serviceGrant('authentik', 'http://127.0.0.1:8080')];
  assert.deepEqual(checkRequest(services, null, 'GET', '/'), { refused: 'origin' });
});

const authentik = [serviceGrant('authentik', 'http://127.0.0.1:8080')];
const operation = (method, target) => checkRequest(authentik, 'http://127.0.0.1:8080', method, filled(target)).operation;

test('headers are checked as tests/vectors/grants.json says (as host/src/grants.rs)', () => {
  for (const c of VECTORS.headers) {
    const refused = checkHeaders(operation(c.method, c.target), c.headers);
    assert.equal(refused === null ? undefined : refused.key ?? null, expected(c), JSON.stringify(c));
  }
});

test('bodies are checked as tests/vectors/grants.json says (as host/src/grants.rs)', () => {
  for (const c of VECTORS.bodies) {
    const refused = checkBody(operation(c.method, c.target), bytes(c.body));
    assert.equal(refused === null ? undefined : refused.key ?? null, expected(c), JSON.stringify(c));
  }
});

test('tokens go only where tests/vectors/grants.json says (as host/src/grants.rs)', () => {
  const { env, cases } = VECTORS.tokens;
  const tokens = tokensOf(env);
  const tails = Object.entries(env).filter(([name]) => name.endsWith('_TOKEN')).map(([, value]) => value.slice(-8));
  for (const c of cases) {
    const refused = checkTokens('Authentik', c.authorization, filled(c.target), bytes(c.body), tokens);
    assert.equal(refused !== null, c.refused, JSON.stringify(c));
    if (refused === null) continue;
    if ('key' in c) assert.equal(refused.key, c.key, JSON.stringify(c));
    for (const tail of tails) assert.ok(!refused.reason.includes(tail), refused.reason);
  }
});

test('a wasi:http method reads as its name', () => {
  assert.equal(methodName({ tag: 'get' }), 'GET');
  assert.equal(methodName({ tag: 'patch' }), 'PATCH');
  assert.equal(methodName({ tag: 'other', val: 'PROPFIND' }), 'PROPFIND');
});

test('a request origin comes from its scheme variant and authority', () => {
  assert.equal(requestOrigin({ tag: 'HTTP' }, '127.0.0.1:9'), 'http://127.0.0.1:9');
  assert.equal(requestOrigin({ tag: 'HTTPS' }, 'Auth.example.com'), 'https://auth.example.com:443');
  assert.equal(requestOrigin({ tag: 'other', val: 'gopher' }, 'x:1'), null);
  assert.equal(requestOrigin({ tag: 'HTTP' }, undefined), null);
  assert.equal(requestOrigin(undefined, 'x:1'), null);
});

test('only the granted variables reach the component', () => {
  const env = { OP_TOKEN: 'op', AUTHENTIK_TOKEN: 'ak', OP_CONNECT_TOKEN: '', HOME: '/root', AWS_SECRET_ACCESS_KEY: 'x' };
  assert.deepEqual(grantedEnv(env), { OP_TOKEN: 'op', OP_CONNECT_TOKEN: '', AUTHENTIK_TOKEN: 'ak' });
  assert.deepEqual(SECRET_VARS, ['OP_TOKEN', 'OP_CONNECT_TOKEN', 'AUTHENTIK_TOKEN']);
});

test('a write body refusal is bounded, escaped and serializable', () => {
  const patch = operation('PATCH', '/api/v3/core/groups/{group}/?include_users=false');
  const lone = checkBody(patch, bytes('{"\\ud800": 1, "attributes": {}}'));
  assert.ok(lone.key.includes('\\u{d800}'), lone.key);
  assert.doesNotThrow(() => JSON.stringify(lone));
  const huge = `{"attributes": {"x": "${'a'.repeat(1024 * 1024)}"}}`;
  assert.notEqual(checkBody(patch, bytes(huge)), null);
  const hostile = checkBody(patch, bytes(`{"attributes": {}, "users\\u202e${'k'.repeat(100_000)}": 1}`));
  assert.ok(hostile.reason.length < 2_000 && hostile.key.length < 2_000);
  assert.ok(!hostile.reason.includes('\u202e'));
});

test('a PATCH may change only the managed keys of what the group held (tests/vectors, as host/src/held.rs)', () => {
  const vectors = JSON.parse(readFileSync(new URL('../../../tests/vectors/held-attributes.json', import.meta.url), 'utf8'));
  for (const { name, held, sent, changed } of vectors.cases) {
    assert.equal(foreignChange(held, sent, vectors.managed), changed, name);
  }
});

test('a group is recorded from the answers relayed, and only what was read may be patched', () => {
  const patch = CONTRACT.operations.authentik.find((o) => o.method === 'PATCH');
  const path = `/api/v3/core/groups/${GROUP.toUpperCase()}/?include_users=false`;
  const body = (attributes) => new TextEncoder().encode(JSON.stringify({ attributes }));
  const held = new Held();
  assert.equal(checkHeld(patch, path, body({ 'fc:tenant': 'a' }), held).key, 'attributes');
  const page = { results: [{ pk: GROUP, attributes: { keep: true } }, { pk: 2, attributes: {} }] };
  held.record('groupPage', new TextEncoder().encode(JSON.stringify(page)), held.arrived());
  assert.deepEqual(groupsIn('groupPage', new TextEncoder().encode(JSON.stringify(page))), [[GROUP, { keep: true }]]);
  assert.equal(checkHeld(patch, path, body({ 'fc:tenant': 'a' }), held).key, 'keep');
  assert.equal(checkHeld(patch, path, body({ 'fc:tenant': 'a', keep: true }), held), null);
  // The newest answer holds, whichever is read to its end last.
  const [older, newer] = [held.arrived(), held.arrived()];
  held.record('group', new TextEncoder().encode(JSON.stringify({ pk: GROUP, attributes: {} })), newer);
  held.record('group', new TextEncoder().encode(JSON.stringify({ pk: GROUP, attributes: { keep: true } })), older);
  assert.equal(checkHeld(patch, path, body({ 'fc:tenant': 'a', keep: true }), held).key, 'keep');
  assert.deepEqual(groupsIn('group', new TextEncoder().encode('not json')), []);
});

test('a request names its host as granted, not in another spelling of the same address (as the wasmtime host)', () => {
  const http = { tag: 'HTTP' };
  assert.equal(requestOrigin(http, '127.0.0.1:8080'), 'http://127.0.0.1:8080');
  assert.equal(requestOrigin(http, 'Auth.Example.com'), 'http://auth.example.com:80');
  assert.equal(requestOrigin(http, '[::1]:9'), 'http://[::1]:9');
  for (const spelled of ['127.1:8080', '2130706433:8080', '0x7f.0.0.1:8080', '127.0.0.%31:8080', '127.0.0.1.:8080', 'user@127.0.0.1:8080']) {
    assert.equal(requestOrigin(http, spelled), null, spelled);
  }
});

test('a number JSON cannot hold (1e400 reads as Infinity) is refused, not taken for any held value', () => {
  const patch = CONTRACT.operations.authentik.find((o) => o.method === 'PATCH');
  for (const text of ['{"attributes": {"quota": 1e400}}', '{"attributes": {"n": [-1e400]}}']) {
    assert.match(checkBody(patch, new TextEncoder().encode(text)).reason, /too large/, text);
  }
  assert.equal(foreignChange({ n: 0 }, { n: Infinity }, []), 'n');
});
