// Recomputes Fortis authentication values from the spec (docs/PROTOCOLS.md,
// "Fortis"), independently of the Go code, and reports every case where Go
// disagrees. Input on stdin: a JSON array of cases; output: a JSON array of
// mismatch strings as the last line.
//
//   hash-key = lower-hex(HMAC-SHA256(key = user_hash_key (UTF-8), msg = user_id + timestamp))
//     computed twice: with Node's crypto, and with crypto-js the way Fortis' own
//     JavaScript sample does (CryptoJS.HmacSHA256(msg, key).toString(CryptoJS.enc.Hex)).
//   Basic = "Basic " + base64(UTF-8 bytes of user_id + ":" + user_api_key), via Buffer.
//   Query mode: the URL's query, parsed by WHATWG URL (application/x-www-form-urlencoded
//     rules), must give back developer-id, user-id, user-api-key exactly, after the
//     parameters that were already there.
import { createHmac } from "node:crypto";
import CryptoJS from "crypto-js";

let input = "";
for await (const chunk of process.stdin) input += chunk;
const cases = JSON.parse(input);
const mismatches = [];
const show = (s) => JSON.stringify(s);

cases.forEach((c, i) => {
  const msg = c.userId + c.timestamp;
  const node = createHmac("sha256", Buffer.from(c.key, "utf8")).update(Buffer.from(msg, "utf8")).digest("hex");
  const cjs = CryptoJS.HmacSHA256(msg, c.key).toString(CryptoJS.enc.Hex);
  if (node !== c.hashKey) mismatches.push(`case ${i} hash-key: Go ${c.hashKey}, node:crypto ${node} (user ${show(c.userId)})`);
  if (cjs !== c.hashKey) mismatches.push(`case ${i} hash-key: Go ${c.hashKey}, crypto-js ${cjs} (user ${show(c.userId)})`);

  if (c.basic !== undefined) {
    const want = "Basic " + Buffer.from(c.userId + ":" + c.apiKey, "utf8").toString("base64");
    if (want !== c.basic) mismatches.push(`case ${i} basic: Go ${show(c.basic)}, Buffer ${show(want)}`);
  }

  if (c.queryUrl !== undefined) {
    const u = new URL(c.queryUrl);
    const got = [...u.searchParams.entries()];
    const want = [["page", "1"], ["developer-id", c.developerId], ["user-id", c.userId], ["user-api-key", c.apiKey]];
    if (show(got) !== show(want)) mismatches.push(`case ${i} query: ${show(c.queryUrl)} parses to ${show(got)}, want ${show(want)}`);
    if (u.pathname !== "/v2/contacts" || u.hash !== "") mismatches.push(`case ${i} query changed the URL: ${show(c.queryUrl)}`);
  }
});

console.log(JSON.stringify(mismatches));
