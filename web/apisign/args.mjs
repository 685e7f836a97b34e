// args.mjs: readers of the caller's arguments. Strict types, no coercion:
// a wrong type is an E_INPUT error that names the argument.

import { inputError } from "./errors.mjs";

export function options(o, where) {
  if (o === null || typeof o !== "object") throw inputError(`${where}: expects an options object`);
  return o;
}

export function reqStr(v, where, name) {
  if (typeof v !== "string") throw inputError(`${where}: ${name} must be a string`);
  return v;
}

/** The string members `names` of the options object o, in that order. */
export function reqStrs(o, where, ...names) {
  options(o, where);
  return names.map((n) => reqStr(o[n], where, n));
}

export function optStr(v, where, name) {
  if (v === undefined || v === null) return "";
  return reqStr(v, where, name);
}

export function optBool(v, where, name) {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "boolean") throw inputError(`${where}: ${name} must be a boolean`);
  return v;
}

export function optFn(v, where, name) {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "function") throw inputError(`${where}: ${name} must be a function`);
  return v;
}

export function signalArg(v, where) {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "object" || typeof v.addEventListener !== "function" || typeof v.aborted !== "boolean") {
    throw inputError(`${where}: signal must be an AbortSignal`);
  }
  return v;
}

/** The `signal` of an optional options object. */
export function signalOf(opts, where) {
  return signalArg(options(opts ?? {}, where).signal, where);
}

export function absUrl(v, where, name) {
  reqStr(v, where, name);
  try {
    return new URL(v, globalThis.location?.href).href;
  } catch {
    throw inputError(`${where}: ${name} must be a URL`);
  }
}

function isDate(v) {
  return v instanceof Date || (typeof v === "object" && v !== null && Object.prototype.toString.call(v) === "[object Date]");
}

// NOW is the time input "now by the module's clock".
const NOW = Object.freeze({ ms: NaN, text: "" });

/**
 * timeArg reads a time input (Date, RFC 3339 string, epoch ms, or nothing for
 * now) as the two time arguments of the signing exports: `ms`, epoch
 * milliseconds or NaN, and `text`, the RFC 3339 string when ms is NaN ("" for
 * now).
 */
export function timeArg(v, where, name) {
  if (v === undefined || v === null) return NOW;
  if (typeof v === "number") {
    if (!Number.isFinite(v)) throw inputError(`${where}: ${name} must be a finite number of epoch milliseconds`);
    return { ms: v, text: "" };
  }
  if (isDate(v)) {
    const t = Date.prototype.getTime.call(v);
    if (Number.isNaN(t)) throw inputError(`${where}: ${name} is an invalid Date`);
    return { ms: t, text: "" };
  }
  if (typeof v === "string") {
    if (v === "" || v.length > 64) throw inputError(`${where}: ${name} must be an RFC 3339 string`);
    return { ms: NaN, text: v };
  }
  throw inputError(`${where}: ${name} must be a Date, an RFC 3339 string or epoch milliseconds`);
}

/** The exact bytes of a signed body: a string (sent as UTF-8) or a Uint8Array. */
export function bodyArg(v, where) {
  if (v === undefined || v === null) return "";
  if (typeof v === "string") return v;
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  throw inputError(`${where}: body must be a string, an ArrayBuffer or a typed array`);
}

/**
 * queryPairs reads a query given as an object or an array of [key, value]
 * pairs, unencoded (the module encodes them by the provider's rule), as an
 * array of string pairs in order. Nothing given: no pairs. NUL, which no
 * query holds, is refused: the pairs reach the module NUL-separated.
 */
export function queryPairs(q, where) {
  if (q === undefined || q === null) return [];
  if (typeof q !== "object") throw inputError(`${where}: query must be an object or an array of [key, value] pairs`);
  const pairs = Array.isArray(q) ? q : Object.entries(q);
  return pairs.map((p) => {
    if (!Array.isArray(p) || p.length !== 2) throw inputError(`${where}: query must be an object or an array of [key, value] pairs`);
    const [k, v] = p.map((x) => (typeof x === "number" ? String(x) : x));
    if (typeof k !== "string" || typeof v !== "string") throw inputError(`${where}: query keys and values must be strings or numbers`);
    if (k.includes("\0") || v.includes("\0")) throw inputError(`${where}: query holds a NUL`);
    return [k, v];
  });
}
