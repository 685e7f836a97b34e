// The Durable Object class of the broker's state, over an in-memory storage
// with the calls it uses. workerd runs it for real in state_workerd_test.go;
// this covers what a short test there cannot reach: the alarm's sweep.
import { test } from "node:test";
import assert from "node:assert/strict";
import { BrokerState } from "./state.mjs";

function memoryStorage() {
  const m = new Map();
  let alarm = null;
  return {
    m,
    async get(k) {
      return m.has(k) ? structuredClone(m.get(k)) : undefined;
    },
    async put(k, v) {
      m.set(k, structuredClone(v));
    },
    async delete(k) {
      for (const key of [].concat(k)) m.delete(key);
    },
    async list({ prefix }) {
      return new Map([...m].filter(([k]) => k.startsWith(prefix)));
    },
    async getAlarm() {
      return alarm;
    },
    async setAlarm(t) {
      alarm = t;
    },
  };
}

// settle lets a request started before reach its wait (a Durable Object
// takes requests in order; this mock has no input gate).
const settle = () => new Promise((r) => setTimeout(r, 20));

const op = (o, q) => o.fetch(new Request("https://broker-state/", { method: "POST", body: JSON.stringify(q) })).then((r) => r.json());

test("slots: a limit, a slot given back, and the sweep of ended sets", async () => {
  const storage = memoryStorage();
  const o = new BrokerState({ storage });
  const now = Date.now();
  assert.equal((await op(o, { op: "take", key: "a", now, take: "1", ttlMs: 60000, limit: 1 })).ok, true);
  const refused = await op(o, { op: "take", key: "a", now, take: "2", ttlMs: 60000, limit: 1 });
  assert.deepEqual(refused, { ok: false, retryAt: now + 60000 });
  assert.equal((await op(o, { op: "take", key: "a", now, give: "1", take: "2", ttlMs: 60000, limit: 1 })).ok, true);
  // A set whose slots have all ended (a caller that never came back) goes.
  await op(o, { op: "take", key: "old", now: now - 120000, take: "x", ttlMs: 60000, limit: 1 });
  assert.ok(storage.m.has("slots:old") && (await storage.getAlarm()) !== null);
  await o.alarm();
  assert.ok(!storage.m.has("slots:old") && storage.m.has("slots:a"));
});

test("flight: one lease, waiters get the landed value or failure", async () => {
  const o = new BrokerState({ storage: memoryStorage() });
  const first = await op(o, { op: "flight", key: "k", fresh: 1, leaseMs: 5000 });
  assert.ok(first.lease);
  const waiter = op(o, { op: "flight", key: "k", fresh: 1, leaseMs: 5000 });
  await settle();
  await op(o, { op: "land", key: "k", lease: first.lease, value: "v", expires: 10 });
  assert.deepEqual(await waiter, { value: "v", expires: 10 });
  const again = await op(o, { op: "flight", key: "k", fresh: 1, stale: "v", leaseMs: 5000 });
  const failed = op(o, { op: "flight", key: "k", fresh: 1, stale: "v", leaseMs: 5000 });
  await settle();
  await op(o, { op: "land", key: "k", lease: again.lease, value: "boom" });
  assert.deepEqual(await failed, { value: "boom", expires: 0 });
});

test("records: put is compare-and-swap", async () => {
  const o = new BrokerState({ storage: memoryStorage() });
  assert.deepEqual(await op(o, { op: "get", key: "r" }), { value: "", version: 0 });
  assert.equal((await op(o, { op: "put", key: "r", value: "a" })).ok, true);
  assert.equal((await op(o, { op: "put", key: "r", value: "b" })).ok, false);
  assert.equal((await op(o, { op: "put", key: "r", value: "b", version: 1 })).ok, true);
  assert.deepEqual(await op(o, { op: "get", key: "r" }), { value: "b", version: 2 });
});
