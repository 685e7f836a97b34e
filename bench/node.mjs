// node.mjs: the benchmarks that run in Node. One part per process, so that no
// part's garbage or JIT state weighs on another:
//
//   node bench/node.mjs sign            signing: apisign vs createHmac, crypto-js, WebCrypto
//   node bench/node.mjs digest          body digests (MD5, SHA-256) in MB/s
//   node bench/node.mjs startup         load() to first answered call, in fresh processes
//   node bench/node.mjs flow ORIGIN     Keyfax startup + results: module vs raw fetch
//
// Each prints one JSON object on its last line (bench/run.mjs reads it).

import { createHash, createHmac } from "node:crypto";
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { load } from "../web/apisign.mjs";
import { measureMany, median, NFON, signCases, runSignCases, syncRun } from "./lib.mjs";
import { keyfaxFlow } from "./flow.mjs";

const CryptoJS = createRequire(import.meta.url)("crypto-js");
const [part, arg] = process.argv.slice(2);

async function sign() {
  const api = await load();
  const cases = await signCases({ api, CryptoJS, nodeCrypto: { createHash, createHmac } });
  return runSignCases(cases);
}

// digestFns answers the implementations of alg ("md5" or "sha256") over bytes
// u8, each checked against Node's answer. apisign: its digest export when the
// module has one, else (MD5 only) nfon.sign of a POST with that body, whose
// Content-MD5 is the digest: that adds copying the body into the module and
// one signature, a microsecond or so.
export function digestFns(api, CryptoJS, alg, u8) {
  const want = createHash(alg).update(u8).digest("hex");
  const fns = {};
  if (typeof api.digest === "function") {
    fns.apisign = () => api.digest(alg, u8);
  } else if (alg === "md5") {
    const o = { keyId: NFON.keyId, secret: NFON.secret, method: "POST", path: NFON.path, contentType: "application/octet-stream", body: u8, date: NFON.date };
    fns.apisign = () => api.nfon.sign(o).headers["Content-MD5"];
  }
  fns.openssl = () => createHash(alg).update(u8).digest("hex");
  const cjs = alg === "md5" ? CryptoJS.MD5 : CryptoJS.SHA256;
  fns["crypto-js"] = () => cjs(CryptoJS.lib.WordArray.create(u8)).toString();
  for (const [name, f] of Object.entries(fns)) {
    if (f() !== want) throw new Error(`digest ${alg}/${name} of ${u8.length} bytes is wrong`);
  }
  return fns;
}

async function digest() {
  const api = await load();
  const out = { via: typeof api.digest === "function" ? "digest" : "nfon.sign", rows: [] };
  for (const size of [1 << 10, 64 << 10, 8 << 20]) {
    const u8 = new Uint8Array(size);
    for (let i = 0; i < size; i++) u8[i] = (i * 2654435761) >>> 24;
    for (const alg of ["md5", "sha256"]) {
      const fns = digestFns(api, CryptoJS, alg, u8);
      const runs = Object.fromEntries(Object.entries(fns).map(([name, f]) => [name, syncRun(f)]));
      const big = size >= 1 << 20;
      // crypto-js needs about 0.3 s for 8 MiB: its turns are one call each.
      const us = await measureMany(runs, big ? { minBatchMs: 1, warmupMs: 50, budgetMs: 3000, minBatches: 5 } : { budgetMs: 1500 });
      const mbps = Object.fromEntries(Object.entries(us).map(([name, t]) => [name, size / t])); // bytes per µs = MB/s
      out.rows.push({ alg, size, mbps });
    }
  }
  return out;
}

// startupOnce is one fresh process's figure: load() to the first answered call.
async function startupOnce() {
  const t0 = performance.now();
  const api = await load();
  api.nfon.sign({ keyId: NFON.keyId, secret: NFON.secret, method: "GET", path: NFON.path, date: NFON.date });
  return { ms: performance.now() - t0 };
}

function startup(runs = 10) {
  const self = fileURLToPath(import.meta.url);
  const ms = [];
  for (let i = 0; i < runs; i++) {
    const p = spawnSync(process.execPath, [self, "startup-once"], { encoding: "utf8", timeout: 30000 });
    if (p.status !== 0) throw new Error("startup-once failed: " + p.stderr);
    ms.push(JSON.parse(p.stdout.trim().split("\n").pop()).ms);
  }
  return { ms: median(ms), runs };
}

async function flow(origin) {
  if (!origin) throw new Error("flow needs the dev server's origin");
  const api = await load();
  return keyfaxFlow(api, origin);
}

// Run a part only as a program (bench.test.mjs imports digestFns).
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const parts = { sign, digest, "startup-once": startupOnce, startup, flow: () => flow(arg) };
  if (!parts[part]) {
    console.error("usage: node bench/node.mjs sign|digest|startup|flow ORIGIN");
    process.exit(2);
  }
  const result = await parts[part]();
  console.log(JSON.stringify(result));
  process.exit(0); // the Go runtime keeps the event loop alive
}
