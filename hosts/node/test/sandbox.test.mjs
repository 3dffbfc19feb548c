// The Node host's grants, proven against the real component: a refused origin is never
// reached, the guest sees only granted variables, and sockets are denied. The transpiled
// component comes from TENANT_SYNC_NODE_BINDINGS (the Rust test suite sets it) or gen/.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CONTRACT } from '../src/contract.mjs';
import { grantedEnv, serviceGrant } from '../src/grants.mjs';
import { http, io } from '@bytecodealliance/preview2-shim';
import { bounded, deniedSockets, END_OUTPUT, eventStream, importsFor, loadComponent, TIMEOUTS_NS } from '../src/host.mjs';
import { listener } from './listener.mjs';

const bindings =
  process.env.TENANT_SYNC_NODE_BINDINGS ?? join(dirname(fileURLToPath(import.meta.url)), '..', 'gen');
const MAPPING = JSON.stringify({ version: 1, mappings: [{ authentikGroup: 'acme-users', fcTenantId: 'acme', fcRole: 'user' }] });
let instantiate;
let allowed;
let forbidden;

before(async () => {
  assert.ok(existsSync(join(bindings, 'tenant-sync.js')), `no transpiled component in ${bindings}: run \`npm run transpile -- COMPONENT.wasm\``);
  instantiate = await loadComponent(bindings);
  allowed = await listener();
  forbidden = await listener();
});

after(() => {
  allowed.close();
  forbidden.close();
});

test('a request to an origin not granted is refused with HTTP-request-denied and never sent', async () => {
  const events = [];
  const component = instantiate(
    { services: [serviceGrant('authentik', allowed.url)], env: { AUTHENTIK_TOKEN: 'ak-node-canary' } },
    (level, template, properties) => events.push({ level, template, ...properties }),
  );
  const options = { source: { tag: 'inline', val: MAPPING }, authentikUrl: forbidden.url, dryRun: true, concurrency: 0, maxResponseBytes: 0n, retryBudgetSecs: 0, allowSuperuserGroups: false, onlyGroups: [], onlyTenants: [] };
  assert.throws(
    () => component.sync.run(options),
    (error) => error.payload?.tag === 'upstream' && error.payload.val.message.includes('HttpRequestDenied'),
  );
  assert.equal((await forbidden.seen()).length, 0, 'the refused origin received a request');
  assert.equal(events.length, 1);
  assert.equal(events[0].level, 'Warning');
  assert.equal(events[0].Origin, forbidden.url);
  assert.deepEqual(events[0].Allowed, [allowed.url]);

  // The same run with the origin granted does reach it: the refusal above was the allowlist.
  const granted = instantiate({ services: [serviceGrant('authentik', forbidden.url)], env: { AUTHENTIK_TOKEN: 'ak-node-canary' } });
  const report = granted.sync.run(options);
  assert.equal(report.summary.create, 1);
  const seen = await forbidden.seen();
  assert.equal(seen.length, 1);
  assert.equal(seen[0].authorization, 'Bearer ak-node-canary');
});

test('the component sees only the granted environment variables', async () => {
  // wasi:cli/run configures itself from the environment. Everything it needs is in this
  // process's environment, but only the tokens are granted, so it cannot see the rest...
  const environment = {
    AUTHENTIK_TOKEN: 'ak-node-canary',
    AUTHENTIK_URL: allowed.url,
    TENANT_SYNC_MAPPING: MAPPING,
    TENANT_SYNC_DRY_RUN: 'true',
  };
  const before = (await allowed.seen()).length;
  const ambient = { ...process.env, ...environment };
  const reduced = instantiate({ services: [serviceGrant('authentik', allowed.url)], env: grantedEnv(ambient) }, () => {});
  assert.throws(() => reduced.run.run());
  assert.equal((await allowed.seen()).length, before, 'a run without its configuration sent a request');

  // ...and granting the same variables makes the same run work.
  const full = instantiate({ services: [serviceGrant('authentik', allowed.url)], env: environment }, () => {});
  full.run.run();
  assert.equal((await allowed.seen()).length, before + 1);

  const imports = importsFor({ services: [], env: { OP_TOKEN: 'op' } });
  assert.deepEqual(imports['wasi:cli/environment'].getEnvironment(), [['OP_TOKEN', 'op']]);
  assert.deepEqual(imports['wasi:cli/environment'].getArguments(), ['tenant-sync']);
});

test('sockets and name lookups are denied, and there is no filesystem', () => {
  const imports = importsFor({ services: [], env: {} });
  const denied = (call) => assert.throws(call, (e) => e === 'access-denied');
  denied(() => imports['wasi:sockets/tcp-create-socket'].createTcpSocket('ipv4'));
  denied(() => imports['wasi:sockets/udp-create-socket'].createUdpSocket('ipv6'));
  denied(() => imports['wasi:sockets/ip-name-lookup'].resolveAddresses(undefined, 'example.com'));
  assert.deepEqual(Object.keys(deniedSockets()).sort(), Object.keys(imports).filter((k) => k.startsWith('wasi:sockets/')).sort());
  assert.deepEqual(imports['wasi:filesystem/preopens'].getDirectories(), []);
});

test('request timeouts are capped as in the wasmtime host; shorter ones are kept', () => {
  const defaults = bounded(undefined);
  assert.equal(defaults.connectTimeout(), TIMEOUTS_NS.connect);
  assert.equal(defaults.firstByteTimeout(), TIMEOUTS_NS.firstByte);
  assert.equal(defaults.betweenBytesTimeout(), TIMEOUTS_NS.betweenBytes);
  const asked = new http.types.RequestOptions();
  asked.setConnectTimeout(600_000_000_000n);
  asked.setFirstByteTimeout(1_000_000_000n);
  const capped = bounded(asked);
  assert.equal(capped.connectTimeout(), TIMEOUTS_NS.connect);
  assert.equal(capped.firstByteTimeout(), 1_000_000_000n);
  assert.equal(capped.betweenBytesTimeout(), TIMEOUTS_NS.betweenBytes);
  assert.deepEqual(TIMEOUTS_NS, { connect: 10_000_000_000n, firstByte: 30_000_000_000n, betweenBytes: 30_000_000_000n });
});

test("the host's own events and failures are rendered by the component, as the wasmtime host renders them", () => {
  const lines = [];
  const write = process.stderr.write;
  process.stderr.write = (line) => lines.push(line);
  try {
    instantiate.render.log('Warning', 'Refused {Method} at {@Origin}', { Method: 'DELETE', '@Origin': 'x' });
  } finally {
    process.stderr.write = write;
  }
  assert.equal(lines.length, 1);
  assert.ok(lines[0].endsWith('\n'));
  const event = JSON.parse(lines[0]);
  assert.equal(event['@l'], 'Warning');
  assert.equal(event['@mt'], 'Refused {Method} at {@Origin}');
  assert.equal(event.Method, 'DELETE');
  // CLEF reserves `@` names: a property's is doubled, never taken for `@t` and the like.
  assert.equal(event['@@Origin'], 'x');
  assert.match(event['@t'], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

  const printed = instantiate.render.failure('limit', 'the run did not finish within its 2 s deadline');
  assert.equal(printed.exitCode, 6);
  assert.deepEqual(JSON.parse(printed.stdout), {
    error: { kind: 'limit', message: 'the run did not finish within its 2 s deadline', issues: [] },
  });
  assert.equal(instantiate.render.failure('stopped', 'x').exitCode, 143);
  assert.equal(instantiate.render.failure('invalid-config', 'x').exitCode, 2);
});

test("a refusal is logged through the component's renderer when no log is given", () => {
  const lines = [];
  const write = process.stderr.write;
  // The component's own events arrive here too, as bytes.
  process.stderr.write = (chunk) => lines.push(Buffer.from(chunk).toString());
  try {
    const component = instantiate({ services: [serviceGrant('authentik', allowed.url)], env: { AUTHENTIK_TOKEN: 'ak-node-canary' } });
    const options = { source: { tag: 'inline', val: MAPPING }, authentikUrl: forbidden.url, dryRun: true, concurrency: 0, maxResponseBytes: 0n, retryBudgetSecs: 0, allowSuperuserGroups: false, onlyGroups: [], onlyTenants: [] };
    assert.throws(() => component.sync.run(options));
  } finally {
    process.stderr.write = write;
  }
  const events = lines.join('').split('\n').filter((line) => line !== '').map((line) => JSON.parse(line));
  const refusal = events.find((e) => e['@mt'].startsWith('Refused a request to {Origin}'));
  assert.ok(refusal, JSON.stringify(events));
  assert.equal(refusal['@l'], 'Warning');
  assert.equal(refusal.Origin, forbidden.url);
});

test('a flood of requests is refused past the most the sync has in flight, and a place frees when answered', () => {
  const events = [];
  const imports = importsFor(
    { services: [serviceGrant('authentik', allowed.url)], env: { AUTHENTIK_TOKEN: 'ak-node-canary' } },
    (level, template, properties) => events.push({ level, template, ...properties }),
  );
  const { Fields, OutgoingRequest } = imports['wasi:http/types'];
  const send = () => {
    const request = new OutgoingRequest(new Fields());
    request.setScheme({ tag: 'HTTP' });
    request.setAuthority(new URL(allowed.url).host);
    request.setPathWithQuery('/api/v3/core/groups/?include_users=false');
    request.body();
    return imports['wasi:http/outgoing-handler'].handle(request, undefined);
  };
  // Bodies never finished: nothing is sent, every request stays in flight.
  const waiting = Array.from({ length: CONTRACT.requests.maxInFlight }, send);
  assert.throws(send, (error) => error.tag === 'HTTP-request-denied');
  assert.match(events.at(-1).Reason, /requests are already in flight/);
  waiting[0][Symbol.dispose]();
  assert.ok(send(), 'a dropped request frees its place');
});

test('stdin is closed and exit traps, as under the wasmtime host (the shim would read the host\'s stdin and end the thread)', () => {
  const imports = importsFor({ services: [], env: {} });
  const stdin = imports['wasi:cli/stdin'].getStdin();
  assert.ok(stdin instanceof io.streams.InputStream, 'the bindings accept it as a stream');
  assert.throws(() => stdin.blockingRead(10n), (error) => error.tag === 'closed');
  assert.throws(() => imports['wasi:cli/exit'].exit({ tag: 'ok' }), /does not grant/);
  assert.throws(() => imports['wasi:cli/exit'].exitWithCode(0), /does not grant/);
});

test("the component's Debug events reach stderr only when verbose, whole lines however they are written", () => {
  const lines = (verbose) => {
    const written = [];
    const stream = eventStream({ verbose, out: (text) => written.push(text) });
    const encode = (text) => new TextEncoder().encode(text);
    stream.blockingWriteAndFlush(encode('{"@mt":"unchanged {Group}","@l":"Debug"}\n{"@mt":"Reconcile'));
    stream.write(encode(' finished"}\n'));
    stream.blockingWriteAndFlush(encode('{"@mt":"x","@l":"Warning"}\n'));
    return written;
  };
  assert.deepEqual(lines(false), ['{"@mt":"Reconcile finished"}\n', '{"@mt":"x","@l":"Warning"}\n']);
  assert.equal(lines(true).length, 3);
});

test("a component's event reaches the terminal with invisible characters escaped and no trailing CR (as the wasmtime host)", () => {
  const written = [];
  const stream = eventStream({ out: (text) => written.push(text) });
  stream.write(new TextEncoder().encode('{"@mt":"x \u202e\u009b31m \u2028 😀 é","@l":"Warning"}\r\n'));
  assert.deepEqual(written, ['{"@mt":"x \\u202e\\u009b31m \\u2028 😀 é","@l":"Warning"}\n']);
  assert.equal(JSON.parse(written[0])['@mt'], 'x \u202e\u009b31m \u2028 😀 é', 'the same JSON');
});

test("a run's tokens are scrubbed from its events, but not one too short to tell from a word", () => {
  const written = [];
  const tokens = [{ service: 'Authentik', token: 'ak-token-123456' }, { service: 'Authentik', token: 'e' }];
  const stream = eventStream({ tokens, out: (text) => written.push(text) });
  stream.write(new TextEncoder().encode('{"@mt":"Reconciling {Source}","Source":"ak-token-123456"}\n'));
  assert.deepEqual(written, ['{"@mt":"Reconciling {Source}","Source":"[redacted]"}\n']);
});

test('a last line without its newline is still a line once the run ends (as the wasmtime host)', () => {
  const [written, warned] = [[], []];
  const stream = eventStream({ out: (text) => written.push(text), warn: (excerpt) => warned.push(excerpt) });
  const encode = (text) => new TextEncoder().encode(text);
  stream.write(encode('{"@mt":"first"}\n{"@mt":"Reconcile'));
  stream.write(encode(' finished"}'));
  assert.deepEqual(written, ['{"@mt":"first"}\n']);
  stream[END_OUTPUT]();
  assert.deepEqual(written, ['{"@mt":"first"}\n', '{"@mt":"Reconcile finished"}\n']);
  stream.write(encode('panicked at src/lib.rs'));
  stream[END_OUTPUT]();
  stream[END_OUTPUT]();
  assert.deepEqual(warned, ['panicked at src/lib.rs']);
  const imports = importsFor({ services: [], env: {} }, () => {});
  assert.equal(imports[END_OUTPUT], imports['wasi:cli/stderr'].getStderr()[END_OUTPUT]);
});

test('a component line that is not an event, or too long, is a Warning; tokens never pass (as the wasmtime host)', () => {
  const [written, warned] = [[], []];
  const stream = eventStream({
    tokens: [{ service: 'Authentik', token: 'ak-secret-canary' }],
    out: (text) => written.push(text),
    warn: (excerpt) => warned.push(excerpt),
  });
  const encode = (text) => new TextEncoder().encode(text);
  stream.write(encode('{"@mt":"leak {T}","T":"ak-secret-canary"}\nplain text ak-secret-canary\n'));
  const chunk = new Uint8Array(64 * 1024).fill(0x61);
  for (let i = 0; i < 64; i += 1) {
    stream.write(chunk);
  }
  stream.write(encode('\n'));
  stream.write(new Uint8Array(CONTRACT.limits.maxComponentLineBytes + 10).fill(0x62));
  stream.write(encode('\n'));
  assert.deepEqual(written, ['{"@mt":"leak {T}","T":"[redacted]"}\n']);
  assert.equal(warned.length, 3);
  assert.equal(warned[0], 'plain text [redacted]');
  assert.ok(warned[1].startsWith('aaaa') && warned[1].length <= 301, warned[1].length);
  assert.ok(!JSON.stringify(warned).includes('ak-secret-canary'));
});
