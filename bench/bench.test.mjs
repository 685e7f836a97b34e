// bench.test.mjs: checks the benchmark harness, never a timing. The signing
// cases must produce the docs/PROTOCOLS.md signatures with every implementation
// (apisign, createHmac, crypto-js, WebCrypto) before anything is timed, and the
// timing helpers must answer what they claim.

import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash, createHmac } from "node:crypto";
import { createRequire } from "node:module";
import { load } from "../web/apisign.mjs";
import { median, percentile, measureMany, syncRun, asyncRun, paired, signCases, NFON } from "./lib.mjs";
import { digestFns } from "./node.mjs";

const CryptoJS = createRequire(import.meta.url)("crypto-js");

test("median and percentile", () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(percentile([5, 1, 4, 2, 3], 100), 5);
  assert.equal(percentile([5, 1, 4, 2, 3], 20), 1);
  assert.equal(percentile([5, 1, 4, 2, 3], 50), 3);
});

test("the NFON vector's string to sign is the one the module signs", async () => {
  const api = await load();
  const r = api.nfon.sign({ ...NFON });
  assert.equal(r.stringToSign, NFON.stringToSign);
  assert.equal(createHash("md5").update(NFON.body).digest("hex"), NFON.contentMD5);
});

test("every signing implementation gives the vector's signature", async () => {
  const api = await load();
  const cases = await signCases({ api, CryptoJS, nodeCrypto: { createHash, createHmac } });
  assert.deepEqual(cases.map((c) => c.id), ["nfon", "keyfax", "fortis"]);
  for (const c of cases) {
    const want = ["apisign", "createHmac", ...(c.id === "nfon" ? ["nodeWhole"] : []), "crypto-js", "webcrypto"];
    assert.deepEqual(Object.keys(c.impls), want, c.id);
  }
});

test("a wrong implementation is refused before timing", async () => {
  const api = await load();
  const wrong = { createHmac: (alg, key) => createHmac(alg, key + "x") };
  await assert.rejects(signCases({ api, CryptoJS, nodeCrypto: wrong }), /nfon\/createHmac: signature/);
});

test("digest implementations agree with OpenSSL", async () => {
  const api = await load();
  const u8 = Uint8Array.from({ length: 70000 }, (_, i) => (i * 31) & 255);
  const md5 = digestFns(api, CryptoJS, "md5", u8);
  assert.deepEqual(Object.keys(md5), ["apisign", "openssl", "crypto-js"]);
  assert.equal(md5.apisign(), createHash("md5").update(u8).digest("hex"));
  assert.ok(Object.keys(digestFns(api, CryptoJS, "sha256", u8)).includes("openssl"));
});

test("measureMany times every implementation in turns", async () => {
  const calls = { a: 0, b: 0 };
  const us = await measureMany(
    { a: syncRun(() => calls.a++), b: asyncRun(async () => calls.b++) },
    { minBatchMs: 1, warmupMs: 1, budgetMs: 20, minBatches: 4, maxBatches: 8, rounds: 2 },
  );
  assert.deepEqual(Object.keys(us), ["a", "b"]);
  assert.ok(us.a > 0 && us.b > 0, JSON.stringify(us));
  assert.ok(calls.a > 4 && calls.b > 4, JSON.stringify(calls));
});

test("paired alternates and counts rounds", async () => {
  const order = [];
  const r = await paired(async () => order.push("a"), async () => order.push("b"), { warm: 1, iters: 4 });
  assert.equal(r.rounds, 4);
  assert.ok(typeof r.diff === "number" && !Number.isNaN(r.diff));
  assert.deepEqual(order, ["a", "b", "b", "a", "a", "b", "b", "a", "a", "b"]);
});
