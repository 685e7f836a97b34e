//go:build !js

package main

// TestWorkerInWorkerd runs the broker for real: it builds the Worker (the JS
// shim from workers-assets-gen, the Go module for GOOS=js), starts it in
// workerd (the Workers runtime, from npm) on 127.0.0.1 with test secrets, and
// drives it over HTTP against the dev server's provider emulators
// (internal/sandbox), which check every signature with the core's
// verifiers. (The broker package's own tests also recompute the Keyfax and
// NFON signatures independently; the Worker runs that same Go code.)

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apisign/apisign/internal/sandbox"
	"github.com/apisign/apisign/signers/keyfax"
	"github.com/apisign/apisign/wasm/broker"
)

// compatibilityDate matches wrangler.jsonc.
const compatibilityDate = "2026-04-01"

func TestWorkerInWorkerd(t *testing.T) {
	root := repoRoot(t)
	workerd := filepath.Join(root, "node_modules", ".bin", "workerd")
	if _, err := os.Stat(workerd); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("workerd is missing (%s): run npm ci", workerd)
		}
		t.Skipf("workerd is not installed (%s; npm ci installs it); skipped outside CI", workerd)
	}
	if testing.Short() && os.Getenv("CI") == "" {
		t.Skip("builds the Worker; skipped with -short outside CI")
	}

	dir := t.TempDir()
	build(t, root, dir)

	// The emulated providers, on 127.0.0.1, behind a recorder.
	up := httptest.NewUnstartedServer(nil)
	fake := &upstream{sb: sandbox.New(sandbox.Options{BaseURL: "http://" + up.Listener.Addr().String()})}
	up.Config.Handler = fake
	up.Start()
	t.Cleanup(up.Close)
	creds := fake.sb.Credentials()
	env := fake.sb.Env()
	secrets := secretValues(env)
	callerSecret := "workerd-caller-secret-" + hex.EncodeToString([]byte(t.Name()))
	env[broker.EnvCallerSecret] = callerSecret
	env[broker.EnvAllowedOrigins] = "https://app.example"
	env[broker.EnvMaxBody] = "4096"
	secrets = append(secrets, callerSecret)

	// workerd gets an already listening socket (fd 3): no port race, and no
	// polling for readiness (connections wait in the backlog until it serves).
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lnFile, err := ln.(*net.TCPListener).File()
	ln.Close()
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	config := filepath.Join(dir, "config.capnp")
	if err := os.WriteFile(config, []byte(capnpConfig(env)), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, workerd, "serve", config, "--socket-fd=http=3")
	cmd.ExtraFiles = []*os.File{lnFile}
	var logs syncBuffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lnFile.Close()
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		scan(t, "workerd log", logs.String(), secrets)
		if t.Failed() {
			t.Logf("workerd log:\n%s", logs.String())
			t.Logf("upstream refusals: %v", fake.Failures())
		}
	})

	client := &http.Client{Timeout: 90 * time.Second} // the first request compiles the module
	call := func(method, path string, body []byte, hdr map[string]string) (*http.Response, []byte) {
		t.Helper()
		req, err := http.NewRequest(method, base+path, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if body == nil {
			req.Body = nil
		}
		req.Header.Set(broker.HeaderCaller, broker.MintCallerToken([]byte(callerSecret), time.Now().Add(5*time.Minute)))
		for k, v := range hdr {
			if v == "" {
				req.Header.Del(k)
			} else {
				req.Header.Set(k, v)
			}
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		data, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		var all strings.Builder
		fmt.Fprintf(&all, "%s\n", resp.Status)
		resp.Header.Write(&all)
		all.Write(data)
		scan(t, method+" "+path, all.String(), secrets)
		return resp, data
	}
	origin := map[string]string{"Origin": "https://app.example"}

	// A Keyfax token mint: GET /api/v1/token upstream with Basic.
	resp, data := call("GET", "/keyfax/token", nil, origin)
	if resp.StatusCode != 200 {
		t.Fatalf("keyfax token: %s %s", resp.Status, data)
	}
	var kf struct{ Token, HostName, ExpiresAt string }
	json.Unmarshal(data, &kf)
	claims, err := keyfax.ReadJWT(kf.Token)
	if err != nil || kf.HostName != creds.KeyfaxHostName || kf.ExpiresAt != claims.Exp.UTC().Format(time.RFC3339) {
		t.Errorf("keyfax token answer %s (%v)", data, err)
	}
	if resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example" || resp.Header.Get("Access-Control-Expose-Headers") != "Retry-After, Date, X-Apisign-Error" {
		t.Errorf("CORS headers %v", resp.Header)
	}
	// The second mint comes from the isolate-wide store: the Go instance is
	// new, the JWT is not.
	_, data2 := call("GET", "/keyfax/token", nil, nil)
	if !bytes.Equal(data, data2) || fake.Count("keyfax get") != 1 {
		t.Errorf("second mint %s, upstream mints %d (want the same JWT, 1 mint)", data2, fake.Count("keyfax get"))
	}

	// An NFON signed forward: method, path, query and body byte for byte.
	body := []byte(`{"data":[{"name":"displayName","value":"John Doe"},{"name":"displayNumber","value":"+49 (176) 12345678"}]}`)
	resp, data = call("POST", "/nfon/api/customers/K1234/phone-books?search=I%20Am%20Encoded", body,
		map[string]string{"Content-Type": "application/json", "Cookie": "site=1"})
	e := fake.last(t)
	if resp.StatusCode != 201 || e.method != "POST" || e.uri != "/nfon/api/customers/K1234/phone-books?search=I%20Am%20Encoded" ||
		!bytes.Equal(e.body, body) || e.header.Get("Content-Type") != "application/json" {
		t.Errorf("nfon forward: %s %s; upstream saw %s %s %q %v", resp.Status, data, e.method, e.uri, e.body, e.header)
	}
	for _, h := range []string{"Cookie", broker.HeaderCaller} {
		if _, ok := e.header[http.CanonicalHeaderKey(h)]; ok {
			t.Errorf("client header %s reached NFON", h)
		}
	}
	if resp.Header.Get("Content-Type") != "application/json; charset=utf-8" || resp.Header.Get("Set-Cookie") != "" {
		t.Errorf("nfon answer headers %v", resp.Header)
	}
	resp, _ = call("GET", "/nfon/api/customers/K1234/phone-books", nil, nil)
	if resp.StatusCode != 200 || fake.Count("nfon") != 2 {
		t.Errorf("nfon GET: %s, upstream accepted %d", resp.Status, fake.Count("nfon"))
	}
	// HEAD: the upstream answer has a null body in the Worker.
	resp, data = call("HEAD", "/nfon/api/customers/K1234/phone-books", nil, nil)
	if resp.StatusCode != 200 || len(data) != 0 || fake.Count("nfon") != 3 {
		t.Errorf("nfon HEAD: %s %q, upstream accepted %d", resp.Status, data, fake.Count("nfon"))
	}

	// A Fonn forward with impersonation, an Ansira exchange and a Fortis session.
	// The sandbox's Fonn echoes the impersonated user; its projects are
	// read-only, so a PUT is 405 once the credentials are accepted.
	resp, data = call("GET", "/fonn/api/v1/projects?x=1", nil, map[string]string{"impersonatedUserExternalId": "ext-42"})
	if resp.StatusCode != 200 || !strings.Contains(string(data), `"impersonatedUserExternalId": "ext-42"`) || fake.last(t).uri != "/fonn/api/v1/projects?x=1" {
		t.Errorf("fonn forward: %s %s", resp.Status, data)
	}
	resp, data = call("PUT", "/fonn/api/v1/orders/7?x=1", []byte("abc"), map[string]string{"impersonatedUserExternalId": "ext-42", "Content-Type": "text/plain"})
	if e := fake.last(t); resp.StatusCode != 405 || e.header.Get("impersonatedUserExternalId") != "ext-42" || e.uri != "/fonn/api/v1/orders/7?x=1" || string(e.body) != "abc" {
		t.Errorf("fonn forward: %s %s; upstream saw %s %q %v", resp.Status, data, e.uri, e.body, e.header)
	}
	resp, data = call("POST", "/ansira/token", nil, nil)
	var at struct {
		AccessToken string `json:"access_token"`
	}
	json.Unmarshal(data, &at)
	if resp.StatusCode != 200 || fake.probe("GET", "/ansira/api/v1/campaigns", map[string]string{"Authorization": "Bearer " + at.AccessToken}) != 200 {
		t.Errorf("ansira token: %s %s", resp.Status, data)
	}
	resp, data = call("POST", "/fortis/session", nil, nil)
	var fs struct{ Token string }
	json.Unmarshal(data, &fs)
	session := func() bool {
		return fake.probe("GET", "/fortis/v2/transactions", map[string]string{"developer-id": creds.FortisDeveloperID, "access-token": fs.Token}) == 200
	}
	if resp.StatusCode != 200 || !session() {
		t.Errorf("fortis open: %s %s", resp.Status, data)
	}
	if resp, _ = call("DELETE", "/fortis/session/"+url.PathEscape(fs.Token), nil, nil); resp.StatusCode != 204 || session() {
		t.Errorf("fortis close: %s", resp.Status)
	}

	// Upstream 429: status, Retry-After and Date come back as sent (the Worker's
	// header conversion splits values at commas; the broker rejoins them).
	date := "Wed, 06 Aug 2025 14:32:00 GMT"
	fake.setScript(func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.HasPrefix(r.URL.Path, "/nfon/") || !strings.Contains(r.URL.RawQuery, "busy") {
			return false
		}
		w.Header().Set("Retry-After", "7")
		w.Header().Set("Date", date)
		w.WriteHeader(429)
		w.Write([]byte("slow down"))
		return true
	})
	resp, data = call("GET", "/nfon/api/x?busy=1", nil, origin)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "7" || resp.Header.Get("Date") != date || string(data) != "slow down" {
		t.Errorf("upstream 429: %s, Retry-After %q, Date %q, body %q", resp.Status, resp.Header.Get("Retry-After"), resp.Header.Get("Date"), data)
	}

	// Refusals.
	resp, data = call("GET", "/keyfax/token", nil, map[string]string{"Origin": "https://evil.example"})
	if resp.StatusCode != 403 || resp.Header.Get("Access-Control-Allow-Origin") != "" || !strings.Contains(string(data), "E_INPUT") {
		t.Errorf("rejected origin: %s %v %s", resp.Status, resp.Header, data)
	}
	resp, _ = call("OPTIONS", "/nfon/api/x", nil, map[string]string{"Origin": "https://evil.example", "Access-Control-Request-Method": "POST", broker.HeaderCaller: ""})
	if resp.StatusCode != 403 || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("rejected preflight: %s %v", resp.Status, resp.Header)
	}
	resp, _ = call("OPTIONS", "/nfon/api/x", nil, map[string]string{"Origin": "https://app.example", "Access-Control-Request-Method": "POST", broker.HeaderCaller: ""})
	if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Headers") != "X-Apisign-Caller, Content-Type, impersonatedUserExternalId" {
		t.Errorf("allowed preflight: %s %v", resp.Status, resp.Header)
	}
	for _, p := range []string{"/nfon/admin", "/nfon/api/..%2fadmin", "/nfon/api/%252e%252e/admin", "/nfon/api/x%5c..%5cadmin"} {
		resp, data = call("GET", p, nil, nil)
		if resp.StatusCode != 403 || !strings.Contains(string(data), "E_INPUT") {
			t.Errorf("rejected path %s: %s %s", p, resp.Status, data)
		}
	}
	resp, data = call("GET", "/keyfax/token", nil, map[string]string{broker.HeaderCaller: ""})
	if resp.StatusCode != 401 || !strings.Contains(string(data), "E_TOKEN") {
		t.Errorf("missing caller: %s %s", resp.Status, data)
	}
	resp, _ = call("POST", "/nfon/api/x", bytes.Repeat([]byte("a"), 5000), map[string]string{"Content-Type": "text/plain"})
	if resp.StatusCode != 413 {
		t.Errorf("oversized body: %s", resp.Status)
	}
	if n := fake.Count("nfon"); n != 3 {
		t.Errorf("NFON accepted %d requests, want 3 (refusals must not reach it)", n)
	}
}

// upstream serves the sandbox and records every request that reaches it, as
// received, with the answer's status. It adds an upstream-only cookie to every
// sandbox answer (the broker must not pass it back) and lets a script answer
// instead of the sandbox (upstream failures).
type upstream struct {
	sb *sandbox.Sandbox

	mu     sync.Mutex
	script func(w http.ResponseWriter, r *http.Request) bool
	seen   []seenReq
}

type seenReq struct {
	method, uri string
	header      http.Header
	body        []byte
	status      int
	scripted    bool
}

func (u *upstream) setScript(f func(w http.ResponseWriter, r *http.Request) bool) {
	u.mu.Lock()
	u.script = f
	u.mu.Unlock()
}

func (u *upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	s := seenReq{method: r.Method, uri: r.RequestURI, header: r.Header.Clone(), body: body}
	u.mu.Lock()
	script := u.script
	u.mu.Unlock()
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	if script != nil && script(sw, r) {
		s.scripted = true
	} else {
		w.Header().Set("Set-Cookie", "upstream-session=1")
		u.sb.ServeHTTP(sw, r)
	}
	s.status = sw.status
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

func (u *upstream) requests() []seenReq {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]seenReq(nil), u.seen...)
}

func (u *upstream) last(t *testing.T) seenReq {
	t.Helper()
	all := u.requests()
	if len(all) == 0 {
		t.Fatalf("nothing reached the providers")
	}
	return all[len(all)-1]
}

// Count returns how many requests to a provider endpoint the sandbox served
// without refusing their authentication: "keyfax get" (a JWT mint) or "nfon".
func (u *upstream) Count(kind string) int {
	n := 0
	for _, s := range u.requests() {
		p, _, _ := strings.Cut(s.uri, "?")
		k := ""
		switch {
		case strings.EqualFold(p, "/keyfax/Interview/api/v1/token") && s.method == "GET":
			k = "keyfax get"
		case strings.HasPrefix(p, "/nfon/"):
			k = "nfon"
		}
		if k == kind && !s.scripted && s.status != http.StatusUnauthorized && s.status != http.StatusForbidden {
			n++
		}
	}
	return n
}

// Failures lists the requests the sandbox refused, to show why a call failed.
func (u *upstream) Failures() []string {
	var out []string
	for _, s := range u.requests() {
		if !s.scripted && s.status >= 400 {
			out = append(out, fmt.Sprintf("%s %s: %d", s.method, s.uri, s.status))
		}
	}
	return out
}

// probe asks the sandbox directly (not recorded), e.g. whether a token works.
func (u *upstream) probe(method, path string, header map[string]string) int {
	r := httptest.NewRequest(method, u.sb.BaseURL()+path, nil)
	for k, v := range header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	u.sb.ServeHTTP(w, r)
	return w.Code
}

// publicEnv names the broker variables that are not secret; every other value
// of the environment is.
var publicEnv = map[string]bool{
	"KEYFAX_BASE_URL": true, "KEYFAX_HOST_NAME": true, "NFON_BASE_URL": true, "NFON_ALLOWED_PATHS": true,
	"FORTIS_BASE_URL": true, "FORTIS_DEVELOPER_ID": true, "FORTIS_DOMAIN": true, "ANSIRA_TOKEN_URL": true,
	"ANSIRA_SCOPE": true, "FONN_BASE_URL": true, "FONN_ALLOWED_PATHS": true,
}

func secretValues(env map[string]string) []string {
	var s []string
	for k, v := range env {
		if !publicEnv[k] {
			s = append(s, v)
		}
	}
	return s
}

// build writes the Worker into dir the way ./build.sh worker does.
func build(t *testing.T, root, dir string) {
	t.Helper()
	run := func(env []string, args ...string) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run(nil, "run", "github.com/syumai/workers/cmd/workers-assets-gen", "-mode=go", "-o", dir)
	run([]string{"GOOS=js", "GOARCH=wasm"}, "build", "-trimpath", "-ldflags=-s -w", "-o", filepath.Join(dir, "app.wasm"), "./wasm/broker/worker")
}

// capnpConfig is the workerd configuration: the generated modules, the
// environment as text bindings, a socket (its fd is passed on the command
// line), and outbound fetch allowed to loopback addresses only (workerd's
// default "internet" service allows public addresses only).
func capnpConfig(env map[string]string) string {
	names := make([]string, 0, len(env))
	for k := range env {
		names = append(names, k)
	}
	sort.Strings(names)
	var bindings []string
	for _, k := range names {
		bindings = append(bindings, fmt.Sprintf("    (name = %s, text = %s)", capnpString(k), capnpString(env[k])))
	}
	return `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "broker", worker = .broker),
    (name = "internet", network = (allow = ["local"])),
  ],
  sockets = [(name = "http", http = (), service = "broker")],
);

const broker :Workerd.Worker = (
  modules = [
    (name = "worker.mjs", esModule = embed "worker.mjs"),
    (name = "wasm_exec.js", esModule = embed "wasm_exec.js"),
    (name = "runtime.mjs", esModule = embed "runtime.mjs"),
    (name = "app.wasm", wasm = embed "app.wasm"),
  ],
  compatibilityDate = "` + compatibilityDate + `",
  bindings = [
` + strings.Join(bindings, ",\n") + `
  ],
);
`
}

func capnpString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

func repoRoot(t *testing.T) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test's directory")
		}
		dir = parent
	}
}

// scan fails the test if text contains a secret, raw or in a usual encoding.
func scan(t *testing.T, what, text string, secrets []string) {
	t.Helper()
	for i, s := range secrets {
		for _, form := range []string{s, base64.StdEncoding.EncodeToString([]byte(s)), hex.EncodeToString([]byte(s)), url.QueryEscape(s), strings.TrimRight(s, "=")} {
			if strings.Contains(text, form) {
				t.Errorf("%s: secret #%d appears in it", what, i)
			}
		}
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
