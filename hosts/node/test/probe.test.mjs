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
  ];
  const allowed = [
    ['GET', '/api/v3/core/groups/?name=tenant-a'],
    ['GET', `/api/v3/core/groups/${GROUP}/`],
  ];
  const events = [];
  const instantiate = await loadComponent(probe);
  const component = instantiate(
    {
      services: [serviceGrant('authentik', base)],
      env: {
        AUTHENTIK_TOKEN: 'ak-node-probe-canary',
        PROBE_REQUESTS: [...forbidden, ...allowed].map(([method, path]) => `${method} ${base}${path}`).join('\n'),
      },
    },
    (level, template, properties) => events.push({ level, template, ...properties }),
  );
  component.run.run();
  const seen = await authentik.seen();
  assert.deepEqual(
    seen.map((r) => [r.method, r.url]),
    allowed,
    'only the granted requests reached the server',
  );
  const refused = events.filter((e) => e.level === 'Warning').map((e) => [e.Method, e.Path, e.Service]);
  assert.deepEqual(
    refused,
    forbidden.map(([method, path]) => [method, path, 'Authentik']),
  );
});
