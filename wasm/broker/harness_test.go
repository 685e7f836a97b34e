package broker

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apisign/apisign/signers/clock"
	"github.com/apisign/apisign/wasm/broker/internal/fakeup"
)

// The tests drive the broker handler in memory against fakeup's emulated
// providers (no sockets, so they also run under GOOS=js in Node). Every answer
// and every log line is scanned for every configured secret.

const (
	testOrigin   = "https://app.example"
	upstreamBase = "http://127.0.0.1:9" // never dialled: fakeup.Transport serves in memory
)

var testStart = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

type harness struct {
	t      *testing.T
	clk    *clock.Fake
	fake   *fakeup.Fake
	env    map[string]string
	b      *Broker
	cfgErr error

	mu      sync.Mutex
	logs    bytes.Buffer
	secrets []string
}

// newHarness builds a broker over a fresh Fake; edit changes the environment
// first (nil: everything configured).
func newHarness(t *testing.T, edit func(env map[string]string), opts ...Option) *harness {
	t.Helper()
	h := &harness{t: t, clk: clock.NewFake(testStart)}
	h.fake = fakeup.New(h.clk)
	h.env = h.fake.Env(upstreamBase)
	h.env[EnvCallerSecret] = "caller-" + hex.EncodeToString([]byte(t.Name()+"-0123456789abcdef"))
	h.env[EnvAllowedOrigins] = testOrigin + ", http://127.0.0.1:8080"
	if edit != nil {
		edit(h.env)
	}
	h.secrets = append(h.fake.Secrets(), h.env[EnvCallerSecret])
	logf := func(format string, args ...any) {
		h.mu.Lock()
		fmt.Fprintf(&h.logs, format+"\n", args...)
		h.mu.Unlock()
	}
	opts = append([]Option{WithClock(h.clk), WithLogger(logf)}, opts...)
	h.b, h.cfgErr = New(func(k string) string { return h.env[k] }, fakeup.Transport{Handler: h.fake}, opts...)
	t.Cleanup(func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.scan("log", h.logs.String())
	})
	return h
}

// caller returns a valid caller token.
func (h *harness) caller() string {
	return MintCallerToken([]byte(h.env[EnvCallerSecret]), h.clk.Now().Add(5*time.Minute))
}

// req describes one call; a zero Caller field means a valid token, "-" none.
type req struct {
	Method, Target string
	Header         map[string]string
	Body           []byte
	Caller         string
	Chunked        bool // send the body without a Content-Length
}

// do runs one request through the broker and scans the answer for secrets.
func (h *harness) do(r req) *httptest.ResponseRecorder {
	h.t.Helper()
	if r.Method == "" {
		r.Method = "GET"
	}
	var body io.Reader
	if r.Body != nil {
		body = bytes.NewReader(r.Body)
	}
	hr := httptest.NewRequest(r.Method, r.Target, body)
	if r.Chunked {
		hr.ContentLength = -1
		hr.Body = io.NopCloser(bytes.NewReader(r.Body))
	}
	switch r.Caller {
	case "":
		hr.Header.Set(HeaderCaller, h.caller())
	case "-":
	default:
		hr.Header.Set(HeaderCaller, r.Caller)
	}
	for k, v := range r.Header {
		hr.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.b.ServeHTTP(rec, hr)
	var all strings.Builder
	fmt.Fprintf(&all, "HTTP/1.1 %d %s\n", rec.Code, http.StatusText(rec.Code))
	for k, vs := range rec.Header() {
		for _, v := range vs {
			fmt.Fprintf(&all, "%s: %s\n", k, v)
		}
	}
	all.Write(rec.Body.Bytes())
	h.scan(r.Method+" "+r.Target, all.String())
	return rec
}

// scan fails the test if text contains a secret, raw or in a usual encoding.
func (h *harness) scan(what, text string) {
	h.t.Helper()
	for i, s := range h.secrets {
		if s == "" {
			continue
		}
		for j, form := range secretForms(s) {
			if strings.Contains(text, form) {
				h.t.Errorf("%s: configured secret #%d appears in the answer or log (form #%d)", what, i, j)
			}
		}
	}
	// The Ansira Basic credentials are a secret in themselves.
	basic := base64.StdEncoding.EncodeToString([]byte(h.env["ANSIRA_CLIENT_ID"] + ":" + h.env["ANSIRA_CLIENT_SECRET"]))
	if strings.Contains(text, basic) {
		h.t.Errorf("%s: the Ansira Basic credentials appear in the answer or log", what)
	}
}

func secretForms(s string) []string {
	return []string{
		s,
		base64.StdEncoding.EncodeToString([]byte(s)),
		base64.RawURLEncoding.EncodeToString([]byte(s)),
		hex.EncodeToString([]byte(s)),
		url.QueryEscape(s),
		url.PathEscape(s),
		strings.TrimRight(s, "="), // a base64 key without its padding
	}
}

// wantError checks an error answer's status and code.
func wantError(t *testing.T, rec *httptest.ResponseRecorder, status int, code string) errorBody {
	t.Helper()
	var e errorBody
	if rec.Code != status {
		t.Errorf("status = %d, want %d (body %s)", rec.Code, status, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("error Content-Type = %q", ct)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil {
		t.Fatalf("error body is not JSON: %s", rec.Body)
	}
	if string(e.Code) != code {
		t.Errorf("code = %s, want %s (message %q)", e.Code, code, e.Message)
	}
	if e.Message == "" {
		t.Errorf("error without a message")
	}
	return e
}

func decode[T any](t *testing.T, rec *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("answer is not the expected JSON: %v: %s", err, rec.Body)
	}
	return v
}
