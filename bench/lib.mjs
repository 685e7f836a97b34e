// lib.mjs: the timing method shared by every JS benchmark, in Node and in
// Chromium (it imports nothing runtime-specific).
//
// Medians of batches: a function is warmed up, then timed in batches of n
// calls, n chosen so that one batch lasts at least minBatchMs (far above the
// timer's resolution: 100 µs in a Chromium page that is not cross-origin
// isolated). The figure is the median of the batches' per-call times, which
// shrugs off the batches a GC or a timer tick landed in. The number of batches
// is bounded by a time budget, so that a slow alternative (crypto-js on 8 MiB)
// cannot stretch the run: between minBatches and maxBatches. The
// implementations being compared take turns (measureMany).

const now = () => performance.now();

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function percentile(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

const defaults = { minBatchMs: 2, warmupMs: 150, budgetMs: 1000, minBatches: 7, maxBatches: 200 };

// calibrate returns a batch size n that makes a batch last >= minBatchMs.
async function calibrate(run, minBatchMs) {
  let n = 1;
  for (;;) {
    const t0 = now();
    await run(n);
    const dt = now() - t0;
    if (dt >= minBatchMs || n >= 1 << 24) return n;
    n = dt <= 0 ? n * 16 : Math.max(n * 2, Math.ceil((n * minBatchMs * 1.2) / dt));
  }
}

// measureMany times several implementations of one thing in alternation:
// each is calibrated and warmed up, then they take turns, rounds times, each
// turn lasting budgetMs / rounds (at least minBatches / rounds batches). A
// slow spell of the machine (another process, a noisy neighbour) then weighs
// on every implementation alike, which keeps the ratios steady. runs maps a
// name to run(n), which makes n calls; answers { [name]: µs per call }.
export async function measureMany(runs, opts = {}) {
  const o = { ...defaults, rounds: 5, ...opts };
  const entries = Object.entries(runs);
  const n = {};
  const per = {};
  for (const [name, run] of entries) {
    n[name] = await calibrate(run, o.minBatchMs);
    per[name] = [];
    const warmEnd = now() + o.warmupMs;
    while (now() < warmEnd) await run(n[name]);
  }
  const turnMs = o.budgetMs / o.rounds;
  const minPerTurn = Math.ceil(o.minBatches / o.rounds);
  const maxPerTurn = Math.ceil(o.maxBatches / o.rounds);
  for (let r = 0; r < o.rounds; r++) {
    for (const [name, run] of entries) {
      const end = now() + turnMs;
      for (let i = 0; i < maxPerTurn && (i < minPerTurn || now() < end); i++) {
        const t0 = now();
        await run(n[name]);
        per[name].push(((now() - t0) * 1000) / n[name]);
      }
    }
  }
  return Object.fromEntries(entries.map(([name]) => [name, median(per[name])]));
}

// syncRun and asyncRun make run(n) functions of a synchronous function and of
// an async one awaited call after call.
export function syncRun(fn) {
  return (n) => {
    let sink;
    for (let i = 0; i < n; i++) sink = fn();
    globalThis.__benchSink = sink;
  };
}

export function asyncRun(fn) {
  return async (n) => {
    for (let i = 0; i < n; i++) await fn();
  };
}

// paired times two async operations in alternation (ABAB…), iters rounds after
// warm rounds, and answers the median per-round milliseconds of each and the
// median of the rounds' differences (a − b): for network-bound figures, where
// the server's own time drifts and alternation keeps the comparison fair.
export async function paired(a, b, { warm = 20, iters = 200, budgetMs = 20000 } = {}) {
  for (let i = 0; i < warm; i++) {
    await a();
    await b();
  }
  const ta = [];
  const tb = [];
  const end = now() + budgetMs;
  for (let i = 0; i < iters && (i < 20 || now() < end); i++) {
    const first = i % 2 ? a : b; // alternate which goes first as well
    const second = i % 2 ? b : a;
    let t0 = now();
    await first();
    const d1 = now() - t0;
    t0 = now();
    await second();
    const d2 = now() - t0;
    if (first === a) ta.push(d1), tb.push(d2);
    else tb.push(d1), ta.push(d2);
  }
  return { a: median(ta), b: median(tb), diff: median(ta.map((x, i) => x - tb[i])), rounds: ta.length };
}

// ---- inputs shared by the signing benchmarks (docs/PROTOCOLS.md vectors) ----------------

export const NFON = {
  keyId: "3697ad86-fa77-4b25-9373-02dce48530ff",
  secret: "nfon-example-secret",
  method: "POST",
  path: "/api/customers/K1234/phone-books",
  contentType: "application/json",
  body: '{"data":[{"name":"displayName","value":"John Doe"},{"name":"displayNumber","value":"+49 (176) 12345678"}]}',
  date: 1754490720000,
  contentMD5: "4a51ed3a364b24112745d91921b177e5",
  signature: "1OPtkwRjA5ElFXJhVQ7I4uqKdwI=",
};
NFON.stringToSign = `POST\n${NFON.contentMD5}\n${NFON.contentType}\nWed, 06 Aug 2025 14:32:00 GMT\n${NFON.path}`;

export const KEYFAX = {
  hostName: "Sandbox",
  apiKey: "4d53bce03ec34c0a911182d4c228ee6c",
  signingKey: "A93reRTUJHsCuQSHR+L3GxqOJyDmQpCgps102ciuabc=",
  method: "POST",
  url: "http://localhost:43326/api/orders",
  timestamp: "1700000000",
  nonce: "0123456789abcdef0123456789abcdef",
  body: '{"OrderID":10248,"CustomerName":"Taiseer Joudeh","ShipperCity":"Amman","IsShipped":true}',
  raw: "4d53bce03ec34c0a911182d4c228ee6cPOSThttp%3a%2f%2flocalhost%3a43326%2fapi%2forders17000000000123456789abcdef0123456789abcdef0moQeULsJyv2u6NRkmiAMA==",
  signature: "eiEwhI+5TKTp3R09ykW03s/5hncPIRmRYh13consbS4=",
};

export const FORTIS = {
  developerId: "dev-1234",
  userId: "my_user_id",
  userHashKey: "my_user_hash_key",
  timestamp: 1234567890000,
  message: "my_user_id1234567890",
  signature: "fc62408f3d419105e38287b84fd7ff0581a64a31d18f95183c58c61aa9727ed9",
};

// ---- the signing cases -----------------------------------------------------------------

function b64(bytes) {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
  return btoa(s);
}

function hex(bytes) {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += (bytes[i] < 16 ? "0" : "") + bytes[i].toString(16);
  return s;
}

function fromB64(s) {
  return Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
}

// nfonNative signs an NFON request in plain Node, as a hand-written signer
// would: the whole job that api.nfon.sign does, with OpenSSL's digests.
function nfonNative({ createHash, createHmac }, r) {
  const md5 = createHash("md5").update(r.body).digest("hex");
  const date = new Date(r.date).toUTCString();
  const sts = `${r.method}\n${md5}\n${r.contentType}\n${date}\n${r.path}`;
  const sig = createHmac("sha1", r.secret).update(sts).digest("base64");
  return { headers: { Authorization: `NFON-API ${r.keyId}:${sig}`, "x-nfon-date": date, "Content-MD5": md5, "Content-Type": r.contentType }, stringToSign: sts };
}

// signCases builds the three signing cases with every implementation the
// runtime has. apisign runs the whole public function (for NFON: Content-MD5
// of the body, the date, the string to sign, the HMAC, the headers object);
// the alternatives run only the HMAC over the finished string to sign and its
// encoding, as the reference figures in ANCHORS.md were measured, so the
// ratios are lower bounds of what replacing a hand-written signer gains.
// Every implementation's output is checked against the docs/PROTOCOLS.md vector
// before it is timed.
export async function signCases({ api, CryptoJS, nodeCrypto }) {
  const subtle = globalThis.crypto.subtle;
  const enc = new TextEncoder();
  const nfonKey = await subtle.importKey("raw", enc.encode(NFON.secret), { name: "HMAC", hash: "SHA-1" }, false, ["sign"]);
  const kfKey = await subtle.importKey("raw", fromB64(KEYFAX.signingKey), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const ftKey = await subtle.importKey("raw", enc.encode(FORTIS.userHashKey), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const kfKeyWords = CryptoJS.enc.Base64.parse(KEYFAX.signingKey);
  const kfKeyBuf = nodeCrypto ? Buffer.from(KEYFAX.signingKey, "base64") : null;

  const nfonIn = { keyId: NFON.keyId, secret: NFON.secret, method: NFON.method, path: NFON.path, contentType: NFON.contentType, body: NFON.body, date: NFON.date };
  const kfIn = { hostName: KEYFAX.hostName, apiKey: KEYFAX.apiKey, signingKey: KEYFAX.signingKey, method: KEYFAX.method, url: KEYFAX.url, body: KEYFAX.body, nonce: KEYFAX.nonce, timestamp: new Date(Number(KEYFAX.timestamp) * 1000) };
  const ftIn = { developerId: FORTIS.developerId, userId: FORTIS.userId, userHashKey: FORTIS.userHashKey, timestamp: FORTIS.timestamp };

  const cases = [
    {
      id: "nfon",
      what: `NFON POST sign (${NFON.stringToSign.length}-byte string to sign)`,
      want: NFON.signature,
      impls: {
        apisign: { sync: () => api.nfon.sign(nfonIn), sig: (r) => r.headers.Authorization.split(":").pop() },
        createHmac: nodeCrypto && { sync: () => nodeCrypto.createHmac("sha1", NFON.secret).update(NFON.stringToSign).digest("base64") },
        // Node doing apisign's whole job natively: the body's MD5, the date,
        // the string to sign, the HMAC and the headers object.
        nodeWhole: nodeCrypto?.createHash && { sync: () => nfonNative(nodeCrypto, nfonIn), sig: (r) => r.headers.Authorization.split(":").pop() },
        "crypto-js": { sync: () => CryptoJS.HmacSHA1(NFON.stringToSign, NFON.secret).toString(CryptoJS.enc.Base64) },
        webcrypto: { async: async () => b64(new Uint8Array(await subtle.sign("HMAC", nfonKey, enc.encode(NFON.stringToSign)))) },
      },
    },
    {
      id: "keyfax",
      what: "Keyfax Basic (HMAC-SHA256)",
      want: KEYFAX.signature,
      impls: {
        apisign: { sync: () => api.keyfax.basic(kfIn), sig: (r) => r.signature },
        createHmac: nodeCrypto && { sync: () => nodeCrypto.createHmac("sha256", kfKeyBuf).update(KEYFAX.raw).digest("base64") },
        "crypto-js": { sync: () => CryptoJS.HmacSHA256(KEYFAX.raw, kfKeyWords).toString(CryptoJS.enc.Base64) },
        webcrypto: { async: async () => b64(new Uint8Array(await subtle.sign("HMAC", kfKey, enc.encode(KEYFAX.raw)))) },
      },
    },
    {
      id: "fortis",
      what: "Fortis HMAC (hash-key, SHA-256 hex)",
      want: FORTIS.signature,
      impls: {
        apisign: { sync: () => api.fortis.hmac(ftIn), sig: (r) => r.headers["hash-key"] },
        createHmac: nodeCrypto && { sync: () => nodeCrypto.createHmac("sha256", FORTIS.userHashKey).update(FORTIS.message).digest("hex") },
        "crypto-js": { sync: () => CryptoJS.HmacSHA256(FORTIS.message, FORTIS.userHashKey).toString(CryptoJS.enc.Hex) },
        webcrypto: { async: async () => hex(new Uint8Array(await subtle.sign("HMAC", ftKey, enc.encode(FORTIS.message)))) },
      },
    },
  ];
  // Check every implementation before timing it.
  for (const c of cases) {
    for (const [name, impl] of Object.entries(c.impls)) {
      if (!impl) {
        delete c.impls[name];
        continue;
      }
      const out = impl.sync ? impl.sync() : await impl.async();
      const sig = impl.sig ? impl.sig(out) : out;
      if (sig !== c.want) throw new Error(`${c.id}/${name}: signature ${JSON.stringify(sig)}, want ${c.want}`);
    }
  }
  return cases;
}

// runSignCases times every implementation of every case and answers
// { [case]: { what, us: { [impl]: µs per call } } }.
export async function runSignCases(cases, opts) {
  const out = {};
  for (const c of cases) {
    const runs = Object.fromEntries(Object.entries(c.impls).map(([name, impl]) => [name, impl.sync ? syncRun(impl.sync) : asyncRun(impl.async)]));
    out[c.id] = { what: c.what, us: await measureMany(runs, { budgetMs: 1000 * Object.keys(runs).length, ...opts }) };
  }
  return out;
}
