package httpauth

import (
	"net/http"

	"github.com/apisign/apisign/signers/fonn"
)

// Fonn is a RoundTripper that adds Fonn's headers (Ocp-Apim-Subscription-Key,
// Authorization with the raw access token, and impersonatedUserExternalId when
// set) to every request, built with fonn.Headers, for a fixed access token. With
// a token that is fetched and renewed, use a Transport with a fonn.Authorizer
// instead: it also gets one fresh token when Fonn refuses one. A 429 is returned
// as it is: put a Retry above this.
//
//	client := &http.Client{Transport: &httpauth.Retry{Base: &httpauth.Fonn{
//		Credentials: fonn.Credentials{SubscriptionKey: key, AccessToken: tok},
//	}}}
type Fonn struct {
	Credentials fonn.Credentials
	Base        http.RoundTripper // nil means http.DefaultTransport
}

func (t *Fonn) RoundTrip(r *http.Request) (*http.Response, error) {
	h, err := fonn.Headers(t.Credentials)
	if err != nil {
		return nil, err
	}
	c := r.Clone(r.Context())
	for k, v := range h {
		c.Header.Set(k, v)
	}
	return base(t.Base).RoundTrip(c)
}
