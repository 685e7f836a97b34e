//go:build !js

package httpauth_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/apisign/apisign/internal/sandbox"
	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/fonn"
	"github.com/apisign/apisign/signers/httpauth"
	"github.com/apisign/apisign/signers/token"
)

// Fonn: two subscription keys "for seamlessly changing access keys without
// service interruption". The primary was regenerated (the configured one is
// now refused by the gateway): the request goes once more with the secondary,
// and later requests use the secondary first. A refused access token is not a
// refused key: it is returned without trying the other key.
func TestFonnSecondaryKeyAgainstEmulator(t *testing.T) {
	sb, base := emulators(t, sandbox.Options{})
	cr := sb.Credentials()
	wire := &headerLog{name: "Ocp-Apim-Subscription-Key"}
	const stale = "regenerated-primary-key"
	c := &http.Client{Transport: &httpauth.Fonn{
		Credentials: fonn.Credentials{SubscriptionKey: stale, AccessToken: cr.FonnAccessToken},
		Secondary:   cr.FonnSecondarySubscriptionKey,
		Base:        wire,
	}}
	for range 2 {
		if status, body, err := call(t, c, "GET", base+"/fonn/api/v1/projects", nil, nil); err != nil || status != 200 {
			t.Fatalf("%d %s %v", status, body, err)
		}
	}
	if want := []string{stale, cr.FonnSecondarySubscriptionKey, cr.FonnSecondarySubscriptionKey}; !slices.Equal(wire.seen, want) {
		t.Fatalf("keys sent %q, want %q", wire.seen, want)
	}
	// Without a secondary the gateway's 401 is the answer.
	c.Transport = &httpauth.Fonn{Credentials: fonn.Credentials{SubscriptionKey: stale, AccessToken: cr.FonnAccessToken}}
	if status, _, err := call(t, c, "GET", base+"/fonn/api/v1/projects", nil, nil); err != nil || status != 401 {
		t.Fatalf("no secondary: %d %v", status, err)
	}
	// A bad access token with a good key: one request, the 401 returned.
	wire.seen = nil
	c.Transport = &httpauth.Fonn{Base: wire, Secondary: cr.FonnSecondarySubscriptionKey,
		Credentials: fonn.Credentials{SubscriptionKey: cr.FonnSubscriptionKey, AccessToken: "not-a-token"}}
	if status, _, err := call(t, c, "GET", base+"/fonn/api/v1/projects", nil, nil); err != nil || status != 401 || len(wire.seen) != 1 {
		t.Fatalf("bad token: %d %v, %d requests", status, err, len(wire.seen))
	}
	// Both keys refused: two requests, the 401 returned, no loop.
	wire.seen = nil
	c.Transport = &httpauth.Fonn{Base: wire, Secondary: "also-regenerated",
		Credentials: fonn.Credentials{SubscriptionKey: stale, AccessToken: cr.FonnAccessToken}}
	if status, _, err := call(t, c, "GET", base+"/fonn/api/v1/projects", nil, nil); err != nil || status != 401 || len(wire.seen) != 2 {
		t.Fatalf("both keys refused: %d %v, %d requests", status, err, len(wire.seen))
	}
}

// Fonn: "User impersonation is mandatory in requests made to project scoped
// endpoints when authorized by Workspace Access Token". Told its token is a
// workspace token, the Fonn RoundTripper refuses such a request (E_INPUT)
// before sending; the emulator would refuse it too.
func TestFonnWorkspaceTokenNeedsImpersonation(t *testing.T) {
	sb, base := emulators(t, sandbox.Options{})
	cr := sb.Credentials()
	var sent atomic.Int32
	ws := fonn.Credentials{SubscriptionKey: cr.FonnSubscriptionKey, AccessToken: cr.FonnWorkspaceToken, Workspace: true}
	c := &http.Client{Transport: &httpauth.Fonn{Credentials: ws, Base: countingTransport{&sent}}}
	if _, _, err := call(t, c, "GET", base+"/fonn/api/v1/projects", nil, nil); !errors.Is(err, signers.ErrInput) || sent.Load() != 0 {
		t.Fatalf("workspace token without impersonation: %v, %d sent", err, sent.Load())
	}
	ws.Workspace = false // not told: the request goes, and Fonn refuses it
	c.Transport = &httpauth.Fonn{Credentials: ws}
	if status, _, err := call(t, c, "GET", base+"/fonn/api/v1/projects", nil, nil); err != nil || status != 400 {
		t.Fatalf("untold workspace token: %d %v", status, err)
	}
	ws.Workspace, ws.ImpersonatedUserExternalID = true, "ext-42"
	c.Transport = &httpauth.Fonn{Credentials: ws}
	if status, body, err := call(t, c, "GET", base+"/fonn/api/v1/projects", nil, nil); err != nil || status != 200 {
		t.Fatalf("impersonating: %d %s %v", status, body, err)
	}
}

// Through the one Transport, the Authorizer sees the start of an error
// answer's body: the gateway refusing the subscription key (fonn.KeyRefused)
// is not taken for a refused token, so no token is fetched in vain.
func TestFonnTransportKeyRefusalIsNotATokenRefusal(t *testing.T) {
	sb, base := emulators(t, sandbox.Options{})
	var fetches atomic.Int32
	src := token.NewCache(func(context.Context, token.Token) (token.Token, error) {
		fetches.Add(1)
		return token.Token{Value: sb.Credentials().FonnAccessToken}, nil
	}, 0, nil)
	c := &http.Client{Transport: &httpauth.Transport{Source: src, Authorizer: fonn.Authorizer{SubscriptionKey: "regenerated-primary-key"}}}
	status, body, err := call(t, c, "GET", base+"/fonn/api/v1/projects", nil, nil)
	if err != nil || status != 401 || !fonn.KeyRefused(status, []byte(body)) || fetches.Load() != 1 {
		t.Fatalf("%d %s %v, %d token fetches", status, body, err, fetches.Load())
	}
}
