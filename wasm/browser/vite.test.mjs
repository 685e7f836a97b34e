// The loader in a bundler: Vite's build() bundles a tiny entry that imports
// web/apisign.mjs (wasm_exec.js comes along; apisign.wasm beside it becomes an
// asset), then the bundle runs in Node, loading the module from bytes and from
// its default location. Needs web/apisign.wasm: ./build.sh build.

import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "vite";
import { webDir, wasmBytes } from "./testdata/module.mjs";

test("a Vite bundle of apisign.mjs runs", { timeout: 120000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "apisign-vite-"));
  try {
    const mjs = fileURLToPath(new URL("apisign.mjs", webDir));
    fs.writeFileSync(
      path.join(dir, "entry.mjs"),
      `import { load, ApisignError } from ${JSON.stringify(mjs)};
const vector = { method: "GET", path: "/api/customers/K1234/phone-books", date: 1754490720000, keyId: "3697ad86-fa77-4b25-9373-02dce48530ff", secret: "nfon-example-secret" };
export async function run(bytes) {
  const api = await load(bytes);
  let code = "";
  try { api.nfon.sign(null); } catch (e) { code = (e instanceof ApisignError) + " " + e.code; }
  return { auth: api.nfon.sign(vector).headers.Authorization, code, same: (await load()) === api };
}
`,
    );
    await build({
      configFile: false,
      root: dir,
      logLevel: "silent",
      build: {
        outDir: path.join(dir, "dist"),
        emptyOutDir: true,
        lib: { entry: path.join(dir, "entry.mjs"), formats: ["es"], fileName: "bundle" },
      },
    });
    const files = fs.readdirSync(path.join(dir, "dist"));
    const bundle = files.find((f) => /^bundle\.m?js$/.test(f)); // .mjs where no package.json says "type": "module"
    assert.ok(bundle, files.join(" "));
    const want = { auth: "NFON-API 3697ad86-fa77-4b25-9373-02dce48530ff:ofdQ9hgbzJ/n5f0iL2mXVXJ14T0=", code: "true E_INPUT", same: true };
    // With bytes, as Node and Workers load it.
    const a = await import(pathToFileURL(path.join(dir, "dist", bundle)).href + "?bytes");
    assert.deepEqual(await a.run(wasmBytes()), want);
    // With no source: the default location, which Vite rewrote to its asset.
    const b = await import(pathToFileURL(path.join(dir, "dist", bundle)).href + "?default");
    assert.deepEqual(await b.run(), want);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
