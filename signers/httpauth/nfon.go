package httpauth

import (
	"net/http"

	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/clock"
	"github.com/apisign/apisign/signers/nfon"
)

// NFON is a RoundTripper that signs every request with the NFON-API scheme at the
// time Clock says. The body is read (and left replayable) to hash it; the
// request-target is the URL's path and query as net/http sends them, normalized by
// nfon.NormalizeResource, and when normalization changes it (a raw space or "[" in
// the query, say) the request goes out with the normalized target, so that the
// server sees what was signed. The Content-Type signed is the request's.
//
// NFON refuses requests more than 15 minutes off its clock: give it a
// *clock.Skewed and put a Skew with the same clock below it to follow the
// server's Date.
//
//	signer, err := nfon.NewSigner(keyID, secret)
//	client := &http.Client{Transport: &httpauth.NFON{Signer: signer}}
type NFON struct {
	Signer *nfon.Signer
	Clock  clock.Clock       // nil means clock.Real
	Base   http.RoundTripper // nil means http.DefaultTransport
}

func (t *NFON) RoundTrip(r *http.Request) (*http.Response, error) {
	const op = "httpauth.NFON"
	if t.Signer == nil {
		return nil, signers.E(signers.CodeConfig, op, "no signer")
	}
	if r.URL == nil || r.URL.Opaque != "" {
		return nil, signers.E(signers.CodeInput, op, "request URL has no path to sign")
	}
	clk := t.Clock
	if clk == nil {
		clk = clock.Real
	}
	req, body, err := Prepare(r)
	if err != nil {
		return nil, err
	}
	target := req.URL.RequestURI()
	signed, err := t.Signer.Sign(nfon.Request{
		Method:      req.Method,
		Resource:    target,
		Body:        body,
		ContentType: req.Header.Get("Content-Type"),
		Date:        clk.Now(),
	})
	if err != nil {
		return nil, err
	}
	for k, v := range signed.Header {
		req.Header.Set(k, v)
	}
	if signed.Resource != target {
		u, err := withTarget(req.URL, signed.Resource)
		if err != nil {
			return nil, signers.E(signers.CodeInternal, op, "normalized request-target does not parse")
		}
		req.URL = u
	}
	return base(t.Base).RoundTrip(req)
}
