// apisign.mjs: loads the apisign browser module (apisign.wasm, Go compiled for
// GOOS=js) and exposes it as plain JavaScript functions. Types and docs:
// apisign.d.ts. Works in browsers (<script type="module">), in Node 20+ and
// in bundlers (Vite): `const api = await load()`.
//
// Two kinds of functions:
//
//  - Pure signing functions (api.nfon.sign, api.keyfax.basic, …), synchronous.
//    They take secrets, so they are for runtimes where a secret may live
//    (Workers, Node, tools), never for a page. They call exported Go functions
//    (//go:wasmexport) directly over buffers in the module's linear memory: no
//    syscall/js on this path. The ABI, defined in wasm/browser/abi.go:
//      ctl = apisign_ctl() is the address of a block of uint32 words:
//        ctl[0] input buffer address, ctl[1] its size,
//        ctl[2] output address, ctl[3] output field count,
//        ctl[4..15] per-function results (NFON: string-to-sign, resource,
//          method, flags, date and signature lengths),
//        ctl[16+i] length of output field i, ctl[80+i] length of input field i.
//      JS calls apisign_reserve(n) when the inputs need more room, writes each
//      input as UTF-8, back to back, and its length, then calls the function
//      with numbers (key handle, time in epoch ms or NaN). Result >= 0: success;
//      -1: output fields 0 and 1 are the error code and message; -2: the key
//      handle is stale, register the key again (apisign_key) and retry once.
//    Keys are registered once (apisign_key) and cached here by their strings,
//    so a repeated key costs two Map lookups; Go keeps the HMAC keyed state.
//    The encoder, decoder and memory views are reused across calls.
//
//  - Client flows (api.keyfax.client, …), asynchronous, over the page's fetch,
//    holding only short-lived tokens (from the broker) or going through the
//    broker. They call one syscall/js function of the module, `native`.
//
// Every failure throws or rejects with an ApisignError whose `code` is stable
// (E_INPUT, E_KEY, E_TOKEN, E_TOKEN_EXPIRED, E_HTTP (with `status`), E_NETWORK,
// E_ABORTED, E_CONFIG, E_INTERNAL, …) and whose message holds no secret.

import "./wasm_exec.js"; // defines globalThis.Go, the Go runtime's JS half

const GoRuntime = globalThis.Go;

/** The error of every apisign failure. */
export class ApisignError extends Error {
  constructor(code, message, options = {}) {
    super(message, options.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = "ApisignError";
    this.code = code;
    if (options.status !== undefined) this.status = options.status;
    if (options.data !== undefined) this.data = options.data;
  }
}

const inputError = (msg) => new ApisignError("E_INPUT", msg);

let loading = null;

/**
 * Instantiates the module once and resolves to the API object; later calls
 * resolve to the same object (their source is ignored).
 * source: URL or string (fetched; default apisign.wasm beside this file),
 * ArrayBuffer / typed array of the bytes, a Response, or a WebAssembly.Module.
 */
export function load(source) {
  if (loading === null) {
    loading = start(source).catch((e) => {
      loading = null; // a failed load may be retried
      throw e instanceof ApisignError ? e : new ApisignError("E_INTERNAL", "the module failed to start", { cause: e });
    });
  }
  return loading;
}

async function start(source) {
  if (typeof GoRuntime !== "function") {
    throw new ApisignError("E_CONFIG", "wasm_exec.js did not define Go (build with ./build.sh build)");
  }
  const go = new GoRuntime();
  const imports = go.importObject;
  const instance = await instantiate(source === undefined ? new URL("./apisign.wasm", import.meta.url) : source, imports);
  const slot = "__apisign_" + Math.random().toString(36).slice(2);
  let native = null;
  let version = "";
  globalThis[slot] = (fn, v) => {
    native = fn;
    version = v;
    return {
      makeError: (code, message, status, data, cause) =>
        new ApisignError(code, message, { status, data, cause: cause?.failure === true ? cause.cause : cause }),
      // await subscribes Go's one settle function to a promise, which then
      // reports (id, true, value) or (id, false, reason); false: not a thenable.
      await: (v, id, settle) => {
        if (v === null || (typeof v !== "object" && typeof v !== "function") || typeof v.then !== "function") return false;
        v.then(
          (x) => settle(id, true, x),
          (e) => settle(id, false, e),
        );
        return true;
      },
    };
  };
  go.argv = ["apisign", slot];
  try {
    // run executes main until it waits (main calls the slot first); its promise
    // settles only when the program ends, which the API checks as go.exited.
    go.run(instance).catch(() => {});
  } finally {
    delete globalThis[slot];
  }
  if (native === null) throw new ApisignError("E_INTERNAL", "the module did not start");
  return makeApi(go, instance.exports, native, version);
}

async function instantiate(source, imports) {
  source = await source;
  try {
    if (source instanceof WebAssembly.Module) return await WebAssembly.instantiate(source, imports);
    if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) {
      return (await WebAssembly.instantiate(source, imports)).instance;
    }
    if (typeof Response !== "undefined" && source instanceof Response) return await fromResponse(source, imports);
    if (typeof source === "string" || source instanceof URL) {
      const base = globalThis.location?.href ?? import.meta.url;
      let url;
      try {
        url = new URL(String(source), base);
      } catch {
        throw inputError("load: source is not a valid URL");
      }
      if (url.protocol === "file:") {
        // Node: fetch cannot read files. The name is in a variable so that
        // bundlers leave the import alone.
        const fsName = "node:fs/promises";
        const fs = await import(/* @vite-ignore */ fsName);
        return (await WebAssembly.instantiate(await fs.readFile(url), imports)).instance;
      }
      let res;
      try {
        res = await fetch(url);
      } catch (e) {
        throw new ApisignError("E_NETWORK", "load: could not fetch the module", { cause: e });
      }
      return await fromResponse(res, imports);
    }
  } catch (e) {
    if (e instanceof ApisignError) throw e;
    const code = e instanceof WebAssembly.CompileError || e instanceof WebAssembly.LinkError ? "E_INPUT" : "E_INTERNAL";
    throw new ApisignError(code, "load: the bytes are not the apisign module", { cause: e });
  }
  throw inputError("load: source must be a URL, bytes, a Response or a WebAssembly.Module");
}

async function fromResponse(res, imports) {
  if (!res.ok) throw new ApisignError("E_HTTP", `load: fetching the module answered ${res.status}`, { status: res.status });
  const type = res.headers.get("Content-Type") ?? "";
  if (typeof WebAssembly.instantiateStreaming === "function" && type.startsWith("application/wasm")) {
    return (await WebAssembly.instantiateStreaming(res, imports)).instance;
  }
  return (await WebAssembly.instantiate(await res.arrayBuffer(), imports)).instance;
}

// ---- argument readers: strict types, no coercion --------------------------------

function options(o, where) {
  if (o === null || typeof o !== "object") throw inputError(`${where}: expects an options object`);
  return o;
}

function reqStr(v, where, name) {
  if (typeof v !== "string") throw inputError(`${where}: ${name} must be a string`);
  return v;
}

function optStr(v, where, name) {
  if (v === undefined || v === null) return "";
  return reqStr(v, where, name);
}

function optFn(v, where, name) {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "function") throw inputError(`${where}: ${name} must be a function`);
  return v;
}

function isDate(v) {
  return v instanceof Date || (typeof v === "object" && v !== null && Object.prototype.toString.call(v) === "[object Date]");
}

function signalArg(v, where) {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "object" || typeof v.addEventListener !== "function" || typeof v.aborted !== "boolean") {
    throw inputError(`${where}: signal must be an AbortSignal`);
  }
  return v;
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

function absUrl(v, where, name) {
  reqStr(v, where, name);
  try {
    return new URL(v, globalThis.location?.href).href;
  } catch {
    throw inputError(`${where}: ${name} must be a URL`);
  }
}

function makeApi(go, ex, native, version) {
  const memory = ex.mem;
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  const C = ex.apisign_ctl() >>> 2; // ctl as an index into u32
  const MAX_INPUT = 64 << 20;
  let buffer = null;
  let u8 = null;
  let u32 = null;
  let inPtr = 0;
  let inCap = 0;
  let inPos = 0;
  let inCount = 0;
  let timeStr = "";

  // Views are re-made when the memory grew (memory.buffer is then a new object).
  function views() {
    if (buffer !== memory.buffer) {
      buffer = memory.buffer;
      u8 = new Uint8Array(buffer);
      u32 = new Uint32Array(buffer);
    }
  }

  function alive() {
    if (go.exited) throw new ApisignError("E_INTERNAL", "the apisign module has stopped; reload the page");
  }

  // begin readies the input buffer for up to `need` bytes of fields.
  function begin(need) {
    alive();
    views();
    if (need > u32[C + 1]) {
      if (ex.apisign_reserve(Math.min(need, MAX_INPUT)) < 0) throw lastError();
      views();
    }
    inPtr = u32[C];
    inCap = u32[C + 1];
    inPos = 0;
    inCount = 0;
    if (inView === null || inView.buffer !== buffer || inView.byteOffset !== inPtr || inView.length !== inCap) {
      inView = u8.subarray(inPtr, inPtr + inCap);
    }
  }

  // inView is the input buffer as a view of its own, kept between calls:
  // encodeInto into a fresh subarray costs several times more in Chromium.
  let inView = null;

  // putASCII5 writes five string fields with one encodeInto when they are all
  // ASCII (then byte lengths are string lengths): in Chromium one encodeInto
  // call costs 0.3 to 1 µs whatever the length, as much as the signature's
  // hashing. It must be the first write after begin; on false (a non-ASCII
  // field) nothing is counted and the caller writes the fields one by one.
  function putASCII5(a, b, c, d, e) {
    const s = a + b + c + d + e;
    if (encoder.encodeInto(s, inView).written !== s.length) return false;
    u32[C + 80] = a.length;
    u32[C + 81] = b.length;
    u32[C + 82] = c.length;
    u32[C + 83] = d.length;
    u32[C + 84] = e.length;
    inPos = s.length;
    inCount = 5;
    return true;
  }

  function tooLarge() {
    return inputError("input larger than 64 MiB");
  }

  function putStr(s) {
    const at = inPtr + inPos;
    let n = s.length;
    if (n <= 16 && n <= inCap - inPos) {
      // Short ASCII strings: a loop beats encodeInto's call overhead.
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c > 0x7f) break;
        u8[at + i] = c;
      }
      if (i < n) n = -1;
    } else {
      n = -1;
    }
    if (n < 0) {
      const r = encoder.encodeInto(s, u8.subarray(at, inPtr + inCap));
      if (r.read < s.length) throw tooLarge();
      n = r.written;
    }
    u32[C + 80 + inCount++] = n;
    inPos += n;
    return n;
  }

  function putBytes(b) {
    if (b.length > inCap - inPos) throw tooLarge();
    u8.set(b, inPtr + inPos);
    u32[C + 80 + inCount++] = b.length;
    inPos += b.length;
  }

  function putBody(b) {
    if (typeof b === "string") putStr(b);
    else putBytes(b);
  }

  function bodySize(b) {
    return typeof b === "string" ? 3 * b.length : b.length;
  }

  function field(off, len) {
    return len === 0 ? "" : decoder.decode(u8.subarray(off, off + len));
  }

  // outFields reads the output fields. TextDecoder costs about 300 ns a call
  // whatever the length, so the whole output is decoded once; when that gives
  // one UTF-16 unit per byte (all ASCII, as signatures, dates and header names
  // are), byte offsets are string offsets and the fields are slices of it.
  // Otherwise each field is decoded on its own.
  function outFields() {
    views();
    const n = u32[C + 3];
    const out = new Array(n);
    const start = u32[C + 2];
    let total = 0;
    for (let i = 0; i < n; i++) total += u32[C + 16 + i];
    const all = total === 0 ? "" : decoder.decode(u8.subarray(start, start + total));
    const oneToOne = all.length === total;
    let off = start;
    let at = 0;
    for (let i = 0; i < n; i++) {
      const len = u32[C + 16 + i];
      out[i] = oneToOne ? all.slice(at, at + len) : field(off, len);
      off += len;
      at += len;
    }
    return out;
  }

  function lastError() {
    const [code, message] = outFields();
    return new ApisignError(code || "E_INTERNAL", message || "failed");
  }

  // timeArg reads a time input (Date, RFC 3339 string, epoch ms, or nothing
  // for now) as the ms argument of the ABI; a string goes to Go in timeStr.
  function timeArg(v, where, name) {
    timeStr = "";
    if (v === undefined || v === null) return NaN;
    if (typeof v === "number") {
      if (!Number.isFinite(v)) throw inputError(`${where}: ${name} must be a finite number of epoch milliseconds`);
      return v;
    }
    if (isDate(v)) {
      const t = Date.prototype.getTime.call(v);
      if (Number.isNaN(t)) throw inputError(`${where}: ${name} is an invalid Date`);
      return t;
    }
    if (typeof v === "string") {
      if (v === "" || v.length > 64) throw inputError(`${where}: ${name} must be an RFC 3339 string`);
      timeStr = v;
      return NaN;
    }
    throw inputError(`${where}: ${name} must be a Date, an RFC 3339 string or epoch milliseconds`);
  }

  function bodyArg(v, where) {
    if (v === undefined || v === null) return "";
    if (typeof v === "string") return v;
    if (v instanceof ArrayBuffer) return new Uint8Array(v);
    if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
    throw inputError(`${where}: body must be a string, an ArrayBuffer or a typed array`);
  }

  // ---- key handles ------------------------------------------------------------
  const K_NFON = 1;
  const K_KEYFAX = 2;
  const K_FORTIS = 3;
  const MAX_KEYS = 256;
  let keyRoots = [null, new Map(), new Map(), new Map()];
  let keyCount = 0;

  function forgetKeys() {
    keyRoots = [null, new Map(), new Map(), new Map()];
    lastKey2 = [null, null, null, null];
    keyCount = 0;
    alive();
    ex.apisign_forget();
  }

  function register(kind, a, b, c) {
    if (keyCount >= MAX_KEYS) forgetKeys();
    begin(3 * (a.length + b.length + (c === undefined ? 0 : c.length)));
    putStr(a);
    putStr(b);
    if (c !== undefined) putStr(c);
    const h = ex.apisign_key(kind);
    if (h < 0) throw lastError();
    keyCount++;
    return h;
  }

  // lastKey2 is the last two-field key looked up, per kind: a run of
  // signatures with one key skips the Map lookups.
  let lastKey2 = [null, null, null, null];

  function handle2(kind, a, b) {
    const l = lastKey2[kind];
    if (l !== null && l.a === a && l.b === b) return l.h;
    const h = handle2Map(kind, a, b);
    lastKey2[kind] = { a, b, h };
    return h;
  }

  function handle2Map(kind, a, b) {
    let m = keyRoots[kind].get(a);
    if (m === undefined) keyRoots[kind].set(a, (m = new Map()));
    let h = m.get(b);
    if (h === undefined) {
      h = register(kind, a, b);
      // register may have cleared the cache: insert along a fresh path.
      let x = keyRoots[kind].get(a);
      if (x === undefined) keyRoots[kind].set(a, (x = new Map()));
      x.set(b, h);
    }
    return h;
  }

  function handle3(kind, a, b, c) {
    let m = keyRoots[kind].get(a);
    if (m === undefined) keyRoots[kind].set(a, (m = new Map()));
    let m2 = m.get(b);
    if (m2 === undefined) m.set(b, (m2 = new Map()));
    let h = m2.get(c);
    if (h === undefined) {
      h = register(kind, a, b, c);
      // register may have cleared the cache: insert along a fresh path.
      let x = keyRoots[kind].get(a);
      if (x === undefined) keyRoots[kind].set(a, (x = new Map()));
      let y = x.get(b);
      if (y === undefined) x.set(b, (y = new Map()));
      y.set(c, h);
    }
    return h;
  }

  // guard gives every pure function the same failure shape: an ApisignError,
  // whatever went wrong while reading the arguments.
  function guard(where, f) {
    return function (o) {
      try {
        return f(o);
      } catch (e) {
        if (e instanceof ApisignError) throw e;
        if (e instanceof WebAssembly.RuntimeError) throw new ApisignError("E_INTERNAL", `${where}: the module failed`, { cause: e });
        throw new ApisignError("E_INPUT", `${where}: could not read the arguments`, { cause: e });
      }
    };
  }

  // ---- NFON: the hot path ----------------------------------------------------------

  function nfonSign(o) {
    const w = "nfon.sign";
    options(o, w);
    const keyId = reqStr(o.keyId, w, "keyId");
    const secret = reqStr(o.secret, w, "secret");
    const method = reqStr(o.method, w, "method");
    const path = reqStr(o.path, w, "path");
    const ct = optStr(o.contentType, w, "contentType");
    const body = bodyArg(o.body, w);
    const ms = timeArg(o.date, w, "date");
    let pathBytes = 0;
    for (let attempt = 0; ; attempt++) {
      const h = handle2(K_NFON, keyId, secret);
      begin(3 * (method.length + path.length + ct.length + timeStr.length) + bodySize(body));
      if (typeof body === "string" && putASCII5(method, path, body, ct, timeStr)) {
        pathBytes = path.length;
      } else {
        putStr(method);
        pathBytes = putStr(path);
        putBody(body);
        putStr(ct);
        putStr(timeStr);
      }
      const r = ex.apisign_nfon_sign(h, ms);
      if (r === -2 && attempt === 0) {
        forgetKeys();
        continue;
      }
      if (r < 0) throw lastError();
      break;
    }
    views();
    const p = u32[C + 2];
    const stsLen = u32[C + 4];
    const resLen = u32[C + 5];
    const methodLen = u32[C + 6];
    const flags = u32[C + 7];
    const dateLen = u32[C + 8];
    const sigLen = u32[C + 9];
    if (!upperMethod(method)) {
      // Go's core signer upper-cased the method: read the whole output back.
      const all = decoder.decode(u8.subarray(p, p + stsLen + sigLen));
      const sig = all.slice(all.length - sigLen);
      const sts = all.slice(0, all.length - sigLen);
      // The tail (date, resource) and the head (method, Content-MD5) are ASCII,
      // so byte lengths are character lengths there.
      const dateEnd = sts.length - resLen - 1;
      const headers = { Authorization: "NFON-API " + keyId + ":" + sig, "x-nfon-date": sts.slice(dateEnd - dateLen, dateEnd) };
      if (flags & 1) headers["Content-MD5"] = sts.slice(methodLen + 1, methodLen + 33);
      if (flags & 2) headers["Content-Type"] = ct;
      return { headers, stringToSign: sts, resource: sts.slice(sts.length - resLen) };
    }
    // The method is signed as given and the content type (the one field that
    // may be non-ASCII) is the caller's string: only the ASCII parts are read
    // back, and the string to sign is put together here. The resource is the
    // path itself when normalizing left it alone (an ASCII path whose byte
    // length did not grow).
    const sig = sigLen === 28 ? ascii28(p + stsLen) : asciiAt(p + stsLen, sigLen);
    const resource = pathBytes === path.length && resLen === pathBytes ? path : asciiAt(p + stsLen - resLen, resLen);
    const dateAt = p + stsLen - resLen - 1 - dateLen;
    const date = dateLen === 29 ? ascii29(dateAt) : asciiAt(dateAt, dateLen);
    const headers = { Authorization: "NFON-API " + keyId + ":" + sig, "x-nfon-date": date };
    if (!(flags & 1)) return { headers, stringToSign: method + "\n" + date + "\n" + resource, resource };
    const md5 = ascii32(p + methodLen + 1);
    headers["Content-MD5"] = md5;
    if (flags & 2) headers["Content-Type"] = ct;
    return { headers, stringToSign: method + "\n" + md5 + "\n" + ct + "\n" + date + "\n" + resource, resource };
  }

  // upperMethod: 1 to 20 upper-case ASCII letters, the methods that Go's fast
  // path signs as given (nfon_fast.go).
  function upperMethod(m) {
    if (m.length === 0 || m.length > 20) return false;
    for (let i = 0; i < m.length; i++) {
      const c = m.charCodeAt(i);
      if (c < 65 || c > 90) return false;
    }
    return true;
  }

  // ASCII output as strings. TextDecoder costs about 300 ns a call whatever
  // the length; the fixed-length forms for the signature (28 base64
  // characters), the date (29) and Content-MD5 (32 hex digits) a fifth of that.
  function asciiAt(p, n) {
    return decoder.decode(u8.subarray(p, p + n));
  }

  function ascii28(p) {
    const a = u8;
    return String.fromCharCode(a[p], a[p + 1], a[p + 2], a[p + 3], a[p + 4], a[p + 5], a[p + 6], a[p + 7], a[p + 8], a[p + 9], a[p + 10], a[p + 11], a[p + 12], a[p + 13],
      a[p + 14], a[p + 15], a[p + 16], a[p + 17], a[p + 18], a[p + 19], a[p + 20], a[p + 21], a[p + 22], a[p + 23], a[p + 24], a[p + 25], a[p + 26], a[p + 27]);
  }

  function ascii29(p) {
    return ascii28(p) + String.fromCharCode(u8[p + 28]);
  }

  function ascii32(p) {
    const a = u8;
    return ascii28(p) + String.fromCharCode(a[p + 28], a[p + 29], a[p + 30], a[p + 31]);
  }

  // ---- the other pure functions: apisign_call, generic output ------------------------

  const FN_KEYFAX_BASIC = 1;
  const FN_KEYFAX_BEARER = 2;
  const FN_FORTIS_HMAC = 3;
  const FN_FORTIS_APIKEY = 4;
  const FN_FONN_HEADERS = 5;
  const FN_ANSIRA_TOKEN = 6;
  const FN_PANIC = 99;

  // call runs apisign_call with string (or byte) fields; keyFn, when given,
  // returns the key handle (called again after a stale handle).
  function call(fn, fields, keyFn, ms) {
    for (let attempt = 0; ; attempt++) {
      const h = keyFn ? keyFn() : 0;
      let need = 0;
      for (const f of fields) need += bodySize(f);
      begin(need);
      for (const f of fields) putBody(f);
      const r = ex.apisign_call(fn, h, ms);
      if (r === -2 && attempt === 0) {
        forgetKeys();
        continue;
      }
      if (r < 0) throw lastError();
      return entries(outFields());
    }
  }

  // entries turns (kind, name, value) triples into { headers, query?, ...members }.
  function entries(f) {
    const out = { headers: {} };
    for (let i = 0; i + 2 < f.length; i += 3) {
      if (f[i] === "h") out.headers[f[i + 1]] = f[i + 2];
      else if (f[i] === "q") (out.query ??= {})[f[i + 1]] = f[i + 2];
      else out[f[i + 1]] = f[i + 2];
    }
    return out;
  }

  function keyfaxBasic(o) {
    const w = "keyfax.basic";
    options(o, w);
    const hostName = reqStr(o.hostName, w, "hostName");
    const apiKey = reqStr(o.apiKey, w, "apiKey");
    const signingKey = reqStr(o.signingKey, w, "signingKey");
    const fields = [reqStr(o.method, w, "method"), reqStr(o.url, w, "url"), bodyArg(o.body, w), optStr(o.nonce, w, "nonce")];
    const ms = timeArg(o.timestamp, w, "timestamp");
    fields.push(timeStr);
    return call(FN_KEYFAX_BASIC, fields, () => handle3(K_KEYFAX, hostName, apiKey, signingKey), ms);
  }

  function keyfaxBearer(o) {
    const w = "keyfax.bearer";
    options(o, w);
    return call(FN_KEYFAX_BEARER, [reqStr(o.hostName, w, "hostName"), reqStr(o.token, w, "token")], null, NaN).value;
  }

  function fortisHmac(o) {
    const w = "fortis.hmac";
    options(o, w);
    const developerId = reqStr(o.developerId, w, "developerId");
    const userId = reqStr(o.userId, w, "userId");
    const key = reqStr(o.userHashKey, w, "userHashKey");
    const ms = timeArg(o.timestamp, w, "timestamp");
    return call(FN_FORTIS_HMAC, [timeStr], () => handle3(K_FORTIS, developerId, userId, key), ms);
  }

  function fortisApiKey(o) {
    const w = "fortis.apiKey";
    options(o, w);
    const mode = o.mode === undefined || o.mode === null ? "headers" : reqStr(o.mode, w, "mode");
    const r = call(FN_FORTIS_APIKEY, [optStr(o.developerId, w, "developerId"), optStr(o.userId, w, "userId"), optStr(o.userApiKey, w, "userApiKey"), mode], null, NaN);
    r.query ??= {};
    return r;
  }

  function fonnHeaders(o) {
    const w = "fonn.headers";
    options(o, w);
    const r = call(FN_FONN_HEADERS, [optStr(o.subscriptionKey, w, "subscriptionKey"), optStr(o.accessToken, w, "accessToken"), optStr(o.impersonatedUserExternalId, w, "impersonatedUserExternalId")], null, NaN);
    return { headers: r.headers };
  }

  function ansiraTokenRequest(o) {
    const w = "ansira.tokenRequest";
    options(o, w);
    const r = call(FN_ANSIRA_TOKEN, [reqStr(o.tokenUrl, w, "tokenUrl"), optStr(o.clientId, w, "clientId"), optStr(o.clientSecret, w, "clientSecret"), optStr(o.assertion, w, "assertion"), optStr(o.scope, w, "scope")], null, NaN);
    return { url: r.url, method: r.method, headers: r.headers, body: r.body };
  }

  // ---- the clock ---------------------------------------------------------------------

  const clock = Object.freeze({
    /** Milliseconds the module adds to the local clock (learned from server Date headers). */
    offsetMs() {
      alive();
      return ex.apisign_skew();
    },
    /** Learns the offset from an HTTP Date header value; returns whether it was readable. */
    observe: guard("clock.observe", (date) => {
      const d = reqStr(date, "clock.observe", "date");
      begin(3 * d.length);
      putStr(d);
      return ex.apisign_observe() === 1;
    }),
    /** The corrected time as a Date. */
    now() {
      return new Date(Date.now() + clock.offsetMs());
    },
  });

  // ---- client flows --------------------------------------------------------------------

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

  // asyncGuard gives every client method the same failure shape: a rejected
  // promise with an ApisignError, also for bad arguments.
  function asyncGuard(where, f) {
    return function (...a) {
      try {
        return f.apply(this, a);
      } catch (e) {
        return Promise.reject(e instanceof ApisignError ? e : new ApisignError("E_INPUT", `${where}: could not read the arguments`, { cause: e }));
      }
    };
  }

  const freeRegistry = typeof FinalizationRegistry === "function" ? new FinalizationRegistry((id) => {
    if (!go.exited) native("free", [id]);
  }) : null;

  function track(client, id) {
    freeRegistry?.register(client, id, client);
  }

  function untrack(client, id) {
    freeRegistry?.unregister(client);
    if (!go.exited) native("free", [id]);
  }

  // Everything the module's Go side reads is a plain value made here. Go's
  // syscall/js does not catch an exception thrown by a property getter, so a
  // caller's object (a Proxy, a class with getters, a Response) is never handed
  // to Go to read: token answers are copied as JSON, failures become
  // { failure, name, code, cause }, fetch answers { status, headers, body },
  // AbortSignals are replaced by signals of our own.

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

  // tokenFn wraps a caller's token function so that it always returns a
  // promise of a plain value and receives { signal, refused } (refused: the
  // token the server just refused, or undefined).
  function tokenFn(f) {
    return (signal, refused) =>
      Promise.resolve()
        .then(() => f({ signal, refused }))
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
    return { fetch: safeFetch(fetchFn), retry };
  }

  function requestOptions(opts, where) {
    if (opts === undefined || opts === null) return { signal: undefined, headers: undefined, contentType: undefined };
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
      let json;
      try {
        json = JSON.stringify(body);
      } catch (e) {
        throw new ApisignError("E_INPUT", `${where}: body cannot be written as JSON`, { cause: e });
      }
      return [json, contentType ?? "application/json"];
    }
    throw inputError(`${where}: body must be a string, bytes, URLSearchParams or a plain JSON value`);
  }

  function makeRequest(op, id, where) {
    return asyncGuard(where, function (method, path, body, opts) {
      reqStr(method, where, "method");
      reqStr(path, where, "path");
      const o = requestOptions(opts, where);
      const [b, ct] = requestBody(body, o.contentType, where);
      return callAsync(op, [id(), method, path, b, o.headers, ct], o.signal);
    });
  }

  class KeyfaxClient {
    #id;
    constructor(cfg) {
      const w = "keyfax.client";
      options(cfg, w);
      const baseUrl = absUrl(cfg.baseUrl, w, "baseUrl");
      const hostName = reqStr(cfg.hostName, w, "hostName");
      const getToken = optFn(cfg.getToken, w, "getToken");
      if (!getToken) throw inputError(`${w}: getToken must be a function`);
      this.#id = callSync("keyfax.new", [{ baseUrl, hostName, getToken: tokenFn(getToken), ...httpConfig(cfg, w) }]);
      track(this, this.#id);
    }
    startup = asyncGuard("keyfax.startup", (startupData, opts) => {
      const w = "keyfax.startup";
      let json = startupData;
      if (typeof startupData !== "string") {
        if (startupData === null || typeof startupData !== "object" || Array.isArray(startupData)) throw inputError(`${w}: startupData must be an object`);
        try {
          json = JSON.stringify(startupData);
        } catch (e) {
          throw new ApisignError("E_INPUT", `${w}: startupData cannot be written as JSON`, { cause: e });
        }
      }
      return callAsync("keyfax.startup", [this.#id, json], signalArg(options(opts ?? {}, w).signal, w));
    });
    results = asyncGuard("keyfax.results", (launch, opts) => {
      const w = "keyfax.results";
      options(launch, w);
      return callAsync("keyfax.results", [this.#id, optStr(launch.company, w, "company"), reqStr(launch.guid, w, "guid")], signalArg(options(opts ?? {}, w).signal, w));
    });
    waitForResults = asyncGuard("keyfax.waitForResults", (launch, opts) => {
      const w = "keyfax.waitForResults";
      options(launch, w);
      const o = options(opts ?? {}, w);
      for (const k of ["intervalMs", "maxIntervalMs", "timeoutMs"]) {
        if (o[k] !== undefined && typeof o[k] !== "number") throw inputError(`${w}: ${k} must be a number`);
      }
      const timing = { intervalMs: o.intervalMs, maxIntervalMs: o.maxIntervalMs, timeoutMs: o.timeoutMs };
      return callAsync("keyfax.wait", [this.#id, optStr(launch.company, w, "company"), reqStr(launch.guid, w, "guid"), timing], signalArg(o.signal, w));
    });
    renew = asyncGuard("keyfax.renew", (opts) => callAsync("keyfax.renew", [this.#id], signalArg(options(opts ?? {}, "keyfax.renew").signal, "keyfax.renew")));
    launch = asyncGuard("keyfax.launch", (launchData, opts) => {
      const w = "keyfax.launch";
      options(launchData, w);
      const o = options(opts ?? {}, w);
      const launchUrl = absUrl(launchData.launchUrl, w, "launchUrl");
      const ret = o.returnUrl ?? launchData.returnUrl;
      const returnUrl = ret === undefined || ret === null || ret === "" ? "" : absUrl(ret, w, "returnUrl");
      const c = o.container;
      if (c !== undefined && c !== null && typeof c !== "string" && (typeof c !== "object" || typeof c.appendChild !== "function")) {
        throw inputError(`${w}: container must be an element or a selector`);
      }
      const launchOpts = { target: optStr(o.target, w, "target"), features: optStr(o.features, w, "features"), container: c, keepFrame: o.keepFrame === true };
      return callAsync("keyfax.launch", [this.#id, launchUrl, returnUrl, launchOpts], signalArg(o.signal, w));
    });
    /** Frees the client's state in the module (its token). */
    close() {
      untrack(this, this.#id);
    }
  }

  class FortisClient {
    #id;
    constructor(cfg) {
      const w = "fortis.client";
      options(cfg, w);
      const getToken = optFn(cfg.getToken, w, "getToken");
      if (!getToken) throw inputError(`${w}: getToken must be a function`);
      const closeToken = optFn(cfg.closeToken, w, "closeToken");
      this.#id = callSync("fortis.new", [{
        baseUrl: absUrl(cfg.baseUrl, w, "baseUrl"),
        developerId: optStr(cfg.developerId, w, "developerId"),
        getToken: tokenFn(getToken),
        closeToken: closeToken && ((token, signal) => Promise.resolve().then(() => closeToken(token, { signal })).then(() => true, (e) => {
          throw failure(e);
        })),
        ...httpConfig(cfg, w),
      }]);
      track(this, this.#id);
    }
    request = makeRequest("fortis.request", () => this.#id, "fortis.request");
    /** Ends the session (DELETE /v2/token/{token}, or closeToken) and frees the client. */
    close = asyncGuard("fortis.close", (opts) => {
      const p = callAsync("fortis.close", [this.#id], signalArg(options(opts ?? {}, "fortis.close").signal, "fortis.close"));
      return p.finally(() => untrack(this, this.#id));
    });
  }

  class AnsiraClient {
    #id;
    constructor(cfg) {
      const w = "ansira.client";
      options(cfg, w);
      const getToken = optFn(cfg.getToken, w, "getToken");
      if (!getToken) throw inputError(`${w}: getToken must be a function`);
      this.#id = callSync("ansira.new", [{ baseUrl: absUrl(cfg.baseUrl, w, "baseUrl"), getToken: tokenFn(getToken), ...httpConfig(cfg, w) }]);
      track(this, this.#id);
    }
    request = makeRequest("ansira.request", () => this.#id, "ansira.request");
    close() {
      untrack(this, this.#id);
    }
  }

  class BrokerClient {
    #id;
    constructor(kind, cfg) {
      const w = `${kind}.client`;
      options(cfg, w);
      let caller = cfg.callerToken;
      if (typeof caller === "string") {
        const s = caller;
        caller = () => s;
      } else if (typeof caller !== "function") {
        throw inputError(`${w}: callerToken must be a string or a function`);
      }
      const c = { brokerUrl: absUrl(cfg.brokerUrl, w, "brokerUrl"), callerToken: tokenFn(caller), ...httpConfig(cfg, w) };
      if (kind === "fonn") c.impersonatedUserExternalId = optStr(cfg.impersonatedUserExternalId, w, "impersonatedUserExternalId");
      this.#id = callSync(`${kind}.new`, [c]);
      track(this, this.#id);
      this.request = makeRequest("broker.request", () => this.#id, `${kind}.request`);
    }
    close() {
      untrack(this, this.#id);
    }
  }

  const g = (where, f) => guard(where, f);
  return Object.freeze({
    version,
    nfon: Object.freeze({ sign: g("nfon.sign", nfonSign), client: g("nfon.client", (cfg) => new BrokerClient("nfon", cfg)) }),
    keyfax: Object.freeze({ basic: g("keyfax.basic", keyfaxBasic), bearer: g("keyfax.bearer", keyfaxBearer), client: g("keyfax.client", (cfg) => new KeyfaxClient(cfg)) }),
    fortis: Object.freeze({ hmac: g("fortis.hmac", fortisHmac), apiKey: g("fortis.apiKey", fortisApiKey), client: g("fortis.client", (cfg) => new FortisClient(cfg)) }),
    fonn: Object.freeze({ headers: g("fonn.headers", fonnHeaders), client: g("fonn.client", (cfg) => new BrokerClient("fonn", cfg)) }),
    ansira: Object.freeze({ tokenRequest: g("ansira.tokenRequest", ansiraTokenRequest), client: g("ansira.client", (cfg) => new AnsiraClient(cfg)) }),
    clock,
    /** Drops the cached key states of the signing functions. */
    forgetKeys: g("forgetKeys", () => forgetKeys()),
    /** Test hooks: a Go panic in a pure call, a sync native call and an async one. */
    _debug: Object.freeze({
      panic: g("debug.panic", () => call(FN_PANIC, [], null, NaN)),
      panicNative: g("debug.panicNative", () => callSync("debug.panic", [])),
      panicAsync: (opts) => callAsync("debug.panicAsync", [], signalArg(opts?.signal, "debug")),
      sleep: (ms, opts) => callAsync("debug.sleep", [ms], signalArg(opts?.signal, "debug")),
    }),
  });
}
