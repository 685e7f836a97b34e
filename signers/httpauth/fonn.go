package httpauth

import (
	"io"
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

// invalidator is the part of *token.Cache that drops a refused token.
type invalidator interface {
	Invalidate(t token.Token)
}

func (t *Fonn) RoundTrip(r *http.Request) (*http.Response, error) {
	if t.Token == nil {
		c := r.Clone(r.Context())
		if err := t.apply(c, t.Credentials.AccessToken); err != nil {
			return nil, err
		}
		return base(t.Base).RoundTrip(c)
	}
	inv, canRetry := t.Token.(invalidator)
	var req *http.Request
	var body []byte
	if canRetry {
		var err error
		if req, body, err = Prepare(r); err != nil {
			return nil, err
		}
	} else {
		req = r.Clone(r.Context())
	}
	ctx := req.Context()
	tok, err := t.Token.Token(ctx)
	if err != nil {
		return nil, err
	}
	resp, err := t.send(req, body, tok)
	if err != nil || !canRetry || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	inv.Invalidate(tok)
	if tok, err = t.Token.Token(ctx); err != nil {
		return nil, err
	}
	return t.send(req, body, tok)
}

// send sends a copy of req with the headers for tok, its body (when read) replayed.
func (t *Fonn) send(req *http.Request, body []byte, tok token.Token) (*http.Response, error) {
	c := req.Clone(req.Context())
	if body != nil {
		setBody(c, body)
	}
	if err := t.apply(c, tok.Value); err != nil {
		return nil, err
	}
	return base(t.Base).RoundTrip(c)
}

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
