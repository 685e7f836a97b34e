package httpauth

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/clock"
	"github.com/apisign/apisign/signers/fortis"
)

// FortisAPIKey is a RoundTripper that adds Fortis API-key credentials, built
// with fortis.APIKey, to every request: as headers (headers and basic mode) or
// appended to the query string (query mode).
//
//	auth, err := fortis.APIKey(developerID, userID, userAPIKey, fortis.ModeHeaders)
//	client := &http.Client{Transport: &httpauth.FortisAPIKey{Auth: auth}}
type FortisAPIKey struct {
	Auth fortis.Auth
	Base http.RoundTripper // nil means http.DefaultTransport
}

func (t *FortisAPIKey) RoundTrip(r *http.Request) (*http.Response, error) {
	c := r.Clone(r.Context())
	applyFortis(c, t.Auth.Header, t.Auth.Query)
	return base(t.Base).RoundTrip(c)
}

// applyFortis sets header fields and appends query parameters (encoded with
// url.QueryEscape, like fortis.AppendQuery) on a request this package owns.
func applyFortis(c *http.Request, h signers.Header, q [][2]string) {
	for k, v := range h {
		c.Header.Set(k, v)
	}
	if len(q) == 0 {
		return
	}
	raw := c.URL.RawQuery
	for _, kv := range q {
		if raw != "" {
			raw += "&"
		}
		raw += url.QueryEscape(kv[0]) + "=" + url.QueryEscape(kv[1])
	}
	c.URL.RawQuery = raw
}

// FortisHMAC is a RoundTripper that signs every request with Fortis' HMAC method
// (developer-id, user-id, timestamp, hash-key) at the time Clock says. Fortis
// refuses timestamps more than 15 minutes off: give it a *clock.Skewed and put a
// Skew with the same clock below it to follow the server's Date.
//
// Fortis supports HMAC on six endpoints only (fortis.HMACEndpoints); elsewhere
// it refuses the request. Strict catches that before sending: a request to any
// other path is E_INPUT and never leaves the client.
//
//	signer, err := fortis.NewHMACSigner(developerID, userID, userHashKey)
//	client := &http.Client{Transport: &httpauth.FortisHMAC{Signer: signer, Strict: true}}
type FortisHMAC struct {
	Signer *fortis.HMACSigner
	Clock  clock.Clock       // nil means clock.Real
	Base   http.RoundTripper // nil means http.DefaultTransport
	// Strict refuses requests outside fortis.HMACEndpoints (see
	// fortis.HMACSigner.SignFor).
	Strict bool
	// Root is the path the API's "v2/..." paths are below, for Strict: "" for
	// Fortis itself (https://api.fortis.tech/v2/...), "/sandbox/fortis" for an
	// emulator or proxy that serves the API under a path.
	Root string
}

func (t *FortisHMAC) RoundTrip(r *http.Request) (*http.Response, error) {
	clk := clock.Or(t.Clock)
	if t.Signer == nil {
		return nil, signers.E(signers.CodeConfig, "httpauth.FortisHMAC", "no signer")
	}
	var s fortis.Signed
	var err error
	if t.Strict {
		// A path outside Root is passed as "", which no endpoint matches.
		rest, ok := strings.CutPrefix(r.URL.EscapedPath(), strings.TrimSuffix(t.Root, "/"))
		if !ok || !strings.HasPrefix(rest, "/") {
			rest = ""
		}
		s, err = t.Signer.SignFor(rest, clk.Now())
	} else {
		s, err = t.Signer.Sign(clk.Now())
	}
	if err != nil {
		return nil, err
	}
	c := r.Clone(r.Context())
	applyFortis(c, s.Header, nil)
	return base(t.Base).RoundTrip(c)
}
