//go:build !js

package httpauth

import (
	"context"
	"encoding/base64"
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

	"github.com/apisign/apisign/internal/sandbox"
	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/clock"
	"github.com/apisign/apisign/signers/fortis"
	"github.com/apisign/apisign/signers/token"
)

func TestFortisAPIKeyTransport(t *testing.T) {
	type seen struct {
		header http.Header
		query  string
	}
	var got seen
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = seen{r.Header.Clone(), r.URL.RawQuery}
	}))
	defer srv.Close()
	for _, mode := range []fortis.Mode{fortis.ModeHeaders, fortis.ModeQuery, fortis.ModeBasic} {
		auth, err := fortis.APIKey("dev-1", "user 1", "key+1", mode)
		if err != nil {
			t.Fatal(err)
		}
		c := &http.Client{Transport: &FortisAPIKey{Auth: auth}}
		req, _ := http.NewRequest("GET", srv.URL+"/v2/contacts?page=2", nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if req.Header.Get("developer-id") != "" || req.URL.RawQuery != "page=2" {
			t.Fatalf("%s: the caller's request was changed", mode)
		}
		switch mode {
		case fortis.ModeHeaders:
			if got.header.Get("developer-id") != "dev-1" || got.header.Get("user-id") != "user 1" || got.header.Get("user-api-key") != "key+1" || got.query != "page=2" {
				t.Errorf("headers: %+v", got)
			}
		case fortis.ModeQuery:
			if got.query != "page=2&developer-id=dev-1&user-id=user+1&user-api-key=key%2B1" || got.header.Get("developer-id") != "" {
				t.Errorf("query: %+v", got)
			}
		case fortis.ModeBasic:
			if got.header.Get("developer-id") != "dev-1" || got.header.Get("Authorization") != "Basic "+base64.StdEncoding.EncodeToString([]byte("user 1:key+1")) {
				t.Errorf("basic: %+v", got)
			}
		}
	}
}

func TestFortisHMACTransport(t *testing.T) {
	clk := clock.NewFake(t0)
	var verr atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := FromHTTP(r.Header)
		err := fortis.VerifyHMAC(h, func(u string) (string, bool) { return "hk", u == "u1" }, clk.Now(), 0)
		if err != nil {
			verr.Store(err.Error())
			w.WriteHeader(401)
		}
	}))
	defer srv.Close()
	s, err := fortis.NewHMACSigner("dev-1", "u1", "hk")
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Transport: &FortisHMAC{Signer: s, Clock: clk}}
	resp, err := c.Get(srv.URL + "/v2/x")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("%v %v %v", resp, err, verr.Load())
	}
	resp.Body.Close()
	// A signer clock 20 minutes behind the server is refused.
	c.Transport = &FortisHMAC{Signer: s, Clock: clock.NewFake(t0.Add(-20 * time.Minute))}
	resp, err = c.Get(srv.URL + "/v2/x")
	if err != nil || resp.StatusCode != 401 || !strings.Contains(verr.Load().(string), "E_CLOCK") {
		t.Fatalf("%v %v %v", resp, err, verr.Load())
	}
	resp.Body.Close()
}

// fortisAPI emulates Fortis' token endpoint and one API route with the idle
// expiry (on the fake clock).
type fortisAPI struct {
	clk     *clock.Fake
	mu      sync.Mutex
	expiry  map[string]time.Time
	opens   int
	deletes int
	hits    int
	bodies  []string
	always  int // status the API route answers with, 0 = normal
}

func (f *fortisAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.clk.Now()
	switch {
	case r.Method == "POST" && r.URL.Path == "/v2/token":
		f.opens++
		tok := "tok-" + strconv.Itoa(f.opens)
		f.expiry[tok] = now.Add(15 * time.Minute)
		io.WriteString(w, `{"token":{"token":"`+tok+`","expire":15}}`)
	case r.Method == "DELETE" && strings.HasPrefix(r.URL.Path, "/v2/token/"):
		f.deletes++
		delete(f.expiry, strings.TrimPrefix(r.URL.Path, "/v2/token/"))
		w.WriteHeader(204)
	default:
		f.hits++
		b, _ := io.ReadAll(r.Body)
		f.bodies = append(f.bodies, string(b))
		tok := r.Header.Get("access-token")
		if tok == "" {
			tok = r.URL.Query().Get("access-token")
		}
		exp, ok := f.expiry[tok]
		if f.always != 0 {
			w.WriteHeader(f.always)
			return
		}
		if !ok || !now.Before(exp) || r.Header.Get("developer-id")+r.URL.Query().Get("developer-id") != "dev-1" {
			w.WriteHeader(401)
			return
		}
		f.expiry[tok] = now.Add(15 * time.Minute) // every successful request restarts the 15 minutes
		io.WriteString(w, tok)
	}
}

func TestFortisTokenTransport(t *testing.T) {
	clk := clock.NewFake(t0)
	api := &fortisAPI{clk: clk, expiry: map[string]time.Time{}}
	srv := httptest.NewServer(api)
	defer srv.Close()
	sess, err := fortis.NewSession(fortis.SessionConfig{
		BaseURL: srv.URL, DeveloperID: "dev-1", Username: "u", Password: "p", Domain: "dom",
		Doer: NewDoer(srv.Client()), Clock: clk,
	})
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Transport: &Transport{Source: sess, Authorizer: fortis.Authorizer{DeveloperID: "dev-1"}}}
	post := func(body string) (int, string) { return postAPI(t, c, srv.URL+"/v2/contacts", body) }

	if st, b := post("one"); st != 200 || b != "tok-1" {
		t.Fatalf("%d %s", st, b)
	}
	// Requests every 10 minutes keep the session alive (Touch), for 40 minutes.
	for i := 0; i < 4; i++ {
		clk.Advance(10 * time.Minute)
		if st, b := post("again"); st != 200 || b != "tok-1" {
			t.Fatalf("round %d: %d %s", i, st, b)
		}
	}
	if api.opens != 1 {
		t.Fatalf("opens = %d", api.opens)
	}

	// The server forgets the token behind the session's back: 401, one reopen,
	// one retry with the same body.
	api.mu.Lock()
	delete(api.expiry, "tok-1")
	api.bodies = nil
	api.mu.Unlock()
	if st, b := post("body \x00\xff replayed"); st != 200 || b != "tok-2" {
		t.Fatalf("after 401: %d %s", st, b)
	}
	if api.opens != 2 || len(api.bodies) != 2 || api.bodies[0] != api.bodies[1] || api.bodies[1] != "body \x00\xff replayed" {
		t.Fatalf("opens %d bodies %q", api.opens, api.bodies)
	}

	// An API that always answers 401: exactly one reopen and one retry, then the
	// 401; the refused token is dropped too.
	api.mu.Lock()
	api.always, api.hits = 401, 0
	api.mu.Unlock()
	if st, _ := post("x"); st != 401 || api.hits != 2 || api.opens != 3 || sess.Current().Value != "" {
		t.Fatalf("status %d hits %d opens %d", st, api.hits, api.opens)
	}

	// Query mode.
	api.mu.Lock()
	api.always = 0
	api.mu.Unlock()
	c.Transport = &Transport{Source: sess, Authorizer: fortis.Authorizer{DeveloperID: "dev-1", Query: true}}
	if st, b := post("q"); st != 200 || b != "tok-4" {
		t.Fatalf("query mode: %d %s", st, b)
	}
	if err := sess.Close(context.Background()); err != nil || api.deletes != 1 {
		t.Fatalf("close: %v, deletes %d", err, api.deletes)
	}
}

func TestFortisTransportConfigErrors(t *testing.T) {
	req, _ := http.NewRequest("GET", "http://127.0.0.1:1/", nil)
	if _, err := (&Transport{Source: &fortis.Session{}}).RoundTrip(req); signers.CodeOf(err) != signers.CodeConfig {
		t.Fatal(err)
	}
	if _, err := (&FortisHMAC{}).RoundTrip(req); signers.CodeOf(err) != signers.CodeConfig {
		t.Fatal(err)
	}
}

// Fortis: HMAC works on v2/accountform, accountvaults, payform,
// routeraccountvault, salestax and transactions only. Without Strict a request
// elsewhere is signed, sent and refused by the emulator; with Strict it is
// E_INPUT and never sent. Root places the endpoints below the emulator's path.
func TestFortisHMACStrictAgainstEmulator(t *testing.T) {
	sb, base := emulators(t, sandbox.Options{})
	cr := sb.Credentials()
	signer, err := fortis.NewHMACSigner(cr.FortisDeveloperID, cr.FortisUserID, cr.FortisUserHashKey)
	if err != nil {
		t.Fatal(err)
	}
	var sent atomic.Int32
	counted := countingTransport{&sent}
	loose := &http.Client{Transport: &FortisHMAC{Signer: signer, Base: counted}}
	strict := &http.Client{Transport: &FortisHMAC{Signer: signer, Strict: true, Root: "/fortis", Base: counted}}

	if status, body, err := call(t, loose, "GET", base+"/fortis/v2/contacts", nil, nil); err != nil || status != 401 {
		t.Fatalf("loose, contacts: %d %s %v", status, body, err)
	}
	if sent.Load() != 1 {
		t.Fatalf("%d requests sent", sent.Load())
	}
	for _, path := range []string{"/fortis/v2/contacts", "/fortis/v2/transactionsX", "/v2/transactions", "/fortis"} {
		_, _, err := call(t, strict, "GET", base+path, nil, nil)
		if !errors.Is(err, signers.ErrInput) || !strings.Contains(err.Error(), "v2/transactions") {
			t.Errorf("strict, %s: %v, want E_INPUT naming the endpoints", path, err)
		}
		if err != nil && strings.Contains(err.Error(), cr.FortisUserHashKey) {
			t.Errorf("secret in %q", err)
		}
	}
	if sent.Load() != 1 {
		t.Fatalf("strict mode sent %d requests", sent.Load()-1)
	}
	for _, c := range []*http.Client{loose, strict} {
		if status, body, err := call(t, c, "GET", base+"/fortis/v2/transactions", nil, nil); err != nil || status != 200 {
			t.Fatalf("transactions: %d %s %v", status, body, err)
		}
	}
}

// countingTransport counts the requests that reach the network.
type countingTransport struct{ n *atomic.Int32 }

func (c countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}

// Fortis OAuth as a mode of the one Transport: a token refused with 401 is
// replaced once from the OAuthSource, and the request sent again.
func TestFortisOAuthTransportAgainstEmulator(t *testing.T) {
	sb, base := emulators(t, sandbox.Options{})
	var fetches atomic.Int32
	src, err := fortis.NewOAuthSource(fortis.OAuthConfig{Fetch: func(_ context.Context, refused token.Token) (token.Token, error) {
		if fetches.Add(1) == 1 {
			return token.Token{Value: "revoked-by-fortis"}, nil
		}
		return token.Token{Value: sb.IssueFortisOAuthToken()}, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Transport: &Transport{Source: src,
		Authorizer: fortis.OAuthAuthorizer{DeveloperID: sb.Credentials().FortisDeveloperID}}}
	status, body, err := call(t, c, "GET", base+"/fortis/v2/transactions", nil, nil)
	if err != nil || status != 200 || fetches.Load() != 2 {
		t.Fatalf("%d %s %v, %d fetches", status, body, err, fetches.Load())
	}
	if status, _, err := call(t, c, "GET", base+"/fortis/v2/contacts", nil, nil); err != nil || status != 200 || fetches.Load() != 2 {
		t.Fatalf("second call: %d %v, %d fetches", status, err, fetches.Load())
	}
}
