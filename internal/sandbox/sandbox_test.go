package sandbox

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/clock"
	"github.com/apisign/apisign/signers/httpauth"
)

// t0 is the fake clock's start: a fixed time, so the tests never depend on now.
var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// harness is a sandbox mounted under /sandbox (as the dev server mounts it) on
// an httptest server on 127.0.0.1, with a fake clock.
type harness struct {
	t     *testing.T
	s     *Sandbox
	clk   *clock.Fake
	base  string // http://127.0.0.1:port/sandbox
	env   map[string]string
	doer  signers.Doer
	httpc *http.Client
}

func start(t *testing.T, opts Options) *harness {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil) // listens on 127.0.0.1 already
	base := "http://" + srv.Listener.Addr().String() + "/sandbox"
	clk := clock.NewFake(t0)
	opts.BaseURL, opts.Clock = base, clk
	s := New(opts)
	mux := http.NewServeMux()
	mux.Handle("/sandbox/", http.StripPrefix("/sandbox", s))
	srv.Config.Handler = mux
	srv.Start()
	t.Cleanup(srv.Close)
	httpc := &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return &harness{t: t, s: s, clk: clk, base: base, env: s.Env(), doer: httpauth.NewDoer(httpc), httpc: httpc}
}

// send sends req and returns the answer; a transport error fails the test.
func (h *harness) send(req *signers.Request) *signers.Response {
	h.t.Helper()
	if req.Header == nil {
		req.Header = signers.Header{}
	}
	resp, err := h.doer.Do(h.t.Context(), req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	return resp
}

func (h *harness) call(method, url string, header signers.Header, body string) *signers.Response {
	h.t.Helper()
	var b []byte
	if body != "" {
		b = []byte(body)
	}
	return h.send(&signers.Request{Method: method, URL: url, Header: header, Body: b})
}

func wantStatus(t *testing.T, what string, resp *signers.Response, status int) {
	t.Helper()
	if resp.Status != status {
		t.Fatalf("%s: status %d, want %d; body %s", what, resp.Status, status, resp.Body)
	}
}

func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("answer is not a JSON object: %v: %s", err, b)
	}
	return m
}

// path walks nested JSON objects: path(m, "a", "b") is m["a"]["b"].
func path(m any, keys ...string) any {
	for _, k := range keys {
		o, ok := m.(map[string]any)
		if !ok {
			return nil
		}
		m = o[k]
	}
	return m
}

func TestEnv(t *testing.T) {
	h := start(t, Options{})
	names := []string{
		"KEYFAX_BASE_URL", "KEYFAX_HOST_NAME", "KEYFAX_API_KEY", "KEYFAX_SIGNING_KEY",
		"NFON_BASE_URL", "NFON_KEY_ID", "NFON_SECRET",
		"FORTIS_BASE_URL", "FORTIS_DEVELOPER_ID", "FORTIS_USERNAME", "FORTIS_PASSWORD", "FORTIS_DOMAIN",
		"ANSIRA_TOKEN_URL", "ANSIRA_CLIENT_ID", "ANSIRA_CLIENT_SECRET", "ANSIRA_ASSERTION", "ANSIRA_SCOPE",
		"FONN_BASE_URL", "FONN_SUBSCRIPTION_KEY", "FONN_ACCESS_TOKEN",
		"FORTIS_OAUTH_TOKEN", "FONN_SECONDARY_SUBSCRIPTION_KEY", "FONN_WORKSPACE_TOKEN",
	}
	for _, n := range names {
		if h.env[n] == "" {
			t.Errorf("Env()[%s] is empty", n)
		}
	}
	for n, v := range h.env {
		if strings.HasSuffix(n, "_URL") && !strings.HasPrefix(v, h.base+"/") {
			t.Errorf("Env()[%s] = %q, not under the base URL %s", n, v, h.base)
		}
	}
	if got := h.env["KEYFAX_BASE_URL"]; got != h.base+"/keyfax/Interview" {
		t.Errorf("KEYFAX_BASE_URL = %q", got)
	}
	if got := h.env["ANSIRA_TOKEN_URL"]; got != h.base+"/ansira/oauth/v2/oauth-token" {
		t.Errorf("ANSIRA_TOKEN_URL = %q", got)
	}
	// Fresh credentials per sandbox.
	other := New(Options{}).Env()
	for _, n := range []string{"KEYFAX_API_KEY", "KEYFAX_SIGNING_KEY", "NFON_SECRET", "FORTIS_PASSWORD",
		"ANSIRA_CLIENT_SECRET", "ANSIRA_ASSERTION", "FONN_SUBSCRIPTION_KEY", "FONN_ACCESS_TOKEN",
		"FORTIS_OAUTH_TOKEN", "FONN_SECONDARY_SUBSCRIPTION_KEY", "FONN_WORKSPACE_TOKEN"} {
		if other[n] == h.env[n] {
			t.Errorf("%s is the same in two sandboxes", n)
		}
	}
	if New(Options{}).BaseURL() != "http://127.0.0.1:8080/sandbox" {
		t.Error("default BaseURL")
	}
}

func TestCORSAndDate(t *testing.T) {
	h := start(t, Options{})
	const origin = "http://127.0.0.1:5173"
	req, _ := http.NewRequest("OPTIONS", h.base+"/fortis/v2/transactions", nil)
	req.Header.Set("Origin", origin)
	req.Header.Set("Access-Control-Request-Method", "GET")
	req.Header.Set("Access-Control-Request-Headers", "developer-id, access-token")
	resp, err := h.httpc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("preflight: status %d", resp.StatusCode)
	}
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != origin {
		t.Errorf("preflight Allow-Origin = %q", got)
	}
	allowed := strings.ToLower(resp.Header.Get("Access-Control-Allow-Headers"))
	for _, hd := range []string{"authorization", "content-type", "developer-id", "access-token", "user-id", "user-api-key",
		"timestamp", "hash-key", "x-nfon-date", "content-md5", "ocp-apim-subscription-key", "impersonateduserexternalid"} {
		if !strings.Contains(allowed, hd) {
			t.Errorf("preflight does not allow header %s: %q", hd, allowed)
		}
	}
	if !strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), "DELETE") {
		t.Errorf("preflight methods = %q", resp.Header.Get("Access-Control-Allow-Methods"))
	}

	// A real request: CORS headers on an error answer too, Date from the clock.
	h.clk.Advance(90 * time.Minute)
	req, _ = http.NewRequest("GET", h.base+"/fonn/api/v1/projects", nil)
	req.Header.Set("Origin", origin)
	resp, err = h.httpc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("status %d, want 401", resp.StatusCode)
	}
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != origin {
		t.Errorf("Allow-Origin = %q", got)
	}
	if got := resp.Header.Get("Access-Control-Expose-Headers"); got != "Retry-After, Date" {
		t.Errorf("Expose-Headers = %q", got)
	}
	if got, want := resp.Header.Get("Date"), "Mon, 02 Mar 2026 11:30:00 GMT"; got != want {
		t.Errorf("Date = %q, want %q (the sandbox clock)", got, want)
	}
	// No Origin, no CORS headers.
	r := h.call("GET", h.base+"/", nil, "")
	wantStatus(t, "GET /", r, 200)
	if r.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Error("CORS header without an Origin")
	}
}

func TestBodyLimit(t *testing.T) {
	h := start(t, Options{})
	big := bytes.Repeat([]byte("a"), maxBody+1)
	r := h.send(&signers.Request{Method: "POST", URL: h.base + "/ansira/oauth/v2/oauth-token", Body: big})
	wantStatus(t, "oversized body", r, http.StatusRequestEntityTooLarge)
}

func TestUnknownRoutes(t *testing.T) {
	h := start(t, Options{})
	for _, p := range []string{"/nope", "/keyfax/other", "/keyfax/Interview/api/v2/x", "/ansira/api/v1/nope"} {
		if r := h.call("GET", h.base+p, nil, ""); r.Status != 404 {
			t.Errorf("GET %s: status %d, want 404", p, r.Status)
		}
	}
}
