// pack.mjs: makes the npm package apisign-<version>.tgz in the directory given
// as its argument (./build.sh pack: the repository root). It stages the
// package in a temporary directory, then runs npm pack there, so that only
// what a user needs goes in:
//
//   - web/apisign.mjs and every module it imports, followed through the
//     relative imports (the loader may be split into several modules;
//     wasm_exec.js, from the Go toolchain, is one of them);
//   - web/apisign.wasm, which the loader finds beside itself
//     (new URL("./apisign.wasm", import.meta.url): read from disk in Node,
//     emitted as an asset by bundlers such as Vite);
//   - web/*.d.ts and web/*.d.mts, the types;
//   - pack/package.json, the package's manifest (its version is the package's).
//
// Needs web/apisign.wasm and web/wasm_exec.js: ./build.sh build.
// Prints the tarball's path.

import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const web = path.join(root, "web");

/** The relative specifiers a module imports or re-exports, static and dynamic. */
export function relativeImports(source) {
  const found = new Set();
  const patterns = [
    /\bimport\s+["'](\.{1,2}\/[^"']+)["']/g, // import "./x.js"
    /\b(?:import|export)\s[^;]*?\bfrom\s*["'](\.{1,2}\/[^"']+)["']/g, // import { a } from "./x.mjs"
    /\bimport\s*\(\s*["'](\.{1,2}\/[^"']+)["']\s*\)/g, // import("./x.mjs")
  ];
  for (const re of patterns) for (const m of source.matchAll(re)) found.add(m[1]);
  return [...found];
}

/** The loader and every module it reaches, as paths relative to web/. */
export function loaderFiles() {
  const seen = new Set();
  const queue = ["apisign.mjs"];
  while (queue.length) {
    const rel = queue.shift();
    if (seen.has(rel)) continue;
    const file = path.join(web, rel);
    if (!fs.existsSync(file)) throw new Error(`pack: web/${rel} is missing (imported by the loader; run ./build.sh build)`);
    seen.add(rel);
    for (const spec of relativeImports(fs.readFileSync(file, "utf8"))) {
      const next = path.relative(web, path.resolve(path.dirname(file), spec));
      if (next.startsWith("..")) throw new Error(`pack: web/${rel} imports ${spec}, outside web/`);
      queue.push(next);
    }
  }
  return [...seen];
}

/** Everything that goes into the package besides package.json. */
export function packageFiles() {
  const types = fs.readdirSync(web).filter((f) => /\.d\.m?ts$/.test(f)); // apisign.d.mts: the types of an import of ./apisign.mjs
  if (!fs.existsSync(path.join(web, "apisign.wasm"))) throw new Error("pack: web/apisign.wasm is missing: run ./build.sh build");
  return [...loaderFiles(), "apisign.wasm", ...types].sort();
}

/** Stages and packs the package into outDir; returns the tarball's absolute path. */
export function pack(outDir) {
  const stage = fs.mkdtempSync(path.join(os.tmpdir(), "apisign-pack-"));
  try {
    const files = packageFiles();
    for (const f of files) {
      fs.mkdirSync(path.dirname(path.join(stage, f)), { recursive: true });
      fs.copyFileSync(path.join(web, f), path.join(stage, f));
      fs.chmodSync(path.join(stage, f), 0o644); // go build leaves the module executable
    }
    const manifest = JSON.parse(fs.readFileSync(path.join(root, "pack", "package.json"), "utf8"));
    manifest.files = files;
    fs.writeFileSync(path.join(stage, "package.json"), JSON.stringify(manifest, null, 2) + "\n");
    fs.mkdirSync(outDir, { recursive: true });
    const out = execFileSync("npm", ["pack", "--json", "--pack-destination", path.resolve(outDir)], { cwd: stage, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
    return path.resolve(outDir, JSON.parse(out)[0].filename);
  } finally {
    fs.rmSync(stage, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv.length !== 3) {
    console.error("usage: node pack/pack.mjs OUTDIR");
    process.exit(2);
  }
  console.log(pack(process.argv[2]));
}
