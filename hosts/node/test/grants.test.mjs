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

const GROUP = '3f2a9c1e-7b4d-4e8f-9a0b-1c2d3e4f5a6b';

test('Authentik is granted only what the sync does with groups (as host/src/grants.rs)', () => {
  const services = [serviceGrant('authentik', 'http://127.0.0.1:8080')];
  const check = (method, target) => checkRequest(services, 'http://127.0.0.1:8080', method, target);
  for (const [method, target] of [
    ['GET', '/api/v3/core/groups/?include_users=false&ordering=name&page=2&page_size=100'],
    ['GET', '/api/v3/core/groups/?include_users=false&name=a%20b'],
    ['GET', `/api/v3/core/groups/${GROUP}/?include_users=false`],
    ['POST', '/api/v3/core/groups/?include_users=false'],
    ['PATCH', `/api/v3/core/groups/${GROUP}/?include_users=false`],
  ]) {
    assert.equal(check(method, target).service, 'Authentik', `${method} ${target}`);
    assert.equal(check(method, target).refused, undefined, `${method} ${target}`);
  }
  for (const [method, target] of [
    ['GET', '/api/v3/core/tokens/'],
    ['GET', '/api/v3/core/users/'],
    ['DELETE', `/api/v3/core/groups/${GROUP}/`],
    ['PUT', `/api/v3/core/groups/${GROUP}/`],
    ['POST', `/api/v3/core/groups/${GROUP}/add_user/`],
    ['PATCH', '/api/v3/core/groups/'],
    ['POST', '/api/v3/core/groups/?next=x'],
    ['GET', '/api/v3/core/groups/?search=x'],
    ['GET', '/api/v3/core/groups/not-a-uuid/'],
    ['GET', '/api/v3/core/groups'],
    ['GET', '/api/v3/core/groups/../tokens/'],
    ['GET', '/api/v3/core/groups/%2e%2E/tokens/'],
    ['GET', '/v1/vaults'],
  ]) {
    assert.deepEqual(check(method, target), { refused: 'operation', service: 'Authentik' }, `${method} ${target}`);
  }
  assert.deepEqual(checkRequest(services, 'http://127.0.0.1:8081', 'GET', '/api/v3/core/groups/'), { refused: 'origin' });
  assert.deepEqual(checkRequest(services, null, 'GET', '/'), { refused: 'origin' });
});

test('1Password Connect is granted reads under /v1/vaults, under the base path', () => {
  const services = [serviceGrant('authentik', 'https://edge.example/authentik/'), serviceGrant('onepassword', 'https://edge.example/op')];
  const check = (method, target) => {
    const checked = checkRequest(services, 'https://edge.example:443', method, target);
    return checked.refused === undefined ? checked.service : null;
  };
  assert.equal(check('GET', '/op/v1/vaults?filter=name%20eq%20%22x%22'), '1Password Connect');
  assert.equal(check('GET', '/op/v1/vaults/abc/items/def/files/ghi/content'), '1Password Connect');
  assert.equal(check('POST', '/authentik/api/v3/core/groups/?include_users=false'), 'Authentik');
  for (const [method, target] of [
    ['PUT', '/op/v1/vaults/abc/items/def'],
    ['GET', '/op/v1/activity'],
    ['GET', '/op/v1/vaults/abc/%2E%2e/%2e%2e/activity'],
    ['GET', '/op/v1/vaults/'],
    ['GET', '/op/v1/vaults/abc?inline_files=true'],
    ['POST', '/api/v3/core/groups/'],
    ['GET', '/authentik/v1/vaults'],
  ]) {
    assert.equal(check(method, target), null, `${method} ${target}`);
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

const authentik = [serviceGrant('authentik', 'http://127.0.0.1:8080')];
const operation = (method, target) => checkRequest(authentik, 'http://127.0.0.1:8080', method, target).operation;

test('groups are read only without their members (as host/src/grants.rs)', () => {
  const check = (target) => checkRequest(authentik, 'http://127.0.0.1:8080', 'GET', target);
  for (const target of [
    '/api/v3/core/groups/?name=x',
    '/api/v3/core/groups/?include_users=true&name=x',
    '/api/v3/core/groups/?include_users=false&include_users=true',
    '/api/v3/core/groups/?include_users',
    '/api/v3/core/groups/?include_users=False',
    `/api/v3/core/groups/${GROUP}/`,
    `/api/v3/core/groups/${GROUP}/?include_users=1`,
  ]) {
    const checked = check(target);
    assert.equal(checked.refused, 'content', target);
    assert.equal(checked.key, 'include_users', target);
  }
  assert.equal(check('/api/v3/core/groups/?include_users=false&include%5Fusers=true').refused, 'operation');
  assert.equal(check('/api/v3/core/groups/?include_users=false&name=x').refused, undefined);
  for (const [method, target] of [
    ['POST', '/api/v3/core/groups/'],
    ['PATCH', `/api/v3/core/groups/${GROUP}/`],
    ['PATCH', `/api/v3/core/groups/${GROUP}/?include_users=true`],
  ]) {
    const checked = checkRequest(authentik, 'http://127.0.0.1:8080', method, target);
    assert.equal(checked.key, 'include_users', `${method} ${target}`);
  }
});

test('only the headers the sync sends go out (as host/src/grants.rs)', () => {
  const get = operation('GET', '/api/v3/core/groups/?include_users=false');
  assert.equal(checkHeaders(get, [['Authorization', 'Bearer t'], ['accept', 'application/json'], ['user-agent', 'x']]), null);
  for (const name of ['x-http-method-override', 'cookie', 'transfer-encoding', 'upgrade', 'proxy-authorization', 'x-forwarded-for']) {
    assert.equal(checkHeaders(get, [[name, 'x']])?.key, name);
  }
  assert.notEqual(checkHeaders(get, [['content-type', 'application/json']]), null);
  assert.notEqual(checkHeaders(get, [['content-length', '2']]), null);
  const post = operation('POST', '/api/v3/core/groups/?include_users=false');
  assert.equal(checkHeaders(post, [['content-type', 'application/json'], ['content-length', '2']]), null);
  for (const headers of [
    [['content-length', '2']],
    [['content-type', 'application/json']],
    [['content-type', 'text/plain'], ['content-length', '2']],
    [['content-type', 'application/json'], ['content-type', 'application/json'], ['content-length', '2']],
  ]) {
    assert.notEqual(checkHeaders(post, headers), null, JSON.stringify(headers));
  }
});

test('a write body carries exactly the keys the sync writes (as host/src/grants.rs)', () => {
  const post = operation('POST', '/api/v3/core/groups/?include_users=false');
  const patch = operation('PATCH', `/api/v3/core/groups/${GROUP}/?include_users=false`);
  for (const foreign of ['additionalHeaders', 'goauthentik.io/user/can-change-username', 'x']) {
    const body = new TextEncoder().encode(`{"name": "a", "attributes": {"fc:tenant": "a", "${foreign}": 1}}`);
    assert.equal(checkBody(post, body)?.key, foreign);
  }
  const lone = checkBody(patch, new TextEncoder().encode('{"\\ud800": 1, "attributes": {}}'));
  assert.ok(lone.key.includes('\\u{d800}'), lone.key);
  assert.doesNotThrow(() => JSON.stringify(lone));
  const bytes = (text) => new TextEncoder().encode(text);
  assert.equal(checkBody(post, bytes('{"name": "a", "attributes": {"fc:tenant": "a"}}')), null);
  assert.equal(checkBody(patch, bytes('{"attributes": {"users": [1]}}')), null);
  for (const [op, body, key] of [
    [patch, '{"attributes": {}, "users": [1]}', 'users'],
    [patch, '{"attributes": {}, "parents": ["x"]}', 'parents'],
    [patch, '{"attributes": {}, "roles": ["x"]}', 'roles'],
    [patch, '{"attributes": {}, "is_superuser": true}', 'is_superuser'],
    [patch, '{"attributes": {}, "\\u0075sers": [1]}', 'users'],
    [patch, '{"attributes": {}, "name": "renamed"}', 'name'],
    [post, '{"name": "a", "attributes": {}, "children": []}', 'children'],
    [post, '{"name": "a", "attributes": {}, "users": [1]}', 'users'],
    [post, '{"name": "a"}', 'attributes'],
    [post, '{"name": 1, "attributes": {}}', 'name'],
    [patch, '{"attributes": []}', 'attributes'],
    [patch, '{}', 'attributes'],
    [patch, '[{"attributes": {}}]', null],
    [patch, '{"attributes": {}', null],
    [patch, '', null],
  ]) {
    assert.equal(checkBody(op, bytes(body))?.key, key, body);
  }
  const huge = `{"attributes": {"x": "${'a'.repeat(1024 * 1024)}"}}`;
  assert.notEqual(checkBody(patch, bytes(huge)), null);
  const get = operation('GET', '/api/v3/core/groups/?include_users=false');
  assert.equal(checkBody(get, new Uint8Array()), null);
  assert.notEqual(checkBody(get, bytes('{}')), null);
  const hostile = checkBody(patch, bytes(`{"attributes": {}, "users\\u202e${'k'.repeat(100_000)}": 1}`));
  assert.ok(hostile.reason.length < 2_000 && hostile.key.length < 2_000);
  assert.ok(!hostile.reason.includes('\u202e'));
});

test('a token goes only to its own service and only as its authorization (as host/src/grants.rs)', () => {
  const tokens = tokensOf({ AUTHENTIK_TOKEN: 'ak-0123456789', OP_TOKEN: 'op-9876543210', HOME: '/root' });
  const bytes = (text) => new TextEncoder().encode(text);
  const target = `/api/v3/core/groups/${GROUP}/?include_users=false`;
  const fine = bytes('{"attributes": {"fc:tenant": "a"}}');
  assert.equal(checkTokens('Authentik', ['Bearer ak-0123456789'], target, fine, tokens), null);
  for (const authorization of [['Bearer op-9876543210'], ['Bearer ak-0123456789', 'Bearer ak-0123456789'], ['Bearer x']]) {
    assert.equal(checkTokens('Authentik', authorization, target, fine, tokens)?.key, 'authorization');
  }
  for (const body of ['{"attributes": {"x": "op-9876543210"}}', '{"attributes": {"x": "\\u006fp-9876543210"}}', '{"attributes": {"ak-0123456789": 1}}']) {
    const refused = checkTokens('Authentik', ['Bearer ak-0123456789'], target, bytes(body), tokens);
    assert.ok(refused !== null && !refused.reason.includes('9876543210'), body);
  }
  for (const query of ['name=op-9876543210', 'name=op%2D9876543210']) {
    assert.notEqual(checkTokens('Authentik', ['Bearer ak-0123456789'], `/api/v3/core/groups/?include_users=false&${query}`, new Uint8Array(), tokens), null);
  }
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
