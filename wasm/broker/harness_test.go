package broker

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
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

	"github.com/apisign/apisign/internal/sandbox"
	"github.com/apisign/apisign/signers/clock"
)

// The tests drive the broker handler in memory against the dev server's
// provider emulators (internal/sandbox), through a test-only middleware
// (upstream) that records what reaches them and scripts failures. No sockets,
// so they also run under GOOS=js in Node. Every answer and every log line is
// scanned for every configured secret.

const (
	testOrigin   = "https://app.example"
	upstreamBase = "http://127.0.0.1:9" // never dialled: inMemory serves the sandbox
)

var testStart = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

type harness struct {
	t      *testing.T
	clk    *clock.Fake
	sb     *sandbox.Sandbox
	creds  sandbox.Credentials
	up     *upstream
	env    map[string]string
	b      *Broker
	cfgErr error
	opts   []Option

	mu      sync.Mutex
	logs    bytes.Buffer
	secrets []string
}

// newHarness builds a broker over a fresh sandbox; edit changes the
// environment first (nil: everything configured).
func newHarness(t *testing.T, edit func(env map[string]string), opts ...Option) *harness {
	t.Helper()
	h := &harness{t: t, clk: clock.NewFake(testStart)}
	// FonnBurst: the tests are not about Fonn's rate limit, and the fake clock
	// never ends a window.
	h.sb = sandbox.New(sandbox.Options{BaseURL: upstreamBase, Clock: h.clk, FonnBurst: 1 << 20})
	h.creds = h.sb.Credentials()
	h.up = &upstream{sb: h.sb, creds: h.creds}
	h.env = h.sb.Env()
	h.env["FONN_ALLOWED_PATHS"] = "/"
	h.secrets = secretValues(h.env)
	h.env[EnvCallerSecret] = "caller-" + hex.EncodeToString([]byte(t.Name()+"-0123456789abcdef"))
	h.env[EnvAllowedOrigins] = testOrigin + ", http://127.0.0.1:8080"
	if edit != nil {
		edit(h.env)
	}
	h.secrets = append(h.secrets, h.env[EnvCallerSecret])
	logf := func(format string, args ...any) {
		h.mu.Lock()
		fmt.Fprintf(&h.logs, format+"\n", args...)
		h.mu.Unlock()
	}
	h.opts = append([]Option{WithClock(h.clk), WithLogger(logf)}, opts...)
	h.outbound(inMemory{h.up})
	t.Cleanup(func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.scan("log", h.logs.String())
		for _, why := range h.up.independentFailures() {
			t.Errorf("independent signature check: %s", why)
		}
	})
	return h
}

// outbound rebuilds the broker with rt as its outbound transport.
func (h *harness) outbound(rt http.RoundTripper) {
	h.b, h.cfgErr = New(func(k string) string { return h.env[k] }, rt, h.opts...)
}

// publicEnv names the broker variables that are not secret (the page may see
// them, or they are addresses); every other value of the environment is.
var publicEnv = map[string]bool{
	"KEYFAX_BASE_URL": true, "KEYFAX_HOST_NAME": true, "NFON_BASE_URL": true, "NFON_ALLOWED_PATHS": true,
	"FORTIS_BASE_URL": true, "FORTIS_DEVELOPER_ID": true, "FORTIS_DOMAIN": true, "ANSIRA_TOKEN_URL": true,
	"ANSIRA_SCOPE": true, "FONN_BASE_URL": true, "FONN_ALLOWED_PATHS": true,
}

// secretValues returns every secret value of a broker environment.
func secretValues(env map[string]string) []string {
	var s []string
	for k, v := range env {
		if !publicEnv[k] {
			s = append(s, v)
		}
	}
	return s
}

// sandboxStatus asks the sandbox directly (not through the recorder).
func (h *harness) sandboxStatus(method, path string, header map[string]string) int {
	r := httptest.NewRequest(method, upstreamBase+path, nil)
	for k, v := range header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.sb.ServeHTTP(w, r)
	return w.Code
}

// fortisOpen reports whether the sandbox holds tok as an open Fortis session.
func (h *harness) fortisOpen(tok string) bool {
	return h.sandboxStatus("GET", "/fortis/v2/transactions", map[string]string{
		"developer-id": h.creds.FortisDeveloperID, "access-token": tok}) == http.StatusOK
}

// ansiraValid reports whether the sandbox's Ansira API accepts tok.
func (h *harness) ansiraValid(tok string) bool {
	return h.sandboxStatus("GET", "/ansira/api/v1/campaigns", map[string]string{"Authorization": "Bearer " + tok}) == http.StatusOK
}

// ---- the upstream middleware ----------------------------------------------------

// upstream sits between the broker and the sandbox. It records every request
// that reaches a provider, checks the Keyfax and NFON signatures with an
// independent recomputation, adds upstream-only headers to every answer (the
// broker must not pass them back) and, when a script is set, lets the script
// answer instead of the sandbox.
type upstream struct {
	sb    *sandbox.Sandbox
	creds sandbox.Credentials

	mu     sync.Mutex
	script func(w http.ResponseWriter, r *http.Request) bool
	seen   []seenReq
}

// seenReq is a request as a provider received it, with the answer's status.
type seenReq struct {
	Method, URI string
	Header      http.Header
	Body        []byte
	Status      int
	Scripted    bool
	Independent string // why the independent signature check failed, if it did
}

// setScript installs a function that sees every request first; when it
// returns true it has answered and the sandbox is not asked. Nil removes it.
func (u *upstream) setScript(f func(w http.ResponseWriter, r *http.Request) bool) {
	u.mu.Lock()
	u.script = f
	u.mu.Unlock()
}

func (u *upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	s := seenReq{Method: r.Method, URI: r.RequestURI, Header: r.Header.Clone(), Body: body}
	s.Independent = u.independent(r, body)
	u.mu.Lock()
	script := u.script
	u.mu.Unlock()
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	if script != nil && script(sw, r) {
		s.Scripted = true
	} else {
		w.Header().Set("Set-Cookie", "upstream-session=1")
		w.Header().Set("X-Upstream-Only", "1")
		u.sb.ServeHTTP(sw, r)
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

// requests returns what reached the providers so far.
func (u *upstream) requests() []seenReq {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]seenReq(nil), u.seen...)
}

// last returns the last request that reached the providers.
func (u *upstream) last(t *testing.T) seenReq {
	t.Helper()
	all := u.requests()
	if len(all) == 0 {
		t.Fatalf("nothing reached the providers")
	}
	return all[len(all)-1]
}

// kind names the endpoint a request was for: "keyfax get", "keyfax renew",
// "nfon", "fortis open", "fortis close", "ansira", "fonn" or "".
func (s seenReq) kind() string {
	p, _, _ := strings.Cut(s.URI, "?")
	switch {
	case strings.EqualFold(p, "/keyfax/Interview/api/v1/token") && s.Method == "GET":
		return "keyfax get"
	case strings.EqualFold(p, "/keyfax/Interview/api/v1/token") && s.Method == "POST":
		return "keyfax renew"
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

// Count returns how many requests for an endpoint (see kind) the sandbox
// served without refusing their authentication (401 or 403).
func (u *upstream) Count(kind string) int {
	n := 0
	for _, s := range u.requests() {
		if s.kind() == kind && !s.Scripted && s.Status != http.StatusUnauthorized && s.Status != http.StatusForbidden {
			n++
		}
	}
	return n
}

// Failures lists what the sandbox refused or the independent check found, to
// show why a call failed.
func (u *upstream) Failures() []string {
	var out []string
	for _, s := range u.requests() {
		if s.Independent != "" {
			out = append(out, s.Method+" "+s.URI+": independent check: "+s.Independent)
		}
		if !s.Scripted && s.Status >= 400 {
			out = append(out, fmt.Sprintf("%s %s: %d", s.Method, s.URI, s.Status))
		}
	}
	return out
}

func (u *upstream) independentFailures() []string {
	var out []string
	for _, s := range u.requests() {
		if s.Independent != "" {
			out = append(out, s.Method+" "+s.URI+": "+s.Independent)
		}
	}
	return out
}

// ---- independent signature checks ---------------------------------------------

// The sandbox checks signatures with the core's own verifiers (signers/keyfax,
// signers/nfon), which would share a fault with the core's signers. These
// recompute the Keyfax and NFON signatures from shared/PROTOCOLS.md with the
// standard library only, for every request the broker sends, so such a fault
// still fails the tests.
func (u *upstream) independent(r *http.Request, body []byte) string {
	p, _, _ := strings.Cut(r.RequestURI, "?")
	switch {
	case r.Method == "GET" && strings.EqualFold(p, "/keyfax/Interview/api/v1/token"):
		return u.keyfaxIndependent(r.Header.Get("Authorization"), r.Method, "http://"+r.Host+r.RequestURI, body)
	case strings.HasPrefix(p, "/nfon/"):
		return u.nfonIndependent(r, r.RequestURI, body)
	}
	return ""
}

// keyfaxIndependent recomputes the Keyfax Basic signature from PROTOCOLS.md:
// raw = ApiKey + METHOD + UrlEncode(lower(uri)) + Timestamp + Nonce + BodyMD5.
func (u *upstream) keyfaxIndependent(auth, method, uri string, body []byte) string {
	c := u.creds
	fields := strings.Split(strings.TrimPrefix(auth, "Basic "), ":")
	if len(fields) != 5 || fields[0] != c.KeyfaxHostName || fields[1] != c.KeyfaxAPIKey {
		return "keyfax: header fields"
	}
	sig, nonce, ts := fields[2], fields[3], fields[4]
	var enc strings.Builder
	for _, ch := range []byte(strings.ToLower(uri)) {
		switch {
		case 'a' <= ch && ch <= 'z', '0' <= ch && ch <= '9', strings.IndexByte("-_.!*()", ch) >= 0:
			enc.WriteByte(ch)
		case ch == ' ':
			enc.WriteByte('+')
		default:
			enc.WriteString("%" + hex.EncodeToString([]byte{ch}))
		}
	}
	bodyMD5 := ""
	if len(body) > 0 {
		sum := md5.Sum(body)
		bodyMD5 = base64.StdEncoding.EncodeToString(sum[:])
	}
	key, _ := base64.StdEncoding.DecodeString(c.KeyfaxSigningKey)
	m := hmac.New(sha256.New, key)
	m.Write([]byte(c.KeyfaxAPIKey + strings.ToUpper(method) + enc.String() + ts + nonce + bodyMD5))
	if base64.StdEncoding.EncodeToString(m.Sum(nil)) != sig {
		return "keyfax: signature"
	}
	return ""
}

// nfonIndependent recomputes the NFON-API signature from PROTOCOLS.md:
// METHOD \n [md5hex \n Content-Type \n] Date \n Resource, HMAC-SHA1, base64.
func (u *upstream) nfonIndependent(r *http.Request, uri string, body []byte) string {
	sts := r.Method + "\n"
	ct := r.Header.Get("Content-Type")
	if (r.Method == "POST" || r.Method == "PUT" || r.Method == "PATCH") && !strings.HasPrefix(strings.ToLower(ct), "audio/") {
		sum := md5.Sum(body)
		if r.Header.Get("Content-MD5") != hex.EncodeToString(sum[:]) {
			return "nfon: Content-MD5"
		}
		sts += hex.EncodeToString(sum[:]) + "\n" + ct + "\n"
	}
	sts += r.Header.Get("x-nfon-date") + "\n" + uri
	m := hmac.New(sha1.New, []byte(u.creds.NFONSecret))
	m.Write([]byte(sts))
	if r.Header.Get("Authorization") != "NFON-API "+u.creds.NFONKeyID+":"+base64.StdEncoding.EncodeToString(m.Sum(nil)) {
		return "nfon: signature"
	}
	return ""
}

// ---- in memory ----------------------------------------------------------------

// inMemory is an http.RoundTripper that hands each request to a handler in
// memory, as a server would receive it, without a socket, so that the tests
// also run under GOOS=js. It honours the request's context: a handler that
// hangs is abandoned when the context ends, as a real client would.
type inMemory struct{ h http.Handler }

func (t inMemory) RoundTrip(r *http.Request) (*http.Response, error) {
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
		t.h.ServeHTTP(rec, sr)
	}()
	select {
	case <-done:
		return rec.Result(), nil
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
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
	if got := rec.Header().Get(HeaderError); got != code {
		t.Errorf("%s = %q, want %s (the broker's own error)", HeaderError, got, code)
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
