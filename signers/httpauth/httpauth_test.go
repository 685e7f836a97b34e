//go:build !js

// Tests here start HTTP servers, which GOOS=js cannot; the logic they drive
// (retry.Policy, clock.Skewed) is also tested under GOOS=js in its own package.
package httpauth

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apisign/apisign/internal/sandbox"
	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/clock"
	"github.com/apisign/apisign/signers/retry"
)

var t0 = time.Date(2025, 8, 6, 14, 32, 0, 0, time.UTC)

func TestRetryTransportReplaysBody(t *testing.T) {
	var n atomic.Int32
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies = append(bodies, string(b))
		switch n.Add(1) {
		case 1:
			w.Header().Set("Retry-After", "2")
			w.WriteHeader(429)
		case 2:
			w.WriteHeader(503)
		default:
			io.WriteString(w, "ok")
		}
	}))
	defer srv.Close()
	clk := clock.NewFake(t0)
	c := &http.Client{Transport: &Retry{Policy: retry.Policy{Clock: clk, Rand: func() float64 { return 0.5 }}}, Timeout: 10 * time.Second}
	// A body without GetBody: the transport must still replay it exactly.
	req, _ := http.NewRequest("POST", srv.URL, io.NopCloser(strings.NewReader("payload \u00e9")))
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "ok" || n.Load() != 3 {
		t.Fatalf("answer %q after %d attempts", b, n.Load())
	}
	for i, got := range bodies {
		if got != "payload \u00e9" {
			t.Fatalf("attempt %d body %q", i, got)
		}
	}
	if s := clk.Sleeps(); len(s) != 2 || s[0] != 2*time.Second || s[1] != 250*time.Millisecond {
		t.Fatalf("waits %v", s)
	}
}

func TestRetryTransportAbortsWithContext(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) }))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
	c := &http.Client{Transport: &Retry{Policy: retry.Policy{Base: time.Hour, Cap: time.Hour, Rand: func() float64 { return 0.9 }}}}
	start := time.Now()
	_, err := c.Do(req)
	if !errors.Is(err, signers.ErrAborted) || time.Since(start) > 10*time.Second {
		t.Fatalf("err %v after %v", err, time.Since(start))
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

func TestReadBody(t *testing.T) {
	req, _ := http.NewRequest("POST", "http://127.0.0.1/", io.NopCloser(failingReader{}))
	if _, err := ReadBody(req); !errors.Is(err, signers.ErrInput) {
		t.Fatalf("unreadable body: %v", err)
	}
	req, _ = http.NewRequest("POST", "http://127.0.0.1/", bytes.NewReader([]byte("abc")))
	for range 2 {
		b, err := ReadBody(req)
		if err != nil || string(b) != "abc" {
			t.Fatalf("%q %v", b, err)
		}
	}
	rest, _ := io.ReadAll(req.Body)
	if string(rest) != "abc" {
		t.Fatalf("body not restored: %q", rest)
	}
	req, _ = http.NewRequest("GET", "http://127.0.0.1/", nil)
	if b, err := ReadBody(req); b != nil || err != nil {
		t.Fatalf("nil body: %q %v", b, err)
	}
}

func TestSkewTransportLearnsServerTime(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Date", clock.FormatHTTPDate(t0.Add(20*time.Minute)))
	}))
	defer srv.Close()
	skewed := clock.NewSkewed(clock.NewFake(t0))
	c := &http.Client{Transport: &Skew{Clock: skewed}}
	resp, err := c.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if skewed.Offset() != 20*time.Minute {
		t.Fatalf("offset %v", skewed.Offset())
	}
}

func TestDoer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Add("X-Multi", "a")
		w.Header().Add("X-Multi", "b")
		w.WriteHeader(201)
		io.WriteString(w, r.Method+" "+r.URL.RequestURI()+" "+r.Header.Get("X-Key")+" "+string(b))
	}))
	defer srv.Close()
	d := NewDoer(nil)
	resp, err := d.Do(context.Background(), &signers.Request{Method: "PUT", URL: srv.URL + "/p?q=1", Header: signers.Header{"x-key": "v"}, Body: []byte("b")})
	if err != nil || resp.Status != 201 || string(resp.Body) != "PUT /p?q=1 v b" || resp.Header.Get("x-multi") != "a, b" {
		t.Fatalf("%+v %v", resp, err)
	}
	srv.Close()
	_, err = d.Do(context.Background(), &signers.Request{Method: "GET", URL: srv.URL + "/?secret=hunter2"})
	if !errors.Is(err, signers.ErrNetwork) || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("closed server: %v", err)
	}
	if _, err := d.Do(context.Background(), &signers.Request{Method: "GE T", URL: "http://127.0.0.1/"}); !errors.Is(err, signers.ErrInput) {
		t.Fatalf("bad method: %v", err)
	}
}

// emulators serves the sandbox's provider emulators (internal/sandbox, which
// answer as the vendors' documents say) on a 127.0.0.1 server and returns them
// with their base URL.
func emulators(t *testing.T, opts sandbox.Options) (*sandbox.Sandbox, string) {
	t.Helper()
	var sb *sandbox.Sandbox
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { sb.ServeHTTP(w, r) }))
	t.Cleanup(ts.Close)
	opts.BaseURL = ts.URL
	sb = sandbox.New(opts)
	return sb, ts.URL
}

// call sends a request built from method, url and body with c, within a
// bounded time, and returns the answer's status and body; a transport error
// is returned as is.
func call(t *testing.T, c *http.Client, method, url string, body io.Reader, header http.Header) (int, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b), nil
}

// postAPI POSTs body to url with c, as call does; a transport error fails the
// test.
func postAPI(t *testing.T, c *http.Client, url, body string) (int, string) {
	t.Helper()
	status, answer, err := call(t, c, "POST", url, strings.NewReader(body), nil)
	if err != nil {
		t.Fatal(err)
	}
	return status, answer
}

// recorder keeps, in order, what a test server or transport saw: safe for the
// server's goroutines and the test's reads.
type recorder[T any] struct {
	mu  sync.Mutex
	all []T
}

func (r *recorder[T]) add(v T) {
	r.mu.Lock()
	r.all = append(r.all, v)
	r.mu.Unlock()
}

// list returns a copy of what was seen so far.
func (r *recorder[T]) list() []T {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]T(nil), r.all...)
}

func (r *recorder[T]) last() T {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.all[len(r.all)-1]
}

// reset forgets what was seen.
func (r *recorder[T]) reset() {
	r.mu.Lock()
	r.all = nil
	r.mu.Unlock()
}
