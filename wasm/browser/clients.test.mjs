// The client flows of the browser module in Node, against the fake providers
// (testdata/fakeproviders.mjs, an independent JS implementation) on 127.0.0.1:
// the Keyfax flow (startup, 202 then 200, waitForResults, renew, 401 on a bad
// bearer), retries, aborts, clock skew, and the Fortis, Ansira, Fonn and NFON
// clients. Needs web/apisign.wasm: ./build.sh build.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { loadApi } from "./testdata/module.mjs";
import { startFakeProviders } from "./testdata/fakeproviders.mjs";

const api = await loadApi();
let srv;
before(async () => {
  srv = await startFakeProviders();
});
after(() => srv.close());

const fast = { baseMs: 1, capMs: 5 };

// getToken as the demo writes it: ask the broker.
function brokerToken(counter) {
  return async ({ signal }) => {
    counter.n++;
    const r = await fetch(`${srv.base}/broker/keyfax/token`, { signal });
    return r.json(); // {token, hostName, expiresAt}
  };
}

function keyfaxClient(getToken, extra = {}) {
  return api.keyfax.client({ baseUrl: `${srv.base}/Interview`, hostName: "Dev", getToken, retry: fast, ...extra });
}

test("Keyfax: startup, results 202 then 200, waitForResults, renew", async () => {
  const calls = { n: 0 };
  const kf = keyfaxClient(brokerToken(calls));
  srv.state.log.length = 0;
  const launch = await kf.startup({ mode: { value: "RD" }, company: { value: "OL3_Dev" }, returnUrl: { value: "https://site.example/back" } });
  assert.match(launch.guid, /^[0-9a-f-]{36}$/);
  assert.equal(launch.launchUrl, `${srv.base}/Interview/launch?guid=${launch.guid}`);
  assert.equal(launch.company, "OL3_Dev");
  assert.equal(launch.returnUrl, "https://site.example/back");
  assert.equal(launch.data.guid, launch.guid);
  const startup = srv.state.log.find((r) => r.path === "/Interview/api/v1/startup");
  assert.match(startup.authorization, /^Bearer Dev:[\w-]+\.[\w-]+\.[\w-]+$/);
  assert.equal(startup.headers["content-type"], "application/json");
  assert.deepEqual(JSON.parse(startup.body).company, { value: "OL3_Dev" });

  assert.deepEqual(await kf.results(launch), { status: "pending" });
  const results = srv.state.log.filter((r) => r.path === "/Interview/api/v1/results");
  assert.deepEqual(JSON.parse(results[0].body), { company: "OL3_Dev", guid: launch.guid });

  const done = await kf.waitForResults(launch, { intervalMs: 10 });
  assert.equal(done.status, "done");
  assert.equal(done.data.KeyfaxData.GUID, launch.guid);
  assert.equal(calls.n, 1, "one JWT from the broker for the whole flow");

  const before = srv.state.renewals;
  const { expiresAt } = await kf.renew();
  assert.ok(Date.parse(expiresAt) > Date.now() + 3000e3, expiresAt);
  assert.equal(srv.state.renewals, before + 1);
  const renew = srv.state.log.findLast((r) => r.path === "/Interview/api/v1/token");
  assert.equal(renew.method, "POST");
  assert.equal(renew.authorization, startup.authorization, "renew posts the current JWT");
  // The renewed JWT is the one used from now on.
  await kf.results(launch);
  assert.notEqual(srv.state.log.at(-1).authorization, startup.authorization);
  kf.close();
});

test("Keyfax: example start-up data (GET /api/v1/startup), and format xml for startup, results and renew", async () => {
  const kf = keyfaxClient(brokerToken({ n: 0 }));
  const ex = await kf.exampleStartup();
  assert.equal(ex.status, 200);
  assert.equal(ex.data.company.value, "OL3_Dev");
  assert.equal(srv.state.log.at(-1).method, "GET");
  assert.equal(srv.state.log.at(-1).headers.accept, "application/json");
  kf.close();

  const x = keyfaxClient(brokerToken({ n: 0 }), { format: "xml" });
  const xe = await x.exampleStartup();
  assert.match(xe.data, /^<\?xml[^>]*><StartUpData><company><value>OL3_Dev<\/value>/, "XML comes back as text");
  assert.equal(srv.state.log.at(-1).headers.accept, "application/xml");
  const launch = await x.startup("<StartUpData><company><value>OL3_Dev</value></company></StartUpData>");
  const sent = srv.state.log.at(-1);
  assert.equal(sent.headers["content-type"], "application/xml");
  assert.equal(sent.headers.accept, "application/xml");
  assert.match(launch.guid, /^[0-9a-f-]{36}$/);
  assert.equal(launch.launchUrl, `${srv.base}/Interview/launch?guid=${launch.guid}&x=1`, "entities resolved");
  assert.equal(launch.company, "OL3_Dev");
  assert.match(launch.data, /^<\?xml/);
  const done = await x.results(launch);
  assert.equal(done.status, "done");
  assert.equal(srv.state.log.at(-1).body, `<ResultsRequest><company>OL3_Dev</company><guid>${launch.guid}</guid></ResultsRequest>`);
  assert.match(done.data, new RegExp(`<GUID>${launch.guid}</GUID>`));
  const before = srv.state.renewals;
  const { expiresAt } = await x.renew();
  assert.equal(srv.state.renewals, before + 1);
  assert.equal(srv.state.log.at(-1).headers.accept, "application/xml");
  assert.ok(Date.parse(expiresAt) > Date.now(), "the token was read from the XML answer");
  await assert.rejects(x.startup({ company: { value: "C" } }), { code: "E_INPUT" }, "XML format takes XML text");
  x.close();
  assert.throws(() => keyfaxClient(() => "", { format: "yaml" }), { code: "E_INPUT" });
});

test("Keyfax: a refused JWT (401) gets one fresh JWT from getToken, which is told the refused one", async () => {
  let n = 0;
  const refused = [];
  const first = srv.state.signJWT(Math.floor(Date.now() / 1000) + 3600) + "x";
  const kf = keyfaxClient(async (arg) => {
    refused.push(arg.refused);
    return ++n === 1 ? first : srv.state.freshJWT();
  });
  const launch = await kf.startup({ company: { value: "C" } });
  assert.equal(n, 2);
  assert.deepEqual(refused, [undefined, first]);
  assert.ok(launch.guid);
  // Refused every time: E_TOKEN_REFUSED with the status, after one retry (not
  // E_TOKEN_EXPIRED: the JWT's exp is years away).
  const bad = keyfaxClient(async () => "eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjQxMDI0NDQ4MDB9.bm9wZQ");
  srv.state.log.length = 0;
  await assert.rejects(bad.results(launch), (e) => e.code === "E_TOKEN_REFUSED" && e.status === 401 && e.data.message === "Bearer verification failed");
  assert.equal(srv.state.log.length, 2);
  kf.close();
  bad.close();
});

test("Keyfax: a JWT close to its exp is renewed ahead of it, with itself", async () => {
  let n = 0;
  const kf = keyfaxClient(async () => {
    n++;
    return { token: srv.state.signJWT(Math.floor(Date.now() / 1000) + 120) }; // 2 minutes: inside the 5-minute margin
  });
  srv.state.log.length = 0;
  const launch = await kf.startup({ company: { value: "C" } }); // the JWT just fetched is used as it is
  await kf.results(launch); // now it is within 5 minutes of exp: renewed first
  const paths = srv.state.log.map((r) => r.method + " " + r.path);
  assert.deepEqual(paths, ["POST /Interview/api/v1/startup", "POST /Interview/api/v1/token", "POST /Interview/api/v1/results"]);
  assert.equal(srv.state.log[1].authorization, srv.state.log[0].authorization, "renewed with the JWT itself");
  assert.notEqual(srv.state.log[2].authorization, srv.state.log[0].authorization);
  assert.equal(n, 1);
  kf.close();
});

test("Keyfax: getToken failures", async () => {
  const cases = [
    ["throws", () => { throw new Error("secret detail"); }, "E_TOKEN_EXPIRED"],
    ["rejects", () => Promise.reject(new Error("nope")), "E_TOKEN_EXPIRED"],
    ["answers a number", () => 42, "E_TOKEN"],
    ["answers a non-JWT", () => "not-a-jwt", "E_TOKEN"],
    ["answers {token} without exp", () => ({ token: "eyJhbGciOiJIUzI1NiJ9.e30.c2ln" }), "E_TOKEN"],
  ];
  for (const [name, getToken, code] of cases) {
    const kf = keyfaxClient(getToken);
    await assert.rejects(kf.results({ company: "c", guid: "g" }), (e) => e.code === code && !e.message.includes("secret detail"), name);
    kf.close();
  }
});

test("Keyfax: waitForResults is abortable; a pre-aborted signal sends nothing", async () => {
  srv.state.autoComplete = false;
  try {
    const kf = keyfaxClient(brokerToken({ n: 0 }));
    const launch = await kf.startup({ company: { value: "C" } });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 80);
    await assert.rejects(kf.waitForResults(launch, { intervalMs: 10, signal: ac.signal }), { code: "E_ABORTED" });
    const n = srv.state.log.length;
    await assert.rejects(kf.results(launch, { signal: ac.signal }), { code: "E_ABORTED" });
    assert.equal(srv.state.log.length, n, "a request went out after the abort");
    await assert.rejects(kf.waitForResults(launch, { intervalMs: 10, timeoutMs: 60 }), (e) => e.code === "E_ABORTED" && /timed out/.test(e.message));
    kf.close();
  } finally {
    srv.state.autoComplete = true;
  }
});

test("retries: 429 with Retry-After, 429 without, 503; then E_HTTP when they run out", async () => {
  const kf = keyfaxClient(brokerToken({ n: 0 }));
  const launch = await kf.startup({ company: { value: "C" } });
  srv.state.failNext.push(
    { prefix: "/Interview/api/v1/results", status: 429, headers: { "Retry-After": "0" } },
    { prefix: "/Interview/api/v1/results", status: 429 },
    { prefix: "/Interview/api/v1/results", status: 503 },
  );
  srv.state.log.length = 0;
  assert.equal((await kf.results(launch)).status, "pending");
  assert.equal(srv.state.log.length, 4);
  for (let i = 0; i < 5; i++) srv.state.failNext.push({ prefix: "/Interview/api/v1/results", status: 503, body: { message: "busy" } });
  await assert.rejects(kf.results(launch), (e) => e.code === "E_HTTP" && e.status === 503 && e.data.message === "busy");
  // retries: 0 turns them off.
  const once = keyfaxClient(brokerToken({ n: 0 }), { retry: { retries: 0 } });
  srv.state.failNext.push({ prefix: "/Interview/api/v1/results", status: 429, headers: { "Retry-After": "0" } });
  await assert.rejects(once.results(launch), (e) => e.code === "E_HTTP" && e.status === 429);
  kf.close();
  once.close();
});

test("E_HTTP for other statuses; E_NETWORK when nobody answers", async () => {
  const kf = keyfaxClient(brokerToken({ n: 0 }));
  await assert.rejects(kf.results({ company: "c", guid: "no-such-guid" }), (e) => e.code === "E_HTTP" && e.status === 404 && e.data.message === "no such session");
  const closed = http.createServer();
  await new Promise((r) => closed.listen(0, "127.0.0.1", r));
  const port = closed.address().port;
  await new Promise((r) => closed.close(r));
  const dead = api.keyfax.client({ baseUrl: `http://127.0.0.1:${port}/Interview`, hostName: "Dev", getToken: () => srv.state.freshJWT() });
  await assert.rejects(dead.results({ company: "c", guid: "g" }), (e) => e.code === "E_NETWORK" && e.message.includes(`POST http://127.0.0.1:${port}/Interview/api/v1/results got no answer`));
  kf.close();
  dead.close();
});

test("clock skew: learned from readable Date headers, used to judge expiry", async () => {
  srv.state.dateOffsetMs = 2 * 3600e3; // the server is two hours ahead
  try {
    const kf = keyfaxClient(brokerToken({ n: 0 }));
    await kf.startup({ company: { value: "C" } });
    assert.ok(Math.abs(api.clock.offsetMs() - 2 * 3600e3) < 5000, String(api.clock.offsetMs()));
    kf.close();
  } finally {
    srv.state.dateOffsetMs = 0;
  }
  // The next readable Date header resets it.
  const kf = keyfaxClient(brokerToken({ n: 0 }));
  srv.state.dateOffsetMs = 1; // send a Date header (equal to now)
  await kf.startup({ company: { value: "C" } });
  srv.state.dateOffsetMs = 0;
  assert.equal(api.clock.offsetMs(), 0);
  kf.close();
});

test("Fortis: a session from getToken, one fresh session after a 401, close", async () => {
  let n = 0;
  const opened = [];
  const getToken = async () => {
    const token = `fortis-session-${++n}`;
    if (n > 1) srv.state.fortisTokens.add(token); // the first one is refused
    opened.push(token);
    return { token, expiresIn: 900, developerId: "dev-1" };
  };
  const c = api.fortis.client({ baseUrl: `${srv.base}/fortis`, getToken, retry: fast });
  const r = await c.request("GET", "/v2/transactions?page=1");
  assert.equal(r.status, 200);
  assert.equal(r.data.path, "/fortis/v2/transactions");
  assert.equal(r.headers["content-type"], "application/json");
  assert.equal(n, 2);
  const last = srv.state.log.at(-1);
  assert.equal(last.headers["access-token"], "fortis-session-2");
  assert.equal(last.headers["developer-id"], "dev-1");
  // The session is reused while it is fresh.
  await c.request("POST", "/v2/transactions", { amount: 100 });
  assert.equal(n, 2);
  assert.deepEqual(JSON.parse(srv.state.log.at(-1).body), { amount: 100 });
  await c.close();
  assert.ok(!srv.state.fortisTokens.has("fortis-session-2"), "close did not end the session");
  assert.equal(srv.state.log.at(-1).method, "DELETE");
  await assert.rejects(c.request("GET", "/v2/x"), { code: "E_INPUT" }, "a closed client refuses");
});

test("Fortis: mode oauth sends the bearer token with developer-id, one fresh token after a 401", async () => {
  const refused = [];
  let n = 0;
  const getToken = async (arg) => {
    refused.push(arg.refused);
    const t = `fortis-oauth-${++n}`;
    if (n > 1) srv.state.fortisOAuth.add(t); // the first one is refused
    return { access_token: t, expires_in: 3600 };
  };
  const c = api.fortis.client({ mode: "oauth", baseUrl: `${srv.base}/fortis`, developerId: "dev-1", getToken, retry: fast });
  srv.state.log.length = 0;
  const r = await c.request("GET", "/v2/contacts");
  assert.equal(r.status, 200);
  assert.deepEqual(refused, [undefined, "fortis-oauth-1"]);
  const last = srv.state.log.at(-1);
  assert.equal(last.authorization, "Bearer fortis-oauth-2");
  assert.equal(last.headers["developer-id"], "dev-1");
  assert.equal(last.headers["access-token"], undefined, "OAuth and token methods are not mixed");
  await c.request("GET", "/v2/contacts");
  assert.equal(n, 2, "the token is cached");
  await c.close(); // no session to end: nothing is sent
  assert.equal(srv.state.log.at(-1).method, "GET");
  assert.throws(() => api.fortis.client({ mode: "hmac", baseUrl: srv.base, getToken }), { code: "E_INPUT" });
});

test("Fortis SSO: the link comes from the broker; outside a page it cannot be opened (E_CONFIG)", async () => {
  srv.state.log.length = 0;
  await assert.rejects(api.fortis.sso({ brokerUrl: `${srv.base}/broker`, callerToken: srv.state.callerToken, fields: { contact_id: "c-1" }, retry: fast }), { code: "E_CONFIG" });
  const asked = srv.state.log.at(-1);
  assert.equal(asked.path, "/broker/fortis/sso");
  assert.equal(asked.method, "POST");
  assert.deepEqual(JSON.parse(asked.body), { contact_id: "c-1" });
  assert.equal(asked.headers["x-apisign-caller"], srv.state.callerToken);
  await assert.rejects(api.fortis.sso({ brokerUrl: `${srv.base}/broker`, callerToken: "wrong", retry: fast }), { code: "E_TOKEN_REFUSED", status: 401 });
  await assert.rejects(api.fortis.sso({ brokerUrl: `${srv.base}/broker`, callerToken: "t", fields: [1] }), { code: "E_INPUT" });
  await assert.rejects(api.fortis.sso(null), { code: "E_INPUT" });
});

test("Fortis HMAC strict: only the document's six endpoints", () => {
  const o = { developerId: "dev-1", userId: "u-1", userHashKey: "hash-key", timestamp: 1422283692000 };
  const plain = api.fortis.hmac(o);
  for (const path of ["/v2/transactions", "/v2/transactions/123?x=1", "v2/accountvaults", "/v2/payform/x"]) {
    assert.deepEqual(api.fortis.hmac({ ...o, path, strict: true }), plain, path);
  }
  for (const path of ["/v2/contacts", "/v2/transactionsX", "/v1/transactions"]) {
    assert.throws(() => api.fortis.hmac({ ...o, path, strict: true }), { code: "E_INPUT", message: /only on v2\/accountform/ }, path);
    assert.deepEqual(api.fortis.hmac({ ...o, path }), plain, "not strict: signed");
  }
  assert.throws(() => api.fortis.hmac({ ...o, strict: true }), { code: "E_INPUT" }, "strict needs the path");
  assert.throws(() => api.fortis.hmac({ ...o, strict: "yes" }), { code: "E_INPUT" });
});

test("Ansira: a token from getToken, one fresh token after a 403", async () => {
  let n = 0;
  const getToken = async () => {
    const t = `ansira-${++n}`;
    if (n > 1) srv.state.ansiraTokens.add(t);
    return { access_token: t, token_type: "Bearer", expires_in: 3600 };
  };
  const c = api.ansira.client({ baseUrl: `${srv.base}/ansira`, getToken, retry: fast });
  const r = await c.request("GET", "/api/campaigns");
  assert.deepEqual(r.data, { ok: true, path: "/ansira/api/campaigns" });
  assert.equal(n, 2);
  assert.equal(srv.state.log.at(-1).authorization, "Bearer ansira-2");
  await c.request("GET", "/api/campaigns");
  assert.equal(n, 2, "the token is cached");
  c.close();
});

test("Ansira: pages() iterates a listing with filter and order_by as the document writes them; Cache-Control: no-cache", async () => {
  srv.state.ansiraTokens.add("ansira-pages");
  const c = api.ansira.client({ baseUrl: `${srv.base}/ansira`, getToken: async () => ({ access_token: "ansira-pages", expires_in: 3600 }), retry: fast, rate: 1000 });
  srv.state.log.length = 0;
  const seen = [];
  for await (const p of c.pages("/api/v1/campaigns", { filter: "status eq 'active' and budget gt 500", orderBy: ["-budget", "+name"], pageSize: 5 })) {
    seen.push([p.page, p.records.map((r) => r.id), p.status]);
  }
  assert.deepEqual(seen, [[1, [1, 2, 3, 4, 5], 200], [2, [6, 7, 8, 9, 10], 200], [3, [11, 12], 200]]);
  assert.equal(srv.state.log.length, 3, "a short page is the last: no fourth request");
  assert.equal(srv.state.log[0].search, "?filter=status%20eq%20%27active%27%20and%20budget%20gt%20500&order_by=-budget%2Bname&page=1&page_size=5");
  for (const r of srv.state.log) assert.equal(r.headers["cache-control"], "no-cache");
  // A break ends the iteration; a page of 6 ends with an empty page 3 (not yielded).
  const ids = [];
  for await (const p of c.pages("/api/v1/campaigns", { pageSize: 6, records: (d) => d.data })) ids.push(p.records.length);
  assert.deepEqual(ids, [6, 6]);
  for await (const p of c.pages("/api/v1/campaigns", { page: 2, pageSize: 4 })) {
    assert.equal(p.page, 2);
    break;
  }
  await assert.rejects(async () => {
    for await (const p of c.pages("/api/v1/campaigns", { pageSize: 4, records: () => "nope" })) assert.fail(p);
  }, { code: "E_INPUT" });
  // Bad arguments reject the first step (never a throw from pages itself).
  for (const bad of [{}, { pageSize: 0 }, { pageSize: 2, orderBy: 5 }, { pageSize: 2, signal: 1 }]) {
    const it = c.pages("/api/v1/campaigns", bad);
    await assert.rejects(it.next(), { code: "E_INPUT" }, JSON.stringify(bad));
  }
  c.close();
});

test("pacing: a burst of concurrent calls of one client is spread at its rate, not refused", async () => {
  srv.state.ansiraTokens.add("ansira-pace");
  const getToken = async () => ({ access_token: "ansira-pace", expires_in: 3600 });
  // environment "stage": 5 per second, the fake's limit. No retries: a 429 would fail.
  const c = api.ansira.client({ baseUrl: `${srv.base}/ansira`, getToken, environment: "stage", retry: { retries: 0 } });
  await c.request("GET", "/api/x"); // the token, outside the burst
  await new Promise((r) => setTimeout(r, 1100)); // the fake's window is empty
  srv.state.ansiraPerSecond = 5;
  const rs = await Promise.all(Array.from({ length: 8 }, () => c.request("GET", "/api/x")));
  assert.deepEqual(rs.map((r) => r.status), Array(8).fill(200), "all 8 within the limit, none refused");
  c.close();
  // Without pacing (a high rate) the same burst is refused with 429s.
  const fastClient = api.ansira.client({ baseUrl: `${srv.base}/ansira`, getToken, rate: 1000, retry: { retries: 0 } });
  await new Promise((r) => setTimeout(r, 1100)); // the fake's window is empty again
  await fastClient.request("GET", "/api/x"); // its token
  const all = await Promise.allSettled(Array.from({ length: 8 }, () => fastClient.request("GET", "/api/x")));
  assert.ok(all.some((r) => r.status === "rejected" && r.reason.status === 429), "the limit is real");
  fastClient.close();
  srv.state.ansiraPerSecond = 0;
  assert.throws(() => api.ansira.client({ baseUrl: srv.base, getToken, environment: "dev" }), { code: "E_INPUT" });
  assert.throws(() => api.fonn.client({ brokerUrl: srv.base, callerToken: "t", rate: -1 }), { code: "E_INPUT" });
});

test("Fonn and NFON through the broker's forwarding routes", async () => {
  let asked = 0;
  const callerToken = async () => {
    asked++;
    return srv.state.callerToken;
  };
  const fonn = api.fonn.client({ brokerUrl: `${srv.base}/broker`, callerToken, impersonatedUserExternalId: "ext-9", retry: fast });
  const r = await fonn.request("POST", "/v1/projects?x=1", { name: "p" });
  assert.deepEqual(r.data, { provider: "fonn", method: "POST", path: "/v1/projects?x=1", contentType: "application/json", impersonated: "ext-9", body: '{"name":"p"}' });
  assert.equal(srv.state.log.at(-1).headers["x-apisign-caller"], srv.state.callerToken);
  assert.equal(asked, 1);
  const own = await fonn.request("GET", "/v1/me", undefined, { headers: { impersonatedUserExternalId: "other" } });
  assert.equal(own.data.impersonated, "other");

  const nfon = api.nfon.client({ brokerUrl: `${srv.base}/broker/`, callerToken: srv.state.callerToken, retry: fast });
  const body = new Uint8Array([1, 2, 3, 250]);
  const n = await nfon.request("PUT", "/api/customers/K1/phone-books/Base%20Device", body, { contentType: "application/octet-stream" });
  assert.equal(n.data.path, "/api/customers/K1/phone-books/Base%20Device");
  assert.equal(n.data.contentType, "application/octet-stream");
  assert.equal(n.data.impersonated, null);
  assert.deepEqual([...srv.state.log.at(-1).raw], [1, 2, 3, 250], "the body bytes arrive as given");
  // A query as unencoded pairs goes out in NFON's encoding: "+49" as "%2B49".
  const q = await nfon.request("GET", "/api/customers/K1234/phone-books", undefined, { query: { search: "+49", "a b": "x=y" } });
  assert.equal(q.data.path, "/api/customers/K1234/phone-books?search=%2B49&a%20b=x%3Dy");
  // An audio upload is marked for the broker, which signs it as one.
  await nfon.request("PUT", "/api/customers/K1/announcements/hello", body, { contentType: "multipart/form-data; boundary=b", audio: true });
  assert.equal(srv.state.log.at(-1).headers["x-apisign-nfon-audio"], "1");
  await nfon.request("PUT", "/api/customers/K1/announcements/hello", body, { contentType: "audio/mpeg" });
  assert.equal(srv.state.log.at(-1).headers["x-apisign-nfon-audio"], undefined, "audio/* needs no marker");
  await assert.rejects(nfon.request("PUT", "/api/x", body, { audio: "yes" }), (e) => e.code === "E_INPUT" && /audio must be a boolean/.test(e.message));
  await assert.rejects(fonn.request("PUT", "/v1/x", body, { audio: true }), (e) => e.code === "E_INPUT" && /NFON requests only/.test(e.message));
  const f = await fonn.request("GET", "/v1/projects?x=1", undefined, { query: [["q", "a+b c"]] });
  assert.equal(f.data.path, "/v1/projects?x=1&q=a%2Bb%20c");
  // A caller token the broker refuses again after one fresh one: E_TOKEN_REFUSED
  // 401 with the broker's JSON.
  const refused = api.nfon.client({ brokerUrl: `${srv.base}/broker`, callerToken: "wrong", retry: fast });
  srv.state.log.length = 0;
  await assert.rejects(refused.request("GET", "/api/x"), (e) => e.code === "E_TOKEN_REFUSED" && e.status === 401 && e.data.code === "E_TOKEN_EXPIRED");
  assert.equal(srv.state.log.length, 2);
  fonn.close();
  nfon.close();
  refused.close();
});

test("a broker restart: the cached caller token is refused, one fresh one is fetched", async () => {
  const before = srv.state.callerToken;
  let cached = before;
  const seen = [];
  const callerToken = ({ refused }) => {
    seen.push(refused);
    if (refused === cached) cached = srv.state.callerToken; // the page's own cache, dropped on refusal
    return cached;
  };
  const nfon = api.nfon.client({ brokerUrl: `${srv.base}/broker`, callerToken, retry: fast });
  try {
    await nfon.request("GET", "/api/a");
    srv.state.callerToken = "456.restarted"; // the broker now accepts only new tokens
    srv.state.log.length = 0;
    const r = await nfon.request("GET", "/api/b");
    assert.equal(r.status, 200);
    assert.deepEqual(seen, [undefined, undefined, before]);
    assert.deepEqual(srv.state.log.map((l) => l.headers["x-apisign-caller"]), [before, "456.restarted"]);
  } finally {
    srv.state.callerToken = before;
    nfon.close();
  }
});

test("Keyfax: waitForResults rides out 503s with backoff, keeping on until done", async () => {
  const kf = keyfaxClient(brokerToken({ n: 0 }));
  const launch = await kf.startup({ company: { value: "C" } });
  for (let i = 0; i < 8; i++) srv.state.failNext.push({ prefix: "/Interview/api/v1/results", status: 503, body: { message: "busy" } });
  srv.state.log.length = 0;
  const r = await kf.waitForResults(launch, { intervalMs: 10, maxIntervalMs: 20, timeoutMs: 10000 });
  assert.equal(r.status, "done");
  assert.ok(srv.state.log.length > 8, "polled through the 503s");
  kf.close();
});

test("many concurrent requests share one token fetch", async () => {
  const calls = { n: 0 };
  const kf = keyfaxClient(brokerToken(calls));
  const launch = await kf.startup({ company: { value: "C" } });
  const all = await Promise.all(Array.from({ length: 20 }, () => kf.results(launch)));
  assert.equal(all.length, 20);
  assert.equal(calls.n, 1);
  kf.close();
});

test("hostile values from the caller's functions never break the module", async () => {
  const v = { method: "GET", path: "/api/customers/K1234/phone-books", date: 1754490720000, keyId: "3697ad86-fa77-4b25-9373-02dce48530ff", secret: "nfon-example-secret" };
  const ok = "NFON-API 3697ad86-fa77-4b25-9373-02dce48530ff:ofdQ9hgbzJ/n5f0iL2mXVXJ14T0=";
  const trap = new Proxy({}, { get() { throw new Error("getter"); } });
  const cases = [
    ["fetch answers an object whose getters throw", { fetch: async () => trap, getToken: () => srv.state.freshJWT() }, "E_NETWORK"],
    ["fetch rejects with an object whose getters throw", { fetch: () => Promise.reject(trap), getToken: () => srv.state.freshJWT() }, "E_NETWORK"],
    ["getToken answers an object whose getters throw", { getToken: async () => trap }, "E_TOKEN_EXPIRED"],
    ["getToken throws an object whose getters throw", { getToken: () => { throw trap; } }, "E_TOKEN_EXPIRED"],
    ["getToken answers a BigInt", { getToken: async () => 1n }, "E_TOKEN"],
  ];
  for (const [name, cfg, code] of cases) {
    const kf = keyfaxClient(cfg.getToken, cfg.fetch ? { fetch: cfg.fetch } : {});
    await assert.rejects(kf.results({ company: "c", guid: "g" }), (e) => e.code === code, name);
    assert.equal(api.nfon.sign(v).headers.Authorization, ok, `after: ${name}`);
    kf.close();
  }
  // A pure call from inside an abort listener: Go is in the middle of a call
  // into JS (AbortController.abort) when JS calls back into the module.
  const inner = [];
  const kf = keyfaxClient(({ signal }) => {
    signal.addEventListener("abort", () => {
      inner.push(api.nfon.sign(v).headers.Authorization);
      try {
        api.nfon.sign(null);
      } catch (e) {
        inner.push(e.code);
      }
    });
    return new Promise(() => {}); // never answers
  });
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 30);
  await assert.rejects(kf.results({ company: "c", guid: "g" }, { signal: ac.signal }), { code: "E_ABORTED" });
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(inner, [ok, "E_INPUT"]);
  assert.equal(await api._debug.sleep(1), true, "the async side still answers");
  kf.close();
});
