//go:build js && wasm

package main

// The fast path: the pure signing functions (api.nfon.sign, api.keyfax.basic,
// api.fortis.hmac, …) are //go:wasmexport functions that read their inputs from
// and write their outputs to buffers in linear memory. A call through syscall/js
// (js.FuncOf, js.Value.String) costs about 30 µs; an exported function called
// straight from JS costs tens of nanoseconds, so what remains is the signing
// itself.
//
// # ABI (the JS side is web/apisign.mjs; keep the two in step)
//
// All numbers are little-endian uint32 words of the control block ctl, whose
// address apisign_ctl returns once. Go's heap does not move, so the address
// stays valid; JS re-creates its typed-array views whenever memory.buffer
// changes (the memory grew).
//
//	ctl[0]  IN_PTR   address of the input buffer (JS writes into it)
//	ctl[1]  IN_CAP   its size in bytes
//	ctl[2]  OUT_PTR  address of the output bytes of the last call
//	ctl[3]  OUT_N    number of output fields of the last call
//	ctl[4..15]       per-function results (NFON: see exportNfonSign)
//	ctl[16+i]        length of output field i, i < 64; the fields lie back to back at OUT_PTR
//	ctl[80+i]        length of input field i, i < 32, written by JS; the fields lie back to back at IN_PTR
//
// A call: JS makes sure the input fits (apisign_reserve), encodes each input
// string as UTF-8 into the input buffer, writes the lengths, and calls the
// export with the numeric arguments (key handle, time in epoch milliseconds).
// An export returns >= 0 on success. It returns -1 on failure, with output
// field 0 the error code ("E_INPUT", …) and field 1 the message (never a
// secret), and -2 when the key handle is stale (the key table was cleared): JS
// then registers the key again and repeats the call once.
//
// Times: ms is epoch milliseconds; NaN means "not given as a number", and then
// the time input field holds an RFC 3339 string, or is empty for "now" (the
// module's clock, corrected by the skew learned from server Date headers).
//
// Keys: apisign_key(kind) takes the key fields (NFON key id + secret, Keyfax
// host name + API key + signing key, Fortis developer id + user id + hash key),
// builds the core signer once, with its HMAC keyed state (inner and outer pads
// already hashed), and returns a handle that later calls pass instead of the
// key. JS caches handles per key, so a repeated key is not even copied.
//
// Inputs are read in place (unsafe.String over the input buffer): nothing keeps
// them after the call returns; what the module keeps (key ids, map keys) is
// copied first.

import (
	"errors"
	"math"
	"strings"
	"time"
	"unsafe"

	"github.com/apisign/apisign/signers"
)

// Layout of ctl; see the comment at the top of this file.
const (
	ctlInPtr  = 0
	ctlInCap  = 1
	ctlOutPtr = 2
	ctlOutN   = 3
	ctlFn     = 4  // first per-function word
	ctlOutLen = 16 // first output length
	maxOut    = 64
	ctlInLen  = 80 // first input length
	maxIn     = 32
	ctlWords  = ctlInLen + maxIn
)

// Return values of the exports.
const (
	retFail  = -1 // error code and message in output fields 0 and 1
	retStale = -2 // the key handle is stale: register the key again
)

// maxInput bounds the input buffer. A body larger than this is refused
// (E_INPUT) rather than letting the Go heap grow until the runtime dies of it,
// which would end the module for the whole page.
const maxInput = 64 << 20

var (
	ctl    [ctlWords]uint32
	inBuf  = make([]byte, 64<<10)
	outBuf = make([]byte, 0, 64<<10)
	outN   int
)

func addr(p unsafe.Pointer) uint32 { return uint32(uintptr(p)) }

func init() {
	ctl[ctlInPtr] = addr(unsafe.Pointer(unsafe.SliceData(inBuf)))
	ctl[ctlInCap] = uint32(len(inBuf))
}

//go:wasmexport apisign_ctl
func exportCtl() uint32 { return addr(unsafe.Pointer(&ctl[0])) }

// exportReserve makes the input buffer at least n bytes long. It returns 0, or
// retFail (E_INPUT) when n exceeds maxInput. The old contents are not kept.
//
//go:wasmexport apisign_reserve
func exportReserve(n uint32) (ret int32) {
	defer recoverExport(&ret)
	if n > maxInput {
		return fail(signers.E(signers.CodeInput, "apisign", "input larger than 64 MiB"))
	}
	if int(n) > len(inBuf) {
		size := 2 * len(inBuf)
		for size < int(n) {
			size *= 2
		}
		size = min(size, maxInput)
		inBuf = nil // let the old buffer go before the new one is allocated
		inBuf = make([]byte, size)
		ctl[ctlInPtr] = addr(unsafe.Pointer(unsafe.SliceData(inBuf)))
		ctl[ctlInCap] = uint32(len(inBuf))
	}
	return 0
}

// inputs returns the first n input fields as strings that view the input
// buffer (valid until the call returns). ok is false when the lengths JS wrote
// do not fit the buffer, which only a bug can cause.
func inputs(n int) (f [8]string, ok bool) {
	off := 0
	for i := 0; i < n; i++ {
		l := int(ctl[ctlInLen+i])
		if l > len(inBuf)-off {
			return f, false
		}
		if l > 0 {
			f[i] = unsafe.String(&inBuf[off], l)
		}
		off += l
	}
	return f, true
}

// bytesOf views s as bytes without copying; the bytes must not be changed.
func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// outReset starts the output of a call.
func outReset() {
	outBuf = outBuf[:0]
	outN = 0
}

// outField appends one output field.
func outField(s string) {
	if outN == maxOut {
		panic("apisign: too many output fields")
	}
	outBuf = append(outBuf, s...)
	ctl[ctlOutLen+outN] = uint32(len(s))
	outN++
}

// outTriple appends one (kind, name, value) entry of the generic output: kind
// "h" is a header field, "q" a query parameter, "s" a member of the result.
func outTriple(kind, name, value string) {
	outField(kind)
	outField(name)
	outField(value)
}

// outDone publishes the output's address and field count.
func outDone() {
	ctl[ctlOutPtr] = addr(unsafe.Pointer(unsafe.SliceData(outBuf)))
	ctl[ctlOutN] = uint32(outN)
}

// fail reports err as the output of the call and returns retFail.
func fail(err error) int32 {
	outReset()
	outField(string(signers.CodeOf(err)))
	outField(message(err))
	outDone()
	return retFail
}

// recoverExport turns a panic inside an export into an E_INTERNAL failure, so
// that a bug answers one call with an error and the module keeps working.
func recoverExport(ret *int32) {
	if r := recover(); r != nil {
		*ret = fail(signers.E(signers.CodeInternal, "apisign", "internal error (recovered panic)"))
	}
}

// message is the text of a JS Error for err: the *signers.Error without its
// code (the code has its own property). signers errors never hold a secret.
func message(err error) string {
	var e *signers.Error
	if errors.As(err, &e) {
		s := e.Op
		if e.Msg != "" {
			if s != "" {
				s += ": "
			}
			s += e.Msg
		}
		if e.Err != nil {
			s += ": " + message(e.Err)
		}
		if s != "" {
			return s
		}
	}
	s := err.Error()
	if c := string(signers.CodeOf(err)); strings.HasPrefix(s, c+" ") {
		s = s[len(c)+1:]
	}
	return s
}

// maxEpochMs is the range of a JS Date: ±8.64e15 ms around 1970.
const maxEpochMs = 8.64e15

// timeArg reads a time input: epoch milliseconds ms, or (ms NaN) the RFC 3339
// string s, or (ms NaN, s empty) now by the module's skew-corrected clock.
func timeArg(ms float64, s string) (time.Time, error) {
	const op = "apisign.time"
	if !math.IsNaN(ms) {
		if math.IsInf(ms, 0) || math.Abs(ms) > maxEpochMs {
			return time.Time{}, signers.E(signers.CodeInput, op, "time in milliseconds is out of range")
		}
		sec := math.Floor(ms / 1000)
		return time.Unix(int64(sec), int64((ms-sec*1000)*1e6)), nil
	}
	if s == "" {
		return skew.Now(), nil
	}
	if len(s) > 64 {
		return time.Time{}, signers.E(signers.CodeInput, op, "time string is not RFC 3339")
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, signers.E(signers.CodeInput, op, "time string is not RFC 3339 (e.g. 2025-08-06T14:32:00Z)")
	}
	return t, nil
}
