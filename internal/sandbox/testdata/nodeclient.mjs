// nodeclient.mjs: calls a running sandbox with requests signed by Node's crypto
// module, written from docs/PROTOCOLS.md and not from apisign's Go code, so
// that the emulators are shown to accept what an independent client sends and
// to refuse the same requests tampered with.
//
// Input (stdin, JSON): { env: sandbox.Env(), fortis: { userId, hashKey } }.
// Output: a JSON array of mismatch descriptions as the last line (empty: all good).
import crypto from "node:crypto";

const input = JSON.parse(await new Promise((resolve) => {
  let s = "";
  process.stdin.on("data", (d) => (s += d));
  process.stdin.on("end", () => resolve(s));
}));
const env = input.env;
const problems = [];
const expect = (what, got, want) => {
  if (got !== want) problems.push(`${what}: got ${got}, want ${want}`);
};

async function call(method, url, headers = {}, body) {
  const r = await fetch(url, { method, headers, body, redirect: "manual" });
  return { status: r.status, headers: r.headers, text: await r.text() };
}

// ---- Keyfax Basic (docs/PROTOCOLS.md "Keyfax") ----
// .NET HttpUtility.UrlEncode: A-Z a-z 0-9 - _ . ! * ( ) kept, space -> +, the
// rest %xx in lower-case hex over UTF-8.
function dotnetUrlEncode(s) {
  let out = "";
  for (const b of Buffer.from(s, "utf8")) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-_.!*()]/.test(c)) out += c;
    else if (c === " ") out += "+";
    else out += "%" + b.toString(16).padStart(2, "0");
  }
  return out;
}
function keyfaxBasic(method, url, body, { tamper = false, skewSeconds = 0 } = {}) {
  const ts = String(Math.floor(Date.now() / 1000) + skewSeconds);
  const nonce = crypto.randomBytes(16).toString("hex");
  const bodyMD5 = body ? crypto.createHash("md5").update(body).digest("base64") : "";
  const raw = env.KEYFAX_API_KEY + method + dotnetUrlEncode(url.toLowerCase()) + ts + nonce + bodyMD5;
  let sig = crypto.createHmac("sha256", Buffer.from(env.KEYFAX_SIGNING_KEY, "base64")).update(raw).digest("base64");
  if (tamper) sig = (sig[0] === "A" ? "B" : "A") + sig.slice(1);
  return `Basic ${env.KEYFAX_HOST_NAME}:${env.KEYFAX_API_KEY}:${sig}:${nonce}:${ts}`;
}

{
  const url = env.KEYFAX_BASE_URL + "/api/v1/token";
  let r = await call("GET", url, { Authorization: keyfaxBasic("GET", url) });
  expect("keyfax GET token (Node-signed Basic)", r.status, 200);
  const jwt = JSON.parse(r.text).token;
  const payload = JSON.parse(Buffer.from(jwt.split(".")[1], "base64url").toString());
  expect("keyfax JWT lifetime", payload.exp - payload.iat, 24 * 3600);
  expect("keyfax JWT hostName", payload.hostName, env.KEYFAX_HOST_NAME);
  r = await call("GET", url, { Authorization: keyfaxBasic("GET", url, "", { tamper: true }) });
  expect("keyfax tampered signature", r.status, 401);
  r = await call("GET", url, { Authorization: keyfaxBasic("GET", url, "", { skewSeconds: -600 }) });
  expect("keyfax timestamp 10 min old", r.status, 401);

  const startupURL = env.KEYFAX_BASE_URL + "/api/v1/startup";
  const body = JSON.stringify({ mode: { value: "RD" }, company: { value: "OL3_Dev" } });
  r = await call("POST", startupURL, { Authorization: keyfaxBasic("POST", startupURL, body), "Content-Type": "application/json" }, body);
  expect("keyfax POST startup (Basic, with body MD5)", r.status, 200);
  const launch = JSON.parse(r.text);
  const bearer = { Authorization: `Bearer ${env.KEYFAX_HOST_NAME}:${jwt}`, "Content-Type": "application/json" };
  r = await call("POST", env.KEYFAX_BASE_URL + "/api/v1/results", bearer, JSON.stringify({ company: launch.company, guid: launch.guid }));
  expect("keyfax results while running (Bearer)", r.status, 202);
  r = await call("POST", startupURL, { Authorization: keyfaxBasic("POST", startupURL, body + " "), "Content-Type": "application/json" }, body);
  expect("keyfax body differs from the signed one", r.status, 401);
}

// ---- NFON-API (docs/PROTOCOLS.md "NFON") ----
function nfonHeaders(method, resource, body, contentType, secret = env.NFON_SECRET) {
  const date = new Date().toUTCString(); // RFC 1123, "GMT"
  const lines = [method];
  const h = { "x-nfon-date": date };
  if (body !== undefined) {
    const md5 = crypto.createHash("md5").update(body).digest("hex");
    lines.push(md5, contentType);
    h["Content-MD5"] = md5;
    h["Content-Type"] = contentType;
  }
  lines.push(date, resource);
  const sig = crypto.createHmac("sha1", Buffer.from(secret, "utf8")).update(lines.join("\n")).digest("base64");
  h.Authorization = `NFON-API ${env.NFON_KEY_ID}:${sig}`;
  return h;
}
{
  const u = new URL(env.NFON_BASE_URL + "/api/customers/K1234/phone-books?search=Service%20Desk");
  const resource = u.pathname + u.search;
  let r = await call("GET", u.href, nfonHeaders("GET", resource));
  expect("nfon GET (Node-signed)", r.status, 200);
  if (r.status === 200) expect("nfon search result count", JSON.parse(r.text).total, 1);
  r = await call("GET", u.href, nfonHeaders("GET", resource, undefined, undefined, "wrong-secret"));
  expect("nfon wrong secret", r.status, 403);
  const body = '{"data":[{"name":"displayName","value":"John Doe"},{"name":"displayNumber","value":"+49 (176) 12345678"}]}';
  const post = new URL(env.NFON_BASE_URL + "/api/customers/K1234/phone-books");
  r = await call("POST", post.href, nfonHeaders("POST", post.pathname, body, "application/json"), body);
  expect("nfon POST with Content-MD5 (Node-signed)", r.status, 201);
}

// ---- Fortis HMAC (docs/PROTOCOLS.md "Fortis") ----
{
  const ts = String(Math.floor(Date.now() / 1000));
  const { userId, hashKey } = input.fortis;
  const hash = crypto.createHmac("sha256", Buffer.from(hashKey, "utf8")).update(userId + ts).digest("hex");
  const url = env.FORTIS_BASE_URL + "/v2/transactions";
  const h = { "developer-id": env.FORTIS_DEVELOPER_ID, "user-id": userId, timestamp: ts, "hash-key": hash };
  let r = await call("GET", url, h);
  expect("fortis HMAC (Node-signed)", r.status, 200);
  r = await call("GET", url, { ...h, "hash-key": hash.replace(/^./, (c) => (c === "0" ? "1" : "0")) });
  expect("fortis tampered hash-key", r.status, 401);
  r = await call("POST", env.FORTIS_BASE_URL + "/v2/token", { "developer-id": env.FORTIS_DEVELOPER_ID, "Content-Type": "application/json" },
    JSON.stringify({ username: env.FORTIS_USERNAME, password: env.FORTIS_PASSWORD, domain: env.FORTIS_DOMAIN }));
  expect("fortis POST /v2/token", r.status, 201);
  const tok = JSON.parse(r.text).token.token;
  r = await call("GET", url, { "developer-id": env.FORTIS_DEVELOPER_ID, "access-token": tok });
  expect("fortis access-token", r.status, 200);
  r = await call("DELETE", env.FORTIS_BASE_URL + "/v2/token/" + tok, { "developer-id": env.FORTIS_DEVELOPER_ID });
  expect("fortis DELETE token", r.status, 204);
}

// ---- Ansira (docs/PROTOCOLS.md "Ansira") ----
{
  const basic = "Basic " + Buffer.from(env.ANSIRA_CLIENT_ID + ":" + env.ANSIRA_CLIENT_SECRET, "utf8").toString("base64");
  const form = new URLSearchParams({ grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer", scope: env.ANSIRA_SCOPE, assertion: env.ANSIRA_ASSERTION });
  let r = await call("POST", env.ANSIRA_TOKEN_URL, { Authorization: basic, "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json", "Cache-Control": "no-cache" }, form.toString());
  expect("ansira token exchange", r.status, 200);
  const t = JSON.parse(r.text);
  for (const k of ["token_type", "access_token", "scope", "claims", "expires_in"]) {
    if (!(k in t)) problems.push(`ansira token answer lacks ${k}`);
  }
  r = await call("GET", new URL("../../api/v1/campaigns", env.ANSIRA_TOKEN_URL).href, { Authorization: "Bearer " + t.access_token });
  expect("ansira campaigns", r.status, 200);
}

// ---- Fonn ----
{
  const h = { "Ocp-Apim-Subscription-Key": env.FONN_SUBSCRIPTION_KEY, Authorization: env.FONN_ACCESS_TOKEN, impersonatedUserExternalId: "ext-7" };
  const r = await call("GET", env.FONN_BASE_URL + "/api/v1/projects", h);
  expect("fonn projects", r.status, 200);
  if (r.status === 200) expect("fonn impersonated echo", JSON.parse(r.text).impersonatedUserExternalId, "ext-7");
}

console.log(JSON.stringify(problems));
