//go:build !js

package httpauth

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/ansira"
	"github.com/apisign/apisign/signers/clock"
)

// ansiraAPI plays Ansira's token endpoint (/token) and an API route (/api) on
// one 127.0.0.1 server, counting hits. Each token request invalidates the
// earlier tokens, as Ansira's do.
type ansiraAPI struct {
	mu           sync.Mutex
	tokenHits    int
	apiHits      int
	current      string
	bodies       []string
	always403    bool
	always401    bool
	cacheControl string // of the last API call
	tokenFail    int
	serial       int // names tokens; never reset, so that no token value comes back
}

func (a *ansiraAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch r.URL.Path {
	case "/token":
		a.tokenHits++
		if r.Header.Get("Authorization") != "Basic Yzpz" || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			w.WriteHeader(401)
			return
		}
		if a.tokenFail != 0 {
			w.WriteHeader(a.tokenFail)
			return
		}
		a.serial++
		a.current = "at-" + strconv.Itoa(a.serial)
		io.WriteString(w, `{"token_type":"Bearer","access_token":"`+a.current+`","scope":"s","claims":{},"expires_in":3600}`)
	case "/api":
		a.apiHits++
		b, _ := io.ReadAll(r.Body)
		a.bodies = append(a.bodies, string(b))
		a.cacheControl = r.Header.Get("Cache-Control")
		if a.always401 {
			w.WriteHeader(401)
			return
		}
		if a.always403 || r.Header.Get("Authorization") != "Bearer "+a.current {
			w.WriteHeader(403)
			return
		}
		io.WriteString(w, a.current)
	default:
		http.NotFound(w, r)
	}
}

func newAnsira(t *testing.T) (*ansiraAPI, *httptest.Server, *ansira.TokenSource) {
	api := &ansiraAPI{}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	src, err := ansira.NewTokenSource(ansira.Config{
		Params: ansira.TokenRequestParams{TokenURL: srv.URL + "/token", ClientID: "c", ClientSecret: "s", Assertion: "h.p.s", Scope: "s"},
		Doer:   NewDoer(srv.Client()), Clock: clock.NewFake(t0),
	})
	if err != nil {
		t.Fatal(err)
	}
	return api, srv, src
}

func postAPI(t *testing.T, c *http.Client, url, body string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", url, strings.NewReader(body))
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestAnsiraTransport403RefreshesOnce(t *testing.T) {
	api, srv, src := newAnsira(t)
	c := &http.Client{Transport: &Transport{Source: src, Authorizer: ansira.Authorizer{}}}
	if st, b := postAPI(t, c, srv.URL+"/api", "first"); st != 200 || b != "at-1" {
		t.Fatalf("%d %s", st, b)
	}
	if api.cacheControl != "no-cache" { // Ansira lists it with every API call
		t.Fatalf("Cache-Control %q", api.cacheControl)
	}
	// Somebody else fetched a token: ours is dead. One refresh, one retry, same body.
	api.mu.Lock()
	api.current, api.apiHits, api.tokenHits, api.bodies = "someone-else", 0, 0, nil
	api.mu.Unlock()
	body := "payload \x00\xff\r\n with bytes"
	if st, b := postAPI(t, c, srv.URL+"/api", body); st != 200 || b != "at-2" {
		t.Fatalf("after 403: %d %s", st, b)
	}
	if api.apiHits != 2 || api.tokenHits != 1 || api.bodies[0] != body || api.bodies[1] != body {
		t.Fatalf("api hits %d token hits %d bodies %q", api.apiHits, api.tokenHits, api.bodies)
	}
	// An API that always answers 403: exactly one refresh and one retry, then the 403.
	api.mu.Lock()
	api.always403, api.apiHits, api.tokenHits = true, 0, 0
	api.mu.Unlock()
	if st, _ := postAPI(t, c, srv.URL+"/api", "x"); st != 403 || api.apiHits != 2 || api.tokenHits != 1 {
		t.Fatalf("status %d api hits %d token hits %d", st, api.apiHits, api.tokenHits)
	}
	// The token refused twice was dropped: the next request starts with a fetch;
	// when that fails, the error, and nothing is sent.
	api.mu.Lock()
	api.tokenFail, api.apiHits, api.tokenHits = 503, 0, 0
	api.mu.Unlock()
	req, _ := http.NewRequest("GET", srv.URL+"/api", nil)
	_, err := c.Do(req)
	if signers.CodeOf(err) != signers.CodeHTTP || api.apiHits != 0 || api.tokenHits != 1 {
		t.Fatalf("err %v api hits %d token hits %d", err, api.apiHits, api.tokenHits)
	}
}

// Ansira's 401 means "the Access Token is missing": a new token does not fix
// that, so the answer comes back without a refresh or a retry.
func TestAnsiraTransport401IsNotRefreshed(t *testing.T) {
	api, srv, src := newAnsira(t)
	c := &http.Client{Transport: &Transport{Source: src, Authorizer: ansira.Authorizer{}}}
	api.mu.Lock()
	api.always401 = true
	api.mu.Unlock()
	if st, _ := postAPI(t, c, srv.URL+"/api", "x"); st != 401 || api.apiHits != 1 || api.tokenHits != 1 {
		t.Fatalf("status %d api hits %d token hits %d", st, api.apiHits, api.tokenHits)
	}
}

func TestAnsiraTransportConcurrent403OneRefresh(t *testing.T) {
	api, srv, src := newAnsira(t)
	c := &http.Client{Transport: &Transport{Source: src, Authorizer: ansira.Authorizer{}}}
	postAPI(t, c, srv.URL+"/api", "warm up")
	api.mu.Lock()
	api.current, api.tokenHits = "someone-else", 0
	api.mu.Unlock()
	var wg sync.WaitGroup
	status := make([]int, 10)
	for i := range status {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			status[i], _ = postAPI(t, c, srv.URL+"/api", "b"+strconv.Itoa(i))
		}(i)
	}
	wg.Wait()
	for i, s := range status {
		if s != 200 {
			t.Errorf("caller %d: %d", i, s)
		}
	}
	if api.tokenHits != 1 {
		t.Fatalf("token requests %d, want 1", api.tokenHits)
	}
}

func TestOAuth2TokenSource(t *testing.T) {
	_, srv, src := newAnsira(t)
	ts := OAuth2TokenSource(context.Background(), src)
	tok, err := ts.Token()
	if err != nil || tok.AccessToken != "at-1" || tok.Type() != "Bearer" || !tok.Expiry.Equal(t0.Add(time.Hour)) {
		t.Fatalf("%+v %v", tok, err)
	}
	// Usable with oauth2.Transport for plain calls.
	c := &http.Client{Transport: &oauth2.Transport{Source: ts, Base: srv.Client().Transport}}
	if st, b := postAPI(t, c, srv.URL+"/api", "x"); st != 200 || b != "at-1" {
		t.Fatalf("%d %s", st, b)
	}
	req, _ := http.NewRequest("GET", srv.URL+"/api", nil)
	if _, err := (&Transport{}).RoundTrip(req); signers.CodeOf(err) != signers.CodeConfig {
		t.Fatal(err)
	}
}
