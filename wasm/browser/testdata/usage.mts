// usage.mts: every function of the JS API, called the way README.md's
// "JavaScript usage" shows, for `tsc --noEmit --strict` (./build.sh test):
// web/apisign.d.ts must accept each call and type each answer. The lines
// under @ts-expect-error are misuses the declarations must refuse (tsc fails
// when they are accepted). Never run: it only has to type-check.

import { load, ApisignError, type Api, type ErrorCode, type TokenRequest } from "../../../web/apisign.mjs";

const api: Api = await load(); // apisign.wasm beside apisign.mjs
await load(new URL("apisign.wasm", import.meta.url));
await load("/apisign.wasm");
await load(new Uint8Array(8));
await load(new ArrayBuffer(8));
await load(fetch("/apisign.wasm"));
await load(await fetch("/apisign.wasm"));
await load(new WebAssembly.Module(new Uint8Array(8)));
// @ts-expect-error load resolves to the API
const notApi: string = await load();
const version: string = api.version;

// ---- the client flows -------------------------------------------------------------

// The embedding site's backend hands the page a short-lived caller token for the broker.
const caller = async () => (await (await fetch("/site/caller-token")).json()).token as string;
const broker = "https://broker.example.com";
const ac = new AbortController();
const signal = ac.signal;

const kf = api.keyfax.client({
  baseUrl: "https://keyfax.example.com/Interview",
  hostName: "Dev",
  getToken: async ({ signal, refused }: TokenRequest) =>
    (await (await fetch(`${broker}/keyfax/token`, {
      method: refused === undefined ? "GET" : "POST",
      headers: { "X-Apisign-Caller": await caller() },
      signal,
    })).json()).token as string,
  retry: { retries: 2, baseMs: 100, capMs: 1000, maxAfterMs: 5000 },
  fetch: globalThis.fetch,
});
const startupData = { mode: { value: "RD" }, company: { value: "OL3_Dev" }, returnUrl: { value: "https://site.example/back" } };
const launch = await kf.startup(startupData); // { guid, launchUrl, company }
const guid: string = launch.guid;
const launchUrl: string = launch.launchUrl;
await kf.startup(JSON.stringify(startupData), { signal });
const back = await kf.launch(launch, { target: "iframe", container: "#keyfax" }); // resolves at the return URL
const params: Record<string, string> = back.params;
await kf.launch({ launchUrl }, { target: "popup", returnUrl: "/back", features: "width=800", keepFrame: true, signal });
const first = await kf.results({ company: launch.company, guid }, { signal });
if (first.status === "done") console.log(first.data);
const { data }: { data: unknown } = await kf.waitForResults(launch, { signal, intervalMs: 2000, maxIntervalMs: 15000, timeoutMs: 600000 }); // polls 202 until 200
const { expiresAt }: { expiresAt: string } = await kf.renew({ signal });
kf.close();
// @ts-expect-error target is "iframe" or "popup"
await kf.launch(launch, { target: "tab" });

// NFON and Fonn calls go through the broker, which signs them: the secret stays there.
const nfon = api.nfon.client({ brokerUrl: broker, callerToken: caller });
const books = await nfon.request("GET", "/api/customers/K1234/phone-books");
const status: number = books.status;
const contentType: string | undefined = books.headers["content-type"];
await nfon.request("POST", "/api/customers/K1234/phone-books", { data: [] }, { signal, contentType: "application/json", headers: { "X-Trace": "1" } });
await nfon.request("PUT", "/api/customers/K1234/announcements/welcome", new Uint8Array([1]), { contentType: "multipart/form-data; boundary=b", audio: true });
nfon.close();

const fonn = api.fonn.client({ brokerUrl: broker, callerToken: "caller-token", impersonatedUserExternalId: "ext-9" });
await fonn.request("PUT", "/projects/1", new URLSearchParams({ a: "1" }));
fonn.close();

const fortis = api.fortis.client({
  baseUrl: "https://api.fortis.tech",
  getToken: async ({ signal }) => (await fetch(`${broker}/fortis/session`, { method: "POST", signal })).json() as Promise<{ token: string; developerId: string }>,
  developerId: "dev",
  closeToken: async (token, { signal }) => fetch(`${broker}/fortis/session/${token}`, { method: "DELETE", signal }),
});
await fortis.request("GET", "/v1/transactions", undefined, { signal });
await fortis.close({ signal });

const ansira = api.ansira.client({
  baseUrl: "https://api.ansira.example",
  getToken: async ({ refused }) => (await fetch(`${broker}/ansira/token`, { method: "POST", body: refused ?? null })).json() as Promise<{ access_token: string; expires_in: number }>,
});
await ansira.request("POST", "/v2/orders", new Uint8Array([1, 2, 3]), { contentType: "application/octet-stream" });
ansira.close();

// Issue 11's flows: NFON query pairs, Ansira pages and pacing, Fortis OAuth and
// SSO, Keyfax example data and XML.
await nfon.request("GET", "/api/customers/K1234/phone-books", undefined, { query: { search: "+49" } });
await nfon.request("GET", "/api/x", undefined, { query: [["a", 1], ["b", "c"]] });
const stage = api.ansira.client({ baseUrl: "https://api.ansira.example", environment: "stage", rate: 4, getToken: () => "t" });
for await (const p of stage.pages("/api/v1/campaigns", { filter: "status eq 'active'", orderBy: ["-budget"], pageSize: 5, signal })) {
  const n: number = p.page;
  const rs: unknown[] = p.records;
  console.log(n, rs.length, p.status);
}
stage.pages("/api/v1/campaigns", { pageSize: 5, records: (d) => (d as { items: unknown[] }).items });
// @ts-expect-error pageSize is required
stage.pages("/api/v1/campaigns", {});
// @ts-expect-error the environment is "stage" or "production"
api.ansira.client({ baseUrl: "https://a", environment: "dev", getToken: () => "t" });
api.fonn.client({ brokerUrl: broker, callerToken: caller, rate: 2 });
const oauth = api.fortis.client({ mode: "oauth", baseUrl: "https://api.fortis.tech", developerId: "d", getToken: async () => ({ access_token: "a", expires_in: 3600 }) });
await oauth.request("GET", "/v2/contacts");
const sso = await api.fortis.sso({ brokerUrl: broker, callerToken: caller, fields: { contact_id: "c" }, target: "iframe", container: "#fortis", signal });
if ("closed" in sso) console.log(sso.closed);
else console.log(sso.url, sso.params);
const strict = api.fortis.hmac({ developerId: "d", userId: "u", userHashKey: "k", path: "/v2/transactions", strict: true });
const xmlKf = api.keyfax.client({ baseUrl: "https://h/Interview", hostName: "Dev", format: "xml", getToken: () => "jwt" });
const example = await xmlKf.exampleStartup({ signal });
const xmlLaunch = await xmlKf.startup(String(example.data));
// @ts-expect-error format is "json" or "xml"
api.keyfax.client({ baseUrl: "https://h/Interview", hostName: "Dev", format: "yaml", getToken: () => "jwt" });
const audio = api.nfon.sign({ method: "POST", path: "/api/sounds", body: new Uint8Array(4), contentType: "multipart/form-data", audio: true, query: { name: "a b" }, keyId: "k", secret: "s" });

// Every failure is an ApisignError with a stable code.
try {
  await nfon.request("GET", "/x");
} catch (e) {
  if (e instanceof ApisignError) {
    const code: ErrorCode = e.code;
    switch (code) {
      case "E_TOKEN_REFUSED":
      case "E_HTTP":
        console.log(e.status, e.data);
        break;
      case "E_ABORTED":
        break;
    }
  }
}
new ApisignError("E_INPUT", "message", { status: 400, data: {}, cause: new Error("x") });
// @ts-expect-error not an error code
new ApisignError("E_NOPE", "message");

// ---- the signing functions (Workers, Node, tools: never a page) -------------------------

const date = new Date("2025-08-06T14:32:00Z");
const n = api.nfon.sign({ method: "POST", path: "/api/x", body: "{}", contentType: "application/json", date, keyId: "k", secret: "s" });
const auth: string = n.headers.Authorization;
const nfonDate: string = n.headers["x-nfon-date"];
const md5: string | undefined = n.headers["Content-MD5"];
const sts: string = n.stringToSign + n.resource;
api.nfon.sign({ method: "GET", path: "/api/x", date: "2025-08-06T14:32:00Z", keyId: "k", secret: "s" });
// @ts-expect-error keyId and secret are required
api.nfon.sign({ method: "GET", path: "/api/x" });

const basic = api.keyfax.basic({ method: "POST", url: "https://h/Interview/api/v1/startup", body: new Uint8Array(2), hostName: "Dev", apiKey: "k", signingKey: "c2VjcmV0", nonce: "0123456789abcdef0123456789abcdef", timestamp: 1700000000 * 1000 });
const kfParts: string = basic.headers.Authorization + basic.stringToSign + basic.signature + basic.nonce + basic.timestamp + basic.method;
const bearer: string = api.keyfax.bearer({ hostName: "Dev", token: "a.b.c" });

const hmac = api.fortis.hmac({ developerId: "d", userId: "u", userHashKey: "k", timestamp: date });
const hashKey: string = hmac.headers["hash-key"] + hmac.stringToSign;
const apiKey = api.fortis.apiKey({ developerId: "d", userId: "u", userApiKey: "k", mode: "query" });
const query: string = apiKey.queryString + JSON.stringify(apiKey.query) + JSON.stringify(apiKey.headers);
// @ts-expect-error mode is "headers", "query" or "basic"
api.fortis.apiKey({ developerId: "d", userId: "u", userApiKey: "k", mode: "cookie" });

const fonnHeaders: Record<string, string> = api.fonn.headers({ subscriptionKey: "s", accessToken: "t", impersonatedUserExternalId: "e" }).headers;
const tr = api.ansira.tokenRequest({ tokenUrl: "https://auth.example/token", clientId: "c", clientSecret: "s", assertion: "a.b.c", scope: "read" });
const post: "POST" = tr.method;
const form: string = tr.url + tr.body + JSON.stringify(tr.headers);

const offset: number = api.clock.offsetMs();
const readable: boolean = api.clock.observe("Wed, 06 Aug 2025 14:32:00 GMT");
const now: Date = api.clock.now();
api.forgetKeys();
// @ts-expect-error the test hooks are not API
api._debug;

export const used = [strict, xmlLaunch, audio, notApi, version, guid, params, data, expiresAt, status, contentType, auth, nfonDate, md5, sts, kfParts, bearer, hashKey, query, fonnHeaders, post, form, offset, readable, now];
