//go:build js && wasm

package main

import (
	"github.com/apisign/apisign/signers/weburl"
	"slices"
	"strings"

	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/ansira"
	"github.com/apisign/apisign/signers/fonn"
	"github.com/apisign/apisign/signers/fortis"
	"github.com/apisign/apisign/signers/keyfax"
)

// callInputs is the number of input fields of each function.
var callInputs = map[int32]int{
	fnKeyfaxBasic: 5, fnKeyfaxBearer: 2, fnFortisHMAC: 3, fnFortisAPIKey: 4, fnFonnHeaders: 3, fnAnsiraToken: 5,
}

// exportCall runs one of the pure functions other than NFON's (the fn*
// numbers of abi_layout.go). They are not on anyone's hot path, so they call
// the core directly and may allocate.
//
//go:wasmexport apisign_call
func exportCall(fn, handle int32, ms float64) (ret int32) {
	defer recoverExport(&ret)
	f, ok := inputs(callInputs[fn])
	if !ok {
		return fail(signers.E(signers.CodeInternal, "apisign.call", "input lengths do not fit the buffer"))
	}
	var key keyEntry
	if fn == fnKeyfaxBasic || fn == fnFortisHMAC {
		if key, ok = lookupKey(handle); !ok {
			return retStale
		}
	}
	outReset()
	var err error
	switch fn {
	case fnKeyfaxBasic:
		err = keyfaxBasic(key.keyfax, f, ms)
	case fnKeyfaxBearer:
		var v string
		if v, err = keyfax.Bearer(f[0], f[1]); err == nil {
			outTriple("s", "value", v)
		}
	case fnFortisHMAC:
		err = fortisHMAC(key.fortis, f, ms)
	case fnFortisAPIKey:
		err = fortisAPIKey(f)
	case fnFonnHeaders:
		var h signers.Header
		if h, err = fonn.Headers(fonn.Credentials{SubscriptionKey: f[0], AccessToken: f[1], ImpersonatedUserExternalID: f[2]}); err == nil {
			outHeaders(h)
		}
	case fnAnsiraToken:
		err = ansiraTokenRequest(f)
	default:
		err = signers.E(signers.CodeInput, "apisign.call", "unknown function")
	}
	if err != nil {
		return fail(err)
	}
	outDone()
	return 0
}

type inputs8 = [8]string

func keyfaxBasic(s *keyfax.Signer, f inputs8, ms float64) error {
	if s == nil {
		return signers.E(signers.CodeKey, "keyfax.basic", "key handle is not a Keyfax key")
	}
	method, uri, body, nonce := f[0], f[1], f[2], f[3]
	t, err := timeArg(ms, f[4])
	if err != nil {
		return err
	}
	if nonce == "" {
		if nonce, err = keyfax.NewNonce(); err != nil {
			return err
		}
	}
	ts := keyfax.Timestamp(t)
	signed, err := s.Basic(method, uri, bytesOf(body), ts, nonce)
	if err != nil {
		return err
	}
	outHeaders(signed.Header)
	outTriple("s", "stringToSign", signed.StringToSign)
	outTriple("s", "signature", signed.Signature)
	outTriple("s", "nonce", nonce)
	outTriple("s", "timestamp", ts)
	outTriple("s", "method", strings.ToUpper(method))
	return nil
}

func fortisHMAC(s *fortis.HMACSigner, f inputs8, ms float64) error {
	if s == nil {
		return signers.E(signers.CodeKey, "fortis.hmac", "key handle is not a Fortis key")
	}
	t, err := timeArg(ms, f[0])
	if err != nil {
		return err
	}
	var signed fortis.Signed
	if f[2] == "1" { // strict: refuse an endpoint outside the document's HMAC list
		signed, err = s.SignFor(f[1], t)
	} else {
		signed, err = s.Sign(t)
	}
	if err != nil {
		return err
	}
	outHeaders(signed.Header)
	outTriple("s", "stringToSign", signed.StringToSign)
	return nil
}

func fortisAPIKey(f inputs8) error {
	a, err := fortis.APIKey(f[0], f[1], f[2], fortis.Mode(f[3]))
	if err != nil {
		return err
	}
	outHeaders(a.Header)
	var qs strings.Builder
	for i, kv := range a.Query {
		outTriple("q", kv[0], kv[1])
		if i > 0 {
			qs.WriteByte('&')
		}
		qs.WriteString(weburl.QueryEscape(kv[0]))
		qs.WriteByte('=')
		qs.WriteString(weburl.QueryEscape(kv[1]))
	}
	outTriple("s", "queryString", qs.String())
	return nil
}

func ansiraTokenRequest(f inputs8) error {
	req, err := ansira.TokenRequest(ansira.TokenRequestParams{
		TokenURL: f[0], ClientID: f[1], ClientSecret: f[2], Assertion: f[3], Scope: f[4],
	})
	if err != nil {
		return err
	}
	outTriple("s", "url", req.URL)
	outTriple("s", "method", req.Method)
	outHeaders(req.Header)
	outTriple("s", "body", string(req.Body))
	return nil
}

// outHeaders writes h as "h" triples in name order, so that the JS object's
// key order is stable.
func outHeaders(h signers.Header) {
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		outTriple("h", k, h[k])
	}
}
