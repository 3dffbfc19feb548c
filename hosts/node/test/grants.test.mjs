import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allowlist, grantedEnv, originOf, requestOrigin, SECRET_VARS, UsageError } from '../src/grants.mjs';

test('origins are scheme, lower-cased host and explicit port', () => {
  assert.equal(originOf('https://Auth.Example.com/'), 'https://auth.example.com:443');
  assert.equal(originOf('http://127.0.0.1:8080/v1'), 'http://127.0.0.1:8080');
  assert.equal(originOf(' http://[::1]:9/ '), 'http://[::1]:9');
  assert.equal(originOf('ftp://example.com'), null);
  assert.equal(originOf('not a url'), null);
});

test('the allowlist names a bad URL', () => {
  assert.deepEqual(allowlist(['http://a:1', 'http://a:1/x']), new Set(['http://a:1']));
  assert.throws(() => allowlist(['http://a:1', 'file:///etc/passwd']), (e) => e instanceof UsageError && e.message.includes('file:///etc/passwd'));
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
  assert.deepEqual(grantedEnv(env), { OP_TOKEN: 'op', AUTHENTIK_TOKEN: 'ak' });
  assert.deepEqual(SECRET_VARS, ['OP_TOKEN', 'OP_CONNECT_TOKEN', 'AUTHENTIK_TOKEN']);
});
