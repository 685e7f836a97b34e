// apisign.mjs: loads the apisign browser module (apisign.wasm, Go compiled for
// GOOS=js) and exposes it as plain JavaScript functions. Types and docs:
// apisign.d.ts. Works in browsers (<script type="module">), in Node 20+ and
// in bundlers (Vite): `const api = await load()`.
//
// This file is the loader; the API is made by the modules in apisign/:
//
//  - signing.mjs: the synchronous signing functions (api.nfon.sign,
//    api.keyfax.basic, …). They take secrets, so they are for runtimes where a
//    secret may live (Workers, Node, tools), never for a page. They call
//    exported Go functions (//go:wasmexport) directly over buffers in the
//    module's linear memory, through the memory codec (codec.mjs, with the
//    numbers of abi.mjs, generated from Go): no syscall/js on this path.
//  - clients.mjs: the client flows (api.keyfax.client, …), asynchronous, over
//    the page's fetch, holding only short-lived tokens (from the broker) or
//    going through the broker. They call one syscall/js function of the
//    module, `native`.
//
// No provider rule is written in JS: the module's Go side builds every
// signature and header value; these files only move bytes and values.
//
// Every failure throws or rejects with an ApisignError whose `code` is stable
// (E_INPUT, E_KEY, E_TOKEN, E_TOKEN_EXPIRED, E_TOKEN_REFUSED, E_HTTP (with
// `status`), E_NETWORK, E_ABORTED, E_CONFIG, E_INTERNAL, …) and whose message
// holds no secret.

import "./wasm_exec.js"; // defines globalThis.Go, the Go runtime's JS half
import { ApisignError, inputError } from "./apisign/errors.mjs";
import { makeCodec } from "./apisign/codec.mjs";
import { guard, makeSigning } from "./apisign/signing.mjs";
import { makeRuntime, guarded, KeyfaxClient, FortisClient, ansiraClient, brokerClient, fortisSso } from "./apisign/clients.mjs";
import { signalOf } from "./apisign/args.mjs";

export { ApisignError };

const GoRuntime = globalThis.Go;

let loading = null;

/**
 * Instantiates the module once and resolves to the API object; later calls
 * resolve to the same object (their source is ignored).
 * source: URL or string (fetched; default apisign.wasm beside this file),
 * ArrayBuffer / typed array of the bytes, a Response, or a WebAssembly.Module.
 */
export function load(source) {
  if (loading === null) {
    loading = start(source).catch((e) => {
      loading = null; // a failed load may be retried
      throw e instanceof ApisignError ? e : new ApisignError("E_INTERNAL", "the module failed to start", { cause: e });
    });
  }
  return loading;
}

async function start(source) {
  if (typeof GoRuntime !== "function") {
    throw new ApisignError("E_CONFIG", "wasm_exec.js did not define Go (build with ./build.sh build)");
  }
  const go = new GoRuntime();
  const imports = go.importObject;
  const instance = await instantiate(source === undefined ? new URL("./apisign.wasm", import.meta.url) : source, imports);
  const slot = "__apisign_" + Math.random().toString(36).slice(2);
  let native = null;
  let version = "";
  globalThis[slot] = (fn, v) => {
    native = fn;
    version = v;
    return {
      makeError: (code, message, status, data, cause) =>
        new ApisignError(code, message, { status, data, cause: cause?.failure === true ? cause.cause : cause }),
      // await subscribes Go's one settle function to a promise, which then
      // reports (id, true, value) or (id, false, reason); false: not a thenable.
      await: (v, id, settle) => {
        if (v === null || (typeof v !== "object" && typeof v !== "function") || typeof v.then !== "function") return false;
        v.then(
          (x) => settle(id, true, x),
          (e) => settle(id, false, e),
        );
        return true;
      },
    };
  };
  go.argv = ["apisign", slot];
  try {
    // run executes main until it waits (main calls the slot first); its promise
    // settles only when the program ends, which the API checks as go.exited.
    go.run(instance).catch(() => {});
  } finally {
    delete globalThis[slot];
  }
  if (native === null) throw new ApisignError("E_INTERNAL", "the module did not start");
  return makeApi(go, instance.exports, native, version);
}

async function instantiate(source, imports) {
  source = await source;
  try {
    if (source instanceof WebAssembly.Module) return await WebAssembly.instantiate(source, imports);
    if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) {
      return (await WebAssembly.instantiate(source, imports)).instance;
    }
    if (typeof Response !== "undefined" && source instanceof Response) return await fromResponse(source, imports);
    if (typeof source === "string" || source instanceof URL) {
      const base = globalThis.location?.href ?? import.meta.url;
      let url;
      try {
        url = new URL(String(source), base);
      } catch {
        throw inputError("load: source is not a valid URL");
      }
      if (url.protocol === "file:") {
        // Node: fetch cannot read files. The name is in a variable so that
        // bundlers leave the import alone.
        const fsName = "node:fs/promises";
        const fs = await import(/* @vite-ignore */ fsName);
        return (await WebAssembly.instantiate(await fs.readFile(url), imports)).instance;
      }
      let res;
      try {
        res = await fetch(url);
      } catch (e) {
        throw new ApisignError("E_NETWORK", "load: could not fetch the module", { cause: e });
      }
      return await fromResponse(res, imports);
    }
  } catch (e) {
    if (e instanceof ApisignError) throw e;
    const code = e instanceof WebAssembly.CompileError || e instanceof WebAssembly.LinkError ? "E_INPUT" : "E_INTERNAL";
    throw new ApisignError(code, "load: the bytes are not the apisign module", { cause: e });
  }
  throw inputError("load: source must be a URL, bytes, a Response or a WebAssembly.Module");
}

async function fromResponse(res, imports) {
  if (!res.ok) throw new ApisignError("E_HTTP", `load: fetching the module answered ${res.status}`, { status: res.status });
  const type = res.headers.get("Content-Type") ?? "";
  if (typeof WebAssembly.instantiateStreaming === "function" && type.startsWith("application/wasm")) {
    return (await WebAssembly.instantiateStreaming(res, imports)).instance;
  }
  return (await WebAssembly.instantiate(await res.arrayBuffer(), imports)).instance;
}

// makeApi assembles the API object over the running module.
function makeApi(go, ex, native, version) {
  const rt = makeRuntime(go, native);
  const codec = makeCodec(ex, rt.alive);
  const s = makeSigning(ex, codec, rt.alive);
  const api = {
    version,
    nfon: Object.freeze({ sign: s.nfonSign, client: guard("nfon.client", (cfg) => brokerClient(rt, "nfon", cfg)) }),
    keyfax: Object.freeze({ basic: s.keyfaxBasic, bearer: s.keyfaxBearer, client: guard("keyfax.client", (cfg) => new KeyfaxClient(rt, cfg)) }),
    fortis: Object.freeze({ hmac: s.fortisHmac, apiKey: s.fortisApiKey, client: guard("fortis.client", (cfg) => new FortisClient(rt, cfg)), sso: (o) => fortisSso(rt, o) }),
    fonn: Object.freeze({ headers: s.fonnHeaders, client: guard("fonn.client", (cfg) => brokerClient(rt, "fonn", cfg)) }),
    ansira: Object.freeze({ tokenRequest: s.ansiraTokenRequest, client: guard("ansira.client", (cfg) => ansiraClient(rt, cfg)) }),
    clock: s.clock,
    /** Drops the cached key states of the signing functions. */
    forgetKeys: s.forgetKeys,
  };
  // A test build of the module (go build -tags apisign_debug) has test hooks;
  // the shipped module has none, and then the API has no _debug.
  if (typeof ex.apisign_debug_panic === "function") {
    api._debug = Object.freeze({
      panic: guard("debug.panic", () => {
        codec.begin(0);
        if (ex.apisign_debug_panic() < 0) throw codec.error();
      }),
      panicNative: guard("debug.panicNative", () => rt.callSync("debug.panic", [])),
      panicAsync: (opts) => guarded("debug", () => rt.callAsync("debug.panicAsync", [], signalOf(opts, "debug"))),
      sleep: (ms, opts) => guarded("debug", () => rt.callAsync("debug.sleep", [ms], signalOf(opts, "debug"))),
    });
  }
  return Object.freeze(api);
}
