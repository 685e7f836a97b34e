package keyfax

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/clock"
)

// fakeKeyfax answers token requests from a function, recording them; it runs
// under GOOS=js too (no sockets).
type fakeKeyfax struct {
	mu     sync.Mutex
	reqs   []signers.Request
	answer func(req *signers.Request) (*signers.Response, error)
}

func (f *fakeKeyfax) Do(ctx context.Context, req *signers.Request) (*signers.Response, error) {
	f.mu.Lock()
	f.reqs = append(f.reqs, signers.Request{Method: req.Method, URL: req.URL, Header: req.Header.Clone(), Body: req.Body})
	f.mu.Unlock()
	return f.answer(req)
}

func (f *fakeKeyfax) requests() []signers.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]signers.Request(nil), f.reqs...)
}

func TestNewTokenSourceConfig(t *testing.T) {
	signer, _ := NewSigner(vHost, vAPIKey, vKey)
	doer := &fakeKeyfax{}
	initial := func(context.Context, string) (string, error) { return "", nil }
	cases := []struct {
		name string
		cfg  TokenConfig
		code signers.Code
	}{
		{"no doer", TokenConfig{BaseURL: "https://h/Interview", Signer: signer}, signers.CodeConfig},
		{"no source", TokenConfig{BaseURL: "https://h/Interview", HostName: vHost, Doer: doer}, signers.CodeConfig},
		{"negative margin", TokenConfig{BaseURL: "https://h/Interview", Doer: doer, Signer: signer, Margin: -time.Second}, signers.CodeConfig},
		{"host differs", TokenConfig{BaseURL: "https://h/Interview", HostName: "Prod", Doer: doer, Signer: signer}, signers.CodeConfig},
		{"no host", TokenConfig{BaseURL: "https://h/Interview", Doer: doer, Initial: initial}, signers.CodeInput},
		{"bad host", TokenConfig{BaseURL: "https://h/Interview", HostName: "a:b", Doer: doer, Initial: initial}, signers.CodeInput},
		{"relative base", TokenConfig{BaseURL: "/Interview", Doer: doer, Signer: signer}, signers.CodeInput},
		{"query in base", TokenConfig{BaseURL: "https://h/Interview?x=1", Doer: doer, Signer: signer}, signers.CodeInput},
		{"ftp base", TokenConfig{BaseURL: "ftp://h/Interview", Doer: doer, Signer: signer}, signers.CodeInput},
	}
	for _, c := range cases {
		if _, err := NewTokenSource(c.cfg); signers.CodeOf(err) != c.code {
			t.Errorf("%s: %v, want %s", c.name, err, c.code)
		}
	}
	ts, err := NewTokenSource(TokenConfig{BaseURL: "https://h/Interview/", Doer: doer, Signer: signer})
	if u, _ := endpoint("", ts.base, TokenPath); err != nil || ts.HostName() != vHost || u != "https://h/Interview/api/v1/token" {
		t.Errorf("%v %+v", err, ts)
	}
}

func TestTokenSourceRequests(t *testing.T) {
	clk := clock.NewFake(time.Unix(1700000000, 0))
	signer, _ := NewSigner(vHost, vAPIKey, vKey)
	jwt1 := jwtWithExp(clk.Now().Add(24 * time.Hour))
	jwt2 := jwtWithExp(clk.Now().Add(48 * time.Hour))
	doer := &fakeKeyfax{answer: func(req *signers.Request) (*signers.Response, error) {
		if req.Method == "GET" {
			return &signers.Response{Status: 200, Body: []byte(`"` + jwt1 + `"`)}, nil
		}
		return &signers.Response{Status: 200, Body: []byte(`{"access_token":"` + jwt2 + `"}`)}, nil
	}}
	ts, err := NewTokenSource(TokenConfig{BaseURL: "https://keyfax.example.com/Interview", Doer: doer, Clock: clk, Signer: signer})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if tok, err := ts.Token(ctx); err != nil || tok.Value != jwt1 {
		t.Fatalf("%v %v", tok, err)
	}
	if tok, err := ts.Renew(ctx); err != nil || tok.Value != jwt2 || !tok.Expiry.Equal(clk.Now().Add(48*time.Hour)) {
		t.Fatalf("%v %v", tok, err)
	}
	reqs := doer.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests", len(reqs))
	}
	get, post := reqs[0], reqs[1]
	if get.Method != "GET" || get.URL != "https://keyfax.example.com/Interview/api/v1/token" || get.Header.Get("Accept") != "application/json" {
		t.Errorf("GET %+v", get)
	}
	v := newVerifier(t, clk)
	if _, err := v.VerifyRequest(&get); err != nil {
		t.Errorf("GET Basic does not verify: %v", err)
	}
	if post.Method != "POST" || post.URL != get.URL || post.Header.Get("Authorization") != "Bearer Dev:"+jwt1 || len(post.Body) != 0 {
		t.Errorf("POST %+v", post)
	}
}

func TestTokenSourceInitial(t *testing.T) {
	clk := clock.NewFake(time.Unix(1700000000, 0))
	renewStatus := 403
	var initialCalls int
	var refused []string // what Initial was told
	jwt := func(d time.Duration) string { return jwtWithExp(clk.Now().Add(d)) }
	doer := &fakeKeyfax{answer: func(req *signers.Request) (*signers.Response, error) {
		if renewStatus != 200 {
			return &signers.Response{Status: renewStatus}, nil
		}
		return &signers.Response{Status: 200, Body: []byte(jwt(24 * time.Hour))}, nil
	}}
	ts, err := NewTokenSource(TokenConfig{
		BaseURL: "https://keyfax.example.com/Interview", HostName: vHost, Doer: doer, Clock: clk,
		Margin: time.Hour,
		Initial: func(ctx context.Context, r string) (string, error) {
			initialCalls++
			refused = append(refused, r)
			return "  " + jwt(24*time.Hour) + "\n", nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	first, err := ts.Token(ctx)
	if err != nil || initialCalls != 1 || len(doer.requests()) != 0 {
		t.Fatalf("%v %v calls=%d", first, err, initialCalls)
	}
	// Margin one hour: 23h01m later the renewal is due; 403 falls back to Initial.
	clk.Advance(23*time.Hour + time.Minute)
	second, err := ts.Token(ctx)
	if err != nil || second == first || initialCalls != 2 || len(doer.requests()) != 1 {
		t.Fatalf("%v %v calls=%d reqs=%d", second, err, initialCalls, len(doer.requests()))
	}
	renewStatus = 200
	clk.Advance(23*time.Hour + time.Minute)
	if _, err := ts.Token(ctx); err != nil || initialCalls != 2 || len(doer.requests()) != 2 {
		t.Fatalf("%v calls=%d reqs=%d", err, initialCalls, len(doer.requests()))
	}
	// Invalidate (an API call answered 401): the next Token starts afresh.
	dropped := ts.Current().Value
	ts.Invalidate(ts.Current())
	if _, err := ts.Token(ctx); err != nil || initialCalls != 3 {
		t.Fatalf("after Invalidate: %v calls=%d", err, initialCalls)
	}
	// Initial is told which JWT the server refused: none at first, the one whose
	// renewal got 403, the one an API call refused.
	if len(refused) != 3 || refused[0] != "" || refused[1] != first.Value || refused[2] != dropped {
		t.Fatalf("Initial told %q", refused)
	}
}

func TestTokenSourceErrors(t *testing.T) {
	clk := clock.NewFake(time.Unix(1700000000, 0))
	signer, _ := NewSigner(vHost, vAPIKey, vKey)
	ctx := context.Background()
	newTS := func(answer func(*signers.Request) (*signers.Response, error)) *TokenSource {
		ts, err := NewTokenSource(TokenConfig{BaseURL: "https://keyfax.example.com/Interview", Doer: &fakeKeyfax{answer: answer}, Clock: clk, Signer: signer})
		if err != nil {
			t.Fatal(err)
		}
		return ts
	}
	respond := func(status int, body string) func(*signers.Request) (*signers.Response, error) {
		return func(*signers.Request) (*signers.Response, error) {
			return &signers.Response{Status: status, Body: []byte(body)}, nil
		}
	}
	cases := []struct {
		name   string
		answer func(*signers.Request) (*signers.Response, error)
		code   signers.Code
		status int
	}{
		{"500", respond(500, "oops"), signers.CodeHTTP, 500},
		{"429", respond(429, ""), signers.CodeHTTP, 429},
		{"401", respond(401, ""), signers.CodeTokenExpired, 401},
		{"xml", respond(200, `<string>`+jwtWithExp(clk.Now().Add(time.Hour))+`</string>`), signers.CodeToken, 0},
		{"no exp", respond(200, makeJWT(`{"sub":"x"}`)), signers.CodeToken, 0},
		{"empty", respond(200, ""), signers.CodeToken, 0},
		{"network", func(*signers.Request) (*signers.Response, error) { return nil, errors.New("connection refused") }, signers.CodeNetwork, 0},
		{"aborted", func(*signers.Request) (*signers.Response, error) { return nil, context.Canceled }, signers.CodeAborted, 0},
	}
	for _, c := range cases {
		_, err := newTS(c.answer).Token(ctx)
		var e *signers.Error
		if !errors.As(err, &e) || e.Code != c.code || e.Status != c.status {
			t.Errorf("%s: %v (%+v), want %s %d", c.name, err, e, c.code, c.status)
		}
	}

	// Initial failing, or answering garbage.
	mk := func(initial func(context.Context, string) (string, error)) *TokenSource {
		ts, err := NewTokenSource(TokenConfig{BaseURL: "https://h/", HostName: "H", Doer: &fakeKeyfax{}, Clock: clk, Initial: initial})
		if err != nil {
			t.Fatal(err)
		}
		return ts
	}
	if _, err := mk(func(context.Context, string) (string, error) { return "", errors.New("broker down") }).Token(ctx); signers.CodeOf(err) != signers.CodeTokenExpired {
		t.Errorf("initial error: %v", err)
	}
	if _, err := mk(func(context.Context, string) (string, error) { return "not a jwt", nil }).Token(ctx); signers.CodeOf(err) != signers.CodeToken {
		t.Errorf("initial garbage: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := mk(func(ctx context.Context, _ string) (string, error) { return "", ctx.Err() }).Token(cctx); signers.CodeOf(err) != signers.CodeAborted {
		t.Errorf("cancelled: %v", err)
	}
}

func TestTokenSourceObservesDate(t *testing.T) {
	fake := clock.NewFake(time.Unix(1700000000, 0))
	skewed := clock.NewSkewed(fake)
	signer, _ := NewSigner(vHost, vAPIKey, vKey)
	doer := &fakeKeyfax{answer: func(req *signers.Request) (*signers.Response, error) {
		return &signers.Response{Status: 200, Header: signers.Header{"Date": clock.FormatHTTPDate(fake.Now().Add(time.Hour))},
			Body: []byte(jwtWithExp(fake.Now().Add(25 * time.Hour)))}, nil
	}}
	ts, err := NewTokenSource(TokenConfig{BaseURL: "https://h/Interview", Doer: doer, Clock: skewed, Signer: signer})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	if skewed.Offset() != time.Hour {
		t.Errorf("offset %v, want 1h", skewed.Offset())
	}
	// The next Basic signature carries the server's time.
	ts.Invalidate(ts.Current())
	if _, err := ts.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	reqs := doer.requests()
	f, err := ParseBasic(reqs[len(reqs)-1].Header.Get("Authorization"))
	if err != nil || f.Unix != 1700003600 {
		t.Errorf("timestamp %d (%v), want 1700003600", f.Unix, err)
	}
}
