package httpauth

import (
	"net/http"
	"sync/atomic"

	"github.com/apisign/apisign/signers/fonn"
)

// Fonn is a RoundTripper that adds Fonn's headers (Ocp-Apim-Subscription-Key,
// Authorization with the raw access token, and impersonatedUserExternalId when
// set) to every request, built with fonn.Headers, for a fixed access token. With
// a token that is fetched and renewed, use a Transport with a fonn.Authorizer
// instead: it also gets one fresh token when Fonn refuses one. A 429 is returned
// as it is: put a Retry above this, and a Pace below it with the
// subscription's rate to spread calls evenly, as Fonn asks.
//
// A subscription has two keys so that one can be regenerated without downtime
// (docs/PROTOCOLS.md, "Fonn"). With Secondary set, a request whose key the
// gateway refuses (fonn.KeyRefused) is sent once more with the other key, its
// body replayed, and the key that was accepted is used first from then on.
//
// With a Workspace Access Token (Credentials.Workspace), Fonn requires
// impersonation on project-scoped endpoints: a request without
// ImpersonatedUserExternalID is E_INPUT and never sent. Send the calls outside
// project scope (creating an organization) through a Fonn whose Workspace is
// false.
//
//	client := &http.Client{Transport: &httpauth.Retry{Base: &httpauth.Fonn{
//		Credentials: fonn.Credentials{SubscriptionKey: primary, AccessToken: tok},
//		Secondary:   secondary,
//	}}}
type Fonn struct {
	Credentials fonn.Credentials  // SubscriptionKey is the primary key
	Secondary   string            // the subscription's other key; optional
	Base        http.RoundTripper // nil means http.DefaultTransport

	accepted atomic.Pointer[string] // the key the gateway last accepted after a refusal
}

func (t *Fonn) RoundTrip(r *http.Request) (*http.Response, error) {
	if err := fonn.RequireImpersonation(t.Credentials); err != nil {
		return nil, err
	}
	if t.Secondary == "" {
		return t.send(r, t.Credentials.SubscriptionKey)
	}
	keys := fonn.Keys{Primary: t.Credentials.SubscriptionKey, Secondary: t.Secondary}
	if err := keys.Check(); err != nil {
		return nil, err
	}
	key := keys.Primary
	if k := t.accepted.Load(); k != nil && (*k == keys.Primary || *k == keys.Secondary) {
		key = *k
	}
	req, body, err := Prepare(r)
	if err != nil {
		return nil, err
	}
	resp, err := t.send(req, key)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	if !fonn.KeyRefused(resp.StatusCode, peekBody(resp)) {
		return resp, nil
	}
	other, _ := keys.Other(key)
	discard(resp)
	again := req.Clone(req.Context())
	if body != nil {
		setBody(again, body)
	}
	resp, err = t.send(again, other)
	if err == nil && !fonn.KeyRefused(resp.StatusCode, peekBody(resp)) {
		t.accepted.Store(&other)
	}
	return resp, err
}

// send sends a clone of r with the Fonn headers, key as the subscription key.
func (t *Fonn) send(r *http.Request, key string) (*http.Response, error) {
	cred := t.Credentials
	cred.SubscriptionKey = key
	h, err := fonn.Headers(cred)
	if err != nil {
		return nil, err
	}
	c := r.Clone(r.Context())
	for k, v := range h {
		c.Header.Set(k, v)
	}
	return base(t.Base).RoundTrip(c)
}
