package httpauth

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/clock"
	"github.com/apisign/apisign/signers/nfon"
)

// NFON is a RoundTripper that signs every request with the NFON-API scheme at the
// time Clock says. The body is read (and left replayable) to hash it; the
// request-target is the URL's path and query as net/http sends them, normalized by
// nfon.NormalizeResource, and when normalization changes it (a raw space or "[" in
// the query, say) the request goes out with the normalized target, so that the
// server sees what was signed. The Content-Type signed is the request's; a POST,
// PUT or PATCH without one is E_INPUT before anything is sent (NFON requires it),
// except an audio upload. A method whose content is never signed (GET, DELETE)
// goes out without a Content-Type, so that no header contradicts the signature.
//
// NFON's special characters "+", "/" and "=" go out percent-encoded where they
// are data (docs/PROTOCOLS.md, "NFON"): a raw "+" in the URL's query is a plus,
// signed and sent as %2B, never a space. To pass query parameters unencoded, as
// a phone number "+49" is, build the URL with NFONURL.
//
// An audio upload signs neither Content-MD5 nor Content-Type. A request with an
// audio/* Content-Type is one; an upload whose Content-Type does not say so (a
// multipart form carrying a sound file) is marked by Audio, the same predicate
// the server side gives nfon.Verifier.
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
	// Audio reports whether a request (its upper-case method and normalized
	// request-target, as nfon.Verifier.Audio receives them) uploads an audio
	// file whatever its Content-Type. nil: only audio/* Content-Types are.
	Audio func(method, resource string) bool
}

// NFONURL returns the URL of an NFON request: base (the API's root, such as
// "https://portal-api.nfon.net:8090", without query), then path in wire form,
// then the query pairs unencoded and in order, encoded as nfon.BuildResource
// does ("+49" -> "%2B49", "a=b" -> "a%3Db", space -> "%20"). The result is what
// the NFON RoundTripper signs and sends, unchanged:
//
//	u, err := httpauth.NFONURL(base, "/api/customers/K1234/phone-books", [][2]string{{"search", "+49"}})
//	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
//
// Errors (E_INPUT): a base that is not an absolute http(s) URL or carries a
// query or fragment; those of nfon.BuildResource.
func NFONURL(base, path string, query [][2]string) (string, error) {
	const op = "httpauth.NFONURL"
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Opaque != "" ||
		u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return "", signers.E(signers.CodeInput, op, "base must be an absolute http(s) URL without query")
	}
	res, err := nfon.BuildResource(path, query)
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(base, "/") + res, nil
}

func (t *NFON) RoundTrip(r *http.Request) (*http.Response, error) {
	const op = "httpauth.NFON"
	if t.Signer == nil {
		return nil, signers.E(signers.CodeConfig, op, "no signer")
	}
	if r.URL == nil || r.URL.Opaque != "" {
		return nil, signers.E(signers.CodeInput, op, "request URL has no path to sign")
	}
	clk := clock.Or(t.Clock)
	req, body, err := Prepare(r)
	if err != nil {
		return nil, err
	}
	target := req.URL.RequestURI()
	audio := false
	if t.Audio != nil {
		res, err := nfon.NormalizeResource(target)
		if err != nil {
			return nil, err
		}
		audio = t.Audio(strings.ToUpper(req.Method), res)
	}
	signed, err := t.Signer.Sign(nfon.Request{
		Method:      req.Method,
		Resource:    target,
		Body:        body,
		ContentType: req.Header.Get("Content-Type"),
		Date:        clk.Now(),
		Audio:       audio,
	})
	if err != nil {
		return nil, err
	}
	if !nfon.SignsContent(strings.ToUpper(req.Method), "") {
		// GET, DELETE and the like sign no content: a Content-Type sent with
		// them would contradict the string to sign.
		req.Header.Del("Content-Type")
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
