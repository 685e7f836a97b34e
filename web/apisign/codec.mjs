// codec.mjs: the memory codec of the signing exports. Inputs go into the
// module's input buffer as UTF-8 fields with their lengths; outputs come back
// as fields, (kind, name, value) triples that become { headers, query?,
// ...members }. The layout is wasm/browser/abi.go's; its numbers are abi.mjs,
// generated from Go. The codec knows no provider: it only moves bytes.
//
// The encoder, decoder and memory views are reused across calls: in Chromium
// one TextEncoder or TextDecoder call costs 0.3 to 1 µs whatever the length,
// as much as a signature's hashing.

import { ApisignError, inputError } from "./errors.mjs";
import { CTL_IN_PTR, CTL_IN_CAP, CTL_OUT_PTR, CTL_OUT_N, CTL_OUT_LEN, CTL_IN_LEN, MAX_INPUT } from "./abi.mjs";

/** The number of bytes a body takes at most in the input buffer. */
export function bodySize(b) {
  return typeof b === "string" ? 3 * b.length : b.length;
}

const tooLarge = () => inputError("input larger than 64 MiB");

/**
 * makeCodec returns the codec over the module's exports `ex`; `alive` throws
 * when the module has stopped.
 */
export function makeCodec(ex, alive) {
  const memory = ex.mem;
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  const C = ex.apisign_ctl() >>> 2; // ctl as an index into u32
  let buffer = null;
  let u8 = null;
  let u32 = null;
  let inPtr = 0;
  let inCap = 0;
  let inPos = 0;
  let inCount = 0;
  // inView is the input buffer as a view of its own, kept between calls:
  // encodeInto into a fresh subarray costs several times more in Chromium.
  let inView = null;

  // Views are re-made when the memory grew (memory.buffer is then a new object).
  function views() {
    if (buffer !== memory.buffer) {
      buffer = memory.buffer;
      u8 = new Uint8Array(buffer);
      u32 = new Uint32Array(buffer);
    }
  }

  // begin readies the input buffer for up to `need` bytes of fields.
  function begin(need) {
    alive();
    views();
    if (need > u32[C + CTL_IN_CAP]) {
      if (ex.apisign_reserve(Math.min(need, MAX_INPUT)) < 0) throw error();
      views();
    }
    inPtr = u32[C + CTL_IN_PTR];
    inCap = u32[C + CTL_IN_CAP];
    inPos = 0;
    inCount = 0;
    if (inView === null || inView.buffer !== buffer || inView.byteOffset !== inPtr || inView.length !== inCap) {
      inView = u8.subarray(inPtr, inPtr + inCap);
    }
  }

  // putASCII5 writes five string fields with one encodeInto when they are all
  // ASCII (then byte lengths are string lengths). It must be the first write
  // after begin; on false (a non-ASCII field) nothing is counted and the
  // caller writes the fields one by one.
  function putASCII5(a, b, c, d, e) {
    const s = a + b + c + d + e;
    if (encoder.encodeInto(s, inView).written !== s.length) return false;
    const L = C + CTL_IN_LEN;
    u32[L] = a.length;
    u32[L + 1] = b.length;
    u32[L + 2] = c.length;
    u32[L + 3] = d.length;
    u32[L + 4] = e.length;
    inPos = s.length;
    inCount = 5;
    return true;
  }

  function putStr(s) {
    const at = inPtr + inPos;
    let n = s.length;
    if (n <= 16 && n <= inCap - inPos) {
      // Short ASCII strings: a loop beats encodeInto's call overhead.
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c > 0x7f) break;
        u8[at + i] = c;
      }
      if (i < n) n = -1;
    } else {
      n = -1;
    }
    if (n < 0) {
      const r = encoder.encodeInto(s, u8.subarray(at, inPtr + inCap));
      if (r.read < s.length) throw tooLarge();
      n = r.written;
    }
    u32[C + CTL_IN_LEN + inCount++] = n;
    inPos += n;
  }

  function putBytes(b) {
    if (b.length > inCap - inPos) throw tooLarge();
    u8.set(b, inPtr + inPos);
    u32[C + CTL_IN_LEN + inCount++] = b.length;
    inPos += b.length;
  }

  /** Writes a string or a Uint8Array as the next field. */
  function putBody(b) {
    if (typeof b === "string") putStr(b);
    else putBytes(b);
  }

  // fields returns the output fields. TextDecoder costs about 300 ns a call
  // whatever the length, so the whole output is decoded once; when that gives
  // one UTF-16 unit per byte (all ASCII, as signatures, dates and header names
  // are), byte offsets are string offsets and the fields are slices of it.
  // Otherwise each field is decoded on its own.
  function fields() {
    views();
    const n = u32[C + CTL_OUT_N];
    const out = new Array(n);
    const start = u32[C + CTL_OUT_PTR];
    let total = 0;
    for (let i = 0; i < n; i++) total += u32[C + CTL_OUT_LEN + i];
    const all = total === 0 ? "" : decoder.decode(u8.subarray(start, start + total));
    const oneToOne = all.length === total;
    let off = start;
    for (let i = 0; i < n; i++) {
      const len = u32[C + CTL_OUT_LEN + i];
      const at = off - start;
      out[i] = oneToOne ? all.slice(at, at + len) : len === 0 ? "" : decoder.decode(u8.subarray(off, off + len));
      off += len;
    }
    return out;
  }

  /** The output of a successful call: its triples as { headers, query?, ...members }. */
  function output() {
    const f = fields();
    const out = { headers: {} };
    for (let i = 0; i + 2 < f.length; i += 3) {
      if (f[i] === "h") out.headers[f[i + 1]] = f[i + 2];
      else if (f[i] === "q") (out.query ??= {})[f[i + 1]] = f[i + 2];
      else out[f[i + 1]] = f[i + 2];
    }
    return out;
  }

  /** The failure of the last call: output fields 0 and 1 are its code and message. */
  function error() {
    const [code, message] = fields();
    return new ApisignError(code || "E_INTERNAL", message || "failed");
  }

  return { begin, putASCII5, putStr, putBody, fields, output, error };
}
