//go:build !js

package main

// TestWorkerInWorkerd runs the broker for real: it builds the Worker (the JS
// shim from workers-assets-gen, the Go module for GOOS=js), starts it in
// workerd (the Workers runtime, from npm) on 127.0.0.1 with the committed
// configuration (../workerd.capnp) and test secrets in its environment, and
// drives it over HTTP against the provider emulators (internal/sandbox), which check every signature with the core's
// verifiers. (The broker package's own tests also recompute the Keyfax and
// NFON signatures independently; the Worker runs that same Go code.)

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apisign/apisign/internal/sandbox"
	"github.com/apisign/apisign/internal/testkit"
	"github.com/apisign/apisign/signers/keyfax"
	"github.com/apisign/apisign/wasm/broker"
)

// worker is the broker Worker running in workerd against the sandbox.
type worker struct {
	t      *testing.T
	root   string
	dir    string // workerd's working directory: its config, build/, do-storage/
	bin    string // workerd
	wd     *testkit.Workerd
	sb     *sandbox.Sandbox
	fake   *testkit.Upstream
	creds  sandbox.Credentials
	env    map[string]string
	client *http.Client

	mu      sync.Mutex
	secrets []string
}

// startWorker builds the Worker and runs it in workerd with the sandbox's
// environment (so: the sandbox's options, edit: changes to the environment).
// It skips when workerd is not installed, except under CI.
func startWorker(t *testing.T, so sandbox.Options, edit func(env map[string]string)) *worker {
	t.Helper()
	root, err := testkit.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	w := &worker{t: t, root: root, dir: t.TempDir(), bin: filepath.Join(root, "node_modules", ".bin", "workerd")}
	if _, err := os.Stat(w.bin); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("workerd is missing (%s): run npm ci", w.bin)
		}
		t.Skipf("workerd is not installed (%s; npm ci installs it); skipped outside CI", w.bin)
	}
	if testing.Short() && os.Getenv("CI") == "" {
		t.Skip("builds the Worker; skipped with -short outside CI")
	}
	buildCtx, cancelBuild := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancelBuild()
	if err := testkit.BuildWorker(buildCtx, root, filepath.Join(w.dir, "build")); err != nil {
		t.Fatal(err)
	}

	// The emulated providers, on 127.0.0.1, behind a recorder.
	up := httptest.NewUnstartedServer(nil)
	so.BaseURL = "http://" + up.Listener.Addr().String()
	w.sb = sandbox.New(so)
	w.fake = &testkit.Upstream{Handler: testkit.KeyfaxKeysSeen(w.sb, func(apiKey, signingKey string) { w.addSecrets(apiKey, signingKey) })}
	up.Config.Handler = w.fake
	up.Start()
	t.Cleanup(up.Close)
	w.creds = w.sb.Credentials()
	w.env = w.sb.Env()
	w.env[broker.EnvCallerSecret] = "workerd-caller-secret-" + hex.EncodeToString([]byte(t.Name()))
	w.env[broker.EnvAllowedOrigins] = "https://app.example"
	w.env[broker.EnvMaxBody] = "4096"
	if edit != nil {
		edit(w.env)
	}
	w.secrets = append(testkit.SecretValues(w.env), w.creds.KeyfaxAPIKey, w.creds.KeyfaxSigningKey)
	w.client = &http.Client{Timeout: 90 * time.Second} // the first request compiles the module
	w.start()
	t.Cleanup(func() {
		w.wd.Stop()
		w.scan("workerd log", w.wd.Logs.String())
		if t.Failed() {
			t.Logf("workerd log:\n%s", w.wd.Logs.String())
			t.Logf("upstream refusals: %v", w.fake.Failures())
		}
	})
	return w
}

// start runs workerd in w.dir (again, after stop: a restart, Durable Object
// storage kept on disk).
func (w *worker) start() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	w.t.Cleanup(cancel)
	wd, err := testkit.StartWorkerd(ctx, w.bin, w.root, filepath.Join(w.dir, "build"), w.dir, w.env)
	if err != nil {
		w.t.Fatal(err)
	}
	w.wd = wd
}

// restart stops workerd and starts it again on the same storage.
func (w *worker) restart() {
	w.wd.Stop()
	w.scan("workerd log", w.wd.Logs.String())
	w.start()
}

// caller mints a caller token valid for d (tokens minted in the same second
// are the same token: the same caller for the rate limits).
func (w *worker) caller(d time.Duration) string {
	return broker.MintCallerToken([]byte(w.env[broker.EnvCallerSecret]), time.Now().Add(d))
}

func (w *worker) addSecrets(s ...string) {
	w.mu.Lock()
	w.secrets = append(w.secrets, s...)
	w.mu.Unlock()
}

func (w *worker) scan(what, text string) {
	w.t.Helper()
	w.mu.Lock()
	secrets := append([]string(nil), w.secrets...)
	w.mu.Unlock()
	testkit.Scan(w.t, what, text, secrets)
}

// call sends one request with a fresh caller token (hdr may replace it, or
// remove it with ""), scans the whole answer for secrets and returns it.
func (w *worker) call(method, path string, body []byte, hdr map[string]string) (*http.Response, []byte) {
	w.t.Helper()
	req, err := http.NewRequest(method, w.wd.URL+path, bytes.NewReader(body))
	if err != nil {
		w.t.Fatal(err)
	}
	if body == nil {
		req.Body = nil
	}
	req.Header.Set(broker.HeaderCaller, w.caller(5*time.Minute))
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := w.client.Do(req)
	if err != nil {
		w.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		w.t.Fatal(err)
	}
	var all strings.Builder
	fmt.Fprintf(&all, "%s\n", resp.Status)
	resp.Header.Write(&all)
	all.Write(data)
	w.scan(method+" "+path, all.String())
	return resp, data
}

func TestWorkerInWorkerd(t *testing.T) {
	w := startWorker(t, sandbox.Options{}, func(env map[string]string) {
		// Fonn in the middle of a key rotation (the primary was regenerated, the
		// secondary works), with a workspace token (every call must impersonate).
		env[broker.EnvFonnSecondaryKey], env["FONN_SUBSCRIPTION_KEY"] = env["FONN_SUBSCRIPTION_KEY"], oldFonnKey
		env[broker.EnvFonnTokenKind] = "workspace"
	})
	creds, fake, sb, call := w.creds, w.fake, w.sb, w.call
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
	// The second mint comes from the deployment's state (the Durable Object):
	// the Go instance is new, the JWT is not.
	_, data2 := call("GET", "/keyfax/token", nil, nil)
	if !bytes.Equal(data, data2) || fake.Count("keyfax get") != 1 {
		t.Errorf("second mint %s, upstream mints %d (want the same JWT, 1 mint)", data2, fake.Count("keyfax get"))
	}

	// An NFON signed forward: method, path, query and body byte for byte.
	body := []byte(`{"data":[{"name":"displayName","value":"John Doe"},{"name":"displayNumber","value":"+49 (176) 12345678"}]}`)
	resp, data = call("POST", "/nfon/api/customers/K1234/phone-books?search=I%20Am%20Encoded", body,
		map[string]string{"Content-Type": "application/json", "Cookie": "site=1"})
	e := fake.Last(t)
	if resp.StatusCode != 201 || e.Method != "POST" || e.URI != "/nfon/api/customers/K1234/phone-books?search=I%20Am%20Encoded" ||
		!bytes.Equal(e.Body, body) || e.Header.Get("Content-Type") != "application/json" {
		t.Errorf("nfon forward: %s %s; upstream saw %s %s %q %v", resp.Status, data, e.Method, e.URI, e.Body, e.Header)
	}
	for _, h := range []string{"Cookie", broker.HeaderCaller} {
		if _, ok := e.Header[http.CanonicalHeaderKey(h)]; ok {
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
	// No unsigned Content-Type on a GET (NFON-19); an upload marked as audio
	// signed without its content, the marker not sent on (NFON-10); a %2F
	// inside a path step forwarded as sent (NFON-16).
	resp, _ = call("GET", "/nfon/api/customers/K1234/phone-books", nil, map[string]string{"Content-Type": "application/json"})
	if e := fake.Last(t); resp.StatusCode != 200 || len(e.Header.Values("Content-Type")) != 0 {
		t.Errorf("nfon GET with a Content-Type: %s, upstream saw %v", resp.Status, e.Header)
	}
	form := "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"hi.wav\"\r\nContent-Type: audio/wav\r\n\r\nRIFF\x00\r\n--b--\r\n"
	resp, _ = call("PUT", "/nfon/api/customers/K1234/announcements/welcome", []byte(form),
		map[string]string{"Content-Type": "multipart/form-data; boundary=b", broker.HeaderNFONAudio: "1"})
	if e := fake.Last(t); resp.StatusCode != 204 || e.Header.Get("Content-MD5") != "" || len(e.Header.Values(broker.HeaderNFONAudio)) != 0 || string(e.Body) != form {
		t.Errorf("nfon audio upload: %s, upstream saw %v", resp.Status, e.Header)
	}
	resp, _ = call("GET", "/nfon/api/customers/K1234/phone-books/Base%2FDevice", nil, nil)
	if e := fake.Last(t); resp.StatusCode != 404 || e.URI != "/nfon/api/customers/K1234/phone-books/Base%2FDevice" {
		t.Errorf("nfon %%2F step: %s, upstream saw %s", resp.Status, e.URI)
	}

	// A Fonn forward with impersonation, an Ansira exchange and a Fortis session.
	// The sandbox's Fonn echoes the impersonated user; its projects are
	// read-only, so a PUT is 405 once the credentials are accepted.
	resp, data = call("GET", "/fonn/api/v1/projects?x=1", nil, map[string]string{"impersonatedUserExternalId": "ext-42"})
	if resp.StatusCode != 200 || !strings.Contains(string(data), `"impersonatedUserExternalId": "ext-42"`) || fake.Last(t).URI != "/fonn/api/v1/projects?x=1" {
		t.Errorf("fonn forward: %s %s", resp.Status, data)
	}
	resp, data = call("PUT", "/fonn/api/v1/orders/7?x=1", []byte("abc"), map[string]string{"impersonatedUserExternalId": "ext-42", "Content-Type": "text/plain"})
	if e := fake.Last(t); resp.StatusCode != 405 || e.Header.Get("impersonatedUserExternalId") != "ext-42" || e.URI != "/fonn/api/v1/orders/7?x=1" || string(e.Body) != "abc" {
		t.Errorf("fonn forward: %s %s; upstream saw %s %q %v", resp.Status, data, e.URI, e.Body, e.Header)
	}
	resp, data = call("POST", "/ansira/token", nil, nil)
	var at struct {
		AccessToken string `json:"access_token"`
	}
	json.Unmarshal(data, &at)
	if resp.StatusCode != 200 || fake.Probe("GET", sb.BaseURL()+"/ansira/api/v1/campaigns", map[string]string{"Authorization": "Bearer " + at.AccessToken}) != 200 {
		t.Errorf("ansira token: %s %s", resp.Status, data)
	}
	resp, data = call("POST", "/fortis/session", nil, nil)
	var fs struct{ Token string }
	json.Unmarshal(data, &fs)
	session := func() bool {
		return fake.Probe("GET", sb.BaseURL()+"/fortis/v2/transactions", map[string]string{"developer-id": creds.FortisDeveloperID, "access-token": fs.Token}) == 200
	}
	if resp.StatusCode != 200 || !session() {
		t.Errorf("fortis open: %s %s", resp.Status, data)
	}
	if resp, _ = call("DELETE", "/fortis/session/"+url.PathEscape(fs.Token), nil, nil); resp.StatusCode != 204 || session() {
		t.Errorf("fortis close: %s", resp.Status)
	}
	// Fortis SSO: a one-time sign-in link from v2/contactsso.
	resp, data = call("POST", "/fortis/sso", []byte(`{"contact_id":"c-7"}`), map[string]string{"Content-Type": "application/json"})
	var sso struct {
		ContactSSO struct{ URL string } `json:"contactsso"`
	}
	json.Unmarshal(data, &sso)
	if resp.StatusCode != 200 || !strings.HasPrefix(sso.ContactSSO.URL, sb.BaseURL()+"/fortis/sso/") || fake.Probe("GET", sso.ContactSSO.URL, nil) != 200 {
		t.Errorf("fortis sso: %s %s", resp.Status, data)
	}

	// Upstream 429: status, Retry-After and Date come back as sent (the Worker's
	// header conversion splits values at commas; the broker rejoins them).
	date := "Wed, 06 Aug 2025 14:32:00 GMT"
	fake.SetScript(func(w http.ResponseWriter, r *http.Request) bool {
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
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "7" || resp.Header.Get("Date") != date || string(data) != "slow down" ||
		resp.Header.Get(broker.HeaderError) != "" || resp.Header.Get("Content-Security-Policy") != "sandbox" {
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
	if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Headers") != "X-Apisign-Caller, Content-Type, impersonatedUserExternalId, X-Apisign-NFON-Audio" {
		t.Errorf("allowed preflight: %s %v", resp.Status, resp.Header)
	}
	for _, p := range []string{"/nfon/admin", "/nfon/api/..%2fadmin", "/nfon/api/%252e%252e/admin", "/nfon/api/x%5c..%5cadmin"} {
		resp, data = call("GET", p, nil, nil)
		if resp.StatusCode != 403 || !strings.Contains(string(data), "E_INPUT") {
			t.Errorf("rejected path %s: %s %s", p, resp.Status, data)
		}
	}
	resp, data = call("GET", "/keyfax/token", nil, map[string]string{broker.HeaderCaller: ""})
	if resp.StatusCode != 401 || !strings.Contains(string(data), "E_TOKEN") || resp.Header.Get(broker.HeaderError) != "E_TOKEN" {
		t.Errorf("missing caller: %s %s", resp.Status, data)
	}
	resp, _ = call("POST", "/nfon/api/x", bytes.Repeat([]byte("a"), 5000), map[string]string{"Content-Type": "text/plain"})
	if resp.StatusCode != 413 {
		t.Errorf("oversized body: %s", resp.Status)
	}
	if n := fake.Count("nfon"); n != 6 {
		t.Errorf("NFON accepted %d requests, want 6 (refusals must not reach it)", n)
	}

	hardening(t, workerdRun{base: w.wd.URL, secret: []byte(w.env[broker.EnvCallerSecret]), fake: fake, logs: w.wd.Logs, secrets: w.secrets, call: call})

	// The variables left unset (APISIGN_UPSTREAM_TIMEOUT, APISIGN_ADMIN_SECRET,
	// …) are null bindings; read as "<null>" they would be configuration problems.
	if logs := w.wd.Logs.String(); strings.Contains(logs, "apisign broker configuration") {
		t.Errorf("the Worker reported configuration problems: %s", logs)
	}
}
