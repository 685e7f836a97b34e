// BrokerState: the broker's deployment-wide state, a Durable Object (one per
// deployment: the Worker asks for the object named "broker"). The Go side is
// broker.RemoteState (../state.go), which documents each operation; this class
// only keeps values. Every request is a POST of one JSON operation; times are
// Unix milliseconds of the broker's clock.
//
// Atomicity comes from the object's input gate: while a storage operation is
// pending, no other request is delivered, so each read-modify-write below (a
// get, then a put, with no other await between) runs alone. The waiters of a
// flight are promises in this object's memory: they live as long as the
// object, and a lease ends by itself after leaseMs, so a waiter never waits on
// a holder that has gone away.
//
// Storage keys: "rec:" records (get/put), "flight:" landed values,
// "slots:" slot sets. An alarm deletes slot sets whose slots have all ended.
const SWEEP_MS = 15 * 60 * 1000;

export class BrokerState {
  constructor(state) {
    this.storage = state.storage;
    this.flights = new Map(); // key -> { lease, deadline, done, resolve }
    this.sweeping = false; // an alarm is set (known in memory: no read per take)
  }

  async fetch(request) {
    let q;
    try {
      q = await request.json();
    } catch {
      return new Response("not JSON", { status: 400 });
    }
    const op = { get: this.get, put: this.put, flight: this.flight, land: this.land, take: this.take }[q && q.op];
    if (!op || typeof q.key !== "string") {
      return new Response("unknown operation", { status: 400 });
    }
    return Response.json(await op.call(this, q));
  }

  async get(q) {
    const r = await this.storage.get("rec:" + q.key);
    return r || { value: "", version: 0 };
  }

  async put(q) {
    const r = await this.storage.get("rec:" + q.key);
    const version = r ? r.version : 0;
    if (version !== (q.version || 0)) return { ok: false };
    await this.storage.put("rec:" + q.key, { value: q.value || "", version: version + 1 });
    return { ok: true };
  }

  async flight(q) {
    for (;;) {
      const c = await this.storage.get("flight:" + q.key);
      if (c && c.expires > (q.fresh || 0) && c.value !== (q.stale || "")) {
        return { value: c.value, expires: c.expires };
      }
      const f = this.flights.get(q.key);
      if (!f || Date.now() >= f.deadline) {
        let resolve;
        const done = new Promise((r) => (resolve = r));
        const lease = crypto.randomUUID();
        this.flights.set(q.key, { lease, deadline: Date.now() + q.leaseMs, done, resolve });
        return { lease };
      }
      let timer;
      const ended = new Promise((r) => (timer = setTimeout(r, f.deadline - Date.now())));
      const landed = await Promise.race([f.done, ended]);
      clearTimeout(timer);
      if (landed && landed.failure) return { value: landed.failure, expires: 0 };
    }
  }

  async land(q) {
    if (q.expires > 0) {
      await this.storage.put("flight:" + q.key, { value: q.value, expires: q.expires });
    }
    const f = this.flights.get(q.key);
    if (f && f.lease === q.lease) {
      this.flights.delete(q.key);
      f.resolve(q.expires > 0 ? {} : { failure: q.value });
    }
    return {};
  }

  async take(q) {
    const key = "slots:" + q.key;
    const slots = (await this.storage.get(key)) || {};
    for (const id of Object.keys(slots)) {
      if (slots[id] <= q.now) delete slots[id];
    }
    if (q.give) delete slots[q.give];
    let ok = true;
    let retryAt = 0;
    if (q.take) {
      const ends = Object.values(slots);
      if (q.limit > 0 && ends.length >= q.limit) {
        ok = false;
        retryAt = Math.min(...ends);
      } else {
        slots[q.take] = q.now + q.ttlMs;
      }
    }
    if (Object.keys(slots).length > 0) {
      await this.storage.put(key, slots);
      if (!this.sweeping) {
        this.sweeping = true;
        if ((await this.storage.getAlarm()) === null) {
          await this.storage.setAlarm(Date.now() + SWEEP_MS);
        }
      }
    } else {
      await this.storage.delete(key);
    }
    return { ok, retryAt };
  }

  // alarm deletes the slot sets whose slots have all ended (a caller that
  // never came back), and comes again while any remain.
  async alarm() {
    const now = Date.now();
    const sets = await this.storage.list({ prefix: "slots:" });
    const gone = [];
    for (const [key, slots] of sets) {
      if (Object.values(slots).every((end) => end <= now)) gone.push(key);
    }
    for (let i = 0; i < gone.length; i += 128) {
      await this.storage.delete(gone.slice(i, i + 128)); // at most 128 keys per call
    }
    this.sweeping = sets.size > gone.length;
    if (this.sweeping) await this.storage.setAlarm(now + SWEEP_MS);
  }
}
