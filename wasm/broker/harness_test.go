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
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apisign/apisign/internal/sandbox"
	"github.com/apisign/apisign/internal/testkit"
	"github.com/apisign/apisign/signers/clock"
	"github.com/apisign/apisign/signers/keyfax"
)

// The tests drive the broker handler in memory against the provider
// emulators (internal/sandbox), through a test-only middleware
// (testkit.Upstream) that records what reaches them and scripts failures. No sockets,
// so they also run under GOOS=js in Node. Every answer and every log line is
// scanned for every configured secret.

const (
	testOrigin   = "https://app.example"
	upstreamBase = "http://127.0.0.1:9" // never dialled: testkit.InMemory serves the sandbox
)

var testStart = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

type harness struct {
	t      *testing.T
	clk    *clock.Fake
	sb     *sandbox.Sandbox
	creds  sandbox.Credentials
	up     *testkit.Upstream
	env    map[string]string
	b      *Broker
	cfgErr error
	opts   []Option

	logs testkit.SyncBuffer // what the broker logged

	mu      sync.Mutex
	secrets []string
	keys    map[string]string // Keyfax API key -> signing key, for the independent check
}

// newHarness builds a broker over a fresh sandbox; edit changes the
// environment first (nil: everything configured).
func newHarness(t *testing.T, edit func(env map[string]string), opts ...Option) *harness {
	t.Helper()
	return newHarnessWith(t, sandbox.Options{}, edit, opts...)
}

// newHarnessWith is newHarness over a sandbox with so (its base URL and clock
// are the harness's).
func newHarnessWith(t *testing.T, so sandbox.Options, edit func(env map[string]string), opts ...Option) *harness {
	t.Helper()
	h := &harness{t: t, clk: clock.NewFake(testStart), keys: map[string]string{}}
	// FonnBurst: the tests are not about Fonn's rate limit, and the fake clock
	// never ends a window.
	so.BaseURL, so.Clock, so.FonnBurst = upstreamBase, h.clk, 1<<20
	h.sb = sandbox.New(so)
	h.creds = h.sb.Credentials()
	h.keys[h.creds.KeyfaxAPIKey] = h.creds.KeyfaxSigningKey
	h.up = &testkit.Upstream{Check: h.independent, Handler: testkit.KeyfaxKeysSeen(h.sb, func(apiKey, signingKey string) {
		h.addKeys(keyfax.Keys{APIKey: apiKey, SigningKey: signingKey})
	})}
	h.env = h.sb.Env()
	h.env["FONN_ALLOWED_PATHS"] = "/"
	h.env[EnvCallerSecret] = "caller-" + hex.EncodeToString([]byte(t.Name()+"-0123456789abcdef"))
	h.env[EnvAllowedOrigins] = testOrigin + ", http://127.0.0.1:8080"
	if edit != nil {
		edit(h.env)
	}
	h.secrets = append(testkit.SecretValues(h.env), h.creds.KeyfaxAPIKey, h.creds.KeyfaxSigningKey)
	logf := func(format string, args ...any) { fmt.Fprintf(&h.logs, format+"\n", args...) }
	h.opts = append([]Option{WithClock(h.clk), WithLogger(logf)}, opts...)
	h.outbound(testkit.InMemory{Handler: h.up})
	t.Cleanup(func() {
		h.scan("log", h.logs.String())
		for _, s := range h.up.Requests() {
			if s.Independent != "" {
				t.Errorf("independent signature check: %s %s: %s", s.Method, s.URI, s.Independent)
			}
		}
	})
	return h
}

// outbound rebuilds the broker with rt as its outbound transport.
func (h *harness) outbound(rt http.RoundTripper) {
	h.b, h.cfgErr = New(func(k string) string { return h.env[k] }, rt, h.opts...)
}

// sandboxStatus asks the sandbox directly (not through the recorder).
func (h *harness) sandboxStatus(method, path string, header map[string]string) int {
	return h.up.Probe(method, upstreamBase+path, header)
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

// ---- independent signature checks ---------------------------------------------

// The sandbox checks signatures with the core's own verifiers (signers/keyfax,
// signers/nfon), which would share a fault with the core's signers. These
// recompute the Keyfax and NFON signatures from docs/PROTOCOLS.md ("Keyfax",
// "NFON") with the standard library only, for every request the broker sends,
// so such a fault still fails the tests.
func (h *harness) independent(r *http.Request, body []byte) string {
	p, _, _ := strings.Cut(r.RequestURI, "?")
	switch {
	case strings.EqualFold(p, "/keyfax/Interview/api/v1/token") && r.Method == "GET",
		strings.EqualFold(p, "/keyfax/Interview/api/v1/key") && r.Method == "POST":
		h.mu.Lock()
		defer h.mu.Unlock()
		return keyfaxIndependent(h.env["KEYFAX_HOST_NAME"], h.keys, r.Header.Get("Authorization"), r.Method, "http://"+r.Host+r.RequestURI, body)
	case strings.HasPrefix(p, "/nfon/"):
		return nfonIndependent(h.creds, r, r.RequestURI, body)
	}
	return ""
}

// addKeys notes a Keyfax key pair handed out (by GET /api/v1/key, or to the
// web hook): it signs later requests, and is a secret for the leak scan.
func (h *harness) addKeys(k keyfax.Keys) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.keys[k.APIKey] = k.SigningKey
	h.secrets = append(h.secrets, k.APIKey, k.SigningKey)
}

// keyfaxIndependent recomputes the Keyfax Basic signature with the signing
// key of the header's API key (keys):
// raw = ApiKey + METHOD + UrlEncode(lower(uri)) + Timestamp + Nonce + BodyMD5.
func keyfaxIndependent(host string, keys map[string]string, auth, method, uri string, body []byte) string {
	fields := strings.Split(strings.TrimPrefix(auth, "Basic "), ":")
	if len(fields) != 5 || fields[0] != host || keys[fields[1]] == "" {
		return "keyfax: header fields"
	}
	apiKey, signingKey := fields[1], keys[fields[1]]
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
	key, _ := base64.StdEncoding.DecodeString(signingKey)
	m := hmac.New(sha256.New, key)
	m.Write([]byte(apiKey + strings.ToUpper(method) + enc.String() + ts + nonce + bodyMD5))
	if base64.StdEncoding.EncodeToString(m.Sum(nil)) != sig {
		return "keyfax: signature"
	}
	return ""
}

// nfonIndependent recomputes the NFON-API signature:
// METHOD \n [md5hex \n Content-Type \n] Date \n Resource, HMAC-SHA1, base64.
// An audio upload (audio/*, or any PUT of an announcement: the sandbox's
// audio endpoint) signs no content.
func nfonIndependent(c sandbox.Credentials, r *http.Request, uri string, body []byte) string {
	sts := r.Method + "\n"
	ct := r.Header.Get("Content-Type")
	audio := strings.HasPrefix(strings.ToLower(ct), "audio/") || r.Method == "PUT" && strings.Contains(uri, "/announcements/")
	if (r.Method == "POST" || r.Method == "PUT" || r.Method == "PATCH") && !audio {
		sum := md5.Sum(body)
		if r.Header.Get("Content-MD5") != hex.EncodeToString(sum[:]) {
			return "nfon: Content-MD5"
		}
		sts += hex.EncodeToString(sum[:]) + "\n" + ct + "\n"
	}
	sts += r.Header.Get("x-nfon-date") + "\n" + uri
	m := hmac.New(sha1.New, []byte(c.NFONSecret))
	m.Write([]byte(sts))
	if r.Header.Get("Authorization") != "NFON-API "+c.NFONKeyID+":"+base64.StdEncoding.EncodeToString(m.Sum(nil)) {
		return "nfon: signature"
	}
	return ""
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
	h.mu.Lock()
	secrets := append([]string(nil), h.secrets...)
	h.mu.Unlock()
	testkit.Scan(h.t, what, text, secrets)
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
