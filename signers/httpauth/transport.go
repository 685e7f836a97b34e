package httpauth

import (
	"context"
	"net/http"
	"net/url"

	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/flow"
)

// Transport is the one token-authorized RoundTripper, the counterpart of
// oauth2.Transport: it sends every request through signers/flow with a token
// from Source, set the way Authorizer (the provider's rule) says. When the
// server refuses the token, the token is dropped (concurrent requests refused
// with the same token share one fetch) and the request sent once more with a
// fresh one, its body replayed byte for byte; a second refusal is returned as
// the answer it is, never looped on. An answer the Authorizer counts as
// activity is reported to a Source that keeps tokens alive by use
// (fortis.Session).
//
//	src, err := ansira.NewTokenSource(ansira.Config{Params: p, Doer: httpauth.NewDoer(nil)})
//	client := &http.Client{Transport: &httpauth.Retry{Base: &httpauth.Transport{
//		Source: src, Authorizer: ansira.Authorizer{},
//	}}}
//
// Authorizers per provider: keyfax.Authorizer (Bearer {HostName}:{JWT}, with a
// *keyfax.TokenSource), fortis.Authorizer (with a *fortis.Session),
// fortis.OAuthAuthorizer (Fortis OAuth, with a *fortis.OAuthSource),
// ansira.Authorizer (with an *ansira.TokenSource), fonn.Authorizer (with a
// *token.Cache of Fonn access tokens).
type Transport struct {
	Source     flow.Source
	Authorizer flow.Authorizer
	Base       http.RoundTripper // nil means http.DefaultTransport
}

func (t *Transport) RoundTrip(r *http.Request) (*http.Response, error) {
	const op = "httpauth.Transport"
	if t.Source == nil || t.Authorizer == nil {
		return nil, signers.E(signers.CodeConfig, op, "no token source or authorizer")
	}
	req, body, err := Prepare(r)
	if err != nil {
		return nil, err
	}
	plain := &signers.Request{Method: req.Method, URL: req.URL.String(), Header: FromHTTP(req.Header), Body: body}
	// The flow sees the status and header fields of each answer, and the start
	// of an error answer's body; the body stays a stream, and only the answer
	// that is returned is left open.
	var last *http.Response
	doer := signers.DoerFunc(func(ctx context.Context, a *signers.Request) (*signers.Response, error) {
		if last != nil {
			discard(last)
			last = nil
		}
		c := req.Clone(ctx)
		if body != nil {
			setBody(c, body)
		}
		if a.URL != plain.URL { // the token went into the query
			u, err := url.Parse(a.URL)
			if err != nil {
				return nil, signers.E(signers.CodeInternal, op, "authorized URL does not parse")
			}
			c.URL = u
		}
		for k, v := range a.Header {
			if plain.Header.Get(k) != v {
				c.Header.Set(k, v)
			}
		}
		resp, err := base(t.Base).RoundTrip(c)
		if err != nil {
			return nil, err
		}
		last = resp
		answer := &signers.Response{Status: resp.StatusCode, Header: FromHTTP(resp.Header)}
		if resp.StatusCode >= 400 { // an Authorizer may read why (fonn.KeyRefused)
			answer.Body = peekBody(resp)
		}
		return answer, nil
	})
	_, err = flow.Do(req.Context(), doer, t.Source, plain, t.Authorizer)
	if last != nil && (err == nil || signers.CodeOf(err) == signers.CodeTokenRefused) {
		return last, nil // a refusal is an answer: the caller reads its status
	}
	if last != nil {
		last.Body.Close()
	}
	return nil, err
}
