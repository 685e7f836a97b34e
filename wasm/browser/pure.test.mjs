// The browser module in Node: load(), the PROTOCOLS.md vectors, every pure
// signing function against Node's crypto over random inputs, and bad inputs
// (each must throw an ApisignError with a stable code, and the module must
// keep answering), over the test build of the module, whose hooks make Go
// panic; the shipped module must have no such hook. Needs web/apisign.wasm:
// ./build.sh build.

import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { apisign, debugWasmBytes, freshApisign, loadApi, wasmBytes, wasmFile, webDir } from "./testdata/module.mjs";
import { runVectors } from "./testdata/vectors.mjs";
import * as ref from "./testdata/reference.mjs";

const api = await loadApi();
const { ApisignError } = await apisign();

// A known-good call: after any error the module must still give this answer.
const healthy = () => api.nfon.sign({ method: "GET", path: "/api/customers/K1234/phone-books", date: 1754490720000, keyId: "3697ad86-fa77-4b25-9373-02dce48530ff", secret: "nfon-example-secret" }).headers.Authorization;
const HEALTHY = "NFON-API 3697ad86-fa77-4b25-9373-02dce48530ff:ofdQ9hgbzJ/n5f0iL2mXVXJ14T0=";

test("load: a second load() returns the same instance", async () => {
  const { load } = await apisign();
  assert.equal(await load(), api);
  assert.equal(await load(new Uint8Array([1, 2, 3])), api, "the source of a later load is ignored");
});

test("load: every kind of source", async () => {
  const bytes = wasmBytes();
  const sources = {
    "ArrayBuffer": () => bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
    "Uint8Array": () => new Uint8Array(bytes),
    "Buffer": () => bytes,
    "WebAssembly.Module": () => new WebAssembly.Module(bytes),
    "Response": () => new Response(bytes, { headers: { "Content-Type": "application/wasm" } }),
    "Response without wasm type": () => new Response(bytes),
    "Promise<Response>": () => Promise.resolve(new Response(bytes)),
    "file: URL": () => wasmFile,
    "file: URL string": () => wasmFile.href,
    "default (beside apisign.mjs)": () => undefined,
  };
  for (const [name, src] of Object.entries(sources)) {
    const { load } = await freshApisign();
    const a = await load(src());
    assert.equal(a.nfon.sign({ method: "GET", path: "/api/customers/K1234/phone-books", date: 1754490720000, keyId: "3697ad86-fa77-4b25-9373-02dce48530ff", secret: "nfon-example-secret" }).headers.Authorization, HEALTHY, name);
  }
});

test("load: an HTTP URL, and the failures", async () => {
  const server = http.createServer((req, res) => {
    if (req.url === "/apisign.wasm") {
      res.writeHead(200, { "Content-Type": "application/wasm" });
      res.end(wasmBytes());
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const base = `http://127.0.0.1:${server.address().port}`;
  try {
    let m = await freshApisign();
    assert.equal((await m.load(`${base}/apisign.wasm`)).keyfax.bearer({ hostName: "H", token: "a.b.c" }), "Bearer H:a.b.c");
    m = await freshApisign();
    await assert.rejects(m.load(`${base}/missing.wasm`), (e) => e instanceof m.ApisignError && e.code === "E_HTTP" && e.status === 404);
    // A failed load may be retried.
    assert.ok(await m.load(`${base}/apisign.wasm`));
    m = await freshApisign();
    await assert.rejects(m.load(new Uint8Array([0, 97, 115, 109, 9, 9])), { code: "E_INPUT" });
    m = await freshApisign();
    await assert.rejects(m.load(42), { code: "E_INPUT" });
    m = await freshApisign();
    await assert.rejects(m.load({}), { code: "E_INPUT" });
    m = await freshApisign();
    const closed = http.createServer();
    await new Promise((r) => closed.listen(0, "127.0.0.1", r));
    const port = closed.address().port;
    await new Promise((r) => closed.close(r));
    await assert.rejects(m.load(`http://127.0.0.1:${port}/apisign.wasm`), { code: "E_NETWORK" });
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});

test("the shipped module has no test hooks; the test build has them", async () => {
  const bytes = wasmBytes();
  const exports = WebAssembly.Module.exports(new WebAssembly.Module(bytes)).map((e) => e.name);
  assert.ok(exports.includes("apisign_nfon_sign"), exports.join(" "));
  assert.deepEqual(exports.filter((n) => /debug/i.test(n)), []);
  for (const s of ["debug.panic", "debug.sleep", "test panic"]) assert.equal(bytes.indexOf(s), -1, `web/apisign.wasm holds ${JSON.stringify(s)}`);
  const { load } = await freshApisign();
  const shipped = await load(bytes);
  assert.equal(shipped._debug, undefined);
  assert.equal(shipped.nfon.sign({ method: "GET", path: "/api/customers/K1234/phone-books", date: 1754490720000, keyId: "3697ad86-fa77-4b25-9373-02dce48530ff", secret: "nfon-example-secret" }).headers.Authorization, HEALTHY);
  // The hooks the tests use are there in the test build (else the check above proves nothing).
  const debug = debugWasmBytes();
  assert.notEqual(debug.indexOf("debug.panic"), -1);
  assert.equal(typeof api._debug.panic, "function");
});

test("the PROTOCOLS.md vectors", () => {
  assert.deepEqual(runVectors(api), []);
});

test("NFON against Node crypto, random inputs", () => {
  const r = ref.rng(0x4e464f4e);
  const methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "get", "post", "Put"];
  const types = ["application/json", "", "audio/mpeg", "Audio/WAV; rate=8000", "text/plain; charset=utf-8", "application/xml", "täxt/plain"];
  const segment = () => r.str([...ref.ALNUM, "-", ".", "_", "~", " ", "ü", "+", "=", "%20", "%2F", "(", "'", "€", "[", "|"], 1, 12);
  let refused = 0;
  for (let i = 0; i < 400; i++) {
    let path = "/" + Array.from({ length: 1 + r.int(4) }, segment).join("/");
    if (r.int(2)) path += "?" + Array.from({ length: 1 + r.int(3) }, () => segment() + "=" + segment()).join("&");
    const body = r.int(3) === 0 ? r.bytes(r.int(300)) : r.str(ref.UNICODE, 0, 200);
    const input = {
      method: r.pick(methods),
      path,
      body,
      contentType: r.pick(types),
      date: 1e12 + r.int(4e9) * 1000 + r.int(1000), // 2001 .. 2128, with milliseconds
      keyId: r.str([...ref.ALNUM, "-"], 1, 40),
      secret: r.str(ref.UNICODE, 1, 80),
    };
    const label = `case ${i}: ${JSON.stringify({ ...input, body: String(body).slice(0, 40) })}`;
    let want;
    try {
      want = ref.nfonSign(input);
    } catch (e) {
      assert.throws(() => api.nfon.sign(input), { code: e.code }, label);
      refused++;
      continue;
    }
    assert.deepEqual(api.nfon.sign(input), want, label);
  }
  assert.ok(refused > 20 && refused < 200, `a mix of signed and refused cases (${refused} refused)`);
});

test("Keyfax Basic against Node crypto, random inputs", () => {
  const r = ref.rng(0x4b4659);
  for (let i = 0; i < 250; i++) {
    const host = r.pick(["Keyfax.Example.com", "kf.example", "127.0.0.1", "[::1]"]);
    const scheme = r.pick(["https", "http", "HTTPS"]);
    const port = r.pick(["", ":443", ":80", ":8443", ":08080"]);
    const path = "/" + r.str([...ref.ALNUM, "/", "-", ".", "_", "~", " ", "ü", "%41", '"', "{", "|", "!", "*", "(", "'"], 0, 30);
    const query = r.int(2) ? "?" + r.str([...ref.ALNUM, "=", "&", " ", "+", "%2B", "é"], 1, 20) : "";
    const frag = r.int(4) === 0 ? "#frag" : "";
    const input = {
      method: r.pick(["GET", "POST", "put", "DELETE", "patch"]),
      url: `${scheme}://${host}${port}${path}${query}${frag}`,
      body: r.int(3) === 0 ? "" : r.int(2) ? r.bytes(r.int(200)) : r.str(ref.UNICODE, 1, 100),
      hostName: r.str([...ref.ALNUM, "_", "-"], 1, 20),
      apiKey: r.str([...ref.ALNUM, "-"], 1, 40),
      signingKey: randomBytes(1 + r.int(64)).toString("base64"),
      nonce: randomBytes(16).toString("hex"),
      timestamp: r.int(4e9) * 1000 + r.int(1000),
    };
    const got = api.keyfax.basic(input);
    const want = ref.keyfaxBasic(input);
    assert.equal(got.stringToSign, want.stringToSign, `case ${i}: ${input.url}`);
    assert.equal(got.headers.Authorization, want.headers.Authorization, `case ${i}`);
    assert.equal(got.signature, want.signature);
    assert.equal(got.timestamp, want.timestamp);
    assert.equal(got.nonce, input.nonce);
    assert.equal(got.method, input.method.toUpperCase());
  }
  // Without nonce and timestamp: a fresh nonce, the current time.
  const a = api.keyfax.basic({ method: "GET", url: "https://h/x", hostName: "H", apiKey: "k", signingKey: "c2VjcmV0" });
  const b = api.keyfax.basic({ method: "GET", url: "https://h/x", hostName: "H", apiKey: "k", signingKey: "c2VjcmV0" });
  assert.match(a.nonce, /^[0-9a-f]{32}$/);
  assert.notEqual(a.nonce, b.nonce);
  assert.ok(Math.abs(Number(a.timestamp) - Date.now() / 1000) < 60);
});

test("Fortis, Fonn and Ansira against Node crypto, random inputs", () => {
  const r = ref.rng(0xf0f7);
  for (let i = 0; i < 200; i++) {
    const h = {
      developerId: r.str(ref.PRINTABLE, 1, 30),
      userId: r.str(ref.PRINTABLE, 1, 30),
      userHashKey: r.str(ref.UNICODE, 1, 60),
      timestamp: r.int(4e9) * 1000 + r.int(1000),
    };
    assert.deepEqual(api.fortis.hmac(h), ref.fortisHmac(h), `hmac case ${i}`);
    const mode = r.pick(["headers", "query", "basic"]);
    const k = {
      developerId: r.str(ref.PRINTABLE, 1, 20),
      userId: r.str(mode === "headers" ? ref.PRINTABLE.filter((c) => c !== ":") : ref.UNICODE.filter((c) => c !== ":"), 1, 20),
      userApiKey: r.str(mode === "headers" ? ref.PRINTABLE : ref.UNICODE, 1, 40),
      mode,
    };
    assert.deepEqual(api.fortis.apiKey(k), ref.fortisApiKey(k), `apiKey case ${i}: ${JSON.stringify(k)}`);
    const f = { subscriptionKey: r.str(ref.PRINTABLE, 1, 40), accessToken: r.str(ref.PRINTABLE, 1, 60), impersonatedUserExternalId: r.int(2) ? r.str(ref.ALNUM, 1, 10) : undefined };
    assert.deepEqual(api.fonn.headers(f), ref.fonnHeaders(f), `fonn case ${i}`);
    const t = {
      tokenUrl: r.pick(["https://auth-stage.sproutloud.com/oauth/v2/oauth-token", "http://127.0.0.1:8080/ansira/oauth/v2/oauth-token"]),
      clientId: r.str(ref.UNICODE.filter((c) => c !== ":"), 1, 20),
      clientSecret: r.str(ref.UNICODE, 1, 40),
      assertion: r.str([...ref.ALNUM, ".", "-", "_"], 1, 200),
      scope: r.int(3) ? r.str([...ref.ALNUM, " ", ":"], 1, 30) : "",
    };
    const got = api.ansira.tokenRequest(t);
    assert.deepEqual(got, ref.ansiraTokenRequest(t), `ansira case ${i}`);
    // Any form decoder reads the values back.
    const form = new URLSearchParams(got.body);
    assert.equal(form.get("assertion"), t.assertion);
    assert.equal(form.get("scope"), t.scope || null);
  }
});

test("NFON: query pairs (object or array) and the audio flag, against Node crypto", () => {
  const base = { date: 1754490720000, keyId: "3697ad86-fa77-4b25-9373-02dce48530ff", secret: "nfon-example-secret" };
  const phone = { ...base, method: "GET", path: "/api/customers/K1234/phone-books", query: { search: "+49" } };
  const s = api.nfon.sign(phone);
  assert.equal(s.resource, "/api/customers/K1234/phone-books?search=%2B49", "the document: + is URL-encoded");
  assert.deepEqual(s, ref.nfonSign(phone));
  const arr = { ...phone, path: "/api/x?a=1", query: [["b c", "x=y/z"], ["n", 5], ["ü", ""]] };
  assert.equal(api.nfon.sign(arr).resource, "/api/x?a=1&b%20c=x%3Dy%2Fz&n=5&%C3%BC=");
  assert.deepEqual(api.nfon.sign(arr), ref.nfonSign(arr));
  const upload = { ...base, method: "POST", path: "/api/sounds", body: new Uint8Array([82, 73, 70, 70]), contentType: "multipart/form-data; boundary=b", audio: true };
  const u = api.nfon.sign(upload);
  assert.equal(u.stringToSign, "POST\nWed, 06 Aug 2025 14:32:00 GMT\n/api/sounds", "audio: neither Content-MD5 nor Content-Type signed");
  assert.deepEqual(u, ref.nfonSign(upload));
  assert.deepEqual(Object.keys(u.headers), ["Authorization", "x-nfon-date"]);
  assert.throws(() => api.nfon.sign({ ...upload, audio: false, contentType: undefined }), { code: "E_INPUT" }, "POST without Content-Type");
  assert.throws(() => api.nfon.sign({ ...phone, query: "search=+49" }), { code: "E_INPUT" });
  assert.throws(() => api.nfon.sign({ ...phone, query: [["a"]] }), { code: "E_INPUT" });
  assert.throws(() => api.nfon.sign({ ...phone, query: { a: "\0" } }), { code: "E_INPUT" });
  assert.throws(() => api.nfon.sign({ ...phone, audio: "yes" }), { code: "E_INPUT" });
  assert.equal(healthy(), HEALTHY);
});

test("NFON: time inputs, large bodies, many keys", () => {
  const base = { method: "PUT", path: "/api/x", contentType: "application/octet-stream", keyId: "k", secret: "s" };
  // 8 MiB of bytes and a 3 MiB string with multi-byte characters: Content-MD5 as Node computes it.
  const big = randomBytes(8 << 20);
  assert.deepEqual(api.nfon.sign({ ...base, body: big, date: 1754490720000 }), ref.nfonSign({ ...base, body: big, date: 1754490720000 }));
  const text = "ü€😀".repeat(300000);
  assert.deepEqual(api.nfon.sign({ ...base, body: text, date: 1754490720000 }), ref.nfonSign({ ...base, body: text, date: 1754490720000 }));
  // A typed-array view signs its own bytes, not the whole buffer.
  const buf = new Uint8Array([9, 9, 1, 2, 3, 9]);
  assert.deepEqual(api.nfon.sign({ ...base, body: buf.subarray(2, 5), date: 0 }), ref.nfonSign({ ...base, body: Buffer.from([1, 2, 3]), date: 0 }));
  // No date: now, within a second or two.
  const now = api.nfon.sign({ ...base, method: "GET" }).headers["x-nfon-date"];
  assert.ok(Math.abs(Date.parse(now) - Date.now()) < 3000, now);
  // More keys than the cache holds: every signature still right.
  for (let i = 0; i < 600; i++) {
    const k = { ...base, method: "GET", keyId: "key" + i, secret: "secret" + (i % 7), date: 1e12 };
    assert.equal(api.nfon.sign(k).headers.Authorization, ref.nfonSign(k).headers.Authorization);
  }
  api.forgetKeys();
  assert.equal(healthy(), HEALTHY);
});

test("the clock: observe a Date header, offset, now", () => {
  assert.equal(api.clock.observe("garbage"), false);
  assert.equal(api.clock.observe(new Date(Date.now() + 3600e3).toUTCString()), true);
  assert.ok(Math.abs(api.clock.offsetMs() - 3600e3) < 3000);
  assert.ok(Math.abs(api.clock.now().getTime() - (Date.now() + 3600e3)) < 3000);
  // The pure functions sign "now" by the corrected clock.
  const d = api.nfon.sign({ method: "GET", path: "/", keyId: "k", secret: "s" }).headers["x-nfon-date"];
  assert.ok(Math.abs(Date.parse(d) - (Date.now() + 3600e3)) < 3000);
  assert.equal(api.clock.observe(new Date().toUTCString()), true);
  assert.equal(api.clock.offsetMs(), 0);
});

// ---- bad inputs ----------------------------------------------------------------------

const nfonOK = { method: "GET", path: "/a", keyId: "k", secret: "nfon-secret-value", date: 0 };
const kfOK = { method: "GET", url: "https://h/x", hostName: "H", apiKey: "k", signingKey: "c2lnbmluZy1rZXktc2VjcmV0", nonce: "0123456789abcdef0123456789abcdef", timestamp: 0 };
const fortisOK = { developerId: "d", userId: "u", userHashKey: "hash-key-secret", timestamp: 0 };
const apiKeyOK = { developerId: "d", userId: "u", userApiKey: "api-key-secret", mode: "headers" };
const fonnOK = { subscriptionKey: "subscription-secret", accessToken: "t" };
const ansiraOK = { tokenUrl: "https://auth.example/token", clientId: "c", clientSecret: "client-secret-value", assertion: "a.b.c" };
const SECRETS = ["nfon-secret-value", "c2lnbmluZy1rZXktc2VjcmV0", "hash-key-secret", "api-key-secret", "subscription-secret", "client-secret-value"];
const huge = "x".repeat(70 << 20); // over the 64 MiB input limit
const throwingGetter = new Proxy({}, { get() { throw new TypeError("getter"); } });

const badInputs = [
  ["nfon.sign()", () => api.nfon.sign(), "E_INPUT"],
  ["nfon.sign(null)", () => api.nfon.sign(null), "E_INPUT"],
  ["nfon.sign(42)", () => api.nfon.sign(42), "E_INPUT"],
  ["nfon.sign('GET')", () => api.nfon.sign("GET"), "E_INPUT"],
  ["nfon.sign([])", () => api.nfon.sign([]), "E_INPUT"],
  ["nfon keyId undefined", () => api.nfon.sign({ ...nfonOK, keyId: undefined }), "E_INPUT"],
  ["nfon keyId null", () => api.nfon.sign({ ...nfonOK, keyId: null }), "E_INPUT"],
  ["nfon keyId number", () => api.nfon.sign({ ...nfonOK, keyId: 123 }), "E_INPUT"],
  ["nfon keyId object", () => api.nfon.sign({ ...nfonOK, keyId: { toString: () => "k" } }), "E_INPUT"],
  ["nfon keyId symbol", () => api.nfon.sign({ ...nfonOK, keyId: Symbol("k") }), "E_INPUT"],
  ["nfon keyId bigint", () => api.nfon.sign({ ...nfonOK, keyId: 1n }), "E_INPUT"],
  ["nfon keyId with colon", () => api.nfon.sign({ ...nfonOK, keyId: "a:b" }), "E_KEY"],
  ["nfon keyId huge", () => api.nfon.sign({ ...nfonOK, keyId: huge }), "E_INPUT"],
  ["nfon secret empty", () => api.nfon.sign({ ...nfonOK, secret: "" }), "E_KEY"],
  ["nfon secret array", () => api.nfon.sign({ ...nfonOK, secret: ["s"] }), "E_INPUT"],
  ["nfon method empty", () => api.nfon.sign({ ...nfonOK, method: "" }), "E_INPUT"],
  ["nfon method with space", () => api.nfon.sign({ ...nfonOK, method: "G ET" }), "E_INPUT"],
  ["nfon method number", () => api.nfon.sign({ ...nfonOK, method: 7 }), "E_INPUT"],
  ["nfon method huge", () => api.nfon.sign({ ...nfonOK, method: "G".repeat(1 << 20) }), "E_INPUT"],
  ["nfon path without /", () => api.nfon.sign({ ...nfonOK, path: "api/x" }), "E_INPUT"],
  ["nfon path bad escape", () => api.nfon.sign({ ...nfonOK, path: "/a%zz" }), "E_INPUT"],
  ["nfon path with fragment", () => api.nfon.sign({ ...nfonOK, path: "/a#b" }), "E_INPUT"],
  ["nfon path undefined", () => api.nfon.sign({ ...nfonOK, path: undefined }), "E_INPUT"],
  ["nfon body number", () => api.nfon.sign({ ...nfonOK, method: "POST", body: 42 }), "E_INPUT"],
  ["nfon body plain object", () => api.nfon.sign({ ...nfonOK, method: "POST", body: { a: 1 } }), "E_INPUT"],
  ["nfon body over 64 MiB", () => api.nfon.sign({ ...nfonOK, method: "POST", body: huge }), "E_INPUT"],
  ["nfon contentType number", () => api.nfon.sign({ ...nfonOK, contentType: 1 }), "E_INPUT"],
  ["nfon contentType with newline", () => api.nfon.sign({ ...nfonOK, method: "POST", contentType: "text/plain\nX: y" }), "E_INPUT"],
  ["nfon date invalid Date", () => api.nfon.sign({ ...nfonOK, date: new Date("nope") }), "E_INPUT"],
  ["nfon date NaN", () => api.nfon.sign({ ...nfonOK, date: NaN }), "E_INPUT"],
  ["nfon date Infinity", () => api.nfon.sign({ ...nfonOK, date: Infinity }), "E_INPUT"],
  ["nfon date out of JS range", () => api.nfon.sign({ ...nfonOK, date: 9e15 }), "E_INPUT"],
  ["nfon date year 10000", () => api.nfon.sign({ ...nfonOK, date: Date.UTC(10000, 0) }), "E_INPUT"],
  ["nfon date 'yesterday'", () => api.nfon.sign({ ...nfonOK, date: "yesterday" }), "E_INPUT"],
  ["nfon date empty string", () => api.nfon.sign({ ...nfonOK, date: "" }), "E_INPUT"],
  ["nfon date object", () => api.nfon.sign({ ...nfonOK, date: {} }), "E_INPUT"],
  ["nfon date boolean", () => api.nfon.sign({ ...nfonOK, date: true }), "E_INPUT"],
  ["nfon options with throwing getter", () => api.nfon.sign(throwingGetter), "E_INPUT"],
  ["keyfax.basic signing key not base64", () => api.keyfax.basic({ ...kfOK, signingKey: "not base64!" }), "E_KEY"],
  ["keyfax.basic signing key empty", () => api.keyfax.basic({ ...kfOK, signingKey: "" }), "E_KEY"],
  ["keyfax.basic host name with colon", () => api.keyfax.basic({ ...kfOK, hostName: "a:b" }), "E_KEY"],
  ["keyfax.basic nonce short", () => api.keyfax.basic({ ...kfOK, nonce: "abc" }), "E_INPUT"],
  ["keyfax.basic nonce upper case", () => api.keyfax.basic({ ...kfOK, nonce: "0123456789ABCDEF0123456789ABCDEF" }), "E_INPUT"],
  ["keyfax.basic relative URL", () => api.keyfax.basic({ ...kfOK, url: "/api/v1/token" }), "E_INPUT"],
  ["keyfax.basic ftp URL", () => api.keyfax.basic({ ...kfOK, url: "ftp://h/x" }), "E_INPUT"],
  ["keyfax.basic timestamp before 1970", () => api.keyfax.basic({ ...kfOK, timestamp: -5000 }), "E_INPUT"],
  ["keyfax.basic url number", () => api.keyfax.basic({ ...kfOK, url: 1 }), "E_INPUT"],
  ["keyfax.basic()", () => api.keyfax.basic(), "E_INPUT"],
  ["keyfax.bearer not a JWT", () => api.keyfax.bearer({ hostName: "H", token: "abc" }), "E_TOKEN"],
  ["keyfax.bearer hostName null", () => api.keyfax.bearer({ hostName: null, token: "a.b.c" }), "E_INPUT"],
  ["keyfax.bearer(undefined)", () => api.keyfax.bearer(undefined), "E_INPUT"],
  ["fortis.hmac user id empty", () => api.fortis.hmac({ ...fortisOK, userId: "" }), "E_INPUT"],
  ["fortis.hmac hash key empty", () => api.fortis.hmac({ ...fortisOK, userHashKey: "" }), "E_KEY"],
  ["fortis.hmac before 1970", () => api.fortis.hmac({ ...fortisOK, timestamp: -1000 }), "E_INPUT"],
  ["fortis.hmac timestamp string not RFC 3339", () => api.fortis.hmac({ ...fortisOK, timestamp: "1422283692" }), "E_INPUT"],
  ["fortis.hmac developer id with newline", () => api.fortis.hmac({ ...fortisOK, developerId: "d\n" }), "E_INPUT"],
  ["fortis.apiKey mode cookie", () => api.fortis.apiKey({ ...apiKeyOK, mode: "cookie" }), "E_INPUT"],
  ["fortis.apiKey mode number", () => api.fortis.apiKey({ ...apiKeyOK, mode: 1 }), "E_INPUT"],
  ["fortis.apiKey key empty", () => api.fortis.apiKey({ ...apiKeyOK, userApiKey: "" }), "E_KEY"],
  ["fortis.apiKey basic user id with colon", () => api.fortis.apiKey({ ...apiKeyOK, mode: "basic", userId: "a:b" }), "E_INPUT"],
  ["fonn.headers subscription key empty", () => api.fonn.headers({ ...fonnOK, subscriptionKey: "" }), "E_KEY"],
  ["fonn.headers token with CRLF", () => api.fonn.headers({ ...fonnOK, accessToken: "t\r\nX: y" }), "E_TOKEN"],
  ["fonn.headers impersonated number", () => api.fonn.headers({ ...fonnOK, impersonatedUserExternalId: 5 }), "E_INPUT"],
  ["ansira.tokenRequest http to another host", () => api.ansira.tokenRequest({ ...ansiraOK, tokenUrl: "http://auth.example/token" }), "E_INPUT"],
  ["ansira.tokenRequest client id with colon", () => api.ansira.tokenRequest({ ...ansiraOK, clientId: "a:b" }), "E_KEY"],
  ["ansira.tokenRequest assertion empty", () => api.ansira.tokenRequest({ ...ansiraOK, assertion: "" }), "E_INPUT"],
  ["ansira.tokenRequest tokenUrl undefined", () => api.ansira.tokenRequest({ ...ansiraOK, tokenUrl: undefined }), "E_INPUT"],
  ["clock.observe(42)", () => api.clock.observe(42), "E_INPUT"],
  ["keyfax.client({})", () => api.keyfax.client({}), "E_INPUT"],
  ["keyfax.client getToken a string", () => api.keyfax.client({ baseUrl: "https://h/Interview", hostName: "H", getToken: "jwt" }), "E_INPUT"],
  ["keyfax.client relative baseUrl in Node", () => api.keyfax.client({ baseUrl: "/Interview", hostName: "H", getToken: () => "" }), "E_INPUT"],
  ["keyfax.client host name with colon", () => api.keyfax.client({ baseUrl: "https://h/Interview", hostName: "a:b", getToken: () => "" }), "E_INPUT"],
  ["fortis.client(null)", () => api.fortis.client(null), "E_INPUT"],
  ["ansira.client baseUrl with query", () => api.ansira.client({ baseUrl: "https://h/?x=1", getToken: () => "" }), "E_INPUT"],
  ["fonn.client callerToken number", () => api.fonn.client({ brokerUrl: "https://h/broker", callerToken: 5 }), "E_INPUT"],
  ["nfon.client retry not an object", () => api.nfon.client({ brokerUrl: "https://h/broker", callerToken: "t", retry: 3 }), "E_INPUT"],
  ["a Go panic in a pure call", () => api._debug.panic(), "E_INTERNAL"],
  ["a Go panic in a native call", () => api._debug.panicNative(), "E_INTERNAL"],
];

test(`bad inputs (${badInputs.length}): each throws its code, holds no secret, and the module keeps answering`, () => {
  assert.ok(badInputs.length >= 40);
  for (const [name, f, code] of badInputs) {
    let err;
    try {
      f();
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof ApisignError, `${name}: threw ${err} instead of an ApisignError`);
    assert.ok(err instanceof Error, name);
    assert.equal(err.code, code, `${name}: ${err.code} ${err.message}`);
    assert.ok(err.message.length > 0 && err.message.length < 500, name);
    for (const s of SECRETS) assert.ok(!err.message.includes(s), `${name}: the message holds a secret: ${err.message}`);
    assert.equal(healthy(), HEALTHY, `the module stopped answering after ${name}`);
  }
});

test("bad inputs of the async client methods reject (never throw)", async () => {
  const c = api.nfon.client({ brokerUrl: "https://h/broker", callerToken: "t", fetch: () => Promise.reject(new Error("no network")) });
  const k = api.keyfax.client({ baseUrl: "https://h/Interview", hostName: "H", getToken: () => "x", fetch: () => Promise.reject(new Error("no")) });
  const cases = [
    ["request method number", () => c.request(1, "/x"), "E_INPUT"],
    ["request path object", () => c.request("GET", {}), "E_INPUT"],
    ["request absolute URL as path", () => c.request("GET", "https://evil.example/"), "E_INPUT"],
    ["request body a Map", () => c.request("POST", "/x", new Map()), "E_INPUT"],
    ["request body circular", () => { const o = {}; o.o = o; return c.request("POST", "/x", o); }, "E_INPUT"],
    ["request signal not an AbortSignal", () => c.request("GET", "/x", undefined, { signal: "stop" }), "E_INPUT"],
    ["request header value number", () => c.request("GET", "/x", undefined, { headers: { a: 1 } }), "E_INPUT"],
    ["request no network", () => c.request("GET", "/x"), "E_NETWORK"],
    ["startup with an array", () => k.startup([1]), "E_INPUT"],
    ["startup with JSON text that is not an object", () => k.startup("[1]"), "E_INPUT"],
    ["results without guid", () => k.results({ company: "c" }), "E_INPUT"],
    ["waitForResults intervalMs string", () => k.waitForResults({ guid: "g" }, { intervalMs: "10" }), "E_INPUT"],
    ["waitForResults negative interval", () => k.waitForResults({ guid: "g" }, { intervalMs: -1 }), "E_INPUT"],
    ["launch without launchUrl", () => k.launch({}), "E_INPUT"],
    ["launch in Node", () => k.launch({ launchUrl: "https://h/launch" }), "E_CONFIG"],
    ["results with a getToken that answers a non-JWT", () => k.results({ company: "c", guid: "g" }), "E_TOKEN"],
    ["a Go panic in an async call", () => api._debug.panicAsync(), "E_INTERNAL"],
  ];
  for (const [name, f, code] of cases) {
    let p;
    assert.doesNotThrow(() => (p = f()), name);
    await assert.rejects(p, (e) => e instanceof ApisignError && e.code === code, name);
    assert.equal(healthy(), HEALTHY, `the module stopped answering after ${name}`);
  }
  c.close();
  k.close();
});

test("apisign.d.ts types every function of the API", async () => {
  const dts = fs.readFileSync(new URL("apisign.d.ts", webDir), "utf8");
  const names = [];
  const walk = (o, prefix) => {
    for (const [k, v] of Object.entries(o)) {
      names.push(prefix + k);
      if (v && typeof v === "object") walk(v, prefix + k + ".");
    }
  };
  walk(api, "");
  names.splice(0, names.length, ...names.filter((n) => !n.startsWith("_debug"))); // the test build's hooks are not API
  for (const n of names) {
    const last = n.split(".").pop();
    assert.match(dts, new RegExp(`\\b${last}\\b[?]?[(:]`), `apisign.d.ts does not declare ${n}`);
  }
  for (const m of ["startup", "exampleStartup", "results", "waitForResults", "renew", "launch", "request", "pages", "close", "ApisignError", "load"]) {
    assert.match(dts, new RegExp(`\\b${m}\\b`), m);
  }
  // usage.mts, which tsc checks against the declarations (./build.sh test), calls every function.
  const usage = fs.readFileSync(new URL("./testdata/usage.mts", import.meta.url), "utf8");
  const calls = names.filter((n) => typeof n.split(".").reduce((o, k) => o[k], api) === "function");
  assert.ok(calls.length >= 16, calls.join(" "));
  for (const n of [...calls, "startup", "exampleStartup", "results", "waitForResults", "renew", "launch", "request", "pages", "close"]) {
    assert.match(usage, new RegExp(`\\.${n.split(".").pop()}\\(`), `usage.mts does not call ${n}`);
  }
  // It parses as TypeScript.
  const esbuild = await import("esbuild");
  await esbuild.transform(dts, { loader: "ts" });
});

// The shipped build (./build.sh build: tag apisign_browser) links none of
// these: net/http is 1.8 MB gzip, the others about 220 KB brotli (issue 13).
test("neither net/http nor encoding/json, fmt or reflect is linked into the browser module", () => {
  const env = { ...process.env, GOOS: "js", GOARCH: "wasm" };
  const deps = execFileSync("go", ["list", "-tags", "apisign_browser", "-deps", "./wasm/browser"], { cwd: new URL("../../", import.meta.url), env, encoding: "utf8" }).split("\n");
  assert.ok(deps.includes("syscall/js"), "go list did not list the module's dependencies");
  for (const p of ["net/http", "crypto/tls", "encoding/json", "fmt", "reflect", "net/url", "math/big"]) {
    assert.ok(!deps.includes(p), `${p} is linked`);
  }
});
