// What the Node host grants the component: the same rules as the wasmtime host's
// host/src/grants.rs. Pure functions, unit-tested in test/grants.test.mjs. The operations each
// service is granted and the variables a run may see come from the generated contract.
// Enforcing them stays here, outside the component: the sandbox never asks the code it
// confines what that code may do.

import { CONTRACT } from './contract.mjs';

const SERVICE_NAMES = CONTRACT.services;

/** The secrets a run may need; only these reach the component's environment. */
export const SECRET_VARS = CONTRACT.secretVars;

/**
 * The origin (`scheme://host:port`, lower-cased, default port made explicit) of an http(s)
 * URL, or `null` for anything else.
 */
export function originOf(url) {
  let parsed;
  try {
    parsed = new URL(url.trim());
  } catch {
    return null;
  }
  const https = parsed.protocol === 'https:';
  if ((!https && parsed.protocol !== 'http:') || parsed.hostname === '') {
    return null;
  }
  const port = parsed.port === '' ? (https ? 443 : 80) : Number(parsed.port);
  return `${https ? 'https' : 'http'}://${parsed.hostname.toLowerCase()}:${port}`;
}

/**
 * The origin an outgoing wasi:http request targets, from its scheme variant and authority.
 * `null` when it has no http(s) origin (such a request is always refused).
 */
export function requestOrigin(scheme, authority) {
  if (scheme === undefined || authority === undefined || authority === '') {
    return null;
  }
  const name = scheme.tag === 'HTTPS' ? 'https' : scheme.tag === 'HTTP' ? 'http' : null;
  const origin = name === null ? null : originOf(`${name}://${authority}/`);
  // The host exactly as the component wrote it: WHATWG URL parsing would make `127.1`,
  // `2130706433` or `127.0.0.%31` the granted 127.0.0.1, which the wasmtime host refuses.
  const host = /^(\[[^\]]*\]|[^:]*)(:\d*)?$/.exec(authority.toLowerCase())?.[1];
  return origin !== null && host !== undefined && origin.startsWith(`${name}://${host}:`) ? origin : null;
}

/**
 * A service the component may call (`kind` is `authentik` or `onepassword`): the origin and
 * base path of its configured URL, and the operations the sync needs there.
 */
export function serviceGrant(kind, url) {
  const origin = originOf(url);
  if (origin === null) {
    throw new UsageError(`${JSON.stringify(url)} needs an http:// or https:// scheme and a host`);
  }
  const basePath = new URL(url.trim()).pathname.replace(/\/+$/, '');
  return { service: SERVICE_NAMES[kind], origin, basePath, operations: CONTRACT.operations[kind] };
}

/**
 * Whether a request may go out: `{ service, operation }` when its method, path and query are
 * granted (its headers and body are checked next: `checkHeaders`, `checkBody`),
 * `{ refused: 'origin' }` when no service is granted at `origin` (or it is `null`),
 * `{ refused: 'operation', service }` when the service is granted but not this method and path,
 * `{ refused: 'content', service, reason, key }` when a pinned query value is wrong.
 */
export function checkRequest(services, origin, method, pathWithQuery) {
  const atOrigin = services.filter((s) => s.origin === origin);
  if (origin === null || atOrigin.length === 0) {
    return { refused: 'origin' };
  }
  const target = pathWithQuery ?? '/';
  const cut = target.indexOf('?');
  const [path, query] = cut < 0 ? [target, undefined] : [target.slice(0, cut), target.slice(cut + 1)];
  const pairs = queryPairs(query);
  for (const service of atOrigin) {
    const operation = operationOf(service, method, path, pairs);
    if (operation !== undefined) {
      const problem = checkPinned(operation, pairs);
      return problem === null ? { service: service.service, operation } : { refused: 'content', service: service.service, ...problem };
    }
  }
  return { refused: 'operation', service: atOrigin[0].service };
}

/** The raw `[key, value]` pairs of a query (not percent-decoded: an encoded key is not a granted key). */
function queryPairs(query) {
  if (query === undefined) {
    return [];
  }
  return query.split('&').map((pair) => {
    const at = pair.indexOf('=');
    return at < 0 ? [pair, ''] : [pair.slice(0, at), pair.slice(at + 1)];
  });
}

function operationOf(service, method, path, pairs) {
  if (!path.startsWith(service.basePath)) {
    return undefined;
  }
  const rest = path.slice(service.basePath.length);
  if (!rest.startsWith('/')) {
    return undefined;
  }
  return service.operations.find(
    (op) => op.method === method && pathMatches(op.path, rest) && pairs.every(([key]) => op.query.includes(key)),
  );
}

/** Each pinned query key exactly once, with its value; `null` or `{ reason, key }`. */
function checkPinned(operation, pairs) {
  for (const { key, value } of operation.pinned) {
    const given = pairs.filter(([k]) => k === key).map(([, v]) => v);
    if (given.length !== 1 || given[0] !== value) {
      return { reason: `the query must carry ${key}=${value} exactly once`, key };
    }
  }
  return null;
}

const REQUESTS = CONTRACT.requests;

function noBody(operation) {
  return operation.body === null
    ? { reason: 'this request may not carry a body', key: null }
    : { reason: `the body is larger than ${REQUESTS.maxBodyBytes} bytes`, key: null };
}

/** The longest body `operation` may carry: 0 when it has none. */
export function maxBodyBytes(operation) {
  return operation.body === null ? 0 : REQUESTS.maxBodyBytes;
}

/**
 * The request's headers (`[name, value]` text pairs): only the contract's names, and a body's
 * content type and length. `null`, or `{ reason, key }`.
 */
export function checkHeaders(operation, entries) {
  const contentType = [];
  const contentLength = [];
  for (const [rawName, value] of entries) {
    const name = rawName.toLowerCase();
    if (name === 'content-type') {
      contentType.push(value);
    } else if (name === 'content-length') {
      contentLength.push(value);
    } else if (!REQUESTS.headers.includes(name)) {
      return { reason: `the header ${JSON.stringify(name)} is not one the sync sends`, key: name };
    }
  }
  if (operation.body === null) {
    return contentType.length > 0 || contentLength.some((v) => v !== '0') ? noBody(operation) : null;
  }
  if (contentType.length !== 1 || contentType[0] !== REQUESTS.bodyContentType) {
    return { reason: `the body must be sent as Content-Type: ${REQUESTS.bodyContentType}`, key: 'content-type' };
  }
  // Without a length the body goes out chunked, and Authentik reads that as empty. Digits only,
  // as wasmtime accepts it (the shim would take "1e1" or "0x0a" for a number).
  if (contentLength.length !== 1 || !/^[0-9]{1,10}$/.test(contentLength[0])) {
    return { reason: 'the body must be sent with one Content-Length, in digits', key: 'content-length' };
  }
  return null;
}

/**
 * The whole body (a Uint8Array), before any of it is sent: empty for a request without one;
 * otherwise JSON, within the size bound, an object with exactly the operation's keys and
 * types. `null`, or `{ reason, key }`.
 */
export function checkBody(operation, bytes) {
  if (operation.body === null) {
    return bytes.length === 0 ? null : noBody(operation);
  }
  if (bytes.length > REQUESTS.maxBodyBytes) {
    return noBody(operation);
  }
  const value = parseJson(bytes);
  if (!isObject(value)) {
    return { reason: 'the body is not a JSON object', key: null };
  }
  // JSON.parse reads 1e400 as Infinity, which equals nothing a server holds and which the
  // wasmtime host's parser refuses outright.
  if (hasNonFinite(value)) {
    return { reason: 'the body holds a number too large for a JSON number', key: null };
  }
  const allowed = operation.body.map(({ key }) => JSON.stringify(key)).join(', ');
  const foreign = Object.keys(value).find((key) => !operation.body.some((field) => field.key === key));
  if (foreign !== undefined) {
    // The component chose this key: cut and escaped before a log shows it.
    const shown = shownKey(foreign);
    return { reason: `the body may not carry ${JSON.stringify(shown)} (only ${allowed})`, key: shown };
  }
  for (const { key, type, keys } of operation.body) {
    if (!Object.hasOwn(value, key)) {
      return { reason: `the body must carry ${allowed}`, key };
    }
    const held = value[key];
    const holds = type === 'string' ? typeof held === 'string' : isObject(held);
    if (!holds) {
      return { reason: `the body's ${JSON.stringify(key)} must be a JSON ${type}`, key };
    }
    const other = keys === null || keys === undefined ? undefined : Object.keys(held).find((k) => !keys.includes(k));
    if (other !== undefined) {
      const shown = shownKey(other);
      return { reason: `the body's ${JSON.stringify(key)} may not carry ${JSON.stringify(shown)} (only the managed keys)`, key: shown };
    }
  }
  return null;
}

/** The largest answer kept for the record (host/src/held.rs `MAX_RECORDED_BYTES`). */
export const MAX_RECORDED_BYTES = REQUESTS.maxRecordedBytes;

/**
 * The groups in a success answer (`operation.answer`: 'group' or 'groupPage'): `[pk, attributes]`
 * pairs, the pk lower-cased; whatever is not a group with a string pk and an object of
 * attributes is left out. As host/src/held.rs `groups_in`.
 */
export function groupsIn(answer, bytes) {
  const value = parseJson(bytes);
  const group = (g) => (isObject(g) && typeof g.pk === 'string' && isObject(g.attributes) ? [[g.pk.toLowerCase(), g.attributes]] : []);
  if (answer === 'group') {
    return group(value);
  }
  if (answer === 'groupPage' && isObject(value) && Array.isArray(value.results)) {
    return value.results.flatMap(group);
  }
  return [];
}

/** The first key outside `managed` in which `sent` differs from `held`, or `null`. As host/src/held.rs `foreign_change`. */
export function foreignChange(held, sent, managed) {
  const foreign = (key) => !managed.includes(key);
  const changed = Object.keys(sent).filter(foreign).find((key) => !Object.hasOwn(held, key) || !sameJson(held[key], sent[key]));
  return changed ?? Object.keys(held).filter(foreign).find((key) => !Object.hasOwn(sent, key)) ?? null;
}

/** JSON equality, two fractional numbers within a few units in the last place being one; integers exact (as the Rust host). */
function sameJson(a, b) {
  if (typeof a === 'number' && typeof b === 'number') {
    const fractional = (n) => Number.isFinite(n) && !Number.isInteger(n);
    return a === b || (fractional(a) && fractional(b) && Math.abs(a - b) <= 4 * Number.EPSILON * Math.max(Math.abs(a), Math.abs(b)));
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => sameJson(x, b[i]));
  }
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object') {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((key) => Object.hasOwn(b, key) && sameJson(a[key], b[key]));
  }
  return a === b;
}

/**
 * What each group held (outside the managed keys) in the newest answer a run relayed: a PATCH
 * may change only its managed keys. Answers are numbered as their heads arrive (`arrived()`),
 * so one read slowly does not replace a newer one.
 */
export class Held {
  #groups = new Map();
  #answers = 0;

  arrived() {
    this.#answers += 1;
    return this.#answers;
  }

  /** Keeps the groups in a success answer to a granted request, unless a newer answer held them. */
  record(answer, bytes, number) {
    for (const [pk, attributes] of groupsIn(answer, bytes)) {
      if ((this.#groups.get(pk)?.number ?? 0) <= number) {
        const foreign = Object.fromEntries(Object.entries(attributes).filter(([key]) => !MANAGED_KEYS.has(key)));
        this.#groups.set(pk, { number, attributes: foreign });
      }
    }
  }

  /** `null`, `{ unread: true }`, or `{ changed: key }`. */
  check(pk, sent, managed) {
    const held = this.#groups.get(pk.toLowerCase());
    if (held === undefined) {
      return { unread: true };
    }
    const changed = foreignChange(held.attributes, sent, managed);
    return changed === null ? null : { changed };
  }
}

/**
 * A body key that must be what the group in the path held (`heldExcept`), checked against the
 * answers this run relayed. `null`, or `{ reason, key }`. As host/src/grants.rs `check_held`.
 */
export function checkHeld(operation, path, bytes, held) {
  const value = parseJson(bytes);
  // The template's `{uuid}` is the path's last segment.
  const pk = path.split('?')[0].replace(/\/+$/, '').split('/').pop() ?? '';
  for (const { key, heldExcept } of operation.body ?? []) {
    const sent = value?.[key];
    if (heldExcept === null || heldExcept === undefined || !isObject(sent)) {
      continue;
    }
    const found = held.check(pk, sent, heldExcept);
    if (found?.unread) {
      return { reason: `the body's ${JSON.stringify(key)} may only change the managed keys of a group this run has read, and it has not read this one`, key };
    }
    if (found?.changed !== undefined) {
      const shown = shownKey(found.changed);
      return { reason: `the body's ${JSON.stringify(key)} may not change ${JSON.stringify(shown)}: only the managed keys may differ from what the group holds`, key: shown };
    }
  }
  return null;
}

/** Whether a parsed JSON value holds a number that is not finite. */
function hasNonFinite(value) {
  if (typeof value === 'number') {
    return !Number.isFinite(value);
  }
  return value !== null && typeof value === 'object' && Object.values(value).some(hasNonFinite);
}

/** `bytes` as JSON (strict UTF-8, a byte-order mark refused), or `undefined`. */
function parseJson(bytes) {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes));
  } catch {
    return undefined;
  }
}

/** Whether `value` is a JSON object (not null, not an array). */
function isObject(value) {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The managed keys, which a record of what a group held leaves out. */
const MANAGED_KEYS = new Set(CONTRACT.managedKeys);

/**
 * Tokens shorter than this cannot be told from ordinary words, so they are neither looked for
 * in requests nor scrubbed from output (guest/core/src/secrets.rs `MIN_SCRUBBED_LEN`).
 */
export const MIN_TOKEN_LENGTH = 8;

/** A run's tokens by the service each is for (`serviceGrant(...).service`), from its environment. */
export function tokensOf(env) {
  const services = CONTRACT.tokenServices;
  return Object.entries(env)
    .filter(([name, value]) => services[name] !== undefined && value.trim() !== '')
    .map(([name, value]) => ({ service: services[name], token: value.trim() }));
}

/**
 * Each token goes only to its own service, and only as its Authorization: no token of the run
 * in the target (raw or percent-decoded) or the body (raw or JSON-escaped). `null`, or
 * `{ reason, key }` (never the token itself). As host/src/grants.rs `check_tokens`.
 */
export function checkTokens(service, authorization, target, bytes, tokens) {
  const own = (value) => tokens.some((t) => t.service === service && value === `Bearer ${t.token}`);
  if (authorization.length > 1 || !authorization.every(own)) {
    return { reason: `the Authorization header is not this run's ${service} token`, key: 'authorization' };
  }
  let decoded = target;
  try {
    decoded = decodeURIComponent(target);
  } catch {
    // Not decodable: only the raw target is looked at.
  }
  const body = new TextDecoder().decode(bytes);
  let canonical = '';
  try {
    canonical = JSON.stringify(JSON.parse(body));
  } catch {
    // Not JSON: the raw body is looked at.
  }
  const carried = ({ token }) => token.length >= MIN_TOKEN_LENGTH && [target, decoded, body, canonical].some((text) => text.includes(token));
  return tokens.some(carried) ? { reason: 'the request carries a token outside its Authorization header', key: null } : null;
}

/** At most 300 characters, control and invisible characters escaped. */
function shownKey(key) {
  const chars = [...key];
  const cut = chars.slice(0, 300).map((c) => (/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/u.test(c) ? `\\u{${c.codePointAt(0).toString(16).padStart(4, '0')}}` : c));
  return cut.join('') + (chars.length > 300 ? '…' : '');
}

/** Literal segments, `{uuid}` for one UUID, `**` (last) for one or more; dot segments never match. */
function pathMatches(template, path) {
  const templates = template.split('/');
  const segments = path.split('/');
  for (let i = 0; ; i += 1) {
    if (i >= templates.length || i >= segments.length) {
      return i >= templates.length && i >= segments.length;
    }
    if (templates[i] === '**') {
      return segments.slice(i).every((segment) => segment !== '' && !isDotSegment(segment));
    }
    const matches = templates[i] === '{uuid}' ? UUID.test(segments[i]) : templates[i] === segments[i] && !isDotSegment(segments[i]);
    if (!matches) {
      return false;
    }
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function isDotSegment(segment) {
  const decoded = segment.toLowerCase().replaceAll('%2e', '.');
  return decoded === '.' || decoded === '..';
}

/** A wasi:http method variant as its name, e.g. `{ tag: 'get' }` → `GET`. */
export function methodName(method) {
  return method?.tag === 'other' ? String(method.val) : String(method?.tag ?? '').toUpperCase();
}

/**
 * The granted variables of `env`, as the guest will see them. An empty one is passed on, as the
 * wasmtime host does; the component treats it as unset.
 */
export function grantedEnv(env, names = SECRET_VARS) {
  return Object.fromEntries(names.filter((name) => env[name] !== undefined).map((name) => [name, env[name]]));
}

/** A problem with how the host was invoked (exit code 2). */
export class UsageError extends Error {}
