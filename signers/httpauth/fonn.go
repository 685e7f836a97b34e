package httpauth

import (
	"net/http"

	"github.com/apisign/apisign/signers/fonn"
	"github.com/apisign/apisign/signers/token"
)

// Fonn is a RoundTripper that adds Fonn's headers (Ocp-Apim-Subscription-Key,
// Authorization with the raw access token, and impersonatedUserExternalId when
// set) to every request, built with fonn.Headers.
//
// The access token is Credentials.AccessToken, unless Token is set: then every
// request takes its token from Token and Credentials.AccessToken is ignored. When
// Token can also drop a refused token (it has Invalidate(token.Token), as
// *token.Cache does), a 401 answer invalidates the token and the request is sent
// once more with a fresh one, its body replayed byte for byte; a second 401 is
// returned as it is. A 429 is returned as it is: put a Retry above this.
//
//	client := &http.Client{Transport: &httpauth.Retry{Base: &httpauth.Fonn{
//		Credentials: fonn.Credentials{SubscriptionKey: key},
//		Token:       cache, // *token.Cache fetching Fonn access tokens
//	}}}
type Fonn struct {
	Credentials fonn.Credentials
	Token       token.Source      // optional source of the access token
	Base        http.RoundTripper // nil means http.DefaultTransport
}

func (t *Fonn) RoundTrip(r *http.Request) (*http.Response, error) {
	if t.Token == nil {
		c := r.Clone(r.Context())
		if err := t.apply(c, t.Credentials.AccessToken); err != nil {
			return nil, err
		}
		return base(t.Base).RoundTrip(c)
	}
	src, _ := t.Token.(RefreshableSource)
	refused := http.StatusUnauthorized
	if src == nil {
		src, refused = onceSource{t.Token}, 0 // nothing to drop: send once
	}
	return sendWithToken(r, src, refused, t.Base, func(c *http.Request, tok token.Token) error {
		return t.apply(c, tok.Value)
	})
}

// onceSource is a token.Source that cannot drop its token.
type onceSource struct{ token.Source }

func (onceSource) Invalidate(token.Token) {}

// apply sets the Fonn headers with the given access token on a request this
// package owns.
func (t *Fonn) apply(c *http.Request, accessToken string) error {
	cred := t.Credentials
	cred.AccessToken = accessToken
	h, err := fonn.Headers(cred)
	if err != nil {
		return err
	}
	for k, v := range h {
		c.Header.Set(k, v)
	}
	return nil
}
