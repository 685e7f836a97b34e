// The npm package as a user meets it: pack/pack.mjs makes the tarball, which
// is installed (offline: the package has no dependencies) into a fresh
// temporary project; there `import { load } from "apisign"` must work
//
//   - in Node, with load() finding the module beside the loader, signing the
//     NFON GET vector of docs/PROTOCOLS.md ("NFON vectors");
//   - in a Vite app, built with the repository's Vite and run in Chromium,
//     where Vite emits the module as an asset (new URL(..., import.meta.url)).
//
// Needs web/apisign.wasm: ./build.sh build.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { build } from "vite";
import { chromium } from "playwright-core";
import { pack, packageFiles } from "./pack.mjs";

// docs/PROTOCOLS.md, "NFON vectors": the GET request and its signature.
const VECTOR = { method: "GET", path: "/api/customers/K1234/phone-books", date: "2025-08-06T14:32:00Z", keyId: "3697ad86-fa77-4b25-9373-02dce48530ff", secret: "nfon-example-secret" };
const WANT = "NFON-API 3697ad86-fa77-4b25-9373-02dce48530ff:ofdQ9hgbzJ/n5f0iL2mXVXJ14T0=";

const manifest = JSON.parse(fs.readFileSync(new URL("package.json", import.meta.url), "utf8"));
let dir; // the temporary project
let tarball;

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "apisign-package-"));
  tarball = pack(path.join(dir, "tarball"));
  const app = path.join(dir, "app");
  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, "package.json"), JSON.stringify({ name: "apisign-user", private: true, type: "module" }));
  execFileSync("npm", ["install", "--offline", "--no-audit", "--no-fund", tarball], { cwd: app, stdio: ["ignore", "pipe", "inherit"], timeout: 120_000 });
});

after(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test("the tarball is apisign-<version>.tgz and holds the loader, its imports, the module and the types only", () => {
  assert.equal(path.basename(tarball), `apisign-${manifest.version}.tgz`);
  const listed = execFileSync("tar", ["tzf", tarball], { encoding: "utf8" }).trim().split("\n").map((f) => f.replace(/^package\//, "")).sort();
  const want = ["package.json", ...packageFiles()].sort();
  assert.deepEqual(listed, want);
  for (const f of ["apisign.mjs", "wasm_exec.js", "apisign.wasm", "apisign.d.ts"]) assert.ok(listed.includes(f), `${f} is in the package`);
  for (const f of listed) assert.doesNotMatch(f, /demo|index\.html|\.test\./, "no demo or test file");
  const installed = path.join(dir, "app", "node_modules", "apisign");
  const pkg = JSON.parse(fs.readFileSync(path.join(installed, "package.json"), "utf8"));
  assert.deepEqual(pkg.exports["."], { types: "./apisign.d.ts", import: "./apisign.mjs" });
  assert.ok(fs.existsSync(path.join(installed, pkg.exports["."].types)), "the types the exports map names are installed");
});

test("Node: import { load } from \"apisign\"; load() finds the module beside the loader", { timeout: 60_000 }, () => {
  const script = path.join(dir, "app", "sign.mjs");
  fs.writeFileSync(script, `import { load, ApisignError } from "apisign";
const api = await load();
let refused = "";
try { api.nfon.sign({}); } catch (e) { refused = (e instanceof ApisignError) + " " + e.code; }
console.log(JSON.stringify({ auth: api.nfon.sign(${JSON.stringify(VECTOR)}).headers.Authorization, version: api.version, refused }));
`);
  const out = JSON.parse(execFileSync(process.execPath, [script], { cwd: path.join(dir, "app"), encoding: "utf8", timeout: 60_000 }));
  assert.deepEqual(out, { auth: WANT, version: manifest.version, refused: "true E_INPUT" });
});

/** Serves dir on a free port of 127.0.0.1 with the types a static host sends. */
function serve(root) {
  const types = { ".html": "text/html", ".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm" };
  const server = http.createServer((req, res) => {
    const file = path.join(root, decodeURIComponent(new URL(req.url, "http://x").pathname));
    const f = file.endsWith(path.sep) ? path.join(file, "index.html") : file;
    if (!f.startsWith(root) || !fs.existsSync(f) || !fs.statSync(f).isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "Content-Type": types[path.extname(f)] ?? "application/octet-stream" });
    fs.createReadStream(f).pipe(res);
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

test("Vite: an app importing \"apisign\" builds, and runs in Chromium", { timeout: 180_000 }, async () => {
  const app = path.join(dir, "app");
  fs.writeFileSync(path.join(app, "index.html"), `<!doctype html><meta charset="utf-8"><title>apisign in Vite</title><script type="module" src="/main.js"></script><output id="out"></output>`);
  fs.writeFileSync(path.join(app, "main.js"), `import { load } from "apisign";
const out = document.getElementById("out");
load().then(
  (api) => { out.dataset.auth = api.nfon.sign(${JSON.stringify(VECTOR)}).headers.Authorization; },
  (e) => { out.dataset.error = e.code + ": " + e.message; },
);
`);
  const dist = path.join(app, "dist");
  await build({ configFile: false, root: app, logLevel: "silent", build: { outDir: dist, emptyOutDir: true } });
  const assets = fs.readdirSync(path.join(dist, "assets"));
  assert.ok(assets.some((f) => /^apisign-.*\.wasm$/.test(f)), `Vite emitted the module as an asset: ${assets.join(" ")}`);

  const server = await serve(dist);
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
  });
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    const out = page.locator("#out[data-auth], #out[data-error]");
    await out.waitFor({ state: "attached", timeout: 60_000 });
    assert.equal(await out.getAttribute("data-error"), null);
    assert.equal(await out.getAttribute("data-auth"), WANT);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    server.close();
  }
});
