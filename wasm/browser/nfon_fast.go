//go:build js && wasm

package main

import (
	"crypto/md5"
	"strings"
	"time"
	"unsafe"

	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/nfon"
)

// nfonDateLength is the length of a date in nfon.DateLayout (years 1..9999).
const nfonDateLength = len(nfon.DateLayout)

// exportNfonSign signs an NFON request with the key of handle. Inputs: method,
// path (the resource: path plus ?query), body, content type, time string, the
// query pairs (unencoded, every key and value followed by a NUL: JS cannot hand
// Go a list without syscall/js), and "1" for an audio upload; ms is the time in
// epoch milliseconds (see timeArg). Unlike the other exports, its
// output is values only, in the order of the nfonOut* numbers: JS reads them
// by position into an object of a fixed shape, which in V8 costs a fraction of
// building it from (kind, name, value) triples.
//
//go:wasmexport apisign_nfon_sign
func exportNfonSign(handle int32, ms float64) (ret int32) {
	defer recoverExport(&ret)
	e, ok := lookupKey(handle)
	if !ok {
		return retStale
	}
	if e.nfon == nil {
		return fail(signers.E(signers.CodeKey, "nfon.sign", "key handle is not an NFON key"))
	}
	f, ok := inputs(7)
	if !ok {
		return fail(signers.E(signers.CodeInternal, "nfon.sign", "input lengths do not fit the buffer"))
	}
	t, err := timeArg(ms, f[4])
	if err != nil {
		return fail(err)
	}
	if f[5] != "" || f[6] != "" {
		// A query or the audio flag: the core builds the resource (and its
		// encoding rule) from the pairs; not the hot path.
		q, err := nulPairs(f[5])
		if err != nil {
			return fail(err)
		}
		return nfonCore(e.nfon, nfon.Request{Method: f[0], Resource: f[1], Query: q, Body: bytesOf(f[2]), ContentType: f[3], Date: t, Audio: f[6] == "1"})
	}
	return nfonSign(e.nfon, f[0], f[1], bytesOf(f[2]), f[3], t)
}

// nulPairs reads key/value pairs written as key NUL value NUL ….
func nulPairs(s string) ([][2]string, error) {
	if s == "" {
		return nil, nil
	}
	parts := strings.Split(strings.TrimSuffix(s, "\x00"), "\x00")
	if len(parts)%2 != 0 || !strings.HasSuffix(s, "\x00") {
		return nil, signers.E(signers.CodeInput, "nfon.sign", "query pairs are malformed")
	}
	q := make([][2]string, 0, len(parts)/2)
	for i := 0; i < len(parts); i += 2 {
		q = append(q, [2]string{parts[i], parts[i+1]})
	}
	return q, nil
}

// nfonSign signs and writes the output. The common case (an upper-case method,
// a date in years 1..9999, a plain content type) runs here without allocating:
// the core's nfon.AppendStringToSign builds the string to sign straight into
// the output buffer, which is hashed there with the key's cached HMAC state.
// Everything else goes to the core's nfon.Signer.Sign, the reference, which
// also produces every error; the Go tests check that both paths give the same
// output for the same input.
func nfonSign(k *nfonKey, method, path string, body []byte, contentType string, t time.Time) int32 {
	date, ok := nfonDate(t)
	if !ok || !upperMethod(method) {
		return nfonSlow(k, method, path, body, contentType, t)
	}
	resource, err := nfon.NormalizeResource(path) // returns path itself when it is already in wire form
	if err != nil {
		return fail(err)
	}
	var md5Hex [2 * md5.Size]byte
	contentMD5, signedType := "", ""
	if nfon.SignsContent(method, contentType) {
		if contentType == "" || !plainHeaderValue(contentType) { // the core says why not
			return nfonSlow(k, method, path, body, contentType, t)
		}
		nfon.AppendContentMD5(md5Hex[:0], body)
		contentMD5, signedType = unsafe.String(&md5Hex[0], len(md5Hex)), contentType
	}
	outReset()
	outField(resource)
	at := len(outBuf)
	outBuf = nfon.AppendStringToSign(outBuf, method, contentMD5, signedType, date, resource)
	outEnd(at)
	sum := k.mac.sum(outBuf[at:])
	at = len(outBuf)
	outBuf = nfon.AppendAuthorization(outBuf, k.keyID, sum[:])
	outEnd(at)
	nfonHeaders(date, contentMD5, signedType)
	return 0
}

// nfonSlow signs with the core Signer and writes the same output as nfonSign.
func nfonSlow(k *nfonKey, method, path string, body []byte, contentType string, t time.Time) int32 {
	return nfonCore(k, nfon.Request{Method: method, Resource: path, Body: body, ContentType: contentType, Date: t})
}

// nfonCore signs r with the core Signer and writes the output.
func nfonCore(k *nfonKey, r nfon.Request) int32 {
	s, err := k.signer.Sign(r)
	if err != nil {
		return fail(err)
	}
	outReset()
	outField(s.Resource)
	outField(s.StringToSign)
	outField(s.Header[nfon.HeaderAuthorization])
	nfonHeaders(s.Header[nfon.HeaderDate], s.Header[nfon.HeaderContentMD5], s.Header[nfon.HeaderContentType])
	return 0
}

// nfonHeaders writes the output fields after Authorization, x-nfon-date,
// Content-MD5 and Content-Type ("" when not sent), and ends the output.
func nfonHeaders(date, contentMD5, contentType string) {
	outField(date)
	outField(contentMD5)
	outField(contentType)
	outDone()
}

// lastDate caches the formatted date of the last second signed: formatting
// costs more than half a microsecond, and a run of signatures shares its second.
var lastDate struct {
	unix int64
	b    [nfonDateLength]byte
	ok   bool
}

// nfonDate returns t in NFON's date layout, or ok=false for a year outside
// 1..9999 (the slow path reports that). The string is valid until the next call.
func nfonDate(t time.Time) (string, bool) {
	unix := t.Unix()
	if !lastDate.ok || lastDate.unix != unix {
		u := t.UTC()
		if y := u.Year(); y < 1 || y > 9999 {
			return "", false
		}
		u.AppendFormat(lastDate.b[:0], nfon.DateLayout)
		lastDate.unix, lastDate.ok = unix, true
	}
	return unsafe.String(&lastDate.b[0], nfonDateLength), true
}

// upperMethod: 1 to 20 upper-case ASCII letters, the methods the core signs as
// given.
func upperMethod(m string) bool {
	if m == "" || len(m) > 20 {
		return false
	}
	for i := 0; i < len(m); i++ {
		if m[i] < 'A' || m[i] > 'Z' {
			return false
		}
	}
	return true
}

// plainHeaderValue: no control bytes, no leading or trailing space; the core
// refuses anything else, so such a value goes to the slow path for its error.
func plainHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c == 0x7f {
			return false
		}
	}
	return v == "" || (v[0] != ' ' && v[len(v)-1] != ' ')
}
