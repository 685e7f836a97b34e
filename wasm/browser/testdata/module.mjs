// Loads web/apisign.mjs for the Node tests: with the shipped web/apisign.wasm
// (./build.sh build), or with the test build of the module (the apisign_debug
// tag: the API then has _debug, the test hooks), which this file builds into
// test-output/.

import fs from "node:fs";
import { execFileSync } from "node:child_process";

const root = new URL("../../../", import.meta.url);
export const webDir = new URL("web/", root);
export const wasmFile = new URL("apisign.wasm", webDir);
/** The test build of the module. */
export const debugWasmFile = new URL("test-output/apisign-debug.wasm", root);

export function wasmBytes() {
  if (!fs.existsSync(wasmFile)) throw new Error("web/apisign.wasm is missing: run ./build.sh build first");
  return fs.readFileSync(wasmFile);
}

let debugBuilt = false;

/** The bytes of the test build, built once per process (go's cache makes a rebuild cheap). */
export function debugWasmBytes() {
  if (!debugBuilt) {
    fs.mkdirSync(new URL(".", debugWasmFile), { recursive: true });
    // Built beside and renamed, so that test files running at once never read half a file.
    const tmp = new URL(`apisign-debug.${process.pid}.wasm`, debugWasmFile);
    execFileSync("go", ["build", "-tags", "apisign_debug", "-trimpath", "-ldflags=-s -w", "-o", tmp.pathname, "./wasm/browser"], {
      cwd: root,
      env: { ...process.env, GOOS: "js", GOARCH: "wasm" },
      stdio: ["ignore", "ignore", "inherit"],
    });
    fs.renameSync(tmp, debugWasmFile);
    debugBuilt = true;
  }
  return fs.readFileSync(debugWasmFile);
}

/** The module as every page imports it. */
export const apisign = () => import(new URL("apisign.mjs", webDir));

let fresh = 0;
/** A fresh copy of the module (its own load state), for the tests of load itself. */
export const freshApisign = () => import(new URL(`apisign.mjs?fresh=${++fresh}`, webDir));

/** The API over the test build of the module (with _debug). */
export async function loadApi() {
  const { load } = await apisign();
  return load(debugWasmBytes());
}
