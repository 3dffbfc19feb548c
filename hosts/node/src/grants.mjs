// What the Node host grants the component: the same rules as the wasmtime host's
// host/src/grants.rs. Pure functions, unit-tested in test/grants.test.mjs.

/** The secrets a run may need; only these reach the component's environment. */
export const SECRET_VARS = ['OP_TOKEN', 'OP_CONNECT_TOKEN', 'AUTHENTIK_TOKEN'];

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

/** The origins of the configured service URLs; a URL without one is a usage error. */
export function allowlist(urls) {
  return new Set(
    urls.map((url) => {
      const origin = originOf(url);
      if (origin === null) {
        throw new UsageError(`${JSON.stringify(url)} needs an http:// or https:// scheme and a host`);
      }
      return origin;
    }),
  );
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

/** The granted variables of `env` (non-empty ones only), as the guest will see them. */
export function grantedEnv(env, names = SECRET_VARS) {
  return Object.fromEntries(
    names.filter((name) => env[name] !== undefined && env[name] !== '').map((name) => [name, env[name]]),
  );
}

/** A problem with how the host was invoked (exit code 2). */
export class UsageError extends Error {}
