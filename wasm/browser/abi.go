//go:build js && wasm

package main

// The fast path: the pure signing functions (api.nfon.sign, api.keyfax.basic,
// api.fortis.hmac, …) are //go:wasmexport functions that read their inputs from
// and write their outputs to buffers in linear memory. A call through syscall/js
// (js.FuncOf, js.Value.String) costs about 30 µs; an exported function called
// straight from JS costs tens of nanoseconds, so what remains is the signing
// itself.
//
// # ABI (the JS side is web/apisign/codec.mjs)
//
// The numbers below (word indexes, return values, function numbers, key kinds,
// bounds) are generated for both sides from one table by abi_gen.go, into
// abi_layout.go and web/apisign/abi.mjs; never edit them by hand.
//
// All numbers are little-endian uint32 words of the control block ctl, whose
// address apisign_ctl returns once. Go's heap does not move, so the address
// stays valid; JS re-creates its typed-array views whenever memory.buffer
// changes (the memory grew).
//
//	ctl[ctlInPtr]    address of the input buffer (JS writes into it)
//	ctl[ctlInCap]    its size in bytes
//	ctl[ctlOutPtr]   address of the output bytes of the last call
//	ctl[ctlOutN]     number of output fields of the last call
//	ctl[ctlOutLen+i] length of output field i, i < maxOut; the fields lie back to back at OUT_PTR
//	ctl[ctlInLen+i]  length of input field i, i < maxIn, written by JS; the fields lie back to back at IN_PTR
//
// A call: JS makes sure the input fits (apisign_reserve), encodes each input
// string as UTF-8 into the input buffer, writes the lengths, and calls the
// export with the numeric arguments (key handle, time in epoch milliseconds).
// An export returns >= 0 on success, with its output as (kind, name, value)
// triples of fields: kind "h" a header field, "q" a query parameter, "s" a
// member of the result, so that JS only moves the values into an object
// (apisign_nfon_sign, the hot path, writes values in fixed positions). It
// returns retFail on failure, with output field 0 the error code ("E_INPUT",
// …) and field 1 the message (never a secret), and retStale when the key
// handle is stale (the key table was cleared): JS then registers the key
// again and repeats the call once.
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

//go:generate env -u GOOS -u GOARCH go run abi_gen.go

import (
	"errors"
	"math"
	"strings"
	"time"
	"unsafe"

	"github.com/apisign/apisign/signers"
)

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
// The bound keeps a huge body from growing the Go heap until the runtime dies
// of it, which would end the module for the whole page.
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
	at := len(outBuf)
	outBuf = append(outBuf, s...)
	outEnd(at)
}

// outEnd ends an output field whose bytes the caller appended to outBuf from
// offset at on.
func outEnd(at int) {
	if outN == maxOut {
		panic("apisign: too many output fields")
	}
	ctl[ctlOutLen+outN] = uint32(len(outBuf) - at)
	outN++
}

// outTriple appends one (kind, name, value) entry of the output.
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
