// Recomputes Ansira's token request from the spec (docs/PROTOCOLS.md,
// "Ansira"), independently of the Go code, and reports every case where Go
// disagrees. Input on stdin: a JSON array of cases; output: a JSON array of
// mismatch strings as the last line.
//
//   Authorization = "Basic " + base64(UTF-8 bytes of clientId + ":" + clientSecret)  (Buffer)
//   body = "grant_type=" + enc(GRANT) + ["&scope=" + enc(scope), when scope != ""] + "&assertion=" + enc(assertion)
//
// enc is the reference rule the Go package states (application/x-www-form-urlencoded
// as Go's url.QueryEscape writes it): A-Z a-z 0-9 - _ . ~ kept, space -> "+",
// every other UTF-8 byte -> %XX in upper-case hex. Built here from
// encodeURIComponent, which keeps ! ' ( ) * as well and writes space as %20:
// those are fixed up. URLSearchParams is NOT used as the byte reference: it keeps
// "*" and escapes "~" (the WHATWG serializer), both legal but different bytes.
// It is used for the other half of the check: the body it parses must give back
// exactly grant_type, scope, assertion, in that order.
let input = "";
for await (const chunk of process.stdin) input += chunk;
const cases = JSON.parse(input);
const GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const enc = (s) =>
  encodeURIComponent(s)
    .replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase())
    .replace(/%20/g, "+");
const show = (s) => JSON.stringify(s);
const mismatches = [];

cases.forEach((c, i) => {
  const auth = "Basic " + Buffer.from(c.clientId + ":" + c.clientSecret, "utf8").toString("base64");
  if (auth !== c.auth) mismatches.push(`case ${i} Authorization: Go ${show(c.auth)}, Buffer ${show(auth)}`);

  let body = "grant_type=" + enc(GRANT);
  if (c.scope !== "") body += "&scope=" + enc(c.scope);
  body += "&assertion=" + enc(c.assertion);
  if (body !== c.body) mismatches.push(`case ${i} body: Go ${show(c.body)}, reference ${show(body)}`);

  const parsed = [...new URLSearchParams(c.body).entries()];
  const want = [["grant_type", GRANT]];
  if (c.scope !== "") want.push(["scope", c.scope]);
  want.push(["assertion", c.assertion]);
  if (show(parsed) !== show(want)) mismatches.push(`case ${i} URLSearchParams reads ${show(parsed)}, want ${show(want)}`);
});

console.log(JSON.stringify(mismatches));
