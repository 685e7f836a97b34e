//go:build !js

package main

// The broker's deployment-wide state in the Worker: a Durable Object
// (../worker/state.mjs) kept on disk by workerd. syumai/workers runs a fresh
// Go instance per request, so everything below holds only if the object does
// its job: single flights, limits and Keyfax keys across requests, and
// across a restart of workerd.

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/apisign/apisign/internal/sandbox"
	"github.com/apisign/apisign/signers/keyfax"
	"github.com/apisign/apisign/wasm/broker"
)

// concurrently sends n copies of one request at once (Overlapping) and
// returns the statuses and bodies.
func (w *worker) concurrently(n int, method, path string, body []byte, hdr map[string]string) ([]int, [][]byte) {
	w.t.Helper()
	codes, bodies := make([]int, n), make([][]byte, n)
	w.fake.Overlapping(n, 300*time.Millisecond, func(i int) {
		resp, data := w.call(method, path, body, hdr)
		codes[i], bodies[i] = resp.StatusCode, data
	})
	return codes, bodies
}

// 20 concurrent Keyfax token requests: one mint; 20 concurrent Ansira token
// requests: one exchange. F1: 20 concurrent reports of
// one refused Ansira token: one exchange, and the same new token for all;
// reports of that one within the interval: none.
func TestWorkerdSingleFlights(t *testing.T) {
	w := startWorker(t, sandbox.Options{}, func(env map[string]string) { env[broker.EnvRateLimit] = "1000/1m" })
	codes, bodies := w.concurrently(20, "GET", "/keyfax/token", nil, nil)
	for i := range codes {
		if codes[i] != 200 || !bytes.Equal(bodies[i], bodies[0]) {
			t.Errorf("keyfax token %d: %d %s", i, codes[i], bodies[i])
		}
	}
	if n := w.fake.Count("keyfax get"); n != 1 {
		t.Errorf("upstream Keyfax mints for 20 concurrent requests = %d, want 1", n)
	}

	codes, bodies = w.concurrently(20, "POST", "/ansira/token", nil, nil)
	var a struct {
		AccessToken string `json:"access_token"`
	}
	json.Unmarshal(bodies[0], &a)
	for i := range codes {
		if codes[i] != 200 || !strings.Contains(string(bodies[i]), a.AccessToken) {
			t.Errorf("ansira token %d: %d %s", i, codes[i], bodies[i])
		}
	}
	if n := w.fake.Count("ansira"); n != 1 {
		t.Errorf("upstream Ansira exchanges for 20 concurrent requests = %d, want 1", n)
	}
	report := []byte(`{"invalidate":"` + a.AccessToken + `"}`)
	codes, bodies = w.concurrently(20, "POST", "/ansira/token", report, nil)
	var b struct {
		AccessToken string `json:"access_token"`
	}
	json.Unmarshal(bodies[0], &b)
	for i := range codes {
		var got struct {
			AccessToken string `json:"access_token"`
		}
		json.Unmarshal(bodies[i], &got)
		if codes[i] != 200 || got.AccessToken == a.AccessToken || got.AccessToken != b.AccessToken {
			t.Errorf("ansira report %d: %d %s", i, codes[i], bodies[i])
		}
	}
	if n := w.fake.Count("ansira"); n != 2 {
		t.Errorf("upstream Ansira exchanges = %d, want 2 (the first, one forced by 20 reports)", n)
	}
	codes, bodies = w.concurrently(20, "POST", "/ansira/token", []byte(`{"invalidate":"`+b.AccessToken+`"}`), nil)
	for i := range codes {
		if codes[i] != 429 || !strings.Contains(string(bodies[i]), "E_RATE") {
			t.Errorf("report within the interval %d: %d %s", i, codes[i], bodies[i])
		}
	}
	if n := w.fake.Count("ansira"); n != 2 {
		t.Errorf("upstream Ansira exchanges = %d, want still 2", n)
	}
}

// F3: a caller's rate per route, and its open Fortis sessions.
func TestWorkerdLimits(t *testing.T) {
	w := startWorker(t, sandbox.Options{}, func(env map[string]string) {
		env[broker.EnvRateLimit] = "20/1m"
		env[broker.EnvFortisMaxSessions] = "2"
	})
	caller := map[string]string{broker.HeaderCaller: w.caller(10 * time.Minute)}
	for i := 0; i < 20; i++ {
		if resp, data := w.call("GET", "/ansira/status", nil, caller); resp.StatusCode != 200 {
			t.Fatalf("status %d: %s %s", i, resp.Status, data)
		}
	}
	resp, data := w.call("GET", "/ansira/status", nil, caller)
	if resp.StatusCode != 429 || resp.Header.Get(broker.HeaderError) != "E_RATE" || resp.Header.Get("Retry-After") == "" {
		t.Errorf("21st request: %s %v %s", resp.Status, resp.Header, data)
	}

	other := map[string]string{broker.HeaderCaller: w.caller(11 * time.Minute)}
	codes, bodies := w.concurrently(10, "POST", "/fortis/session", nil, other)
	opened := 0
	var tok string
	for i := range codes {
		switch {
		case codes[i] == 200:
			opened++
			var s struct{ Token string }
			json.Unmarshal(bodies[i], &s)
			tok = s.Token
		case codes[i] != 429 || !strings.Contains(string(bodies[i]), "E_RATE"):
			t.Errorf("open %d: %d %s", i, codes[i], bodies[i])
		}
	}
	if opened != 2 || w.fake.Count("fortis open") != 2 {
		t.Fatalf("opened %d sessions (upstream %d), want 2", opened, w.fake.Count("fortis open"))
	}
	if resp, _ := w.call("DELETE", "/fortis/session/"+tok, nil, other); resp.StatusCode != 204 {
		t.Errorf("close: %s", resp.Status)
	}
	if resp, data := w.call("POST", "/fortis/session", nil, other); resp.StatusCode != 200 {
		t.Errorf("open after a close: %s %s", resp.Status, data)
	}
}

// The Keyfax key lifecycle in the Worker: an admin reset, the keys delivered
// to the web hook and switched to; then a restart of workerd, after which the
// Durable Object still has the keys (a second reset, signed with them,
// works) and the JWT.
func TestWorkerdKeyRotation(t *testing.T) {
	const admin = "workerd-admin-secret-0123456789abcdef"
	secret := "hook-" + hex.EncodeToString([]byte(t.Name()+"-web-hook-secret"))
	var w *worker
	// The sandbox posts to this proxy, which passes on to workerd (whose
	// address changes with a restart) and notes the keys it carries.
	var delivered []keyfax.Keys
	hook := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var k keyfax.Keys
		if json.Unmarshal(body, &k) == nil && k.APIKey != "" {
			w.addSecrets(k.APIKey, k.SigningKey)
			delivered = append(delivered, k)
		}
		resp, err := http.Post(w.wd.URL+r.URL.Path, "application/json", bytes.NewReader(body))
		if err != nil {
			rw.WriteHeader(502)
			return
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		w.scan("web hook answer", string(data))
		rw.WriteHeader(resp.StatusCode)
	}))
	t.Cleanup(hook.Close)
	w = startWorker(t, sandbox.Options{KeyfaxWebHook: hook.URL + "/keyfax/webhook/" + secret}, func(env map[string]string) {
		env[broker.EnvAdminSecret] = admin
		env[broker.EnvKeyfaxWebhookSecret] = secret
	})
	token := func() string {
		t.Helper()
		resp, data := w.call("GET", "/keyfax/token", nil, nil)
		var a struct{ Token string }
		json.Unmarshal(data, &a)
		if resp.StatusCode != 200 {
			t.Fatalf("keyfax token: %s %s", resp.Status, data)
		}
		return a.Token
	}
	bearer := func(jwt string) int {
		return w.fake.Probe("GET", w.sb.BaseURL()+"/keyfax/Interview/api/v1/startup", map[string]string{"Authorization": "Bearer " + w.creds.KeyfaxHostName + ":" + jwt})
	}
	reset := func() string {
		t.Helper()
		resp, data := w.call("POST", "/keyfax/keys/reset", nil, map[string]string{"Authorization": "Bearer " + admin, broker.HeaderCaller: ""})
		if resp.StatusCode != 200 {
			t.Fatalf("reset: %s %s (upstream %v)", resp.Status, data, w.fake.Failures())
		}
		return string(data)
	}

	a := token()
	if got := reset(); !strings.Contains(got, `"switched"`) || len(delivered) != 1 {
		t.Fatalf("reset answered %s, %d deliveries", got, len(delivered))
	}
	if bearer(a) != 401 {
		t.Errorf("a JWT of the old signing key still works")
	}
	b := token()
	if b == a || bearer(b) != 200 || w.fake.Count("keyfax get") != 2 {
		t.Errorf("after the switch: new JWT %v, works %d, mints %d", b != a, bearer(b), w.fake.Count("keyfax get"))
	}

	// A restart: the environment still holds the old keys, which Keyfax
	// refuses now; the Durable Object's storage on disk has the new ones.
	w.restart()
	if c := token(); c != b || w.fake.Count("keyfax get") != 2 {
		t.Errorf("after a restart: the stored JWT %v, mints %d", c == b, w.fake.Count("keyfax get"))
	}
	if got := reset(); !strings.Contains(got, `"switched"`) || len(delivered) != 2 {
		t.Errorf("second reset after the restart answered %s, %d deliveries", got, len(delivered))
	}
	d := token()
	if d == b || bearer(d) != 200 {
		t.Errorf("after the second switch: new JWT %v, works %d", d != b, bearer(d))
	}

	// A failure half way: the first use of the third keys fails, so they stay
	// pending (and the JWT of the second keys works on); after a restart the
	// next token request tries them (the cached JWT set aside, as once a
	// minute while keys are pending) and switches.
	w.fake.SetScript(func(rw http.ResponseWriter, r *http.Request) bool {
		if r.Method != "GET" || !strings.HasSuffix(r.URL.Path, "/api/v1/token") {
			return false
		}
		rw.WriteHeader(http.StatusServiceUnavailable)
		return true
	})
	if got := reset(); !strings.Contains(got, `"pending"`) || len(delivered) != 3 {
		t.Errorf("third reset, first use failing: %s, %d deliveries", got, len(delivered))
	}
	w.fake.SetScript(nil)
	if bearer(d) != 200 {
		t.Errorf("the JWT of the current keys stopped working while the new ones are pending")
	}
	w.restart()
	e := token()
	if e == d || bearer(e) != 200 || bearer(d) != 401 {
		t.Errorf("after the restart: a JWT of the third keys %v, works %d; the second keys' JWT refused %v", e != d, bearer(e), bearer(d) == 401)
	}

	// Refusals: a wrong web hook secret is an unknown route; keys for another
	// host are not taken; the admin route wants the admin secret.
	noCaller := map[string]string{broker.HeaderCaller: ""}
	if resp, _ := w.call("POST", "/keyfax/webhook/wrong", []byte(`{}`), noCaller); resp.StatusCode != 404 {
		t.Errorf("web hook with a wrong secret: %s", resp.Status)
	}
	other, _ := json.Marshal(keyfax.Keys{APIKey: "k", SigningKey: "c2lnbmluZw==", SchemaName: "Basic", HostName: "Other"})
	if resp, _ := w.call("POST", "/keyfax/webhook/"+secret, other, noCaller); resp.StatusCode != 400 || resp.Header.Get(broker.HeaderError) != "E_KEY" {
		t.Errorf("keys for another host: %s %s", resp.Status, resp.Header.Get(broker.HeaderError))
	}
	if resp, _ := w.call("POST", "/keyfax/keys/reset", nil, nil); resp.StatusCode != 401 || resp.Header.Get(broker.HeaderError) != "E_SIGNATURE" {
		t.Errorf("reset with a caller token only: %s", resp.Status)
	}
}

// No keys configured: the Worker fetches the host's initial keys (GET
// /api/v1/key, answered once) once for 20 concurrent requests, and keeps them
// in the Durable Object across a restart.
func TestWorkerdInitialKeys(t *testing.T) {
	w := startWorker(t, sandbox.Options{}, func(env map[string]string) {
		env["KEYFAX_HOST_NAME"] = "Default" // the sandbox's host without keys
		delete(env, "KEYFAX_API_KEY")
		delete(env, "KEYFAX_SIGNING_KEY")
		env[broker.EnvRateLimit] = "1000/1m"
	})
	codes, bodies := w.concurrently(20, "GET", "/keyfax/token", nil, nil)
	for i := range codes {
		if codes[i] != 200 || !bytes.Equal(bodies[i], bodies[0]) {
			t.Errorf("keyfax token %d: %d %s (upstream %v)", i, codes[i], bodies[i], w.fake.Failures())
		}
	}
	if n, m := w.fake.Count("keyfax initial key"), w.fake.Count("keyfax get"); n != 1 || m != 1 {
		t.Errorf("initial key requests %d, mints %d; want 1 and 1", n, m)
	}
	w.restart()
	if resp, data := w.call("GET", "/keyfax/token", nil, nil); resp.StatusCode != 200 || !bytes.Equal(data, bodies[0]) || w.fake.Count("keyfax initial key") != 1 {
		t.Errorf("after a restart: %s %s, initial key requests %d", resp.Status, data, w.fake.Count("keyfax initial key"))
	}
}
