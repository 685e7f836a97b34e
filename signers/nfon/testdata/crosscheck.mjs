// Independent NFON-API implementation, written from docs/PROTOCOLS.md ("NFON"),
// to cross-check the Go package. It never calls Go: it reads the
// cases (inputs plus Go's results) as JSON on stdin, recomputes everything with its
// own percent-encoder, Node's crypto (MD5, HMAC-SHA1) and crypto-js (HMAC-SHA1),
// and prints a JSON array of mismatches as its last line.
import { createHash, createHmac } from "node:crypto";
import CryptoJS from "crypto-js";

const chunks = [];
for await (const c of process.stdin) chunks.push(c);
const cases = JSON.parse(Buffer.concat(chunks).toString("utf8"));

// Encoding of one unencoded segment, key or value: every byte outside
// A-Z a-z 0-9 - . _ ~ as %XX, upper-case hex. encodeURIComponent leaves
// ! ' ( ) * alone as well, so those are encoded after it.
function encodePart(s) {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());
}

function encodeResource(segments, query) {
  let out = segments && segments.length ? segments.map((s) => "/" + encodePart(s)).join("") : "/";
  if (query && query.length) out += "?" + query.map(([k, v]) => encodePart(k) + "=" + encodePart(v)).join("&");
  return out;
}

// Every character not matched by keep, as its UTF-8 bytes in %XX.
function escapeOutside(s, keep) {
  return s.replace(keep, (ch) =>
    [...Buffer.from(ch, "utf8")].map((b) => "%" + b.toString(16).toUpperCase().padStart(2, "0")).join(""),
  );
}

// Wire form of a path the caller gives encoded: valid %XX kept as given, the
// unreserved bytes and ? & : @ ! $ ' ( ) * , ; kept; NFON's special characters
// + / = encoded where they are data: "+" everywhere, "=" in the path and in a
// query pair after its first "=", "/" in the query; everything else encoded as
// its UTF-8 bytes. "#", a bad "%" escape, or no leading "/" is an error.
function normalize(path) {
  if (!path.startsWith("/")) return { error: "E_INPUT" };
  if (path.includes("#")) return { error: "E_INPUT" };
  if (/%(?![0-9A-Fa-f]{2})/.test(path)) return { error: "E_INPUT" };
  const q = path.indexOf("?");
  const head = q < 0 ? path : path.slice(0, q);
  let out = escapeOutside(head, /[^A-Za-z0-9\-._~\/?&:@!$'()*,;%]/gu);
  if (q >= 0) {
    const pairs = path.slice(q + 1).split("&").map((pair) => {
      const eq = pair.indexOf("=");
      const part = (s) => escapeOutside(s, /[^A-Za-z0-9\-._~?:@!$'()*,;%]/gu);
      return eq < 0 ? part(pair) : part(pair.slice(0, eq)) + "=" + part(pair.slice(eq + 1));
    });
    out += "?" + pairs.join("&");
  }
  return { value: out };
}

function isAudio(ct) {
  const media = ct.split(";")[0].replace(/^[ \t]+|[ \t]+$/g, "");
  return /^audio\/./i.test(media);
}

const mismatches = [];
cases.forEach((c, i) => {
  const where = `case ${i} (${c.method} ${JSON.stringify(c.rawPath ?? c.segments)})`;
  const fail = (what, got, want) =>
    mismatches.push(`${where}: ${what}: go ${JSON.stringify(got)}, node ${JSON.stringify(want)}`);

  let resource;
  if (c.rawPath) {
    const n = normalize(c.rawPath);
    if (n.error) {
      if (c.error !== n.error) fail("error", c.error, n.error);
      return;
    }
    resource = n.value;
    if (c.query && c.query.length) {
      const sep = !resource.includes("?") ? "?" : /[?&]$/.test(resource) ? "" : "&";
      resource += sep + c.query.map(([k, v]) => encodePart(k) + "=" + encodePart(v)).join("&");
    }
  } else {
    resource = encodeResource(c.segments, c.query);
    if (c.encoded !== resource) fail("EncodeResource", c.encoded, resource);
  }
  const method = c.method.toUpperCase();
  const body = Buffer.from(c.body ?? "", "base64");
  const date = new Date(c.dateMs).toUTCString(); // "Wed, 06 Aug 2025 14:32:00 GMT"
  const content = ["POST", "PUT", "PATCH"].includes(method) && !c.audio && !isAudio(c.contentType);
  if (content && c.contentType === "") {
    // Content-Type is required for POST and PUT (PATCH alike) unless audio.
    if (c.error !== "E_INPUT") fail("error", c.error, "E_INPUT");
    return;
  }
  if (c.error) {
    fail("error", c.error, "");
    return;
  }
  if (c.resource !== resource) fail("resource", c.resource, resource);

  const md5 = createHash("md5").update(body).digest("hex");
  const lines = [method];
  if (content) lines.push(md5, c.contentType);
  lines.push(date, resource);
  const sts = lines.join("\n");
  if (c.stringToSign !== sts) fail("stringToSign", c.stringToSign, sts);

  const sig = createHmac("sha1", Buffer.from(c.secret, "utf8")).update(sts, "utf8").digest("base64");
  const sigJS = CryptoJS.HmacSHA1(CryptoJS.enc.Utf8.parse(sts), CryptoJS.enc.Utf8.parse(c.secret)).toString(
    CryptoJS.enc.Base64,
  );
  if (sig !== sigJS) fail("node crypto vs crypto-js", sig, sigJS);

  const want = { Authorization: `NFON-API ${c.keyId}:${sig}`, "x-nfon-date": date };
  if (content) {
    want["Content-MD5"] = md5;
    want["Content-Type"] = c.contentType;
  }
  const got = c.headers ?? {};
  const keys = new Set([...Object.keys(want), ...Object.keys(got)]);
  for (const k of keys) if (got[k] !== want[k]) fail(`header ${k}`, got[k], want[k]);
});

console.log(JSON.stringify(mismatches));
