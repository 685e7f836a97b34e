//go:build !js

package httpauth

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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

	mu   sync.Mutex
	seen []fonnSeen
}

type fonnSeen struct {
	key, auth, user, body string
}

func (f *fonnAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s := fonnSeen{r.Header.Get("Ocp-Apim-Subscription-Key"), r.Header.Get("Authorization"),
		r.Header.Get("impersonatedUserExternalId"), string(b)}
	f.mu.Lock()
	f.seen = append(f.seen, s)
	f.mu.Unlock()
	if s.key != fonnKey || !f.good[s.auth] {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	io.WriteString(w, "ok")
}

func (f *fonnAPI) requests() []fonnSeen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fonnSeen(nil), f.seen...)
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
	got := api.requests()
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
	if n := len(api.requests()); n != 1 {
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
	got := api.requests()
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
	api.mu.Lock()
	api.good = map[string]bool{}
	api.seen = nil
	api.mu.Unlock()
	status, err = fonnDo(t, rt, "GET", ts.URL+"/api/v1/x", "")
	if err != nil || status != 401 || len(api.requests()) != 2 || fetches.Load() != 3 {
		t.Fatalf("%d, %v, %d requests, %d fetches", status, err, len(api.requests()), fetches.Load())
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
	if status, err := fonnDo(t, rt, "POST", ts.URL+"/x", "b"); err != nil || status != 401 || len(api.requests()) != 2 {
		t.Fatalf("%d, %v, %d requests", status, err, len(api.requests()))
	}
	rt.Source = staticSource{tok: token.Token{Value: "good"}}
	if status, err := fonnDo(t, rt, "POST", ts.URL+"/x", "b"); err != nil || status != 200 || api.requests()[2].body != "b" {
		t.Fatalf("%d, %v", status, err)
	}
	rt.Source = staticSource{err: signers.E(signers.CodeTokenExpired, "test", "no token")}
	if _, err := fonnDo(t, rt, "GET", ts.URL+"/x", ""); !errors.Is(err, signers.ErrTokenExpired) {
		t.Fatalf("source error: %v", err)
	}
	if n := len(api.requests()); n != 3 {
		t.Fatalf("%d requests", n)
	}
}
