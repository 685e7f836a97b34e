// Independent implementations of the signing rules of docs/PROTOCOLS.md with
// Node's crypto module, for the tests of the browser module. Written from the
// spec, not from the Go code: a test compares the module's output with these.

import { createHash, createHmac } from "node:crypto";

const utf8 = (s) => (typeof s === "string" ? Buffer.from(s, "utf8") : Buffer.from(s));
const hex2 = (c, upper) => {
  const h = c.toString(16).padStart(2, "0");
  return "%" + (upper ? h.toUpperCase() : h);
};

// ---- NFON ---------------------------------------------------------------------

const isUnreserved = (c) =>
  (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e || c === 0x5f || c === 0x7e;
const WIRE_EXTRA = new Set([..."/?&=:@!$'()*,;"].map((c) => c.charCodeAt(0)));

/**
 * The resource as signed: valid %XX kept, wire characters kept, every other
 * byte %XX upper case; NFON's special characters + / = encoded where they are
 * data: "+" always, "=" in the path and after the first "=" of a query pair,
 * "/" in the query.
 */
export function nfonResource(path) {
  let out = "";
  let query = false;
  let pairHasEq = false;
  for (const c of utf8(path)) {
    let keep = c === 0x25 || isUnreserved(c) || WIRE_EXTRA.has(c);
    if (c === 0x3f) query = true;
    else if (c === 0x26) pairHasEq = false;
    else if (c === 0x2f) keep = !query;
    else if (c === 0x3d) {
      keep = query && !pairHasEq;
      if (query) pairHasEq = true;
    }
    out += keep ? String.fromCharCode(c) : hex2(c, true);
  }
  return out;
}

/** An unencoded query component: every byte outside A-Z a-z 0-9 - . _ ~ as %XX upper case. */
export function nfonComponent(s) {
  let out = "";
  for (const c of utf8(s)) out += isUnreserved(c) ? String.fromCharCode(c) : hex2(c, true);
  return out;
}

/** query: an object or [key, value] pairs, unencoded, appended to the path; audio: the explicit audio flag. */
export function nfonSign({ method, path, body = "", contentType = "", date, keyId, secret, query, audio = false }) {
  const m = method.toUpperCase();
  const media = contentType.split(";")[0].trim().toLowerCase();
  const content = !audio && ["POST", "PUT", "PATCH"].includes(m) && !(media.startsWith("audio/") && media.length > 6);
  if (content && contentType === "") throw Object.assign(new Error("NFON requires a Content-Type on " + m), { code: "E_INPUT" });
  let resource = nfonResource(path);
  const pairs = query === undefined ? [] : Array.isArray(query) ? query : Object.entries(query);
  for (const [k, v] of pairs) {
    const sep = !resource.includes("?") ? "?" : resource.endsWith("?") || resource.endsWith("&") ? "" : "&";
    resource += sep + nfonComponent(String(k)) + "=" + nfonComponent(String(v));
  }
  const d = new Date(date).toUTCString(); // RFC 1123: "Wed, 06 Aug 2025 14:32:00 GMT"
  let sts = m + "\n";
  const headers = {};
  if (content) {
    const md5 = createHash("md5").update(utf8(body)).digest("hex");
    sts += md5 + "\n" + contentType + "\n";
    headers["Content-MD5"] = md5;
    headers["Content-Type"] = contentType;
  }
  sts += d + "\n" + resource;
  const sig = createHmac("sha1", utf8(secret)).update(sts, "utf8").digest("base64");
  return { headers: { Authorization: `NFON-API ${keyId}:${sig}`, "x-nfon-date": d, ...headers }, stringToSign: sts, resource };
}

// ---- Keyfax -------------------------------------------------------------------

/** .NET HttpUtility.UrlEncode over UTF-8: A-Z a-z 0-9 - _ . ! * ( ) kept, space +, else %xx lower case. */
export function dotnetUrlEncode(s) {
  let out = "";
  for (const c of utf8(s)) {
    const ch = String.fromCharCode(c);
    if (/[A-Za-z0-9\-_.!*()]/.test(ch)) out += ch;
    else if (c === 0x20) out += "+";
    else out += hex2(c, false);
  }
  return out;
}

/**
 * The URI as a .NET server reads it back (AbsoluteUri) for URLs of the form
 * scheme://host[:port]/path?query: fragment dropped, default port dropped,
 * control, space, non-ASCII and " < > \ ^ ` { | } percent-encoded upper case.
 */
export function keyfaxWireUri(uri) {
  uri = uri.split("#")[0];
  const m = /^(https?):\/\/([^/?]+)(.*)$/i.exec(uri);
  let [, scheme, authority, rest] = m;
  const port = /:(\d+)$/.exec(authority);
  if (port) {
    const n = String(Number(port[1]));
    const def = scheme.toLowerCase() === "http" ? "80" : "443";
    authority = authority.slice(0, port.index) + (n === def ? "" : ":" + n);
  }
  if (rest === "" || rest.startsWith("?")) rest = "/" + rest;
  let enc = "";
  for (const c of utf8(rest)) {
    if (c <= 0x20 || c >= 0x7f || '"<>\\^`{|}'.includes(String.fromCharCode(c))) enc += hex2(c, true);
    else enc += String.fromCharCode(c);
  }
  return `${scheme}://${authority}${enc}`;
}

export function keyfaxBasic({ method, url, body = "", hostName, apiKey, signingKey, nonce, timestamp }) {
  const ts = String(Math.floor(timestamp / 1000));
  const b = utf8(body);
  const bodyMD5 = b.length ? createHash("md5").update(b).digest("base64") : "";
  const raw = apiKey + method.toUpperCase() + dotnetUrlEncode(keyfaxWireUri(url).toLowerCase()) + ts + nonce + bodyMD5;
  const sig = createHmac("sha256", Buffer.from(signingKey, "base64")).update(raw, "utf8").digest("base64");
  return { headers: { Authorization: `Basic ${hostName}:${apiKey}:${sig}:${nonce}:${ts}` }, stringToSign: raw, signature: sig, timestamp: ts };
}

// ---- Fortis -------------------------------------------------------------------

export function fortisHmac({ developerId, userId, userHashKey, timestamp }) {
  const ts = String(Math.floor(timestamp / 1000));
  const hash = createHmac("sha256", utf8(userHashKey)).update(userId + ts, "utf8").digest("hex");
  return { headers: { "developer-id": developerId, "user-id": userId, timestamp: ts, "hash-key": hash }, stringToSign: userId + ts };
}

/** Go's url.QueryEscape: A-Z a-z 0-9 - _ . ~ kept, space +, else %XX upper case. */
export function queryEscape(s) {
  let out = "";
  for (const c of utf8(s)) {
    if (isUnreserved(c)) out += String.fromCharCode(c);
    else if (c === 0x20) out += "+";
    else out += hex2(c, true);
  }
  return out;
}

export function fortisApiKey({ developerId, userId, userApiKey, mode }) {
  switch (mode) {
    case "headers":
      return { headers: { "developer-id": developerId, "user-id": userId, "user-api-key": userApiKey }, query: {}, queryString: "" };
    case "query": {
      const q = { "developer-id": developerId, "user-id": userId, "user-api-key": userApiKey };
      return { headers: {}, query: q, queryString: Object.entries(q).map(([k, v]) => queryEscape(k) + "=" + queryEscape(v)).join("&") };
    }
    case "basic":
      return { headers: { "developer-id": developerId, Authorization: "Basic " + utf8(`${userId}:${userApiKey}`).toString("base64") }, query: {}, queryString: "" };
  }
  throw new Error("mode");
}

// ---- Fonn and Ansira -------------------------------------------------------------

export function fonnHeaders({ subscriptionKey, accessToken, impersonatedUserExternalId }) {
  const h = { "Ocp-Apim-Subscription-Key": subscriptionKey, Authorization: accessToken };
  if (impersonatedUserExternalId) h.impersonatedUserExternalId = impersonatedUserExternalId;
  return { headers: h };
}

export function ansiraTokenRequest({ tokenUrl, clientId, clientSecret, assertion, scope }) {
  let body = "grant_type=" + queryEscape("urn:ietf:params:oauth:grant-type:jwt-bearer");
  if (scope) body += "&scope=" + queryEscape(scope);
  body += "&assertion=" + queryEscape(assertion);
  return {
    url: tokenUrl,
    method: "POST",
    headers: {
      Authorization: "Basic " + utf8(`${clientId}:${clientSecret}`).toString("base64"),
      "Content-Type": "application/x-www-form-urlencoded",
      Accept: "application/json",
      "Cache-Control": "no-cache",
    },
    body,
  };
}

// ---- deterministic random inputs ---------------------------------------------------

/** A seeded PRNG (mulberry32) so that a failure reproduces. */
export function rng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n) => Math.floor(next() * n);
  const pick = (a) => a[int(a.length)];
  const str = (alphabet, min, max) => {
    const n = min + int(max - min + 1);
    let s = "";
    for (let i = 0; i < n; i++) s += pick(alphabet);
    return s;
  };
  const bytes = (n) => {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = int(256);
    return b;
  };
  return { next, int, pick, str, bytes };
}

export const ALNUM = [..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"];
export const PRINTABLE = [...Array(95)].map((_, i) => String.fromCharCode(0x20 + i)).filter((c) => c !== " ");
export const UNICODE = [...ALNUM, " ", "ü", "é", "ß", "€", "日本", "😀", "+", "=", "&", "/", "%", "~", "'"];
