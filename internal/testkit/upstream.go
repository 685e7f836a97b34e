// Package testkit holds the test helpers that more than one package's tests
// share, so that each is written once: the recording, failure-scripting
// upstream in front of the provider emulators (internal/sandbox), an in-memory
// transport and a Doer for the provider packages, the secret leak scan, the
// error, bad-input and header checks of the core's tests, the vendors'
// document examples, serving a broker until a test ends, and running the
// Worker in workerd with the committed configuration
// (wasm/broker/workerd.capnp).
package testkit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Upstream sits between a broker and the provider emulators (Handler). It
// records every request that reaches a provider, adds upstream-only headers to
// every emulator answer (a broker must not pass them back), runs an optional
// independent check on each request and, when a script is set, lets the
// script answer instead of the emulators.
type Upstream struct {
	Handler http.Handler
	// Check, if set, returns why a request fails an independent check (a
	// signature recomputed without the core), or "".
	Check func(r *http.Request, body []byte) string

	mu     sync.Mutex
	script func(w http.ResponseWriter, r *http.Request) bool
	seen   []Seen
}

// Seen is a request as a provider received it, with the answer's status.
type Seen struct {
	Method, URI string
	Header      http.Header
	Body        []byte
	Status      int
	Scripted    bool
	Independent string // why Check failed, if it did
}

// SetScript installs a function that sees every request first; when it
// returns true it has answered and the emulators are not asked. Nil removes it.
func (u *Upstream) SetScript(f func(w http.ResponseWriter, r *http.Request) bool) {
	u.mu.Lock()
	u.script = f
	u.mu.Unlock()
}

func (u *Upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	s := Seen{Method: r.Method, URI: r.RequestURI, Header: r.Header.Clone(), Body: body}
	if u.Check != nil {
		s.Independent = u.Check(r, body)
	}
	u.mu.Lock()
	script := u.script
	u.mu.Unlock()
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	if script != nil && script(sw, r) {
		s.Scripted = true
	} else {
		w.Header().Set("Set-Cookie", "upstream-session=1")
		w.Header().Set("X-Upstream-Only", "1")
		u.Handler.ServeHTTP(sw, r)
	}
	s.Status = sw.status
	u.mu.Lock()
	u.seen = append(u.seen, s)
	u.mu.Unlock()
}

type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (s *statusWriter) WriteHeader(code int) {
	if !s.wrote {
		s.status, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	s.wrote = true
	return s.ResponseWriter.Write(b)
}

// Overlapping runs call(0) to call(n-1) at once, every provider request held
// back (a script) until pause has passed, so that the calls overlap at the
// broker: what a single flight must merge. A call that comes later finds the
// result cached, which the tests accept as well. It returns when all are done.
func (u *Upstream) Overlapping(n int, pause time.Duration, call func(i int)) {
	release := make(chan struct{})
	u.SetScript(func(http.ResponseWriter, *http.Request) bool {
		<-release
		return false
	})
	defer u.SetScript(nil)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			call(i)
		}()
	}
	time.Sleep(pause)
	close(release)
	wg.Wait()
}

// Requests returns what reached the providers so far.
func (u *Upstream) Requests() []Seen {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]Seen(nil), u.seen...)
}

// Last returns the last request that reached the providers.
func (u *Upstream) Last(t testing.TB) Seen {
	t.Helper()
	all := u.Requests()
	if len(all) == 0 {
		t.Fatalf("nothing reached the providers")
	}
	return all[len(all)-1]
}

// Kind names the emulator endpoint a request was for: "keyfax get",
// "keyfax renew", "keyfax initial key", "keyfax key reset", "nfon", "fortis open", "fortis close", "ansira", "fonn" or "".
func (s Seen) Kind() string {
	p, _, _ := strings.Cut(s.URI, "?")
	switch {
	case strings.EqualFold(p, "/keyfax/Interview/api/v1/token") && s.Method == "GET":
		return "keyfax get"
	case strings.EqualFold(p, "/keyfax/Interview/api/v1/token") && s.Method == "POST":
		return "keyfax renew"
	case strings.EqualFold(p, "/keyfax/Interview/api/v1/key") && s.Method == "GET":
		return "keyfax initial key"
	case strings.EqualFold(p, "/keyfax/Interview/api/v1/key") && s.Method == "POST":
		return "keyfax key reset"
	case strings.HasPrefix(p, "/nfon/"):
		return "nfon"
	case p == "/fortis/v2/token" && s.Method == "POST":
		return "fortis open"
	case strings.HasPrefix(p, "/fortis/v2/token/") && s.Method == "DELETE":
		return "fortis close"
	case p == "/ansira/oauth/v2/oauth-token":
		return "ansira"
	case strings.HasPrefix(p, "/fonn/"):
		return "fonn"
	}
	return ""
}

// Count returns how many requests for an endpoint (see Kind) the emulators
// served without refusing their authentication (401 or 403).
func (u *Upstream) Count(kind string) int {
	n := 0
	for _, s := range u.Requests() {
		if s.Kind() == kind && !s.Scripted && s.Status != http.StatusUnauthorized && s.Status != http.StatusForbidden {
			n++
		}
	}
	return n
}

// Failures lists what the emulators refused or the independent check found,
// to show why a call failed.
func (u *Upstream) Failures() []string {
	var out []string
	for _, s := range u.Requests() {
		if s.Independent != "" {
			out = append(out, s.Method+" "+s.URI+": independent check: "+s.Independent)
		}
		if !s.Scripted && s.Status >= 400 {
			out = append(out, fmt.Sprintf("%s %s: %d", s.Method, s.URI, s.Status))
		}
	}
	return out
}

// Probe asks the emulators directly (not recorded), e.g. whether a token
// works; url is absolute. It returns the status.
func (u *Upstream) Probe(method, url string, header map[string]string) int {
	r := httptest.NewRequest(method, url, nil)
	for k, v := range header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	u.Handler.ServeHTTP(w, r)
	return w.Code
}

// InMemory is an http.RoundTripper that hands each request to a handler in
// memory, as a server would receive it, without a socket, so that tests also
// run under GOOS=js. It honours the request's context: a handler that hangs is
// abandoned when the context ends, as a real client would.
type InMemory struct{ Handler http.Handler }

func (t InMemory) RoundTrip(r *http.Request) (*http.Response, error) {
	sr := r.Clone(r.Context())
	sr.RequestURI = r.URL.RequestURI()
	sr.Host = r.URL.Host
	if sr.Body == nil {
		sr.Body = http.NoBody
	}
	rec := httptest.NewRecorder()
	done := make(chan struct{})
	go func() {
		defer close(done)
		t.Handler.ServeHTTP(rec, sr)
	}()
	select {
	case <-done:
		return rec.Result(), nil
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
}

// KeyfaxKeysSeen passes requests to next and calls note with every Keyfax
// key pair next hands out (the answers of GET /api/v1/key): they sign later
// requests, and are secrets for the leak scan.
func KeyfaxKeysSeen(next http.Handler, note func(apiKey, signingKey string)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != "GET" || !strings.HasSuffix(strings.ToLower(r.URL.Path), "/api/v1/key") {
			next.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		var k struct{ APIKey, SigningKey string }
		if json.Unmarshal(rec.Body.Bytes(), &k) == nil && k.APIKey != "" {
			note(k.APIKey, k.SigningKey)
		}
		for name, v := range rec.Header() {
			w.Header()[name] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	})
}
