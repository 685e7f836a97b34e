// Independent Keyfax Basic implementation, written from shared/PROTOCOLS.md
// ("Keyfax Web API") and the keyfax.StringToSign documentation, to cross-check
// the Go package. It never calls Go: it reads the cases (inputs plus Go's
// results) as JSON on stdin, recomputes everything with its own UrlEncode and URI
// rules, Node's crypto (MD5, HMAC-SHA256) and crypto-js (HMAC-SHA256), and prints
// a JSON array of mismatches as its last line.
//
//   raw       = ApiKey + METHOD + UrlEncode(lower(absoluteURI)) + Timestamp + Nonce + BodyMD5
//   BodyMD5   = base64(MD5(body)), "" for no body
//   Signature = base64(HMAC-SHA256(base64decode(SigningKey), raw))
import { createHash, createHmac } from "node:crypto";
import CryptoJS from "crypto-js";

const chunks = [];
for await (const c of process.stdin) chunks.push(c);
const cases = JSON.parse(Buffer.concat(chunks).toString("utf8"));

// .NET HttpUtility.UrlEncode over UTF-8 bytes: A-Z a-z 0-9 - _ . ! * ( ) kept,
// space -> "+", every other byte -> "%" + two lower-case hex digits.
function urlEncode(str) {
  let out = "";
  for (const b of Buffer.from(str, "utf8")) {
    const ch = String.fromCharCode(b);
    if (/^[A-Za-z0-9\-_.!*()]$/.test(ch)) out += ch;
    else if (b === 0x20) out += "+";
    else out += "%" + b.toString(16).padStart(2, "0");
  }
  return out;
}

// The absolute URI as it is sent and as .NET's Uri.AbsoluteUri gives it back:
// no fragment, default port dropped, empty path "/", and in path and query the
// bytes that cannot be sent raw (controls, space, DEL, non-ASCII as UTF-8) or
// that .NET always escapes (" < > \ ^ ` { | }) as %XX upper-case.
function wireURI(uri) {
  const noFrag = uri.split("#")[0];
  const m = /^(https?):\/\/([^/?]*)(.*)$/is.exec(noFrag);
  if (!m) return null;
  const [, scheme, authority, rest] = m;
  let host, port;
  if (authority.startsWith("[")) {
    const b = /^(\[[^\]]*\])(?::(.*))?$/s.exec(authority);
    if (!b) return null;
    [, host, port] = b;
  } else {
    const i = authority.lastIndexOf(":");
    host = i < 0 ? authority : authority.slice(0, i);
    port = i < 0 ? undefined : authority.slice(i + 1);
    if (host.includes(":")) return null;
  }
  if (host === "" || host === "[]") return null;
  if (!/^[\x21-\x7e]+$/.test(host) || /[@\\]/.test(host)) return null;
  if (port !== undefined && port !== "") {
    if (!/^[0-9]+$/.test(port) || Number(port) > 65535) return null;
    port = String(Number(port));
    const def = scheme.toLowerCase() === "http" ? "80" : "443";
    if (port === def) port = "";
  }
  let path = rest === "" || rest.startsWith("?") ? "/" + rest : rest;
  let escaped = "";
  for (const b of Buffer.from(path, "utf8")) {
    const ch = String.fromCharCode(b);
    if (b <= 0x20 || b >= 0x7f || `"<>\\^\`{|}`.includes(ch)) escaped += "%" + b.toString(16).toUpperCase().padStart(2, "0");
    else escaped += ch;
  }
  return scheme + "://" + host + (port ? ":" + port : "") + escaped;
}

const asciiLower = (s) => s.replace(/[A-Z]/g, (c) => c.toLowerCase());

function stringToSign(input) {
  // Go omits empty fields from the JSON: they are empty strings.
  const c = { apiKey: "", method: "", uri: "", timestamp: "", nonce: "", ...input };
  if (!/^[\x21-\x39\x3b-\x7e]{1,256}$/.test(c.apiKey)) return null;
  if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,32}$/.test(c.method)) return null;
  const uri = wireURI(c.uri);
  if (uri === null) return null;
  if (!/^[0-9]{1,18}$/.test(c.timestamp)) return null;
  if (!/^[0-9a-f]{32}$/.test(c.nonce)) return null;
  const body = c.body ? Buffer.from(c.body, "base64") : Buffer.alloc(0);
  const md5 = body.length ? createHash("md5").update(body).digest("base64") : "";
  return c.apiKey + c.method.toUpperCase() + urlEncode(asciiLower(uri)) + c.timestamp + c.nonce + md5;
}

const mismatches = [];
cases.forEach((c, i) => {
  const where = `case ${i} (${c.kind} ${JSON.stringify(c.kind === "sign" ? c.method + " " + c.uri : c.input)})`;
  const fail = (what, got, want) =>
    mismatches.push(`${where}: ${what}: go ${JSON.stringify(got)}, node ${JSON.stringify(want)}`);

  if (c.kind === "urlencode") {
    const want = urlEncode(c.input ?? "");
    if ((c.encoded ?? "") !== want) fail("UrlEncode", c.encoded, want);
    return;
  }
  const raw = stringToSign(c);
  if (raw === null) {
    if (c.error !== "E_INPUT") fail("should refuse with E_INPUT", c.error ?? c.raw, "E_INPUT");
    return;
  }
  if (c.error) {
    fail("refused a valid request", c.error, raw);
    return;
  }
  if (c.raw !== raw) fail("raw", c.raw, raw);
  const key = Buffer.from(c.key, "base64");
  const sig = createHmac("sha256", key).update(raw, "utf8").digest("base64");
  if (c.signature !== sig) fail("signature (node crypto)", c.signature, sig);
  const sigJS = CryptoJS.HmacSHA256(CryptoJS.enc.Utf8.parse(raw), CryptoJS.enc.Base64.parse(c.key)).toString(CryptoJS.enc.Base64);
  if (c.signature !== sigJS) fail("signature (crypto-js)", c.signature, sigJS);
  const auth = `Basic ${c.hostName}:${c.apiKey}:${sig}:${c.nonce}:${c.timestamp}`;
  if (c.authorization !== auth) fail("Authorization", c.authorization, auth);
});

const counts = cases.reduce((m, c) => ((m[c.error ? "refused" : c.kind] = (m[c.error ? "refused" : c.kind] ?? 0) + 1), m), {});
console.error("keyfax crosscheck:", JSON.stringify(counts));
console.log(JSON.stringify(mismatches));
