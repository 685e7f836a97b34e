//go:build !js

package httpauth

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apisign/apisign/internal/sandbox"
	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/clock"
	"github.com/apisign/apisign/signers/fonn"
	"github.com/apisign/apisign/signers/token"
)

const fonnKey = "fonn-subscription-key-0123456789"

// fonnAPI answers 200 when the subscription key is right and the token is one of
// good, 401 otherwise, recording every request.
type fonnAPI struct {
	good map[string]bool
	seen recorder[fonnSeen]
}

type fonnSeen struct {
	key, auth, user, body string
}

func (f *fonnAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s := fonnSeen{r.Header.Get("Ocp-Apim-Subscription-Key"), r.Header.Get("Authorization"),
		r.Header.Get("impersonatedUserExternalId"), string(b)}
	f.seen.add(s)
	if s.key != fonnKey || !f.good[s.auth] {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	io.WriteString(w, "ok")
}

func fonnDo(t *testing.T, rt http.RoundTripper, method, url, body string) (int, error) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = io.NopCloser(strings.NewReader(body)) // no GetBody: the transport must make it replayable
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Transport: rt, Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if req.Header.Get("Authorization") != "" {
		t.Fatal("the caller's request was changed")
	}
	return resp.StatusCode, nil
}

func TestFonnTransportStatic(t *testing.T) {
	api := &fonnAPI{good: map[string]bool{"static-token": true}}
	ts := httptest.NewServer(api)
	defer ts.Close()
	rt := &Fonn{Credentials: fonn.Credentials{SubscriptionKey: fonnKey, AccessToken: "static-token", ImpersonatedUserExternalID: "ext-7"}}
	status, err := fonnDo(t, rt, "POST", ts.URL+"/api/v1/projects", `{"name":"x"}`)
	if err != nil || status != 200 {
		t.Fatalf("%d, %v", status, err)
	}
	got := api.seen.list()
	want := fonnSeen{fonnKey, "static-token", "ext-7", `{"name":"x"}`}
	if len(got) != 1 || got[0] != want {
		t.Fatalf("server saw %+v, want %+v", got, want)
	}

	// Bad credentials never reach the server, and the message has no secret.
	for _, c := range []struct {
		cred fonn.Credentials
		code error
	}{
		{fonn.Credentials{AccessToken: "static-token"}, signers.ErrKey},
		{fonn.Credentials{SubscriptionKey: fonnKey + "\r\nX: 1", AccessToken: "static-token"}, signers.ErrKey},
		{fonn.Credentials{SubscriptionKey: fonnKey}, signers.ErrToken},
		{fonn.Credentials{SubscriptionKey: fonnKey, AccessToken: "static-token", ImpersonatedUserExternalID: "a\nb"}, signers.ErrInput},
	} {
		_, err := fonnDo(t, &Fonn{Credentials: c.cred}, "GET", ts.URL+"/api/v1/projects", "")
		if !errors.Is(err, c.code) {
			t.Errorf("%+v: %v, want %v", c.cred.ImpersonatedUserExternalID, err, c.code)
		}
		if err != nil && (strings.Contains(err.Error(), fonnKey) || strings.Contains(err.Error(), "static-token")) {
			t.Errorf("secret in %q", err)
		}
	}
	if n := len(api.seen.list()); n != 1 {
		t.Fatalf("%d requests reached the server", n)
	}
}

func TestFonnTransportTokenSource(t *testing.T) {
	api := &fonnAPI{good: map[string]bool{"tok-2": true}}
	ts := httptest.NewServer(api)
	defer ts.Close()
	var fetches atomic.Int32
	cache := token.NewCache(func(ctx context.Context, cur token.Token) (token.Token, error) {
		n := fetches.Add(1)
		return token.Token{Value: "tok-" + strconv.Itoa(int(n)), Expiry: t0.Add(time.Hour)}, nil
	}, time.Minute, clock.NewFake(t0))
	rt := &Transport{Source: cache, Authorizer: fonn.Authorizer{SubscriptionKey: fonnKey}}

	// tok-1 is refused: invalidated, tok-2 fetched, the request sent again with its body.
	status, err := fonnDo(t, rt, "PUT", ts.URL+"/api/v1/x", "body bytes \x00\xff")
	if err != nil || status != 200 {
		t.Fatalf("%d, %v", status, err)
	}
	got := api.seen.list()
	if len(got) != 2 || got[0].auth != "tok-1" || got[1].auth != "tok-2" || fetches.Load() != 2 {
		t.Fatalf("server saw %+v after %d fetches", got, fetches.Load())
	}
	for i, s := range got {
		if s.body != "body bytes \x00\xff" || s.key != fonnKey || s.user != "" {
			t.Fatalf("request %d: %+v", i, s)
		}
	}
	// The next call reuses tok-2.
	if status, err := fonnDo(t, rt, "GET", ts.URL+"/api/v1/x", ""); err != nil || status != 200 || fetches.Load() != 2 {
		t.Fatalf("%d, %v, %d fetches", status, err, fetches.Load())
	}

	// A second 401 is returned as it is: one retry, not a loop.
	api.good = map[string]bool{}
	api.seen.reset()
	status, err = fonnDo(t, rt, "GET", ts.URL+"/api/v1/x", "")
	if err != nil || status != 401 || len(api.seen.list()) != 2 || fetches.Load() != 3 {
		t.Fatalf("%d, %v, %d requests, %d fetches", status, err, len(api.seen.list()), fetches.Load())
	}
}

// staticSource is a flow.Source that cannot drop its token: a retry after a
// 401 gets the same token again.
type staticSource struct {
	tok token.Token
	err error
}

func (s staticSource) Token(context.Context) (token.Token, error) { return s.tok, s.err }
func (staticSource) Invalidate(token.Token)                       {}

func TestFonnTransportPlainSource(t *testing.T) {
	api := &fonnAPI{good: map[string]bool{"good": true}}
	ts := httptest.NewServer(api)
	defer ts.Close()
	rt := &Transport{Source: staticSource{tok: token.Token{Value: "bad"}}, Authorizer: fonn.Authorizer{SubscriptionKey: fonnKey}}
	if status, err := fonnDo(t, rt, "POST", ts.URL+"/x", "b"); err != nil || status != 401 || len(api.seen.list()) != 2 {
		t.Fatalf("%d, %v, %d requests", status, err, len(api.seen.list()))
	}
	rt.Source = staticSource{tok: token.Token{Value: "good"}}
	if status, err := fonnDo(t, rt, "POST", ts.URL+"/x", "b"); err != nil || status != 200 || api.seen.list()[2].body != "b" {
		t.Fatalf("%d, %v", status, err)
	}
	rt.Source = staticSource{err: signers.E(signers.CodeTokenExpired, "test", "no token")}
	if _, err := fonnDo(t, rt, "GET", ts.URL+"/x", ""); !errors.Is(err, signers.ErrTokenExpired) {
		t.Fatalf("source error: %v", err)
	}
	if n := len(api.seen.list()); n != 3 {
		t.Fatalf("%d requests", n)
	}
}

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
	c := &http.Client{Transport: &Fonn{
		Credentials: fonn.Credentials{SubscriptionKey: stale, AccessToken: cr.FonnAccessToken},
		Secondary:   cr.FonnSecondarySubscriptionKey,
		Base:        wire,
	}}
	for range 2 {
		if status, body, err := call(t, c, "GET", base+"/fonn/api/v1/projects", nil, nil); err != nil || status != 200 {
			t.Fatalf("%d %s %v", status, body, err)
		}
	}
	if want := []string{stale, cr.FonnSecondarySubscriptionKey, cr.FonnSecondarySubscriptionKey}; !slices.Equal(wire.seen.list(), want) {
		t.Fatalf("keys sent %q, want %q", wire.seen.list(), want)
	}
	// Without a secondary the gateway's 401 is the answer.
	c.Transport = &Fonn{Credentials: fonn.Credentials{SubscriptionKey: stale, AccessToken: cr.FonnAccessToken}}
	if status, _, err := call(t, c, "GET", base+"/fonn/api/v1/projects", nil, nil); err != nil || status != 401 {
		t.Fatalf("no secondary: %d %v", status, err)
	}
	// A bad access token with a good key: one request, the 401 returned.
	wire.seen.reset()
	c.Transport = &Fonn{Base: wire, Secondary: cr.FonnSecondarySubscriptionKey,
		Credentials: fonn.Credentials{SubscriptionKey: cr.FonnSubscriptionKey, AccessToken: "not-a-token"}}
	if status, _, err := call(t, c, "GET", base+"/fonn/api/v1/projects", nil, nil); err != nil || status != 401 || len(wire.seen.list()) != 1 {
		t.Fatalf("bad token: %d %v, %d requests", status, err, len(wire.seen.list()))
	}
	// Both keys refused: two requests, the 401 returned, no loop.
	wire.seen.reset()
	c.Transport = &Fonn{Base: wire, Secondary: "also-regenerated",
		Credentials: fonn.Credentials{SubscriptionKey: stale, AccessToken: cr.FonnAccessToken}}
	if status, _, err := call(t, c, "GET", base+"/fonn/api/v1/projects", nil, nil); err != nil || status != 401 || len(wire.seen.list()) != 2 {
		t.Fatalf("both keys refused: %d %v, %d requests", status, err, len(wire.seen.list()))
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
	c := &http.Client{Transport: &Fonn{Credentials: ws, Base: countingTransport{&sent}}}
	if _, _, err := call(t, c, "GET", base+"/fonn/api/v1/projects", nil, nil); !errors.Is(err, signers.ErrInput) || sent.Load() != 0 {
		t.Fatalf("workspace token without impersonation: %v, %d sent", err, sent.Load())
	}
	ws.Workspace = false // not told: the request goes, and Fonn refuses it
	c.Transport = &Fonn{Credentials: ws}
	if status, _, err := call(t, c, "GET", base+"/fonn/api/v1/projects", nil, nil); err != nil || status != 400 {
		t.Fatalf("untold workspace token: %d %v", status, err)
	}
	ws.Workspace, ws.ImpersonatedUserExternalID = true, "ext-42"
	c.Transport = &Fonn{Credentials: ws}
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
	c := &http.Client{Transport: &Transport{Source: src, Authorizer: fonn.Authorizer{SubscriptionKey: "regenerated-primary-key"}}}
	status, body, err := call(t, c, "GET", base+"/fonn/api/v1/projects", nil, nil)
	if err != nil || status != 401 || !fonn.KeyRefused(status, []byte(body)) || fetches.Load() != 1 {
		t.Fatalf("%d %s %v, %d token fetches", status, body, err, fetches.Load())
	}
}
