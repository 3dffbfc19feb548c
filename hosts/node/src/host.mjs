// Instantiates the jco-transpiled tenant-sync component with exactly the grants the wasmtime
// host gives it: outgoing HTTP only to the granted services' group requests (anything else is refused with
// HTTP-request-denied), an environment reduced to the granted variables, no arguments, no
// filesystem, and every socket, UDP datagram and name lookup denied. jco's default shims
// would hand the guest all of process.env and raw sockets; this module is what replaces them.

import { clocks, http, io, sockets } from '@bytecodealliance/preview2-shim';
import { WASIShim } from '@bytecodealliance/preview2-shim/instantiation';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CONTRACT } from './contract.mjs';
import { checkBody, checkHeaders, checkHeld, checkRequest, checkTokens, Held, MAX_RECORDED_BYTES, MIN_TOKEN_LENGTH, methodName, requestOrigin, tokensOf } from './grants.mjs';
import { ADVICE as TLS_ADVICE, certificateProblem, EVENT as TLS_EVENT } from './tls.mjs';

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
  const tokens = tokensOf(grants.env);
  // What each group held in the answers relayed to this instance (one run).
  const held = new Held();
  // Requests out at once: each holds a captured body (up to maxBodyBytes) until answered.
  const inFlight = { count: 0 };
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
          Origin: origin ?? String(request.authority() ?? '(no authority)').slice(0, 300),
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
      const refuse = (problem) => {
        log('Warning', 'Refused {Method} {Path} to {Service} at {Origin}: {Reason}', {
          Method: method.slice(0, 300),
          Path: (pathWithQuery ?? '/').split('?')[0].slice(0, 300),
          Service: checked.service,
          Origin: origin,
          Reason: problem.reason,
          Key: problem.key,
        });
      };
      const decoder = new TextDecoder();
      const headers = request.headers().entries().map(([name, value]) => [name, decoder.decode(value)]);
      const problem = checked.refused === 'content' ? checked : checkHeaders(checked.operation, headers);
      if (problem !== null) {
        refuse(problem);
        throw { tag: 'HTTP-request-denied' };
      }
      // The sync never has more out at once; a flood from a tampered component is refused
      // (this host cannot make a synchronous import wait, as the wasmtime host does).
      if (inFlight.count >= CONTRACT.requests.maxInFlight) {
        refuse({ reason: `more than ${CONTRACT.requests.maxInFlight} requests are already in flight`, key: null });
        throw { tag: 'HTTP-request-denied' };
      }
      // Nothing goes out until the whole body is known to be granted.
      const contentCheck = (bytes) =>
        checkTokens(checked.service, request.headers().get('authorization').map((v) => decoder.decode(v)), pathWithQuery ?? '/', bytes, tokens) ??
        checkHeld(checked.operation, pathWithQuery ?? '/', bytes, held);
      // The body may take a while: a stop that comes meanwhile still holds it back.
      const stopped = () => grants.stop !== undefined && Atomics.load(grants.stop, 0) !== 0;
      return new DeferredResponse(request, checked.operation, refuse, contentCheck, stopped, inFlight, (copy) =>
        recording(withCertificateAdvice(http.outgoingHandler.handle(copy, bounded(options)), request.authority(), log), checked.operation.answer, held),
      );
    },
  };
  // The component's requests and bodies are these classes, so the bodies it writes are held
  // here until checked instead of streaming to the server.
  imports['wasi:http/types'] = {
    ...imports['wasi:http/types'],
    OutgoingRequest: CheckedOutgoingRequest,
    OutgoingBody: CheckedOutgoingBody,
    FutureIncomingResponse: DeferredResponse,
  };
  // One stream, as the shim's: a line may be written in pieces through several handles.
  const stderr = eventStream({
    verbose: grants.verbose === true,
    tokens,
    warn: (line) => log('Warning', 'The component wrote a line that is not a log event: {Line}', { Line: line }),
  });
  Object.assign(imports, deniedSockets(), confinedCli(), { 'wasi:cli/stderr': { getStderr: () => stderr } });
  return Object.defineProperty(imports, END_OUTPUT, { value: stderr[END_OUTPUT] });
}

/**
 * JSON text with every invisible character (the contract's table, as the wasmtime host's
 * `json_terminal_safe`) other than \n, \r and \t written as `\uXXXX` escapes, so a terminal
 * shows it for what it is. Only inside strings can there be any: it stays the same JSON.
 */
export function jsonTerminalSafe(json) {
  if (!/[^\x20-\x7e\n\r\t]/.test(json)) {
    return json;
  }
  let out = '';
  for (const c of json) {
    const point = c.codePointAt(0);
    const invisible = point !== 0x0a && point !== 0x0d && point !== 0x09 && CONTRACT.invisible.some(([first, last]) => point >= first && point <= last);
    out += invisible ? [...Array(c.length).keys()].map((i) => `\\u${c.charCodeAt(i).toString(16).padStart(4, '0')}`).join('') : c;
  }
  return out;
}

/** On a stream and on the imports: ends what the component wrote (see `eventStream`). */
export const END_OUTPUT = Symbol('tenant-sync end output');

/**
 * The component's stderr, as the wasmtime host's `ComponentLog` treats it: each whole line that
 * is a CLEF event goes to this process's stderr, scrubbed of the run's `tokens`, its Debug events
 * (a group left as it is) only when `verbose`; any other line, or one longer than the longest
 * the wasmtime host passes on, becomes a Warning (`warn(excerpt)`) instead. Written through
 * `out` (by default where this thread's events go, as the host's own events: see sendEventsTo).
 */
export function eventStream({ verbose = false, tokens = [], warn = () => {}, out = (text) => writeEvents(text) } = {}) {
  const MAX_LINE = CONTRACT.limits.maxComponentLineBytes;
  let pending = [];
  let size = 0;
  let overflowed = false;
  // A one-letter token would turn every event into "[redacted]" soup.
  const scrubbed = tokens.filter(({ token }) => token.length >= MIN_TOKEN_LENGTH);
  const scrub = (text) => scrubbed.reduce((out, { token }) => out.split(token).join('[redacted]'), text);
  const excerpt = (text) => (text.length > 300 ? `${text.slice(0, 300)}…` : text);
  const line = (bytes, whole) => {
    const text = scrub(Buffer.from(bytes).toString('utf8').replace(/\r$/, ''));
    if (!whole) {
      warn(excerpt(text));
      return;
    }
    if (text.trim() === '') {
      return;
    }
    let event;
    try {
      event = JSON.parse(text);
    } catch {
      event = undefined;
    }
    if (event === null || typeof event !== 'object' || event['@mt'] === undefined) {
      warn(excerpt(text));
      return;
    }
    if (event['@l'] === 'Debug' && !verbose) {
      return;
    }
    // Escaped as the host's own events are (a bidi control, U+2028, a C1 control).
    out(`${jsonTerminalSafe(text)}\n`);
  };
  const keep = (piece) => {
    if (size + piece.length > MAX_LINE) {
      // Kept only as far as a warning quotes it.
      overflowed = true;
      piece = piece.subarray(0, Math.max(0, 1024 - size));
    }
    pending.push(Uint8Array.from(piece));
    size += piece.length;
  };
  const write = (bytes) => {
    let start = 0;
    for (let at = bytes.indexOf(10); at !== -1; at = bytes.indexOf(10, start)) {
      keep(bytes.subarray(start, at));
      line(Buffer.concat(pending), !overflowed);
      [pending, size, overflowed] = [[], 0, false];
      start = at + 1;
    }
    if (start < bytes.length) {
      keep(bytes.subarray(start));
    }
  };
  const closed = () => {
    throw { tag: 'closed' };
  };
  // The host's own, called when the run returns: a last line without its newline is still a
  // line of its own, as the wasmtime host's LineWriter makes it when dropped. Unlike there, a
  // run ended by its deadline or a stop loses it (the worker is terminated), and one buffer
  // serves every handle the component opens.
  const end = () => {
    if (size > 0 || overflowed) {
      line(Buffer.concat(pending), !overflowed);
      [pending, size, overflowed] = [[], 0, false];
    }
  };
  return Object.assign(Object.create(io.streams.OutputStream.prototype), {
    [END_OUTPUT]: end,
    checkWrite: () => 65536n,
    write,
    blockingWriteAndFlush: write,
    flush: () => {},
    blockingFlush: () => {},
    writeZeroes: (len) => write(new Uint8Array(Number(len))),
    blockingWriteZeroesAndFlush: (len) => write(new Uint8Array(Number(len))),
    splice: closed,
    blockingSplice: closed,
    subscribe: () => clocks.monotonicClock.subscribeDuration(0n),
    // Shared by every handle: dropping one ends nothing.
    [symbolDispose]: () => {},
  });
}

/**
 * wasi:cli without what the wasmtime host does not grant either: stdin reads as already closed
 * (the shim's would read the host's own stdin), and exit traps instead of ending the thread the
 * run is on (the shim's calls process.exit).
 */
export function confinedCli() {
  const closed = () => {
    throw { tag: 'closed' };
  };
  const stdin = Object.assign(Object.create(io.streams.InputStream.prototype), {
    read: closed,
    blockingRead: closed,
    skip: closed,
    blockingSkip: closed,
    subscribe: () => clocks.monotonicClock.subscribeDuration(0n),
    [symbolDispose]: () => {},
  });
  const exit = () => {
    throw new Error('the component called wasi:cli/exit, which this host does not grant');
  };
  return {
    'wasi:cli/stdin': { getStdin: () => stdin },
    'wasi:cli/exit': { exit, exitWithCode: exit },
  };
}

const CAPTURE = Symbol('tenant-sync: the body the component wrote');
// What the shim and jco's bindings call to drop a resource.
const symbolDispose = Symbol.dispose || Symbol.for('dispose');

/** What the component wrote into a request's body: at most the largest body any request may have. */
class BodyCapture {
  chunks = [];
  size = 0;
  finished = false;

  add(bytes) {
    if (this.finished) {
      throw { tag: 'closed' };
    }
    this.size += bytes.length;
    if (this.size <= CONTRACT.requests.maxBodyBytes) {
      this.chunks.push(Uint8Array.from(bytes));
    }
  }

  /** The whole body, or a stand-in one byte too long when it outgrew every bound. */
  bytes() {
    if (this.size > CONTRACT.requests.maxBodyBytes) {
      return new Uint8Array(CONTRACT.requests.maxBodyBytes + 1);
    }
    const whole = new Uint8Array(this.size);
    let at = 0;
    for (const chunk of this.chunks) {
      whole.set(chunk, at);
      at += chunk.length;
    }
    return whole;
  }
}

/** A request whose body is held in a `BodyCapture` instead of the shim's stream. */
class CheckedOutgoingRequest extends http.types.OutgoingRequest {
  constructor(headers) {
    super(headers);
    this[CAPTURE] = new BodyCapture();
  }

  body() {
    const body = super.body();
    Object.setPrototypeOf(body, CheckedOutgoingBody.prototype);
    body[CAPTURE] = this[CAPTURE];
    return body;
  }
}

/** A body whose stream writes into its request's capture. */
class CheckedOutgoingBody extends http.types.OutgoingBody {
  write() {
    const stream = super.write();
    const capture = this[CAPTURE];
    const zeroes = (len) => capture.add(new Uint8Array(Math.min(Number(len), CONTRACT.requests.maxBodyBytes + 1)));
    // Own properties shadow the shim's methods for this stream alone.
    Object.assign(stream, {
      checkWrite: () => {
        if (capture.finished) {
          throw { tag: 'closed' };
        }
        return 65536n;
      },
      write: (bytes) => capture.add(bytes),
      blockingWriteAndFlush: (bytes) => capture.add(bytes),
      flush: () => {},
      blockingFlush: () => {},
      writeZeroes: zeroes,
      blockingWriteZeroesAndFlush: zeroes,
      splice: () => {
        throw { tag: 'closed' };
      },
      blockingSplice: () => {
        throw { tag: 'closed' };
      },
      subscribe: () => clocks.monotonicClock.subscribeDuration(0n),
    });
    return stream;
  }

  static finish(body, trailers) {
    if (trailers !== undefined) {
      throw { tag: 'internal-error', val: 'trailers unsupported' };
    }
    body[CAPTURE].finished = true;
  }
}

/**
 * The answer to a request whose body is still being written: once the component finishes the
 * body, it is checked; a refused one is HTTP-request-denied (nothing was sent), a granted one
 * goes out as a new shim request with the same method, target and headers.
 */
class DeferredResponse extends http.types.FutureIncomingResponse {
  #request;
  #operation;
  #refuse;
  #contentCheck;
  #stopped;
  #send;
  #sent;
  #denied;
  #inFlight;

  constructor(request, operation, refuse, contentCheck, stopped, inFlight, send) {
    super();
    this.#inFlight = inFlight;
    inFlight.count += 1;
    this.#request = request;
    this.#operation = operation;
    this.#refuse = refuse;
    this.#contentCheck = contentCheck;
    this.#stopped = stopped;
    this.#send = send;
  }

  /** Once the body is finished: checks it and sends it, or refuses it. */
  #start() {
    if (this.#sent !== undefined || this.#denied !== undefined || !this.#request[CAPTURE].finished) {
      return;
    }
    const deny = () => {
      this.#denied = { tag: 'ok', val: { tag: 'err', val: { tag: 'HTTP-request-denied' } } };
    };
    const bytes = this.#request[CAPTURE].bytes();
    const declared = this.#request.headers().get('content-length').map((v) => new TextDecoder().decode(v));
    const problem =
      declared.length > 0 && declared[0] !== String(bytes.length)
        ? { reason: `the body is ${bytes.length} bytes, not the ${declared[0].slice(0, 20)} its Content-Length says`, key: 'content-length' }
        : (checkBody(this.#operation, bytes) ?? this.#contentCheck(bytes));
    if (problem !== null) {
      this.#refuse(problem);
      deny();
      return;
    }
    if (this.#stopped()) {
      deny();
      return;
    }
    // The order a guest uses: body, handle, write, finish. Anything the shim throws here ends
    // this request, not the run.
    let sent;
    try {
      const copy = copyRequest(this.#request);
      const body = copy.body();
      sent = this.#send(copy);
      writeAndFinish(body, bytes);
      this.#sent = sent;
      // Sent: the captured copy is no longer needed.
      this.#request[CAPTURE].chunks = [];
    } catch (error) {
      this.#refuse({ reason: `the request could not be sent: ${String(error?.message ?? error?.tag ?? error).slice(0, 300)}`, key: null });
      sent?.[symbolDispose]?.();
      deny();
    }
  }

  subscribe() {
    this.#start();
    // Until the component finishes the body there is nothing to wait for but the component.
    return this.#sent?.subscribe() ?? clocks.monotonicClock.subscribeDuration(this.#denied === undefined ? 10_000_000n : 0n);
  }

  get() {
    this.#start();
    if (this.#denied !== undefined) {
      const answer = this.#denied;
      this.#denied = { tag: 'err' };
      this.#leave();
      return answer;
    }
    const answer = this.#sent?.get();
    if (answer !== undefined) {
      this.#leave();
    }
    return answer;
  }

  /** Answered, refused or dropped: its place is free (once). */
  #leave() {
    if (this.#inFlight !== undefined) {
      this.#inFlight.count -= 1;
      this.#inFlight = undefined;
    }
  }

  [symbolDispose]() {
    this.#leave();
    this.#sent?.[symbolDispose]?.();
  }
}

/** A shim request with `request`'s method, target and headers, its body not yet written. */
function copyRequest(request) {
  const headers = new http.types.Fields();
  for (const [name, value] of request.headers().entries()) {
    headers.append(name, value);
  }
  const copy = new http.types.OutgoingRequest(headers);
  copy.setMethod(request.method());
  copy.setScheme(request.scheme());
  copy.setAuthority(request.authority());
  copy.setPathWithQuery(request.pathWithQuery());
  return copy;
}

/** Writes `bytes` into a shim request's `body` and finishes it. */
function writeAndFinish(body, bytes) {
  const stream = body.write();
  for (let at = 0; at < bytes.length; at += 4096) {
    stream.blockingWriteAndFlush(bytes.subarray(at, at + 4096));
  }
  stream[symbolDispose]?.();
  http.types.OutgoingBody.finish(body, undefined);
}

const UNTRACKED = Symbol('tenant-sync: an answer read past its record');

// An output stream that splices from an answer reads it past `recording`: that answer is then
// not recorded (the shim reads the source by its id, not through the wrapped methods).
for (const name of ['splice', 'blockingSplice']) {
  const splice = io.streams.OutputStream.prototype[name];
  io.streams.OutputStream.prototype[name] = function (src, len) {
    src?.[UNTRACKED]?.();
    return splice.call(this, src, len);
  };
}

/**
 * `future`, whose success answer's body is kept (up to MAX_RECORDED_BYTES) as the component
 * reads it and recorded in `held` when the component reads its end: before it can act on what
 * it read. A body read any other way (skip, splice) is not recorded.
 */
function recording(future, answer, held) {
  if (answer === null || answer === undefined) {
    return future;
  }
  const take = future.get.bind(future);
  future.get = () => {
    const result = take();
    const response = result?.tag === 'ok' && result.val.tag === 'ok' ? result.val.val : undefined;
    if (response === undefined || response.status() < 200 || response.status() > 299) {
      return result;
    }
    // Numbered as its head arrives: a newer answer's record is not replaced by this one.
    const number = held.arrived();
    const consume = response.consume.bind(response);
    response.consume = () => {
      const body = consume();
      const stream = body.stream.bind(body);
      body.stream = () => {
        const input = stream();
        let kept = [];
        let size = 0;
        const keep = (read) => (len) => {
          try {
            const bytes = read(len);
            size += bytes.length;
            if (kept !== null && size <= MAX_RECORDED_BYTES) {
              kept.push(Uint8Array.from(bytes));
            } else {
              kept = null;
            }
            return bytes;
          } catch (error) {
            if (error?.tag === 'closed' && kept !== null) {
              held.record(answer, Buffer.concat(kept), number);
            }
            kept = null;
            throw error;
          }
        };
        const untracked = (method) => (...args) => {
          kept = null;
          return method(...args);
        };
        Object.assign(input, {
          [UNTRACKED]: () => {
            kept = null;
          },
          read: keep(input.read.bind(input)),
          blockingRead: keep(input.blockingRead.bind(input)),
          skip: untracked(input.skip.bind(input)),
          blockingSkip: untracked(input.blockingSkip.bind(input)),
        });
        return input;
      };
      return body;
    };
    return result;
  };
  return future;
}

/** `future`, with a certificate Node does not trust made the error code the component does not retry. */
function withCertificateAdvice(future, authority, log) {
  // A certificate Node does not trust arrives as internal-error; make it the error code
  // the component does not retry, and say here what the code cannot carry.
  const take = future.get.bind(future);
  future.get = () => {
    const result = take();
    const code = result?.tag === 'ok' && result.val.tag === 'err' ? result.val.val : undefined;
    const reason = certificateProblem(code);
    if (reason !== null) {
      log('Error', TLS_EVENT, {
        Authority: authority,
        Reason: reason,
        Advice: TLS_ADVICE,
      });
      result.val.val = { tag: 'TLS-certificate-error' };
    }
    return result;
  };
  return future;
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
  // The instance carries `END_OUTPUT`, to call once the run has returned.
  const instantiateUnder = (grants, log = render?.log) => {
    const imports = importsFor(grants, log);
    return Object.assign(instantiate(getCoreModule, imports), { [END_OUTPUT]: imports[END_OUTPUT] });
  };
  return Object.assign(instantiateUnder, { render, modules });
}

// Where this thread's events go: stderr, or (on a run's worker) the main thread, which writes
// them in order before it handles the outcome. A worker's own process.stderr is forwarded
// asynchronously, and terminating the worker once it returned dropped what was still on the way.
let writeEvents = (text) => process.stderr.write(text);

/** Sends this thread's events through `write` instead of process.stderr. */
export function sendEventsTo(write) {
  writeEvents = write;
}

/**
 * What this host prints, rendered by the component's `render` export: `log(level, template,
 * properties)` writes a CLEF event on stderr (`level`: Debug, Information, Warning, Error);
 * `failure(kind, message)` is the failure document and exit code (`{ stdout, exitCode }`).
 */
export function renderer(render) {
  return {
    log(level, template, properties = {}) {
      writeEvents(`${render.clefEvent(level.toLowerCase(), template, JSON.stringify(properties))}\n`);
    },
    failure: (kind, message) => render.failure(kind, message),
  };
}
