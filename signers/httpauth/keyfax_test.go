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
	"testing"
	"time"

	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/clock"
	"github.com/apisign/apisign/signers/keyfax"
)

const (
	kfHost   = "Dev"
	kfAPIKey = "28f7d828-3f78-4482-a0ac-5f5a64edd4b4"
	kfKey    = "EI4fm9mmaLttvt5485x+YfOBNYKbb++cYG5HH/aZ8VfT2SdXLwrKHjKqCjckTsovVyoUm1x0CrMRM/wDFc1LTw=="
)

func kfJWT(serial int, exp time.Time) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." +
		enc([]byte(`{"sub":"Dev","jti":"`+strconv.Itoa(serial)+`","exp":`+strconv.FormatInt(exp.Unix(), 10)+`}`)) + "." +
		enc([]byte("signature"))
}

// keyfaxAPI emulates the Keyfax Web API for the adapters: the token endpoint
// (GET with Basic, POST with Bearer) and an API endpoint that accepts either a
// Basic the Verifier accepts or a Bearer with a JWT it issued and still honours.
type keyfaxAPI struct {
	t        *testing.T
	clk      *clock.Fake
	verifier *keyfax.Verifier

	mu      sync.Mutex
	serial  int
	valid   map[string]bool
	seen    recorder[kfSeen]
	gets    int
	verrors []error
}

type kfSeen struct {
	method, target, auth, body string
}

func newKeyfaxAPI(t *testing.T, clk *clock.Fake) (*keyfaxAPI, *httptest.Server) {
	keys, err := keyfax.KeysFromBase64(kfHost, kfAPIKey, kfKey)
	if err != nil {
		t.Fatal(err)
	}
	a := &keyfaxAPI{t: t, clk: clk, verifier: &keyfax.Verifier{Keys: keys, Clock: clk}, valid: map[string]bool{}}
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	return a, srv
}

func (a *keyfaxAPI) issue(w http.ResponseWriter) {
	a.mu.Lock()
	a.serial++
	jwt := kfJWT(a.serial, a.clk.Now().Add(24*time.Hour))
	a.valid[jwt] = true
	a.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, `"`+jwt+`"`)
}

// revokeAll makes every issued JWT refused, as after a server restart.
func (a *keyfaxAPI) revokeAll() {
	a.mu.Lock()
	a.valid = map[string]bool{}
	a.mu.Unlock()
}

func (a *keyfaxAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	auth := r.Header.Get("Authorization")
	a.seen.add(kfSeen{r.Method, r.RequestURI, auth, string(body)})

	authorized := false
	switch {
	case strings.HasPrefix(auth, "Basic "):
		_, err := a.verifier.Verify(auth, r.Method, "http://"+r.Host+r.RequestURI, body)
		a.mu.Lock()
		a.verrors = append(a.verrors, err)
		a.mu.Unlock()
		authorized = err == nil
	case strings.HasPrefix(auth, "Bearer "+kfHost+":"):
		a.mu.Lock()
		authorized = a.valid[strings.TrimPrefix(auth, "Bearer "+kfHost+":")]
		a.mu.Unlock()
	}
	if !authorized {
		w.WriteHeader(401)
		return
	}
	if r.URL.Path == "/Interview/api/v1/token" {
		if r.Method == "GET" {
			a.mu.Lock()
			a.gets++
			a.mu.Unlock()
		}
		a.issue(w)
		return
	}
	io.WriteString(w, "ok "+string(body))
}

func (a *keyfaxAPI) getCount() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.gets
}

func (a *keyfaxAPI) lastVerifyError() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.verrors) == 0 {
		return nil
	}
	return a.verrors[len(a.verrors)-1]
}

func TestKeyfaxBasicTransport(t *testing.T) {
	clk := clock.NewFake(time.Unix(1700000000, 0))
	api, srv := newKeyfaxAPI(t, clk)
	signer, err := keyfax.NewSigner(kfHost, kfAPIKey, kfKey)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Transport: &KeyfaxBasic{Signer: signer, Clock: clk}, Timeout: 10 * time.Second}

	// A body without GetBody, a lower-case method, a query that needs encoding.
	const payload = `{"mode":{"value":"ROL"},"company":{"value":"OL3 Dev é"}}`
	status, got, err := call(t, c, "post", srv.URL+"/Interview/api/v1/startup?name=Müller Straße&x=\"1\"", io.NopCloser(strings.NewReader(payload)), nil)
	if err != nil || status != 200 || got != "ok "+payload {
		t.Fatalf("status %d body %q err %v; server: %v", status, got, err, api.lastVerifyError())
	}
	// The same request again: a new nonce, so not a replay.
	status, _, err = call(t, c, "GET", srv.URL+"/Interview/api/v1/token", nil, nil)
	if err != nil || status != 200 {
		t.Fatalf("second request: %d %v", status, err)
	}
	status, _, err = call(t, c, "GET", srv.URL+"/Interview/api/v1/token", nil, nil)
	if err != nil || status != 200 {
		t.Fatalf("third request: %d %v", status, err)
	}
	seen := api.seen.list()
	if seen[0].method != "POST" || seen[0].target != "/Interview/api/v1/startup?name=M%C3%BCller%20Stra%C3%9Fe&x=%221%22" {
		t.Errorf("sent %s %s", seen[0].method, seen[0].target)
	}
	if seen[1].auth == seen[2].auth {
		t.Error("two requests carried the same Authorization (nonce reused)")
	}

	// The caller's request is left alone.
	req, _ := http.NewRequest("PUT", srv.URL+"/Interview/api/v1/key", strings.NewReader("k"))
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || req.Header.Get("Authorization") != "" {
		t.Errorf("status %d, caller's header %q", resp.StatusCode, req.Header.Get("Authorization"))
	}

	// A clock an hour off is refused by the server's window.
	off := clock.NewFake(clk.Now().Add(time.Hour))
	c2 := &http.Client{Transport: &KeyfaxBasic{Signer: signer, Clock: off}, Timeout: 10 * time.Second}
	if status, _, _ := call(t, c2, "GET", srv.URL+"/Interview/api/v1/token", nil, nil); status != 401 {
		t.Errorf("skewed clock: status %d, want 401", status)
	}
	if last := api.lastVerifyError(); !errors.Is(last, signers.ErrClock) {
		t.Errorf("server saw %v, want E_CLOCK", last)
	}

	// No signer.
	c3 := &http.Client{Transport: &KeyfaxBasic{}, Timeout: 10 * time.Second}
	if _, _, err := call(t, c3, "GET", srv.URL, nil, nil); !errors.Is(err, signers.ErrConfig) {
		t.Errorf("no signer: %v", err)
	}
}

func TestKeyfaxBearerTransport(t *testing.T) {
	clk := clock.NewFake(time.Unix(1700000000, 0))
	api, srv := newKeyfaxAPI(t, clk)
	signer, err := keyfax.NewSigner(kfHost, kfAPIKey, kfKey)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Timeout: 10 * time.Second}
	src, err := keyfax.NewTokenSource(keyfax.TokenConfig{BaseURL: srv.URL + "/Interview", Doer: NewDoer(hc), Clock: clk, Signer: signer})
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Transport: &Transport{Source: src, Authorizer: keyfax.Authorizer{HostName: src.HostName()}}, Timeout: 10 * time.Second}

	status, got, err := call(t, c, "POST", srv.URL+"/Interview/api/v1/results", io.NopCloser(strings.NewReader(`{"guid":"x"}`)), nil)
	if err != nil || status != 200 || got != `ok {"guid":"x"}` {
		t.Fatalf("%d %q %v", status, got, err)
	}
	first := src.Current()
	if want := "Bearer Dev:" + first.Value; api.seen.list()[1].auth != want {
		t.Errorf("sent %q, want %q", api.seen.list()[1].auth, want)
	}

	// The server forgets its JWTs: one 401, the JWT is dropped, a fresh one is
	// fetched (GET with Basic) and the request is replayed with its body.
	api.revokeAll()
	status, got, err = call(t, c, "POST", srv.URL+"/Interview/api/v1/results", io.NopCloser(strings.NewReader(`{"guid":"y"}`)), nil)
	if err != nil || status != 200 || got != `ok {"guid":"y"}` {
		t.Fatalf("after revoke: %d %q %v", status, got, err)
	}
	if src.Current() == first || api.getCount() != 2 {
		t.Errorf("JWT not replaced (gets %d)", api.getCount())
	}

	// Ten concurrent requests with a stale JWT: one renewal between them.
	api.revokeAll()
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequestWithContext(context.Background(), "GET", srv.URL+"/Interview/api/v1/results", nil)
			resp, err := c.Do(req)
			if err != nil {
				errs <- err
				return
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				errs <- errors.New("status " + strconv.Itoa(resp.StatusCode))
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := api.getCount(); n != 3 {
		t.Errorf("gets %d after concurrent 401s, want 3", n)
	}

	// No source.
	if _, _, err := call(t, &http.Client{Transport: &Transport{Authorizer: keyfax.Authorizer{}}}, "GET", srv.URL, nil, nil); !errors.Is(err, signers.ErrConfig) {
		t.Errorf("no source: %v", err)
	}
}
