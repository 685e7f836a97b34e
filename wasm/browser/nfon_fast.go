//go:build js && wasm

package main

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"time"

	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/nfon"
)

// Per-function words of ctl after apisign_nfon_sign. The output is one run of
// bytes: the string to sign followed by the base64 signature. JS decodes it
// once and slices the header values out of it: the method, Content-MD5, the date
// and the resource are ASCII, so their character offsets are byte offsets, and
// the Content-Type (the only field that may be non-ASCII) is the caller's own
// string.
const (
	ctlNfonSTS     = ctlFn + 0 // bytes of the string to sign
	ctlNfonRes     = ctlFn + 1 // bytes of the resource, the last line
	ctlNfonMethod  = ctlFn + 2 // bytes of the method, the first line
	ctlNfonFlags   = ctlFn + 3 // nfonMD5 | nfonType: which optional headers to send
	ctlNfonDate    = ctlFn + 4 // bytes of the date, the line before the resource
	ctlNfonSig     = ctlFn + 5 // bytes of the signature, after the string to sign
	nfonMD5        = 1         // send Content-MD5 (it is the second line)
	nfonType       = 2         // send Content-Type (the caller's content type)
	nfonDateLength = len(nfon.DateLayout)
)

// exportNfonSign signs an NFON request with the key of handle. Inputs: method,
// path (the resource: path plus ?query), body, content type, time string; ms is
// the time in epoch milliseconds (see timeArg).
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
	f, ok := inputs(5)
	if !ok {
		return fail(signers.E(signers.CodeInternal, "nfon.sign", "input lengths do not fit the buffer"))
	}
	t, err := timeArg(ms, f[4])
	if err != nil {
		return fail(err)
	}
	return nfonSign(e.nfon, f[0], f[1], bytesOf(f[2]), f[3], t)
}

// nfonSign signs and writes the output. The common case (an upper-case method,
// a date in years 1..9999, a plain content type) runs here without allocating:
// the string to sign is built straight into the output buffer and hashed with
// the key's cached HMAC state. Everything else goes to the core's
// nfon.Signer.Sign, the reference, which also produces every error; the Go
// tests check that both paths give the same output for the same input.
func nfonSign(k *nfonKey, method, path string, body []byte, contentType string, t time.Time) int32 {
	date, ok := nfonDate(t)
	if !ok || !upperMethod(method) {
		return nfonSlow(k, method, path, body, contentType, t)
	}
	resource, err := nfon.NormalizeResource(path) // returns path itself when it is already in wire form
	if err != nil {
		return fail(err)
	}
	content := nfon.SignsContent(method, contentType)
	if content && !plainHeaderValue(contentType) {
		return nfonSlow(k, method, path, body, contentType, t)
	}
	outReset()
	o := append(outBuf, method...)
	o = append(o, '\n')
	flags := uint32(0)
	if content {
		sum := md5.Sum(body)
		o = hex.AppendEncode(o, sum[:])
		o = append(o, '\n')
		o = append(o, contentType...)
		o = append(o, '\n')
		flags = nfonMD5
		if contentType != "" {
			flags |= nfonType
		}
	}
	o = append(o, date...)
	o = append(o, '\n')
	o = append(o, resource...)
	sts := len(o)
	sum := k.mac.sum(o)
	o = base64.StdEncoding.AppendEncode(o, sum[:])
	outBuf = o
	nfonDone(sts, len(resource), len(method), flags, nfonDateLength, len(o)-sts)
	return 0
}

// nfonSlow signs with the core Signer and writes the same output as nfonSign.
func nfonSlow(k *nfonKey, method, path string, body []byte, contentType string, t time.Time) int32 {
	s, err := k.signer.Sign(nfon.Request{Method: method, Resource: path, Body: body, ContentType: contentType, Date: t})
	if err != nil {
		return fail(err)
	}
	auth := s.Header[nfon.HeaderAuthorization]
	sig := auth[strings.LastIndexByte(auth, ':')+1:]
	flags := uint32(0)
	if _, ok := s.Header[nfon.HeaderContentMD5]; ok {
		flags |= nfonMD5
	}
	if _, ok := s.Header[nfon.HeaderContentType]; ok {
		flags |= nfonType
	}
	outReset()
	outBuf = append(outBuf, s.StringToSign...)
	outBuf = append(outBuf, sig...)
	nfonDone(len(s.StringToSign), len(s.Resource), strings.IndexByte(s.StringToSign, '\n'), flags,
		len(s.Header[nfon.HeaderDate]), len(sig))
	return 0
}

// lastDate caches the formatted date of the last second signed: formatting
// costs more than half a microsecond, and a run of signatures shares its second.
var lastDate struct {
	unix int64
	b    [nfonDateLength]byte
	ok   bool
}

// nfonDate returns t in NFON's date layout, or ok=false for a year outside
// 1..9999 (the slow path reports that). The bytes are valid until the next call.
func nfonDate(t time.Time) ([]byte, bool) {
	unix := t.Unix()
	if !lastDate.ok || lastDate.unix != unix {
		u := t.UTC()
		if y := u.Year(); y < 1 || y > 9999 {
			return nil, false
		}
		u.AppendFormat(lastDate.b[:0], nfon.DateLayout)
		lastDate.unix, lastDate.ok = unix, true
	}
	return lastDate.b[:], true
}

func nfonDone(sts, res, method int, flags uint32, date, sig int) {
	ctl[ctlNfonSTS] = uint32(sts)
	ctl[ctlNfonRes] = uint32(res)
	ctl[ctlNfonMethod] = uint32(method)
	ctl[ctlNfonFlags] = flags
	ctl[ctlNfonDate] = uint32(date)
	ctl[ctlNfonSig] = uint32(sig)
	outN = 0
	outDone()
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
