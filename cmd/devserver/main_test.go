package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apisign/apisign/internal/testkit"
	"github.com/apisign/apisign/signers/keyfax"
	"github.com/apisign/apisign/wasm/broker"
)

// webDir writes a stand-in for web/: the tests must not depend on the build.
func webDir(t *testing.T) string {
	dir := t.TempDir()
	files := map[string]string{
		"index.html":   "<!doctype html><title>apisign demo</title>",
		"apisign.mjs":  "export async function load() {}\n",
		"apisign.wasm": "\x00asm\x01\x00\x00\x00",
		"apisign.d.ts": "export declare function load(): Promise<unknown>;\n",
		"sub/x.txt":    "no index here",
	}
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// startServer runs newServer on a free port of 127.0.0.1 until the test ends.
func startServer(t *testing.T) *server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var logs strings.Builder
	srv := newServer("http://"+ln.Addr().String(), webDir(t), log.New(&logs, "", 0))
	if logs.Len() > 0 {
		t.Errorf("the broker reported configuration problems: %s", logs.String())
	}
	testkit.ServeUntilEnd(t, func(ctx context.Context) error { return broker.Serve(ctx, ln, srv.handler) })
	return srv
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func get(t *testing.T, method, url string, header map[string]string, body string) answer {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	if h := header["Host"]; h != "" {
		req.Host = h
	}
	c := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, b}
}

func (a answer) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(a.body, &m); err != nil {
		t.Fatalf("not JSON (status %d): %s", a.status, a.body)
	}
	return m
}

func TestStatic(t *testing.T) {
	srv := startServer(t)
	cases := []struct{ path, ctype, contains string }{
		{"/", "text/html; charset=utf-8", "apisign demo"},
		{"/apisign.mjs", "text/javascript; charset=utf-8", "export"},
		{"/apisign.wasm", "application/wasm", "asm"},
		{"/apisign.d.ts", "text/plain; charset=utf-8", "declare"},
	}
	for _, c := range cases {
		a := get(t, "GET", srv.origin+c.path, nil, "")
		if a.status != 200 || a.header.Get("Content-Type") != c.ctype || !strings.Contains(string(a.body), c.contains) {
			t.Errorf("GET %s: %d %q %q", c.path, a.status, a.header.Get("Content-Type"), a.body)
		}
		if a.header.Get("Cache-Control") != "no-cache" || a.header.Get("ETag") == "" {
			t.Errorf("GET %s: Cache-Control %q", c.path, a.header.Get("Cache-Control"))
		}
	}
	for _, p := range []string{"/missing.js", "/sub/"} {
		if a := get(t, "GET", srv.origin+p, nil, ""); a.status != 404 {
			t.Errorf("GET %s: %d, want 404", p, a.status)
		}
	}
	if a := get(t, "GET", srv.origin+"/sandbox/", nil, ""); a.status != 200 {
		t.Errorf("GET /sandbox/: %d", a.status)
	}
}

func TestCallerToken(t *testing.T) {
	srv := startServer(t)
	before := time.Now()
	a := get(t, "GET", srv.origin+"/site/caller-token", nil, "")
	m := a.json(t)
	tok, _ := m["token"].(string)
	scope, err := broker.VerifyCallerToken(srv.secret, tok, time.Now())
	if err != nil {
		t.Fatalf("caller token: %v", err)
	}
	exp, err := time.Parse(time.RFC3339, m["expiresAt"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if exp.Before(before.Add(9*time.Minute)) || exp.After(before.Add(11*time.Minute)) {
		t.Errorf("expiresAt %v, want about 10 minutes from now", exp)
	}
	if !scope.Expires.Equal(exp) || a.header.Get("Cache-Control") != "no-store" {
		t.Errorf("token expires %v, not at expiresAt, or headers %v", scope.Expires, a.header)
	}
	// Scoped to the demo: its providers, its one Fonn user, the page's origin.
	if scope.Subject != "demo" || len(scope.Routes) != 5 || scope.FonnUser != demoFonnUser || scope.Origin != srv.origin {
		t.Errorf("scope %+v", scope)
	}
	if a.header.Get("Access-Control-Allow-Origin") != "" {
		t.Error("the caller token must not be readable cross-origin")
	}
	if a := get(t, "POST", srv.origin+"/site/caller-token", nil, ""); a.status != 405 {
		t.Errorf("POST: %d", a.status)
	}
}

// publicEnv are the sandbox variables that are not secrets.
var publicEnv = map[string]bool{
	"KEYFAX_BASE_URL": true, "KEYFAX_HOST_NAME": true, "NFON_BASE_URL": true, "NFON_ALLOWED_PATHS": true,
	"FORTIS_BASE_URL": true, "FORTIS_DOMAIN": true, "ANSIRA_TOKEN_URL": true, "ANSIRA_SCOPE": true,
	"FONN_BASE_URL": true, "FONN_ALLOWED_PATHS": true,
}

func TestConfigHasNoSecret(t *testing.T) {
	srv := startServer(t)
	a := get(t, "GET", srv.origin+"/site/config", nil, "")
	if a.status != 200 {
		t.Fatalf("status %d", a.status)
	}
	m := a.json(t)
	env := srv.sandbox.Env()
	want := map[string]string{
		"brokerUrl":         srv.origin + "/broker",
		"keyfax.baseUrl":    env["KEYFAX_BASE_URL"],
		"keyfax.hostName":   env["KEYFAX_HOST_NAME"],
		"fortis.baseUrl":    env["FORTIS_BASE_URL"],
		"ansira.apiBaseUrl": srv.origin + "/sandbox/ansira",
	}
	for k, v := range want {
		var got any = m
		for _, part := range strings.Split(k, ".") {
			got = got.(map[string]any)[part]
		}
		if got != v {
			t.Errorf("config %s = %v, want %s", k, got, v)
		}
	}
	body := string(a.body)
	checked := 0
	for k, v := range env {
		if publicEnv[k] {
			continue
		}
		checked++
		if strings.Contains(body, v) {
			t.Errorf("/site/config contains the value of %s", k)
		}
	}
	if checked < 12 {
		t.Errorf("only %d secrets checked", checked)
	}
	if strings.Contains(body, string(srv.secret)) {
		t.Error("/site/config contains the caller secret")
	}
}

// TestBrokerEndToEnd drives every broker route against the sandbox, the way
// the demo page does: caller token from /site/caller-token, Origin of the page.
func TestBrokerEndToEnd(t *testing.T) {
	srv := startServer(t)
	caller := get(t, "GET", srv.origin+"/site/caller-token", nil, "").json(t)["token"].(string)
	hd := map[string]string{"X-Apisign-Caller": caller, "Origin": srv.origin}
	b := srv.origin + "/broker"

	// Keyfax: the broker mints a JWT with Basic; the page uses it as Bearer.
	a := get(t, "GET", b+"/keyfax/token", hd, "")
	if a.status != 200 {
		t.Fatalf("keyfax token: %d %s", a.status, a.body)
	}
	if a.header.Get("Access-Control-Allow-Origin") != srv.origin {
		t.Errorf("broker CORS: %v", a.header)
	}
	m := a.json(t)
	jwt := m["token"].(string)
	claims, err := keyfax.ReadJWT(jwt)
	if err != nil {
		t.Fatal(err)
	}
	if m["hostName"] != srv.sandbox.Env()["KEYFAX_HOST_NAME"] || m["expiresAt"] != claims.Exp.UTC().Format(time.RFC3339) {
		t.Errorf("keyfax token answer %v", m)
	}
	bearer, _ := keyfax.Bearer(m["hostName"].(string), jwt)
	a = get(t, "POST", srv.sandbox.Env()["KEYFAX_BASE_URL"]+"/api/v1/startup",
		map[string]string{"Authorization": bearer, "Content-Type": "application/json", "Origin": srv.origin}, `{"company":{"value":"OL3_Dev"}}`)
	if a.status != 200 || a.json(t)["launchUrl"] == nil {
		t.Errorf("startup with the broker's JWT: %d %s", a.status, a.body)
	}

	// Ansira token, Fortis session (open and close), NFON and Fonn forwarding.
	a = get(t, "POST", b+"/ansira/token", hd, "")
	if a.status != 200 || a.json(t)["access_token"] == nil {
		t.Errorf("ansira token: %d %s", a.status, a.body)
	} else {
		camp := get(t, "GET", srv.origin+"/sandbox/ansira/api/v1/campaigns", map[string]string{"Authorization": "Bearer " + a.json(t)["access_token"].(string)}, "")
		if camp.status != 200 {
			t.Errorf("campaigns with the broker's token: %d %s", camp.status, camp.body)
		}
	}
	a = get(t, "POST", b+"/fortis/session", hd, "")
	if a.status != 200 {
		t.Errorf("fortis session: %d %s", a.status, a.body)
	} else {
		s := a.json(t)
		tr := get(t, "GET", srv.origin+"/sandbox/fortis/v2/transactions", map[string]string{
			"developer-id": s["developerId"].(string), "access-token": s["token"].(string)}, "")
		if tr.status != 200 {
			t.Errorf("transactions with the broker's session: %d %s", tr.status, tr.body)
		}
		if d := get(t, "DELETE", b+"/fortis/session/"+s["token"].(string), hd, ""); d.status != 204 {
			t.Errorf("close session: %d %s", d.status, d.body)
		}
	}
	a = get(t, "GET", b+"/nfon/api/customers/K1234/phone-books?search=Service%20Desk", hd, "")
	if a.status != 200 || a.json(t)["total"] != float64(1) {
		t.Errorf("nfon forward: %d %s", a.status, a.body)
	}
	a = get(t, "POST", b+"/nfon/api/customers/K1234/phone-books", map[string]string{"X-Apisign-Caller": caller, "Content-Type": "application/json"},
		`{"data":[{"name":"displayName","value":"John Doe"}]}`)
	if a.status != 201 {
		t.Errorf("nfon forward POST: %d %s", a.status, a.body)
	}
	hd["impersonatedUserExternalId"] = demoFonnUser
	a = get(t, "GET", b+"/fonn/api/v1/projects", hd, "")
	if a.status != 200 || a.json(t)["impersonatedUserExternalId"] != demoFonnUser {
		t.Errorf("fonn forward: %d %s", a.status, a.body)
	}
	// The demo's token allows its one Fonn user only.
	hd["impersonatedUserExternalId"] = "ext-9"
	if a := get(t, "GET", b+"/fonn/api/v1/projects", hd, ""); a.status != 403 || a.header.Get(broker.HeaderError) != string(broker.CodeScope) {
		t.Errorf("fonn forward as another user: %d %s", a.status, a.body)
	}

	// Refusals: no caller token, a foreign origin.
	if a := get(t, "GET", b+"/keyfax/token", map[string]string{"Origin": srv.origin}, ""); a.status != 401 {
		t.Errorf("no caller token: %d", a.status)
	}
	if a := get(t, "GET", b+"/keyfax/token", map[string]string{"X-Apisign-Caller": caller, "Origin": "http://evil.example"}, ""); a.status != 403 {
		t.Errorf("foreign origin: %d", a.status)
	}
}

// TestHost: the server answers only its own loopback names (issue 12, F6). A
// DNS-rebinding page reaches 127.0.0.1 with its own name in Host.
func TestHost(t *testing.T) {
	srv := startServer(t)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.origin, "http://"))
	for _, host := range []string{"127.0.0.1:" + port, "localhost:" + port, "LOCALHOST:" + port} {
		a := get(t, "GET", srv.origin+"/site/caller-token", map[string]string{"Host": host}, "")
		if a.status != 200 {
			t.Errorf("Host %s: %d", host, a.status)
			continue
		}
		// The token is bound to the name the page was loaded under.
		s, err := broker.VerifyCallerToken(srv.secret, a.json(t)["token"].(string), time.Now())
		if err != nil || s.Origin != "http://"+strings.ToLower(host) {
			t.Errorf("Host %s: token origin %v, %v", host, s, err)
		}
	}
	for _, host := range []string{"rebind.example:" + port, "rebind.example", "127.0.0.1", "127.0.0.1:1", "localhost", "[::1]:" + port, "127.0.0.1:" + port + ".evil.example"} {
		for _, path := range []string{"/site/caller-token", "/broker/keyfax/token", "/", "/sandbox/"} {
			a := get(t, "GET", srv.origin+path, map[string]string{"Host": host}, "")
			if a.status != http.StatusMisdirectedRequest || strings.Contains(string(a.body), "token\"") {
				t.Errorf("Host %s, %s: %d %s", host, path, a.status, a.body)
			}
		}
	}
}

func TestRun(t *testing.T) {
	dir := webDir(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	secrets := filepath.Join(t.TempDir(), "secrets.json")
	go func() { done <- run(ctx, []string{"-port", "0", "-web", dir, "-secrets-out", secrets}, pw, io.Discard) }()
	lines := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(pr).ReadString('\n')
		lines <- l
	}()
	var line string
	select {
	case line = <-lines:
	case err := <-done:
		t.Fatalf("run returned early: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("no URL printed")
	}
	url, ok := strings.CutPrefix(strings.TrimSpace(line), "apisign demo: ")
	if !ok || !strings.HasPrefix(url, "http://127.0.0.1:") || !strings.HasSuffix(url, "/") || strings.HasSuffix(url, ":0/") {
		t.Fatalf("printed %q", line)
	}
	if a := get(t, "GET", url, nil, ""); a.status != 200 || !strings.Contains(string(a.body), "apisign demo") {
		t.Errorf("GET %s: %d", url, a.status)
	}
	// -secrets-out: the broker's whole environment, readable by the owner only.
	var env map[string]string
	if b, err := os.ReadFile(secrets); err != nil || json.Unmarshal(b, &env) != nil {
		t.Fatalf("secrets file: %v", err)
	}
	for _, k := range []string{"NFON_SECRET", "KEYFAX_SIGNING_KEY", "APISIGN_CALLER_SECRET", "FONN_SUBSCRIPTION_KEY"} {
		if len(env[k]) < 8 {
			t.Errorf("secrets file lacks %s", k)
		}
	}
	if st, err := os.Stat(secrets); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("secrets file mode: %v", st.Mode())
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run after cancel: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not shut down")
	}
	if _, err := http.Get(url); err == nil {
		t.Error("still serving after shutdown")
	}
}

func TestRunBadArguments(t *testing.T) {
	ctx := context.Background()
	for _, args := range [][]string{{"-port", "70000"}, {"-port", "x"}, {"-web", filepath.Join(t.TempDir(), "none")}, {"extra"}} {
		if err := run(ctx, args, io.Discard, io.Discard); err == nil {
			t.Errorf("run %v: no error", args)
		}
	}
	t.Setenv("PORT", "eighty")
	if err := run(ctx, []string{"-web", webDir(t)}, io.Discard, io.Discard); err == nil {
		t.Error("PORT=eighty: no error")
	}
}
