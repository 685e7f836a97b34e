// A small, independent JS implementation of the provider behaviour the client
// flows meet (written for the tests from docs/PROTOCOLS.md and the broker
// contract, not from the Go code), served on 127.0.0.1:
//
//   /Interview/api/v1/token    POST, Bearer: a renewed JWT (HS256, exp = now + ttl)
//   /Interview/api/v1/startup  POST, Bearer: {guid, launchUrl, company}
//   /Interview/api/v1/results  POST, Bearer, {company, guid}: 202 while running, then 200
//   /Interview/launch?guid=    the interview page: goes to /Interview/launch/complete after a moment
//   /Interview/launch/complete?guid=  completes the session, 302 to its returnUrl (+ status, co, guid)
//   /broker/keyfax/token       GET: {token, hostName, expiresAt}, as the broker answers
//   /fortis/v2/...             access-token (or Authorization: Bearer, OAuth) + developer-id; DELETE /fortis/v2/token/{t} ends a session
//   /broker/fortis/sso         POST: a one-time link /fortis/sso/{code}, as the broker answers ({contactsso: {url}})
//   /ansira/api/...            Bearer access token
//   /broker/fonn/..., /broker/nfon/...  X-Apisign-Caller (401 with X-Apisign-Error when refused); echoes the request as JSON
//
// Every answer carries CORS headers (origin echoed, Retry-After and Date
// exposed, unless state.exposeDate / exposeRetryAfter say otherwise) so that a
// page on another origin can call it. `failNext` queues
// answers (e.g. 429 / 503) to give before the normal ones.

import http from "node:http";
import { createHmac, randomUUID } from "node:crypto";

const b64url = (b) => Buffer.from(b).toString("base64url");

export async function startFakeProviders({ hostName = "Dev", ttlSeconds = 3600 } = {}) {
  const key = Buffer.from(randomUUID());
  const state = {
    hostName,
    ttlSeconds,
    dateOffsetMs: 0, // the server's clock minus the real one: its Date header says so
    exposeDate: true, // whether a cross-origin page may read Date
    exposeRetryAfter: true, // and Retry-After
    log: [], // {method, path, authorization, body, raw, headers}
    failNext: [], // {prefix, status, headers, body}: answered (once each) before anything else under prefix
    sessions: new Map(), // guid -> {company, returnUrl, polls, done}
    pendingPolls: 2, // results answers 202 this many times, then the session completes by itself
    autoComplete: true,
    fortisTokens: new Set(),
    fortisOAuth: new Set(), // OAuth access tokens (Authorization: Bearer)
    ssoCodes: new Map(), // one-time sign-in codes -> the fields they were made for
    ansiraTokens: new Set(),
    callerToken: "123.caller",
    renewals: 0,
  };
  const now = () => Date.now() + state.dateOffsetMs;

  state.signJWT = (expSeconds, extra = {}) => {
    const head = b64url(JSON.stringify({ alg: "HS256", typ: "JWT" }));
    const body = b64url(JSON.stringify({ hostName, iat: Math.floor(now() / 1000), exp: expSeconds, jti: randomUUID(), ...extra }));
    return `${head}.${body}.${createHmac("sha256", key).update(`${head}.${body}`).digest("base64url")}`;
  };
  state.freshJWT = () => state.signJWT(Math.floor(now() / 1000) + state.ttlSeconds);
  const verifyJWT = (jwt) => {
    const [h, p, s] = jwt.split(".");
    if (!s || createHmac("sha256", key).update(`${h}.${p}`).digest("base64url") !== s) return null;
    const claims = JSON.parse(Buffer.from(p, "base64url"));
    return claims.exp * 1000 > now() ? claims : null;
  };
  const bearerOK = (req) => {
    const m = /^Bearer ([^:]+):(.+)$/.exec(req.headers.authorization ?? "");
    return m && m[1] === hostName && verifyJWT(m[2]) !== null;
  };

  const server = http.createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const raw = Buffer.concat(chunks);
    const body = raw.toString("utf8");
    const url = new URL(req.url, "http://x");
    const path = url.pathname;
    state.log.push({ method: req.method, path, search: url.search, authorization: req.headers.authorization, body, raw, headers: req.headers });

    const origin = req.headers.origin;
    const headers = { "Content-Type": "application/json", "Cache-Control": "no-store" };
    if (origin) {
      headers["Access-Control-Allow-Origin"] = origin;
      headers["Vary"] = "Origin";
      const exposed = [state.exposeRetryAfter && "Retry-After", state.exposeDate && "Date", "X-Apisign-Error"].filter(Boolean);
      if (exposed.length) headers["Access-Control-Expose-Headers"] = exposed.join(", ");
    }
    if (state.dateOffsetMs) headers["Date"] = new Date(now()).toUTCString();
    const send = (status, obj, extra = {}) => {
      res.writeHead(status, { ...headers, ...extra });
      res.end(obj === undefined ? undefined : typeof obj === "string" ? obj : JSON.stringify(obj));
    };
    if (req.method === "OPTIONS") {
      return send(204, undefined, {
        "Access-Control-Allow-Methods": "GET, POST, PUT, PATCH, DELETE",
        "Access-Control-Allow-Headers": "Authorization, Content-Type, access-token, developer-id, X-Apisign-Caller, impersonatedUserExternalId, Cache-Control, X-Apisign-NFON-Audio",
        "Access-Control-Max-Age": "600",
      });
    }
    const i = state.failNext.findIndex((f) => path.startsWith(f.prefix));
    if (i >= 0) {
      const f = state.failNext.splice(i, 1)[0];
      return send(f.status, f.body ?? { message: "injected" }, f.headers ?? {});
    }

    // ---- Keyfax ----
    if (path.toLowerCase().startsWith("/interview/api/v1/")) {
      if (!bearerOK(req)) return send(401, { message: "Bearer verification failed" });
      const route = path.slice("/Interview/api/v1".length).toLowerCase();
      // XML when asked by Accept (Keyfax: "JSON or XML depending on the Accept
      // and Content-Type headers"); the fields are read with a regex.
      const xml = (req.headers.accept ?? "").includes("xml");
      const xmlSend = (status, root, fields) =>
        send(status, `<?xml version="1.0"?><${root}>${Object.entries(fields).map(([k, v]) => `<${k}>${v}</${k}>`).join("")}</${root}>`, { "Content-Type": "application/xml; charset=utf-8" });
      const xmlField = (name) => new RegExp(`<${name}>(?:<value>)?([^<]*)`).exec(body)?.[1];
      if (route === "/token" && req.method === "POST") {
        state.renewals++;
        if (xml) return xmlSend(200, "JsonWebToken", { company: "OL3_Dev", token: state.freshJWT() });
        return send(200, { token: state.freshJWT() });
      }
      if (route === "/startup" && req.method === "GET") {
        if (xml) return xmlSend(200, "StartUpData", { company: "<value>OL3_Dev</value>", mode: "<value>RD</value>" });
        return send(200, { company: { key: "company", value: "OL3_Dev" }, mode: { key: "mode", value: "RD" } });
      }
      if (xml && req.headers["content-type"]?.includes("xml") && req.method === "POST") {
        if (route === "/startup") {
          const guid = randomUUID();
          const company = xmlField("company") ?? "Test_Co";
          state.sessions.set(guid, { company, returnUrl: "", polls: 0, done: true });
          return xmlSend(200, "LaunchData", { guid, launchUrl: `http://${req.headers.host}/Interview/launch?guid=${guid}&amp;x=1`, company });
        }
        if (route === "/results") {
          const s = state.sessions.get(xmlField("guid"));
          if (!s || s.company !== xmlField("company")) return send(404, "<Error>no such session</Error>", { "Content-Type": "application/xml" });
          return xmlSend(200, "KeyfaxData", { GUID: xmlField("guid"), Status: "1" });
        }
      }
      if (route === "/startup" && req.method === "POST") {
        let data;
        try {
          data = JSON.parse(body);
        } catch {
          return send(400, { message: "start-up data must be JSON" });
        }
        const guid = randomUUID();
        const company = data?.company?.value ?? "Test_Co";
        state.sessions.set(guid, { company, returnUrl: data?.returnUrl?.value ?? "", polls: 0, done: false });
        const base = `http://${req.headers.host}`;
        return send(200, { guid, launchUrl: `${base}/Interview/launch?guid=${guid}`, company });
      }
      if (route === "/results" && req.method === "POST") {
        let q;
        try {
          q = JSON.parse(body);
        } catch {
          return send(400, { message: "results request must be {company, guid}" });
        }
        const s = state.sessions.get(q.guid);
        if (!s || s.company !== q.company) return send(404, { message: "no such session" });
        if (!s.done && state.autoComplete && ++s.polls > state.pendingPolls) s.done = true;
        if (!s.done) return send(202, undefined, { "Content-Length": "0" });
        return send(200, { KeyfaxData: { GUID: q.guid, Status: "1", Fault: { Repair: { Code: "PL0101" } } } });
      }
      return send(404, { message: "no such resource" });
    }
    if (path === "/Interview/launch") {
      const guid = url.searchParams.get("guid");
      return send(200, `<!doctype html><title>Keyfax</title><p>Interview ${guid}</p>
<script>setTimeout(() => { location.href = "/Interview/launch/complete?guid=${encodeURIComponent(guid)}"; }, 150);</script>`, { "Content-Type": "text/html" });
    }
    if (path === "/Interview/launch/complete") {
      const guid = url.searchParams.get("guid");
      const s = state.sessions.get(guid);
      if (!s) return send(404, { message: "no such session" });
      s.done = true;
      const ret = new URL(s.returnUrl);
      ret.searchParams.set("status", "1");
      ret.searchParams.set("co", s.company);
      ret.searchParams.set("guid", guid);
      return send(302, "", { Location: ret.href });
    }
    if (path === "/broker/keyfax/token" && req.method === "GET") {
      return send(200, { token: state.freshJWT(), hostName, expiresAt: new Date((Math.floor(now() / 1000) + state.ttlSeconds) * 1000).toISOString() });
    }

    // ---- Fortis ----
    if (path.startsWith("/fortis/v2/")) {
      const tok = req.headers["access-token"];
      if (req.method === "DELETE" && path.startsWith("/fortis/v2/token/")) {
        const t = decodeURIComponent(path.slice("/fortis/v2/token/".length));
        return send(state.fortisTokens.delete(t) ? 204 : 404, undefined);
      }
      const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
      const ok = bearer !== undefined ? state.fortisOAuth.has(bearer) && tok === undefined : state.fortisTokens.has(tok);
      if (!ok || req.headers["developer-id"] !== "dev-1") return send(401, { message: "unauthorized" });
      return send(200, { type: "TransactionList", list: [], method: req.method, path });
    }

    // ---- Ansira ----
    if (path.startsWith("/ansira/api/")) {
      const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? "");
      if (!m || !state.ansiraTokens.has(m[1])) return send(403, { error: "invalid_token" });
      // Ansira's per-IP limit when a test sets one (stage: 5 requests in any
      // second): 429 above it. The window is 900 ms: evenly spaced calls
      // may arrive a little closer than they were sent.
      if (state.ansiraPerSecond) {
        const t = Date.now();
        state.ansiraRecent = (state.ansiraRecent ?? []).filter((x) => t - x < 900);
        if (state.ansiraRecent.length >= state.ansiraPerSecond) return send(429, { error: "rate_limited" });
        state.ansiraRecent.push(t);
      }
      if (path === "/ansira/api/v1/campaigns") {
        // A listing of 12 records, page/page_size as the document writes them.
        const page = Number(url.searchParams.get("page") ?? 1);
        const size = Number(url.searchParams.get("page_size") ?? 10);
        const all = Array.from({ length: 12 }, (_, i) => ({ id: i + 1 }));
        return send(200, { data: all.slice((page - 1) * size, page * size), meta: { page, page_size: size, filter: url.searchParams.get("filter"), order_by: url.searchParams.get("order_by") } });
      }
      return send(200, { ok: true, path });
    }

    // ---- Fortis SSO: the broker's route, and the link it hands out ----
    if (path === "/broker/fortis/sso" && req.method === "POST") {
      if (req.headers["x-apisign-caller"] !== state.callerToken) return send(401, { code: "E_TOKEN_EXPIRED", message: "caller token refused" }, { "X-Apisign-Error": "E_TOKEN_EXPIRED" });
      const code = randomUUID();
      state.ssoCodes.set(code, JSON.parse(body));
      return send(200, { contactsso: { id: "1", url: `http://${req.headers.host}/fortis/sso/${code}` } });
    }
    if (path.startsWith("/fortis/sso/")) {
      const code = path.slice("/fortis/sso/".length);
      const fields = state.ssoCodes.get(code);
      state.ssoCodes.delete(code);
      if (!fields) return send(404, "<!doctype html><title>Fortis</title><p>This link is unknown or used.", { "Content-Type": "text/html" });
      return send(200, `<!doctype html><title>Fortis</title><p id="signed-in">Signed in as ${fields.contact_id ?? "nobody"}</p>`, { "Content-Type": "text/html" });
    }

    // ---- the broker's forwarding routes ----
    const fwd = /^\/broker\/(fonn|nfon)(\/.*)$/.exec(path);
    if (fwd) {
      // The broker marks the errors it produces itself with X-Apisign-Error.
      if (req.headers["x-apisign-caller"] !== state.callerToken) return send(401, { code: "E_TOKEN_EXPIRED", message: "caller token refused" }, { "X-Apisign-Error": "E_TOKEN_EXPIRED" });
      return send(200, {
        provider: fwd[1],
        method: req.method,
        path: fwd[2] + url.search,
        contentType: req.headers["content-type"] ?? null,
        impersonated: req.headers["impersonateduserexternalid"] ?? null,
        body,
      });
    }
    send(404, { message: "not found" });
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const base = `http://127.0.0.1:${server.address().port}`;
  return {
    base,
    state,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections?.();
        server.close(r);
      }),
  };
}
