// signing.mjs: the synchronous signing functions (api.nfon.sign,
// api.keyfax.basic, …), the module clock and the key-handle cache. Each reads
// its arguments, hands them to an export of the module through the codec and
// returns the export's output as it is: every provider rule (strings to sign,
// header values, upper-cased methods) is the Go core's.

import { ApisignError, inputError } from "./errors.mjs";
import { options, reqStr, reqStrs, optStr, timeArg, bodyArg, queryPairs } from "./args.mjs";
import { bodySize } from "./codec.mjs";
import {
  RET_STALE, MAX_KEYS,
  NFON_OUT_RESOURCE, NFON_OUT_STRING_TO_SIGN, NFON_OUT_AUTHORIZATION, NFON_OUT_DATE, NFON_OUT_CONTENT_MD5, NFON_OUT_CONTENT_TYPE, KIND_NFON, KIND_KEYFAX, KIND_FORTIS,
  FN_KEYFAX_BASIC, FN_KEYFAX_BEARER, FN_FORTIS_HMAC, FN_FORTIS_APIKEY, FN_FONN_HEADERS, FN_ANSIRA_TOKEN,
} from "./abi.mjs";

/**
 * guard gives every synchronous function the same failure shape: an
 * ApisignError, whatever went wrong while reading the arguments.
 */
export function guard(where, f) {
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

/** makeSigning returns the signing functions over the exports ex and their codec. */
export function makeSigning(ex, codec, alive) {
  // ---- key handles ------------------------------------------------------------
  // Keys are registered once (apisign_key) and cached here by their strings,
  // so a repeated key costs a few Map lookups; Go keeps the HMAC keyed state.
  // last is the last key looked up per kind: a run of signatures with one key
  // skips even those.
  let roots = [null, new Map(), new Map(), new Map()];
  let last = [null, null, null, null];
  let keyCount = 0;

  function forgetKeys() {
    roots = [null, new Map(), new Map(), new Map()];
    last = [null, null, null, null];
    keyCount = 0;
    alive();
    ex.apisign_forget();
  }

  // handle returns the key handle of the fields a, b and (for three-field
  // keys) c, registering the key when it is new.
  function handle(kind, a, b, c) {
    const l = last[kind];
    if (l !== null && l.a === a && l.b === b && l.c === c) return l.h;
    const keys = c === undefined ? [a, b] : [a, b, c];
    let h = roots[kind];
    for (let i = 0; h !== undefined && i < keys.length; i++) h = h.get(keys[i]);
    if (h === undefined) {
      h = register(kind, keys);
      // register may have cleared the cache: insert along a fresh path.
      let m = roots[kind];
      for (let i = 0; i < keys.length - 1; i++) {
        let next = m.get(keys[i]);
        if (next === undefined) m.set(keys[i], (next = new Map()));
        m = next;
      }
      m.set(keys[keys.length - 1], h);
    }
    last[kind] = { a, b, c, h };
    return h;
  }

  function register(kind, keys) {
    if (keyCount >= MAX_KEYS) forgetKeys();
    let need = 0;
    for (const k of keys) need += bodySize(k);
    codec.begin(need);
    for (const k of keys) codec.putStr(k);
    const h = ex.apisign_key(kind);
    if (h < 0) throw codec.error();
    keyCount++;
    return h;
  }

  // run calls an export: keyFn (or null) gives the key handle, write the
  // inputs, exec the export's result; the output is then the codec's. A stale
  // handle (the module's key table was cleared) registers the key again and
  // runs once more.
  function run(keyFn, write, exec) {
    for (let attempt = 0; ; attempt++) {
      const h = keyFn === null ? 0 : keyFn();
      write();
      const r = exec(h);
      if (r === RET_STALE && attempt === 0) {
        forgetKeys();
        continue;
      }
      if (r < 0) throw codec.error();
      return;
    }
  }

  // call runs apisign_call(fn) with string (or byte) fields.
  function call(fn, fields, keyFn = null, ms = NaN) {
    const write = () => {
      let need = 0;
      for (const f of fields) need += bodySize(f);
      codec.begin(need);
      for (const f of fields) codec.putBody(f);
    };
    run(keyFn, write, (h) => ex.apisign_call(fn, h, ms));
    return codec.output();
  }

  // ---- NFON: the hot path ----------------------------------------------------------
  // The module writes every value; its output is read by position (abi.mjs)
  // into an object of one fixed shape, the cheapest to build in V8.

  function nfonSign(o) {
    const w = "nfon.sign";
    options(o, w);
    const keyId = reqStr(o.keyId, w, "keyId");
    const secret = reqStr(o.secret, w, "secret");
    const method = reqStr(o.method, w, "method");
    const path = reqStr(o.path, w, "path");
    const ct = optStr(o.contentType, w, "contentType");
    const body = bodyArg(o.body, w);
    const t = timeArg(o.date, w, "date");
    // The query pairs go as one field, each key and value followed by a NUL.
    let query = "";
    for (const [k, v] of queryPairs(o.query, w)) query += k + "\0" + v + "\0";
    const audio = o.audio === true ? "1" : "";
    if (o.audio !== undefined && typeof o.audio !== "boolean") throw inputError(`${w}: audio must be a boolean`);
    const write = () => {
      codec.begin(3 * (method.length + path.length + ct.length + t.text.length + query.length) + bodySize(body) + 1);
      if (typeof body !== "string" || !codec.putASCII5(method, path, body, ct, t.text)) {
        codec.putStr(method);
        codec.putStr(path);
        codec.putBody(body);
        codec.putStr(ct);
        codec.putStr(t.text);
      }
      codec.putStr(query);
      codec.putStr(audio);
    };
    run(() => handle(KIND_NFON, keyId, secret), write, (h) => ex.apisign_nfon_sign(h, t.ms));
    const f = codec.fields();
    const headers = { Authorization: f[NFON_OUT_AUTHORIZATION], "x-nfon-date": f[NFON_OUT_DATE] };
    if (f[NFON_OUT_CONTENT_MD5] !== "") headers["Content-MD5"] = f[NFON_OUT_CONTENT_MD5];
    if (f[NFON_OUT_CONTENT_TYPE] !== "") headers["Content-Type"] = f[NFON_OUT_CONTENT_TYPE];
    return { headers, stringToSign: f[NFON_OUT_STRING_TO_SIGN], resource: f[NFON_OUT_RESOURCE] };
  }

  // ---- the other signing functions ----------------------------------------------------

  function keyfaxBasic(o) {
    const w = "keyfax.basic";
    const [hostName, apiKey, signingKey] = reqStrs(o, w, "hostName", "apiKey", "signingKey");
    const fields = [reqStr(o.method, w, "method"), reqStr(o.url, w, "url"), bodyArg(o.body, w), optStr(o.nonce, w, "nonce")];
    const t = timeArg(o.timestamp, w, "timestamp");
    fields.push(t.text);
    return call(FN_KEYFAX_BASIC, fields, () => handle(KIND_KEYFAX, hostName, apiKey, signingKey), t.ms);
  }

  function keyfaxBearer(o) {
    const w = "keyfax.bearer";
    options(o, w);
    return call(FN_KEYFAX_BEARER, [reqStr(o.hostName, w, "hostName"), reqStr(o.token, w, "token")]).value;
  }

  function fortisHmac(o) {
    const w = "fortis.hmac";
    const [developerId, userId, key] = reqStrs(o, w, "developerId", "userId", "userHashKey");
    const t = timeArg(o.timestamp, w, "timestamp");
    if (o.strict !== undefined && typeof o.strict !== "boolean") throw inputError(`${w}: strict must be a boolean`);
    const path = optStr(o.path, w, "path");
    if (o.strict === true && path === "") throw inputError(`${w}: strict needs the request's path`);
    return call(FN_FORTIS_HMAC, [t.text, path, o.strict === true ? "1" : ""], () => handle(KIND_FORTIS, developerId, userId, key), t.ms);
  }

  function fortisApiKey(o) {
    const w = "fortis.apiKey";
    options(o, w);
    const mode = o.mode === undefined || o.mode === null ? "headers" : reqStr(o.mode, w, "mode");
    const r = call(FN_FORTIS_APIKEY, [optStr(o.developerId, w, "developerId"), optStr(o.userId, w, "userId"), optStr(o.userApiKey, w, "userApiKey"), mode]);
    r.query ??= {};
    return r;
  }

  function fonnHeaders(o) {
    const w = "fonn.headers";
    options(o, w);
    const r = call(FN_FONN_HEADERS, [optStr(o.subscriptionKey, w, "subscriptionKey"), optStr(o.accessToken, w, "accessToken"), optStr(o.impersonatedUserExternalId, w, "impersonatedUserExternalId")]);
    return { headers: r.headers };
  }

  function ansiraTokenRequest(o) {
    const w = "ansira.tokenRequest";
    options(o, w);
    const r = call(FN_ANSIRA_TOKEN, [reqStr(o.tokenUrl, w, "tokenUrl"), optStr(o.clientId, w, "clientId"), optStr(o.clientSecret, w, "clientSecret"), optStr(o.assertion, w, "assertion"), optStr(o.scope, w, "scope")]);
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
      codec.begin(3 * d.length);
      codec.putStr(d);
      return ex.apisign_observe() === 1;
    }),
    /** The corrected time as a Date. */
    now() {
      return new Date(Date.now() + clock.offsetMs());
    },
  });

  return {
    nfonSign: guard("nfon.sign", nfonSign),
    keyfaxBasic: guard("keyfax.basic", keyfaxBasic),
    keyfaxBearer: guard("keyfax.bearer", keyfaxBearer),
    fortisHmac: guard("fortis.hmac", fortisHmac),
    fortisApiKey: guard("fortis.apiKey", fortisApiKey),
    fonnHeaders: guard("fonn.headers", fonnHeaders),
    ansiraTokenRequest: guard("ansira.tokenRequest", ansiraTokenRequest),
    clock,
    forgetKeys: guard("forgetKeys", () => forgetKeys()),
  };
}
