// Instantiates the jco-transpiled tenant-sync component with exactly the grants the wasmtime
// host gives it: outgoing HTTP only to the granted services' group requests (anything else is refused with
// HTTP-request-denied), an environment reduced to the granted variables, no arguments, no
// filesystem, and every socket, UDP datagram and name lookup denied. jco's default shims
// would hand the guest all of process.env and raw sockets; this module is what replaces them.

import { http, sockets } from '@bytecodealliance/preview2-shim';
import { WASIShim } from '@bytecodealliance/preview2-shim/instantiation';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CONTRACT } from './contract.mjs';
import { checkRequest, methodName, requestOrigin } from './grants.mjs';
import { ADVICE as TLS_ADVICE, certificateProblem } from './tls.mjs';

const NS_PER_SEC = 1_000_000_000n;

/** The longest each phase of a request may take, as in the wasmtime host (nanoseconds). */
export const TIMEOUTS_NS = {
  connect: BigInt(CONTRACT.limits.connectTimeoutSecs) * NS_PER_SEC,
  firstByte: BigInt(CONTRACT.limits.firstByteTimeoutSecs) * NS_PER_SEC,
  betweenBytes: BigInt(CONTRACT.limits.betweenBytesTimeoutSecs) * NS_PER_SEC,
};

/**
 * The import object for `grants`: `{ services: ServiceGrant[], env: Record<string, string>,
 * stop?: Int32Array }` (services from `serviceGrant`; non-zero `stop[0]`: the run is being
 * stopped, nothing new goes out). `log(level, template, properties)` receives the refusals.
 */
export function importsFor(grants, log) {
  const shim = new WASIShim({
    sandbox: { preopens: {}, env: grants.env, args: ['tenant-sync'], enableNetwork: false },
  });
  const imports = shim.getImportObject();
  imports['wasi:http/outgoing-handler'] = {
    handle(request, options) {
      // Stopping: what is in flight finishes, nothing new starts (the signal was logged).
      if (grants.stop !== undefined && Atomics.load(grants.stop, 0) !== 0) {
        throw { tag: 'HTTP-request-denied' };
      }
      const origin = requestOrigin(request.scheme(), request.authority());
      const method = methodName(request.method());
      const pathWithQuery = request.pathWithQuery();
      const checked = checkRequest(grants.services, origin, method, pathWithQuery);
      if (checked.refused === 'origin') {
        log('Warning', 'Refused a request to {Origin}: the sandbox grants only {Allowed}', {
          Origin: origin ?? String(request.authority() ?? '(no authority)'),
          Allowed: [...new Set(grants.services.map((s) => s.origin))],
        });
        // jco turns a thrown payload without `payload` into the `err` case of the result.
        throw { tag: 'HTTP-request-denied' };
      }
      if (checked.refused === 'operation') {
        const path = (pathWithQuery ?? '/').split('?')[0];
        log('Warning', 'Refused {Method} {Path} to {Service} at {Origin}: the sandbox grants only the group requests the sync needs', {
          Method: method.slice(0, 300),
          Path: path.slice(0, 300),
          Service: checked.service,
          Origin: origin,
        });
        throw { tag: 'HTTP-request-denied' };
      }
      const future = http.outgoingHandler.handle(request, bounded(options));
      // A certificate Node does not trust arrives as internal-error; make it the error code
      // the component does not retry, and say here what the code cannot carry.
      const take = future.get.bind(future);
      future.get = () => {
        const result = take();
        const code = result?.tag === 'ok' && result.val.tag === 'err' ? result.val.val : undefined;
        const reason = certificateProblem(code);
        if (reason !== null) {
          log('Error', 'The TLS certificate of {Authority} is not trusted: {Reason}. {Advice}', {
            Authority: request.authority(),
            Reason: reason,
            Advice: TLS_ADVICE,
          });
          result.val.val = { tag: 'TLS-certificate-error' };
        }
        return result;
      };
      return future;
    },
  };
  Object.assign(imports, deniedSockets());
  return imports;
}

/** The guest may ask for shorter timeouts, never longer ones. */
export function bounded(requested) {
  const options = requested ?? new http.types.RequestOptions();
  const cap = (get, set, limit) => {
    const asked = get.call(options);
    set.call(options, asked === undefined || asked > limit ? limit : asked);
  };
  cap(options.connectTimeout, options.setConnectTimeout, TIMEOUTS_NS.connect);
  cap(options.firstByteTimeout, options.setFirstByteTimeout, TIMEOUTS_NS.firstByte);
  cap(options.betweenBytesTimeout, options.setBetweenBytesTimeout, TIMEOUTS_NS.betweenBytes);
  return options;
}

/**
 * wasi:sockets with every way out refused. The shim's `enableNetwork: false` still lets a
 * guest create sockets, so creation itself is denied here.
 */
export function deniedSockets() {
  const denied = () => {
    throw 'access-denied';
  };
  return {
    'wasi:sockets/instance-network': sockets.instanceNetwork,
    'wasi:sockets/network': sockets.network,
    'wasi:sockets/tcp': sockets.tcp,
    'wasi:sockets/udp': sockets.udp,
    'wasi:sockets/tcp-create-socket': { createTcpSocket: denied },
    'wasi:sockets/udp-create-socket': { createUdpSocket: denied },
    'wasi:sockets/ip-name-lookup': { ...sockets.ipNameLookup, resolveAddresses: denied },
  };
}

/**
 * Loads the transpiled component in `dir` (the output of `bin/transpile.mjs`) and returns a
 * function that instantiates it under `grants`: one fresh instance per run, like the
 * wasmtime host. `modules` holds core modules compiled already (a worker gets the main
 * thread's). The function carries `render` (see `renderer`), whose `log` receives the
 * sandbox's refusals unless `instantiate(grants, log)` names another, and `modules`.
 */
export async function loadComponent(dir, modules = new Map()) {
  const root = resolve(dir);
  const { instantiate } = await import(pathToFileURL(join(root, 'tenant-sync.js')).href);
  const getCoreModule = (path) => {
    if (!modules.has(path)) {
      modules.set(path, new WebAssembly.Module(readFileSync(join(root, path))));
    }
    return modules.get(path);
  };
  // An instance of its own, granted nothing: the running one cannot render while it waits
  // inside an import. A component without the export (an older tenant-sync, or another
  // component) leaves `render` undefined.
  const exported = instantiate(getCoreModule, importsFor({ services: [], env: {} }, () => {})).render;
  const render = exported === undefined ? undefined : renderer(exported);
  const instantiateUnder = (grants, log = render?.log) => instantiate(getCoreModule, importsFor(grants, log));
  return Object.assign(instantiateUnder, { render, modules });
}

/**
 * What this host prints, rendered by the component's `render` export: `log(level, template,
 * properties)` writes a CLEF event on stderr (`level`: Debug, Information, Warning, Error);
 * `failure(kind, message)` is the failure document and exit code (`{ stdout, exitCode }`).
 */
export function renderer(render) {
  return {
    log(level, template, properties = {}) {
      process.stderr.write(`${render.clefEvent(level.toLowerCase(), template, JSON.stringify(properties))}\n`);
    },
    failure: (kind, message) => render.failure(kind, message),
  };
}
