package broker

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apisign/apisign/internal/sandbox"
	"github.com/apisign/apisign/internal/testkit"
	"github.com/apisign/apisign/signers/keyfax"
)

// The Keyfax key lifecycle (docs/PROTOCOLS.md, "Keyfax") against the
// emulator, which rotates keys as the vendor's document says: POST
// /api/v1/key draws new keys and posts them to the host's web hook; the old
// keys work until the first request made with the new ones; a new signing
// key invalidates every JWT.

const testAdmin = "admin-secret-0123456789abcdef0123456789"

// keyHarness is a harness whose broker is also served on 127.0.0.1, so that
// the sandbox can post new keys to its web hook. The keys delivered are noted
// (secrets for the leak scan, keys for the independent signature check).
type keyHarness struct {
	*harness
	file, hook string
	mu         sync.Mutex // guards the broker the server serves (restarts)
	delivered  []keyfax.Keys
}

func newKeyHarness(t *testing.T, edit func(env map[string]string)) *keyHarness {
	t.Helper()
	if runtime.GOOS == "js" {
		t.Skip("the sandbox posts new keys to the web hook over a socket")
	}
	srv := httptest.NewUnstartedServer(nil)
	secret := "hook-" + hex.EncodeToString([]byte(t.Name()+"-web-hook-secret"))
	k := &keyHarness{file: filepath.Join(t.TempDir(), "keyfax-keys.json")}
	k.hook = "/keyfax/webhook/" + secret
	k.harness = newHarnessWith(t, sandbox.Options{KeyfaxWebHook: "http://" + srv.Listener.Addr().String() + k.hook}, func(env map[string]string) {
		env[EnvKeyfaxWebhookSecret] = secret
		env[EnvAdminSecret] = testAdmin
		env[EnvKeyfaxKeyFile] = k.file
		if edit != nil {
			edit(env)
		}
	})
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var keys keyfax.Keys
		if json.Unmarshal(body, &keys) == nil && keys.APIKey != "" {
			k.addKeys(keys)
			k.mu.Lock()
			k.delivered = append(k.delivered, keys)
			k.mu.Unlock()
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.Header.Set(HeaderCaller, "") // the sandbox sends none; nor may the route need one
		rec := httptest.NewRecorder()
		k.mu.Lock()
		b := k.b
		k.mu.Unlock()
		b.ServeHTTP(rec, r)
		k.scan("web hook answer", rec.Header().Get(HeaderError)+rec.Body.String())
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	})
	srv.Start()
	t.Cleanup(srv.Close)
	return k
}

// restart builds a new broker from the same environment and key file, as a
// process restart does (the in-memory JWT cache is gone).
func (k *keyHarness) restart() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.outbound(testkit.InMemory{Handler: k.up})
}

func (k *keyHarness) reset() *httptest.ResponseRecorder {
	return k.do(req{Method: "POST", Target: "/keyfax/keys/reset", Caller: "-", Header: map[string]string{"Authorization": "Bearer " + testAdmin}})
}

// record reads the key file.
func (k *keyHarness) record() keyfaxKeys {
	k.t.Helper()
	data, err := os.ReadFile(k.file)
	var recs map[string]struct{ Value string }
	var keys keyfaxKeys
	if err == nil {
		err = json.Unmarshal(data, &recs)
	}
	if err == nil {
		err = json.Unmarshal([]byte(recs[keyfaxKeysKey].Value), &keys)
	}
	if err != nil {
		k.t.Fatalf("key file: %v", err)
	}
	return keys
}

// basicStatus is the status Keyfax answers GET /api/v1/token signed with the
// given keys.
func (k *keyHarness) basicStatus(apiKey, signingKey string) int {
	s, err := keyfax.NewSigner(k.creds.KeyfaxHostName, apiKey, signingKey)
	if err != nil {
		k.t.Fatal(err)
	}
	r, _ := keyfax.GetTokenRequest(upstreamBase + "/keyfax/Interview")
	s.SignRequest(r, k.clk.Now())
	hr, _ := http.NewRequest("GET", r.URL, nil)
	hr.Header.Set("Authorization", r.Header.Get("Authorization"))
	resp, err := testkit.InMemory{Handler: k.sb}.RoundTrip(hr) // straight to the sandbox, not recorded
	if err != nil {
		k.t.Fatal(err)
	}
	return resp.StatusCode
}

// bearerStatus is the status Keyfax answers a JWT with (example start-up data).
func (k *keyHarness) bearerStatus(jwt string) int {
	return k.up.Probe("GET", upstreamBase+"/keyfax/Interview/api/v1/startup", map[string]string{"Authorization": "Bearer " + k.creds.KeyfaxHostName + ":" + jwt})
}

// A reset through the admin route: Keyfax delivers the keys to the web hook,
// the broker uses them at once and switches; the old keys and the JWTs they
// signed stop working, the key file has the new keys, and after a restart
// the broker mints with them.
func TestKeyfaxKeyReset(t *testing.T) {
	k := newKeyHarness(t, nil)
	a := decode[keyfaxAnswer](t, k.do(req{Target: "/keyfax/token"}))
	if k.bearerStatus(a.Token) != 200 || k.basicStatus(k.creds.KeyfaxAPIKey, k.creds.KeyfaxSigningKey) != 200 {
		t.Fatal("the first JWT or the first keys do not work")
	}
	rec := k.reset()
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"switched"`) {
		t.Fatalf("reset: %d %s (upstream %v)", rec.Code, rec.Body, k.up.Failures())
	}
	if len(k.delivered) != 1 || k.up.Count("keyfax key reset") != 1 {
		t.Fatalf("deliveries %d, resets %d", len(k.delivered), k.up.Count("keyfax key reset"))
	}
	fresh := k.delivered[0]
	if got := k.basicStatus(k.creds.KeyfaxAPIKey, k.creds.KeyfaxSigningKey); got != 401 {
		t.Errorf("old keys after the switch: %d, want 401", got)
	}
	if k.bearerStatus(a.Token) != 401 {
		t.Errorf("a JWT of the old signing key still works")
	}
	b := decode[keyfaxAnswer](t, k.do(req{Target: "/keyfax/token"}))
	if b.Token == a.Token || k.bearerStatus(b.Token) != 200 || k.up.Count("keyfax get") != 2 {
		t.Errorf("after the switch: new JWT %v, works %d, mints %d (want the switch's)", b.Token != a.Token, k.bearerStatus(b.Token), k.up.Count("keyfax get"))
	}
	if r := k.record(); r.Current == nil || r.Current.APIKey != fresh.APIKey || r.Pending != nil {
		t.Errorf("key file after the switch: current is the new key %v, pending %v", r.Current != nil && r.Current.APIKey == fresh.APIKey, r.Pending != nil)
	}
	if runtime.GOOS != "windows" {
		if fi, _ := os.Stat(k.file); fi.Mode().Perm() != 0o600 {
			t.Errorf("key file mode %v", fi.Mode().Perm())
		}
	}
	// A restart: the environment still has the old keys; the file wins.
	k.restart()
	c := decode[keyfaxAnswer](t, k.do(req{Target: "/keyfax/token"}))
	if k.bearerStatus(c.Token) != 200 || k.up.Count("keyfax get") != 3 {
		t.Errorf("after a restart: JWT works %d, mints %d", k.bearerStatus(c.Token), k.up.Count("keyfax get"))
	}
}

// A failure half way: the first use of the delivered keys fails, so they stay
// pending (the old ones still work); after a restart the next mint uses them
// and switches.
func TestKeyfaxKeyResetHalfWay(t *testing.T) {
	k := newKeyHarness(t, nil)
	k.do(req{Target: "/keyfax/token"})
	k.up.SetScript(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != "GET" || !strings.HasSuffix(r.URL.Path, "/api/v1/token") {
			return false
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		return true
	})
	rec := k.reset()
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"pending"`) {
		t.Fatalf("reset: %d %s", rec.Code, rec.Body)
	}
	r := k.record()
	if r.Pending == nil || r.Current.APIKey != k.creds.KeyfaxAPIKey || len(k.delivered) != 1 || r.Pending.APIKey != k.delivered[0].APIKey {
		t.Fatalf("key file half way: current old %v, pending set %v", r.Current.APIKey == k.creds.KeyfaxAPIKey, r.Pending != nil)
	}
	if got := k.basicStatus(k.creds.KeyfaxAPIKey, k.creds.KeyfaxSigningKey); got != 200 {
		t.Errorf("old keys while the new are unused: %d, want 200", got)
	}
	k.up.SetScript(nil)
	k.restart()
	a := decode[keyfaxAnswer](t, k.do(req{Target: "/keyfax/token"}))
	if k.bearerStatus(a.Token) != 200 {
		t.Errorf("JWT after the restart does not work")
	}
	if r := k.record(); r.Pending != nil || r.Current.APIKey != k.delivered[0].APIKey {
		t.Errorf("not switched after the restart")
	}
	if got := k.basicStatus(k.creds.KeyfaxAPIKey, k.creds.KeyfaxSigningKey); got != 401 {
		t.Errorf("old keys after the switch: %d, want 401", got)
	}
}

// The web hook takes only the document's JSON for the configured host, at
// the URL with the secret; keys Keyfax does not accept stay pending and change
// nothing; the admin route takes only the admin credential.
func TestKeyfaxKeyRoutesRefuse(t *testing.T) {
	secret := "hook-" + hex.EncodeToString([]byte("refusals-web-hook-secret"))
	h := newHarness(t, func(env map[string]string) {
		env[EnvKeyfaxWebhookSecret] = secret
		env[EnvAdminSecret] = testAdmin
	})
	hook := "/keyfax/webhook/" + secret
	bogus := keyfax.Keys{APIKey: "0b9c2a4e-0000-4000-8000-000000000001", SigningKey: "c2lnbmluZy1rZXktbm90LWlzc3VlZC1ieS1rZXlmYXg=", SchemaName: "Basic", HostName: h.creds.KeyfaxHostName}
	h.addKeys(bogus)
	post := func(target string, k any) *httptest.ResponseRecorder {
		body, _ := json.Marshal(k)
		return h.do(req{Method: "POST", Target: target, Caller: "-", Body: body})
	}
	wantError(t, post("/keyfax/webhook/wrong", bogus), 404, "E_INPUT")
	wantError(t, post(hook+"x", bogus), 404, "E_INPUT")
	other := bogus
	other.HostName = "Other"
	wantError(t, post(hook, other), 400, "E_KEY")
	other = bogus
	other.SchemaName = "Bearer"
	wantError(t, post(hook, other), 400, "E_KEY")
	wantError(t, post(hook, "not an object"), 400, "E_KEY")
	wantError(t, h.do(req{Method: "POST", Target: hook, Caller: "-", Body: bytes.Repeat([]byte(" "), 5000)}), 400, "E_INPUT")
	wantError(t, h.do(req{Target: hook, Caller: "-"}), 405, "E_INPUT")

	// Keys Keyfax never issued: kept pending, refused upstream, nothing lost.
	a := decode[keyfaxAnswer](t, h.do(req{Target: "/keyfax/token"}))
	if rec := post(hook, bogus); rec.Code != 204 || rec.Body.Len() != 0 {
		t.Errorf("delivery: %d %q", rec.Code, rec.Body)
	}
	// While keys are pending, the cached JWT is set aside once a minute to try
	// them (each try: the pending keys refused, a JWT of the current ones).
	mints := h.up.Count("keyfax get")
	for i, want := range []int{1, 1, 2} {
		if i == 2 {
			h.clk.Advance(keyfaxPendingTry)
		}
		if rec := h.do(req{Target: "/keyfax/token"}); rec.Code != 200 || h.up.Count("keyfax get") != mints+want {
			t.Errorf("token %d with unusable pending keys: %d, mints %d, want %d", i, rec.Code, h.up.Count("keyfax get")-mints, want)
		}
	}
	h.clk.Advance(24 * time.Hour) // the JWT is gone; the next mint tries the pending keys first
	if rec := h.do(req{Target: "/keyfax/token"}); rec.Code != 200 || decode[keyfaxAnswer](t, rec).Token == a.Token {
		t.Errorf("token with unusable pending keys: %d %s", rec.Code, rec.Body)
	}

	admin := func(auth string) *httptest.ResponseRecorder {
		hd := map[string]string{}
		if auth != "" {
			hd["Authorization"] = auth
		}
		return h.do(req{Method: "POST", Target: "/keyfax/keys/reset", Caller: "-", Header: hd})
	}
	wantError(t, admin(""), 401, "E_SIGNATURE")
	wantError(t, admin("Bearer "+testAdmin+"x"), 401, "E_SIGNATURE")
	wantError(t, admin("Bearer "+h.caller()), 401, "E_SIGNATURE")
	wantError(t, h.do(req{Method: "GET", Target: "/keyfax/keys/reset", Caller: "-", Header: map[string]string{"Authorization": "Bearer " + testAdmin}}), 405, "E_INPUT")
	off := newHarness(t, nil)
	wantError(t, off.do(req{Method: "POST", Target: "/keyfax/keys/reset", Caller: "-"}), 503, "E_CONFIG")
	wantError(t, off.do(req{Method: "POST", Target: hook, Caller: "-"}), 404, "E_INPUT")
}

// No keys anywhere: the broker fetches the host's initial keys (GET
// /api/v1/key, which Keyfax answers once) and keeps them in its file.
func TestKeyfaxInitialKeys(t *testing.T) {
	file := filepath.Join(t.TempDir(), "keys.json")
	h := newHarness(t, func(env map[string]string) {
		env["KEYFAX_HOST_NAME"] = "Default" // the sandbox's host without keys
		delete(env, "KEYFAX_API_KEY")
		delete(env, "KEYFAX_SIGNING_KEY")
		env[EnvKeyfaxKeyFile] = file
	})
	for i, rec := range h.concurrently(5, req{Target: "/keyfax/token"}) {
		if rec.Code != 200 {
			t.Fatalf("token %d: %d %s (upstream %v)", i, rec.Code, rec.Body, h.up.Failures())
		}
	}
	if n := h.up.Count("keyfax initial key"); n != 1 {
		t.Errorf("initial key requests = %d, want 1", n)
	}
	h.outbound(testkit.InMemory{Handler: h.up}) // a restart
	if rec := h.do(req{Target: "/keyfax/token"}); rec.Code != 200 || h.up.Count("keyfax initial key") != 1 || h.up.Count("keyfax get") != 2 {
		t.Errorf("after a restart: %d, initial key requests %d, mints %d", rec.Code, h.up.Count("keyfax initial key"), h.up.Count("keyfax get"))
	}
	// A host that has keys already: the broker cannot get them; it says so.
	taken := newHarness(t, func(env map[string]string) {
		delete(env, "KEYFAX_API_KEY")
		delete(env, "KEYFAX_SIGNING_KEY")
	})
	e := wantError(t, taken.do(req{Target: "/keyfax/token"}), 503, "E_CONFIG")
	if !strings.Contains(e.Message, "has keys") {
		t.Errorf("message %q", e.Message)
	}
	half := newHarness(t, func(env map[string]string) { delete(env, "KEYFAX_SIGNING_KEY") })
	wantError(t, half.do(req{Target: "/keyfax/token"}), 503, "E_CONFIG")
}
