// Checks docs/CONFORMANCE.md against the tree: every file named in a "test"
// cell exists, and so does every test named in it (a Go func Test/Fuzz/Example,
// or a node:test title; a title cut with "…" matches by what comes before it).
// In the "where" cell, every `pkg.Name` of a core package must name something
// that package's code has. It also counts the rows per status and flags an
// "ok" row without a test.
// Whether the tests pass is for `go test` and `node --test`; this only keeps the
// table's names true. Run from the repository root: node docs/conformance-check.mjs
import { existsSync, readdirSync, readFileSync } from "node:fs";

// The table's shortened paths (see CONFORMANCE.md, "Paths are shortened").
const prefixes = {
  "browser/": "wasm/browser/", "worker/": "wasm/broker/worker/", "broker/": "wasm/broker/",
  "sandbox/": "internal/sandbox/", "devserver/": "cmd/devserver/", "web/": "web/",
};
const expand = (p) => {
  for (const [short, long] of Object.entries(prefixes)) if (p.startsWith(short)) return long + p.slice(short.length);
  return "signers/" + p;
};

// Cells split at "|" outside backquotes.
function cells(line) {
  const out = [];
  let cur = "", code = false;
  for (const c of line.slice(1, line.trimEnd().length - 1)) {
    if (c === "`") code = !code;
    if (c === "|" && !code) { out.push(cur.trim()); cur = ""; } else cur += c;
  }
  return [...out, cur.trim()];
}

// The non-test Go source of a core package, "" when there is no such package.
const source = (pkg) => {
  const dir = `signers/${pkg}`;
  if (!existsSync(dir)) return "";
  return readdirSync(dir).filter((f) => f.endsWith(".go") && !f.endsWith("_test.go"))
    .map((f) => readFileSync(`${dir}/${f}`, "utf8")).join("\n");
};

const problems = [];
const counts = {};
let header = null;
for (const line of readFileSync("docs/CONFORMANCE.md", "utf8").split("\n")) {
  if (!line.startsWith("|")) { header = null; continue; }
  const row = cells(line);
  if (row[0] === "id") { header = row; continue; }
  if (!header || !/^[A-Z]+-\d+$/.test(row[0])) continue;
  const id = row[0], test = row[header.indexOf("test")], status = row[header.indexOf("status")];
  const kind = status.split(/[:( ]/)[0];
  counts[kind] = (counts[kind] ?? 0) + 1;
  if (kind === "ok" && (test === "–" || test === "")) problems.push(`${id}: ok without a test`);
  for (const [, pkg, names] of row[header.indexOf("where")].matchAll(/`([a-z]+)\.([A-Z][\w.]*)/g)) {
    const src = source(pkg);
    for (const name of src ? names.split(".") : []) {
      if (!new RegExp(`\\b${name}\\b`).test(src)) problems.push(`${id}: ${pkg} has no ${name}`);
    }
  }
  // Titles first (they may hold ";" and parentheses), then remarks in parentheses.
  const titles = [];
  let rest = test.replace(/"([^"]*)"/g, (_, t) => ` "${titles.push(t) - 1}" `);
  while (/\([^()]*\)/.test(rest)) rest = rest.replace(/\([^()]*\)/g, " ");
  let file = null, text = "";
  for (const tok of rest.split(/[\s,;]+/).filter(Boolean)) {
    if (/\.(go|mjs)$/.test(tok)) {
      file = expand(tok);
      if (!existsSync(file)) { problems.push(`${id}: no file ${file}`); file = null; }
      else text = readFileSync(file, "utf8");
    } else if (/^(Test|Fuzz|Example|Benchmark)\w*$/.test(tok)) {
      if (file && !new RegExp(`^func ${tok}\\(`, "m").test(text)) problems.push(`${id}: no func ${tok} in ${file}`);
    } else if (/^"\d+"$/.test(tok)) {
      const want = titles[Number(tok.slice(1, -1))].split("…")[0].replace(/[,;:\s]+$/, "");
      if (file && !text.includes(`test("${want}`) && !text.includes(`test(\`${want}`)) problems.push(`${id}: no test "${want}" in ${file}`);
    } else if (tok !== "via" && tok !== "–") {
      problems.push(`${id}: cannot read "${tok}" in the test cell`);
    }
  }
}
console.log(Object.entries(counts).map(([k, n]) => `${k} ${n}`).join(", "));
for (const p of problems) console.log(p);
process.exitCode = problems.length ? 1 : 0;
