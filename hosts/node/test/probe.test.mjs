// The Node host's per-operation grants, proven with a hostile component: tests/probe sends,
// with the Authentik token, the requests PROBE_REQUESTS lists. Only the group requests the sync
// needs may reach the server. The transpiled probe comes from TENANT_SYNC_NODE_PROBE (the Rust
// test suite builds and transpiles it: tests/tests/node_host.rs).

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { serviceGrant } from '../src/grants.mjs';
import { loadComponent } from '../src/host.mjs';
import { listener } from './listener.mjs';

const probe = process.env.TENANT_SYNC_NODE_PROBE;
const GROUP = '3f2a9c1e-7b4d-4e8f-9a0b-1c2d3e4f5a6b';
const ADMINS = '5e1b3c2a-0d4f-4a6b-8c9d-0e1f2a3b4c5d';
let authentik;

before(async () => {
  assert.ok(
    probe !== undefined && existsSync(join(probe, 'tenant-sync.js')),
    'set TENANT_SYNC_NODE_PROBE to the transpiled tests/probe component (cargo test -p tenant-sync-tests --test node_host does)',
  );
  authentik = await listener();
});

after(() => authentik.close());

test('a tampered component can send only the group requests the sync needs', async () => {
  const base = authentik.url;
  const forbidden = [
    ['GET', '/api/v3/core/tokens/'],
    ['GET', '/api/v3/core/users/'],
    ['DELETE', `/api/v3/core/groups/${GROUP}/`],
    ['PUT', `/api/v3/core/groups/${GROUP}/`],
    ['POST', `/api/v3/core/groups/${GROUP}/add_user/`],
    ['GET', '/api/v3/core/groups/../tokens/'],
    // What makes a token that may change groups admin-equivalent: members, parents, roles.
    ['PATCH', `/api/v3/core/groups/${GROUP}/?include_users=false`, '{"attributes": {}, "users": [1]}', 'users'],
    ['PATCH', `/api/v3/core/groups/${GROUP}/?include_users=false`, `{"attributes": {}, "parents": ["${ADMINS}"]}`, 'parents'],
    ['POST', '/api/v3/core/groups/?include_users=false', '{"name": "x", "attributes": {}, "roles": ["r"]}', 'roles'],
    ['POST', '/api/v3/core/groups/?include_users=false', '{"name": "x", "attributes": {"additionalHeaders": {"X-Remote-User": "admin"}}}', 'additionalHeaders'],
    // A write answered with the members' details.
    ['PATCH', `/api/v3/core/groups/${GROUP}/`, '{"attributes": {"k": 1}}', 'include_users'],
    ['GET', '/api/v3/core/groups/?include_users=true', undefined, 'include_users'],
    ['GET', `/api/v3/core/groups/${GROUP}/`, undefined, 'include_users'],
    ['GET', '/api/v3/core/groups/?include_users=false x-http-method-override:DELETE', undefined, 'x-http-method-override'],
    ['GET', '/api/v3/core/groups/?include_users=false transfer-encoding:chunked', undefined, 'transfer-encoding'],
    ['GET', '/api/v3/core/groups/?include_users=false proxy-authorization:x', undefined, 'proxy-authorization'],
  ];
  const allowed = [
    ['GET', '/api/v3/core/groups/?include_users=false&name=tenant-a'],
    ['GET', `/api/v3/core/groups/${GROUP}/?include_users=false`],
    ['PATCH', `/api/v3/core/groups/${GROUP}/?include_users=false`, '{"attributes": {"fc:tenant": "a", "k": 1}}'],
    ['GET', `/api/v3/core/groups/${GROUP}/?include_users=false`],
  ];
  // A PATCH replaces the group's whole attributes: once the group is read, only the managed
  // keys may differ from what it holds; a group never read cannot be patched at all.
  const afterReading = [
    ['PATCH', `/api/v3/core/groups/${GROUP}/?include_users=false`, '{"attributes": {"fc:tenant": "a", "k": 1, "additionalHeaders": {"X-Remote-User": "admin"}}}', 'additionalHeaders'],
    ['PATCH', `/api/v3/core/groups/${GROUP}/?include_users=false`, '{"attributes": {"fc:tenant": "a"}}', 'k'],
    ['PATCH', `/api/v3/core/groups/${GROUP}/?include_users=false`, '{"attributes": {"fc:tenant": "a", "k": 2}}', 'k'],
    ['PATCH', `/api/v3/core/groups/${ADMINS}/?include_users=false`, '{"attributes": {"fc:tenant": "a"}}', 'attributes'],
  ];
  const events = [];
  const instantiate = await loadComponent(probe);
  const component = instantiate(
    {
      services: [serviceGrant('authentik', base)],
      env: {
        AUTHENTIK_TOKEN: 'ak-node-probe-canary',
        PROBE_REQUESTS: [...forbidden, ...allowed, ...afterReading].map(([method, path, body]) => `${method} ${base}${path}${body === undefined ? '' : ` ${body}`}`).join('\n'),
      },
    },
    (level, template, properties) => events.push({ level, template, ...properties }),
  );
  component.run.run();
  const seen = await authentik.seen();
  assert.deepEqual(
    seen.map((r) => [r.method, r.url, r.body]),
    allowed.map(([method, path, body]) => [method, path, body ?? '']),
    'only the granted requests reached the server, with their bodies whole',
  );
  const refused = events.filter((e) => e.level === 'Warning');
  const refusedRequests = [...forbidden, ...afterReading];
  assert.deepEqual(
    refused.map((e) => [e.Method, e.Path, e.Service]),
    refusedRequests.map(([method, path]) => [method, path.split(/[? ]/)[0], 'Authentik']),
  );
  assert.deepEqual(
    refused.slice(6).map((e) => e.Key),
    refusedRequests.slice(6).map(([, , , key]) => key),
  );
});

test('a token goes only to its own service and only as its authorization', async () => {
  const onepassword = await listener();
  try {
    const [base, vaults] = [authentik.url, onepassword.url];
    const before = (await authentik.seen()).length;
    const events = [];
    const instantiate = await loadComponent(probe);
    const requests = [
      `GET ${vaults}/v1/vaults`,
      `PATCH ${base}/api/v3/core/groups/${GROUP}/?include_users=false {"attributes": {"stolen": "op-node-probe-canary"}}`,
      `GET ${base}/api/v3/core/groups/?include_users=false&name=op-node-probe-canary`,
    ];
    const component = instantiate(
      {
        services: [serviceGrant('authentik', base), serviceGrant('onepassword', vaults)],
        env: { AUTHENTIK_TOKEN: 'ak-node-probe-canary', OP_TOKEN: 'op-node-probe-canary', PROBE_REQUESTS: requests.join('\n') },
      },
      (level, template, properties) => events.push({ level, template, ...properties }),
    );
    component.run.run();
    assert.deepEqual(await onepassword.seen(), [], '1Password never saw the Authentik token');
    assert.equal((await authentik.seen()).length, before, 'nothing reached Authentik');
    const refused = events.filter((e) => e.level === 'Warning');
    assert.deepEqual(
      refused.map((e) => e.Key),
      ['authorization', null, null],
    );
    assert.ok(!JSON.stringify(events).includes('op-node-probe-canary'));
  } finally {
    onepassword.close();
  }
});
