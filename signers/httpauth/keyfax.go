package httpauth

import (
	"net/http"
	"strings"

	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/clock"
	"github.com/apisign/apisign/signers/keyfax"
)

// KeyfaxBasic is a RoundTripper that signs every request with Keyfax's server
// flow, `Authorization: Basic {HostName}:{ApiKey}:{Signature}:{Nonce}:{Timestamp}`,
// at the time Clock says and with a fresh nonce. The body is read (and left
// replayable) to hash it. The URI signed is the one the server reconstructs:
// scheme, the Host header (req.Host, else the URL's host) and the request-target
// as net/http sends it; when keyfax.WireURI has to encode something in that
// target (a raw space in the query, say), the request goes out with the encoded
// target, so that the server sees what was signed. The method is sent in upper
// case, as signed.
//
// Keyfax refuses timestamps outside its window (minutes): give it a
// *clock.Skewed and put a Skew with the same clock below it to follow the
// server's Date. Every request gets a new nonce, so a retried request is signed
// again: put Retry above this RoundTripper, not below.
//
//	signer, err := keyfax.NewSigner(hostName, apiKey, signingKey)
//	client := &http.Client{Transport: &httpauth.KeyfaxBasic{Signer: signer}}
type KeyfaxBasic struct {
	Signer *keyfax.Signer
	Clock  clock.Clock       // nil means clock.Real
	Base   http.RoundTripper // nil means http.DefaultTransport
}

func (t *KeyfaxBasic) RoundTrip(r *http.Request) (*http.Response, error) {
	const op = "httpauth.KeyfaxBasic"
	if t.Signer == nil {
		return nil, signers.E(signers.CodeConfig, op, "no signer")
	}
	if r.URL == nil || r.URL.Opaque != "" || r.URL.Host == "" {
		return nil, signers.E(signers.CodeInput, op, "request URL is not absolute")
	}
	clk := clock.Or(t.Clock)
	req, body, err := Prepare(r)
	if err != nil {
		return nil, err
	}
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	target := req.URL.RequestURI()
	sr := &signers.Request{Method: req.Method, URL: req.URL.Scheme + "://" + host + target, Body: body}
	if _, err := t.Signer.SignRequest(sr, clk.Now()); err != nil {
		return nil, err
	}
	if wire := wireTarget(target); wire != target {
		u, err := withTarget(req.URL, wire)
		if err != nil {
			return nil, signers.E(signers.CodeInternal, op, "encoded request-target does not parse")
		}
		req.URL = u
	}
	req.Method = sr.Method
	req.Header.Set("Authorization", sr.Header.Get("Authorization"))
	return base(t.Base).RoundTrip(req)
}

// wireTarget is keyfax.WireURI applied to a request-target alone.
func wireTarget(target string) string {
	const prefix = "http://h"
	w, err := keyfax.WireURI(prefix + target)
	if err != nil {
		return target
	}
	return strings.TrimPrefix(w, prefix)
}
