// What the Node host grants the component: the same rules as the wasmtime host's
// host/src/grants.rs. Pure functions, unit-tested in test/grants.test.mjs. The operations each
// service is granted and the variables a run may see come from the generated contract.
// Enforcing them stays here, outside the component: the sandbox never asks the code it
// confines what that code may do.

import { CONTRACT } from './contract.mjs';

const SERVICE_NAMES = { authentik: 'Authentik', onepassword: '1Password Connect' };

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
  return name === null ? null : originOf(`${name}://${authority}/`);
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
 * Whether a request may go out: `{ service }` when granted, `{ refused: 'origin' }` when no
 * service is granted at `origin` (or it is `null`), `{ refused: 'operation', service }` when
 * the service is granted but not this method and path.
 */
export function checkRequest(services, origin, method, pathWithQuery) {
  const atOrigin = services.filter((s) => s.origin === origin);
  if (origin === null || atOrigin.length === 0) {
    return { refused: 'origin' };
  }
  const target = pathWithQuery ?? '/';
  const cut = target.indexOf('?');
  const [path, query] = cut < 0 ? [target, undefined] : [target.slice(0, cut), target.slice(cut + 1)];
  const granted = atOrigin.find((s) => permits(s, method, path, query));
  return granted === undefined ? { refused: 'operation', service: atOrigin[0].service } : { service: granted.service };
}

function permits(service, method, path, query) {
  if (!path.startsWith(service.basePath)) {
    return false;
  }
  const rest = path.slice(service.basePath.length);
  if (!rest.startsWith('/')) {
    return false;
  }
  const keys = query === undefined ? [] : query.split('&').map((pair) => pair.split('=')[0]);
  return service.operations.some(
    (op) => op.method === method && pathMatches(op.path, rest) && keys.every((key) => op.query.includes(key)),
  );
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
