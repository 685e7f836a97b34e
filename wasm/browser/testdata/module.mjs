// Loads web/apisign.mjs with the built web/apisign.wasm for the Node tests.

import fs from "node:fs";

export const webDir = new URL("../../../web/", import.meta.url);
export const wasmFile = new URL("apisign.wasm", webDir);

export function wasmBytes() {
  if (!fs.existsSync(wasmFile)) throw new Error("web/apisign.wasm is missing: run ./build.sh build first");
  return fs.readFileSync(wasmFile);
}

/** The module as every page imports it. */
export const apisign = () => import(new URL("apisign.mjs", webDir));

let fresh = 0;
/** A fresh copy of the module (its own load state), for the tests of load itself. */
export const freshApisign = () => import(new URL(`apisign.mjs?fresh=${++fresh}`, webDir));

/** The API over the built bytes. */
export async function loadApi() {
  const { load } = await apisign();
  return load(wasmBytes());
}
