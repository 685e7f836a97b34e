// clients.mjs: the client flows (api.keyfax.client, …). Asynchronous, over the
// caller's fetch, holding only short-lived tokens (from the broker) or going
// through the broker. Every flow runs in the module's Go side, behind one
// syscall/js function, `native`; this file reads the caller's arguments and
// hands Go plain values.
//
// Everything the module's Go side reads is a plain value made here. Go's
// syscall/js does not catch an exception thrown by a property getter, so a
// caller's object (a Proxy, a class with getters, a Response) is never handed
// to Go to read: token answers are copied as JSON, failures become
// { failure, name, code, cause }, fetch answers { status, headers, body },
// AbortSignals are replaced by signals of our own.

import { ApisignError, inputError } from "./errors.mjs";
import { options, reqStr, optStr, optBool, optFn, signalArg, signalOf, absUrl, queryPairs } from "./args.mjs";

/**
 * makeRuntime returns the calls into the module's `native` function of the Go
 * runtime `go`, and the tracking that frees a client's state in the module
 * when the client is closed or collected.
 */
export function makeRuntime(go, native) {
  function alive() {
    if (go.exited) throw new ApisignError("E_INTERNAL", "the apisign module has stopped; reload the page");
  }

  function callSync(op, args) {
    alive();
    const r = native(op, args);
    if (r instanceof ApisignError) throw r;
    return r;
  }

  function callAsync(op, args, signal) {
    const [own, unlink] = follow(signal);
    const p = new Promise((resolve, reject) => {
      try {
        alive();
        const r = native(op, args, own, resolve, reject);
        if (r instanceof ApisignError) reject(r);
      } catch (e) {
        reject(e instanceof ApisignError ? e : new ApisignError("E_INTERNAL", `${op}: the module failed`, { cause: e }));
      }
    });
    return signal === undefined ? p : p.finally(unlink);
  }

  const freeRegistry = typeof FinalizationRegistry === "function" ? new FinalizationRegistry((id) => {
    if (!go.exited) native("free", [id]);
  }) : null;

  return {
    alive,
    callSync,
    callAsync,
    track(client, id) {
      freeRegistry?.register(client, id, client);
    },
    untrack(client, id) {
      freeRegistry?.unregister(client);
      if (!go.exited) native("free", [id]);
    },
  };
}

// follow returns an AbortSignal of our own that fires when the caller's does
// (the module's Go side then only touches a genuine AbortSignal) and the
// function that unlinks the two.
function follow(signal) {
  if (signal === undefined) return [undefined, () => {}];
  const own = new AbortController();
  if (signal.aborted) {
    own.abort();
    return [own.signal, () => {}];
  }
  const onAbort = () => own.abort();
  signal.addEventListener("abort", onAbort, { once: true });
  return [own.signal, () => signal.removeEventListener("abort", onAbort)];
}

/**
 * guarded runs f, a client method's body, so that every method fails the same
 * way: a rejected promise with an ApisignError, also for bad arguments.
 */
export function guarded(where, f) {
  try {
    return f();
  } catch (e) {
    return Promise.reject(e instanceof ApisignError ? e : new ApisignError("E_INPUT", `${where}: could not read the arguments`, { cause: e }));
  }
}

function failure(e) {
  let name = "Error";
  let code = "";
  try {
    if (typeof e?.name === "string") name = e.name.slice(0, 64);
    if (typeof e?.code === "string") code = e.code.slice(0, 32);
  } catch {
    // a getter that throws: keep the defaults
  }
  return { failure: true, name, code, cause: e };
}

function plain(v) {
  switch (typeof v) {
    case "string":
    case "number":
    case "boolean":
      return v;
    case "object":
      return v === null ? null : JSON.parse(JSON.stringify(v));
  }
  return undefined; // bigint, symbol, function: nothing Go can read
}

// tokenFn wraps a caller's token function (getToken, callerToken) so that it
// always returns a promise of a plain value. Go calls it with the signal of
// the operation and, after the provider refused a token, that token; the
// caller's function receives them as { signal, refused? }.
function tokenFn(f) {
  return (signal, refused) =>
    Promise.resolve()
      .then(() => f(typeof refused === "string" && refused !== "" ? { signal, refused } : { signal }))
      .then(plain)
      .catch((e) => {
        throw failure(e);
      });
}

// safeFetch is the fetch Go calls: Go passes the request as plain values,
// its header fields joined by NUL (which no valid header holds), and reads
// the answer as { status, headers, body } with the header fields joined the
// same way: a few syscall/js crossings instead of several per header.
function safeFetch(fetchFn) {
  return (url, method, headerFields, body, signal) =>
    Promise.resolve()
      .then(() => {
        const headers = {};
        if (headerFields !== "") {
          const f = headerFields.split("\0");
          for (let i = 0; i + 1 < f.length; i += 2) headers[f[i]] = f[i + 1];
        }
        const init = { method, headers };
        if (body !== undefined) init.body = body;
        if (signal !== undefined) init.signal = signal;
        return fetchFn(url, init);
      })
      .then(async (res) => {
        let headers = "";
        res.headers.forEach((value, name) => {
          headers += (headers === "" ? "" : "\0") + name + "\0" + value;
        });
        const body = new Uint8Array(await res.arrayBuffer());
        return { status: res.status, headers, body };
      })
      .catch((e) => {
        throw failure(e);
      });
}

// httpConfig reads the options every client has: fetch and retry.
function httpConfig(cfg, where) {
  const fetchFn = optFn(cfg.fetch, where, "fetch") ?? globalThis.fetch;
  if (typeof fetchFn !== "function") throw new ApisignError("E_CONFIG", `${where}: no fetch in this runtime; pass one`);
  let retry = cfg.retry;
  if (retry !== undefined && (retry === null || typeof retry !== "object")) throw inputError(`${where}: retry must be an object`);
  if (retry) {
    for (const k of ["retries", "baseMs", "capMs", "maxAfterMs"]) {
      if (retry[k] !== undefined && typeof retry[k] !== "number") throw inputError(`${where}: retry.${k} must be a number`);
    }
    retry = { retries: retry.retries, baseMs: retry.baseMs, capMs: retry.capMs, maxAfterMs: retry.maxAfterMs };
  }
  if (cfg.rate !== undefined && typeof cfg.rate !== "number") throw inputError(`${where}: rate must be a number of calls per second`);
  return { fetch: safeFetch(fetchFn), retry, rate: cfg.rate };
}

// getTokenArg reads the required getToken of a provider client.
function getTokenArg(cfg, where) {
  const getToken = optFn(cfg.getToken, where, "getToken");
  if (!getToken) throw inputError(`${where}: getToken must be a function`);
  return tokenFn(getToken);
}

function requestOptions(opts, where) {
  if (opts === undefined || opts === null) return { signal: undefined, headers: undefined, contentType: undefined, query: undefined, audio: undefined };
  options(opts, where);
  let headers;
  if (opts.headers !== undefined && opts.headers !== null) {
    if (typeof opts.headers !== "object") throw inputError(`${where}: headers must be an object`);
    headers = {}; // a plain copy: Go reads only values made here
    for (const k of Object.keys(opts.headers)) {
      const v = opts.headers[k];
      if (typeof v !== "string") throw inputError(`${where}: header values must be strings`);
      headers[k] = v;
    }
  }
  return {
    signal: signalArg(opts.signal, where),
    headers,
    contentType: opts.contentType === undefined ? undefined : reqStr(opts.contentType, where, "contentType"),
    query: opts.query === undefined || opts.query === null ? undefined : queryPairs(opts.query, where),
    audio: optBool(opts.audio, where, "audio"),
  };
}

// requestBody turns a body into a string or bytes and picks its default
// Content-Type: JSON for plain objects and arrays.
function requestBody(body, contentType, where) {
  if (body === undefined || body === null) return [undefined, contentType];
  if (typeof body === "string") return [body, contentType ?? "text/plain;charset=UTF-8"];
  if (body instanceof ArrayBuffer) return [new Uint8Array(body), contentType ?? "application/octet-stream"];
  if (ArrayBuffer.isView(body)) {
    return [new Uint8Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength)), contentType ?? "application/octet-stream"];
  }
  if (typeof URLSearchParams !== "undefined" && body instanceof URLSearchParams) {
    return [body.toString(), contentType ?? "application/x-www-form-urlencoded;charset=UTF-8"];
  }
  const proto = typeof body === "object" ? Object.getPrototypeOf(body) : undefined;
  if (typeof body === "number" || typeof body === "boolean" || Array.isArray(body) || proto === Object.prototype || proto === null) {
    return [json(body, where, "body"), contentType ?? "application/json"];
  }
  throw inputError(`${where}: body must be a string, bytes, URLSearchParams or a plain JSON value`);
}

function json(v, where, name) {
  try {
    return JSON.stringify(v);
  } catch (e) {
    throw new ApisignError("E_INPUT", `${where}: ${name} cannot be written as JSON`, { cause: e });
  }
}

// call is the key of Client's method that runs an asynchronous operation for
// the client; a symbol, so that it stays out of the clients' public shape.
const call = Symbol("call");
const callSync = Symbol("callSync");

/**
 * Client is the base of every client: it creates the client's state in the
 * module (the operation newOp with the config read by the subclass), frees it
 * on close or when the client is collected, and runs operations for it.
 */
class Client {
  #rt;
  #id;
  constructor(rt, newOp, config) {
    this.#rt = rt;
    this.#id = rt.callSync(newOp, [config]);
    rt.track(this, this.#id);
  }
  [call](op, args, signal) {
    return this.#rt.callAsync(op, [this.#id, ...args], signal);
  }
  [callSync](op, args) {
    return this.#rt.callSync(op, [this.#id, ...args]);
  }
  /** Frees the client's state in the module (its token). */
  close() {
    this.#rt.untrack(this, this.#id);
  }
}

/** RequestClient is a client with request(method, path, body?, options?). */
class RequestClient extends Client {
  #op;
  #where;
  constructor(rt, newOp, config, op, where) {
    super(rt, newOp, config);
    this.#op = op;
    this.#where = where;
  }
  request(method, path, body, opts) {
    const w = this.#where;
    return guarded(w, () => {
      reqStr(method, w, "method");
      reqStr(path, w, "path");
      const o = requestOptions(opts, w);
      const [b, ct] = requestBody(body, o.contentType, w);
      return this[call](this.#op, [method, path, b, o.headers, ct, o.query, o.audio], o.signal);
    });
  }
}

export class KeyfaxClient extends Client {
  constructor(rt, cfg) {
    const w = "keyfax.client";
    options(cfg, w);
    const baseUrl = absUrl(cfg.baseUrl, w, "baseUrl");
    const hostName = reqStr(cfg.hostName, w, "hostName");
    const format = optStr(cfg.format, w, "format");
    if (format !== "" && format !== "json" && format !== "xml") throw inputError(`${w}: format must be "json" or "xml"`);
    super(rt, "keyfax.new", { baseUrl, hostName, format, getToken: getTokenArg(cfg, w), ...httpConfig(cfg, w) });
  }
  /** GET /api/v1/startup: Keyfax's example start-up data ({ status, headers, data }; data is XML text in format "xml"). */
  exampleStartup(opts) {
    return guarded("keyfax.exampleStartup", () => this[call]("keyfax.example", [], signalOf(opts, "keyfax.exampleStartup")));
  }
  startup(startupData, opts) {
    const w = "keyfax.startup";
    return guarded(w, () => {
      let text = startupData; // a string: JSON text, or XML text in format "xml"
      if (typeof startupData !== "string") {
        if (startupData === null || typeof startupData !== "object" || Array.isArray(startupData)) throw inputError(`${w}: startupData must be an object`);
        text = json(startupData, w, "startupData");
      }
      return this[call]("keyfax.startup", [text], signalOf(opts, w));
    });
  }
  results(launch, opts) {
    const w = "keyfax.results";
    return guarded(w, () => {
      options(launch, w);
      return this[call]("keyfax.results", [optStr(launch.company, w, "company"), reqStr(launch.guid, w, "guid")], signalOf(opts, w));
    });
  }
  waitForResults(launch, opts) {
    const w = "keyfax.waitForResults";
    return guarded(w, () => {
      options(launch, w);
      const o = options(opts ?? {}, w);
      for (const k of ["intervalMs", "maxIntervalMs", "timeoutMs"]) {
        if (o[k] !== undefined && typeof o[k] !== "number") throw inputError(`${w}: ${k} must be a number`);
      }
      const timing = { intervalMs: o.intervalMs, maxIntervalMs: o.maxIntervalMs, timeoutMs: o.timeoutMs };
      return this[call]("keyfax.wait", [optStr(launch.company, w, "company"), reqStr(launch.guid, w, "guid"), timing], signalArg(o.signal, w));
    });
  }
  renew(opts) {
    return guarded("keyfax.renew", () => this[call]("keyfax.renew", [], signalOf(opts, "keyfax.renew")));
  }
  launch(launchData, opts) {
    const w = "keyfax.launch";
    return guarded(w, () => {
      options(launchData, w);
      const o = options(opts ?? {}, w);
      const launchUrl = absUrl(launchData.launchUrl, w, "launchUrl");
      const [returnUrl, launchOpts] = launchOptions(o, launchData.returnUrl, w);
      return this[call]("keyfax.launch", [launchUrl, returnUrl, launchOpts], signalArg(o.signal, w));
    });
  }
}

// launchOptions reads the options of a launch (keyfax.launch, fortis.sso):
// the return URL ("" for none) and { target, features, container, keepFrame }.
function launchOptions(o, defaultReturn, w) {
  const ret = o.returnUrl ?? defaultReturn;
  const returnUrl = ret === undefined || ret === null || ret === "" ? "" : absUrl(ret, w, "returnUrl");
  const c = o.container;
  if (c !== undefined && c !== null && typeof c !== "string" && (typeof c !== "object" || typeof c.appendChild !== "function")) {
    throw inputError(`${w}: container must be an element or a selector`);
  }
  return [returnUrl, { target: optStr(o.target, w, "target"), features: optStr(o.features, w, "features"), container: c, keepFrame: o.keepFrame === true }];
}

/**
 * fortisSso gets a one-time Fortis sign-in link through the broker (POST
 * /fortis/sso) and opens it in an iframe or a popup, as keyfax.launch does;
 * it resolves with { url, params } when the window comes back to returnUrl,
 * or { closed: true } when the popup is closed or the frame removed.
 */
export function fortisSso(rt, o) {
  const w = "fortis.sso";
  return guarded(w, () => {
    options(o, w);
    const f = o.fields ?? {};
    if (f === null || typeof f !== "object" || Array.isArray(f)) throw inputError(`${w}: fields must be an object`);
    const [returnUrl, launchOpts] = launchOptions(o, undefined, w);
    return rt.callAsync("fortis.sso", [brokerConfig(o, w), json(f, w, "fields"), returnUrl, launchOpts], signalArg(o.signal, w));
  });
}

export class FortisClient extends RequestClient {
  constructor(rt, cfg) {
    const w = "fortis.client";
    options(cfg, w);
    const getToken = getTokenArg(cfg, w);
    const closeToken = optFn(cfg.closeToken, w, "closeToken");
    super(rt, "fortis.new", {
      baseUrl: absUrl(cfg.baseUrl, w, "baseUrl"),
      mode: optStr(cfg.mode, w, "mode"),
      developerId: optStr(cfg.developerId, w, "developerId"),
      getToken,
      closeToken: closeToken && ((token, signal) => Promise.resolve().then(() => closeToken(token, { signal })).then(() => true, (e) => {
        throw failure(e);
      })),
      ...httpConfig(cfg, w),
    }, "fortis.request", "fortis.request");
  }
  /** Ends the session (DELETE /v2/token/{token}, or closeToken) and frees the client. */
  close(opts) {
    return guarded("fortis.close", () => this[call]("fortis.close", [], signalOf(opts, "fortis.close")).finally(() => super.close()));
  }
}

class AnsiraClient extends RequestClient {
  constructor(rt, cfg) {
    const w = "ansira.client";
    options(cfg, w);
    const environment = optStr(cfg.environment, w, "environment");
    super(rt, "ansira.new", { baseUrl: absUrl(cfg.baseUrl, w, "baseUrl"), getToken: getTokenArg(cfg, w), environment, ...httpConfig(cfg, w) }, "ansira.request", "ansira.request");
  }

  /**
   * pages iterates over a listing (for await ... of), one page per step:
   * { page, records, status, headers, data }. filter and orderBy are written
   * as Ansira's document shows them, page/page_size added; a page shorter
   * than pageSize is the last. records(data) reads a page's records (default:
   * data itself when it is an array, else data.data).
   */
  pages(path, opts) {
    const client = this;
    // An async generator: bad arguments reject its first step, as every
    // asynchronous method rejects instead of throwing.
    return (async function* () {
      const w = "ansira.pages";
      let pager;
      let signal;
      try {
        reqStr(path, w, "path");
        const o = options(opts ?? {}, w);
        let orderBy = o.orderBy ?? [];
        if (typeof orderBy === "string") orderBy = [orderBy];
        if (!Array.isArray(orderBy) || !orderBy.every((x) => typeof x === "string")) throw inputError(`${w}: orderBy must be a string or an array of strings`);
        for (const k of ["page", "pageSize"]) {
          if (o[k] !== undefined && !(Number.isInteger(o[k]) && o[k] >= (k === "page" ? 0 : 1) && o[k] <= 1e6)) throw inputError(`${w}: ${k} must be a whole number${k === "page" ? "" : " above 0"}`);
        }
        if (o.pageSize === undefined) throw inputError(`${w}: pageSize is required (without it a short page cannot be told from a full one)`);
        const read = optFn(o.records, w, "records") ?? defaultRecords;
        const records = (data) => {
          const r = read(data);
          if (!Array.isArray(r)) throw inputError(`${w}: records must return an array`);
          return Array.from(r);
        };
        const params = { filter: optStr(o.filter, w, "filter"), orderBy: [...orderBy], page: o.page, pageSize: o.pageSize };
        signal = signalArg(o.signal, w);
        pager = client[callSync]("ansira.pages", [path, params, records]);
      } catch (e) {
        throw e instanceof ApisignError ? e : new ApisignError("E_INPUT", `${w}: could not read the arguments`, { cause: e });
      }
      try {
        for (;;) {
          const p = await client[call]("ansira.pages.next", [pager], signal);
          if (p === null) return;
          yield p;
        }
      } finally {
        client[callSync]("ansira.pages.stop", [pager]);
      }
    })();
  }
}

function defaultRecords(data) {
  if (Array.isArray(data)) return data;
  if (data !== null && typeof data === "object" && Array.isArray(data.data)) return data.data;
  throw inputError("ansira.pages: the answer holds no records array; pass records(data)");
}

export function ansiraClient(rt, cfg) {
  return new AnsiraClient(rt, cfg);
}

// brokerConfig reads the options of a call through the broker: brokerUrl,
// callerToken (a string or a function), fetch, retry, rate.
function brokerConfig(cfg, w) {
  let caller = cfg.callerToken;
  if (typeof caller === "string") {
    const s = caller;
    caller = () => s;
  } else if (typeof caller !== "function") {
    throw inputError(`${w}: callerToken must be a string or a function`);
  }
  return { brokerUrl: absUrl(cfg.brokerUrl, w, "brokerUrl"), callerToken: tokenFn(caller), ...httpConfig(cfg, w) };
}

/** brokerClient is the client of a provider the broker signs for: kind "nfon" or "fonn". */
export function brokerClient(rt, kind, cfg) {
  const w = `${kind}.client`;
  options(cfg, w);
  const config = brokerConfig(cfg, w);
  if (kind === "fonn") config.impersonatedUserExternalId = optStr(cfg.impersonatedUserExternalId, w, "impersonatedUserExternalId");
  return new RequestClient(rt, `${kind}.new`, config, "broker.request", `${kind}.request`);
}
