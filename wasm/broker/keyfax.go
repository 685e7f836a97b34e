package broker

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/clock"
	"github.com/apisign/apisign/signers/keyfax"
)

// keyfaxState is the configured Keyfax provider. Its keys are in the State
// (keyfaxKeys), so that a reset reaches every isolate and survives a restart;
// the environment's keys are the initial ones while the State holds none.
type keyfaxState struct {
	base, hostName string
	clock          *clock.Skewed // Keyfax refuses a Basic timestamp minutes off
	env            *keyfax.Keys  // KEYFAX_API_KEY and KEYFAX_SIGNING_KEY; nil when unset
	webhook        []byte        // KEYFAX_WEBHOOK_SECRET; nil: no web hook route
}

// The State keys of Keyfax.
const (
	keyfaxKeysKey = "keyfax-keys"        // record: keyfaxKeys as JSON
	keyfaxJWTKey  = "keyfax-jwt"         // flight: keyfaxCached as JSON
	keyfaxBootKey = "keyfax-initial-key" // flight: GET /api/v1/key, once
	keyfaxTryKey  = "keyfax-pending-try" // slots: the tries of pending keys
)

// keyfaxPendingTry is how often a cached JWT is set aside to try pending keys
// whose first use failed: until they are used, the old keys (perhaps the
// reason for the reset) stay valid at Keyfax.
const keyfaxPendingTry = time.Minute

// keyfaxKeys is the key record: a keyfax.KeyRing, which follows Keyfax's key
// reset timing (keys delivered to the web hook are pending until a request
// made with them succeeds), stored as JSON in the State.
type keyfaxKeys = keyfax.KeyRing

// keyfaxCached is the cached JWT. Key names the API key it was minted with: a
// new signing key invalidates every JWT signed with the old one, so a JWT of
// keys no longer in use is minted anew.
type keyfaxCached struct {
	Token   string `json:"token"`
	Company string `json:"company"`
	Key     string `json:"key"`
}

// keyfaxWhat names the token endpoint in messages.
const keyfaxWhat = "keyfax token endpoint"

// fingerprint names an API key without revealing it.
func fingerprint(k *keyfax.Keys) string {
	if k == nil {
		return ""
	}
	sum := sha256.Sum256([]byte(k.APIKey))
	return hex.EncodeToString(sum[:8])
}

func setupKeyfax(b *Broker, e *env, v map[string]string) string {
	const p = "keyfax"
	base, _, why := e.base(p, "KEYFAX_BASE_URL", v)
	if why != "" {
		return why
	}
	host := v["KEYFAX_HOST_NAME"]
	if _, err := keyfax.InitialKeyRequest(base, host, keyfax.JSON); err != nil {
		return e.invalid(p, "KEYFAX_BASE_URL or KEYFAX_HOST_NAME", "is malformed ("+msgOf(err)+")")
	}
	k := &keyfaxState{base: base, hostName: host, clock: clock.NewSkewed(b.clock)}
	apiKey, signingKey := v["KEYFAX_API_KEY"], v["KEYFAX_SIGNING_KEY"]
	switch {
	case (apiKey == "") != (signingKey == ""):
		return e.invalid(p, "KEYFAX_API_KEY and KEYFAX_SIGNING_KEY", "must be set together (or neither, to fetch the initial keys)")
	case apiKey != "":
		if _, err := keyfax.NewSigner(host, apiKey, signingKey); err != nil {
			return e.invalid(p, "KEYFAX_API_KEY or KEYFAX_SIGNING_KEY", "is malformed ("+msgOf(err)+")")
		}
		k.env = &keyfax.Keys{APIKey: apiKey, SigningKey: signingKey, SchemaName: "Basic", HostName: host}
	}
	if s := v[EnvKeyfaxWebhookSecret]; s != "" {
		if len(s) < MinCallerSecret {
			return e.invalid(p, EnvKeyfaxWebhookSecret, "is shorter than 32 bytes")
		}
		k.webhook = []byte(s)
		if ls, ok := b.state.(*LocalState); ok && ls.file == "" {
			e.problem(EnvKeyfaxWebhookSecret + " is set but " + EnvKeyfaxKeyFile + " is not: keys delivered to the web hook are lost when the broker restarts")
		}
	}
	b.keyfax = k
	return ""
}

type keyfaxAnswer struct {
	Token     string `json:"token"`
	HostName  string `json:"hostName"`
	ExpiresAt string `json:"expiresAt"`
	Company   string `json:"company"`
}

// keyfaxToken answers a Keyfax JWT: GET /api/v1/token upstream with Basic,
// once per deployment until DefaultMargin before its exp (State.Flight).
func (b *Broker) keyfaxToken(w http.ResponseWriter, r *http.Request, _ string) {
	keys, f := b.keyfaxKeys(r)
	if f != nil {
		f.write(w)
		return
	}
	try := false
	if keys.Pending != nil {
		ok, _, err := b.state.Take(r.Context(), keyfaxTryKey, b.clock.Now(), "", newID(), keyfaxPendingTry, 1)
		try = err == nil && ok
	}
	usable := func(v string) bool {
		var c keyfaxCached
		if json.Unmarshal([]byte(v), &c) != nil || c.Key == "" {
			return false
		}
		return c.Key == fingerprint(keys.Pending) || (!try && c.Key == fingerprint(keys.Current))
	}
	v, exp, f := b.once(r.Context(), keyfaxJWTKey, b.clock.Now().Add(keyfax.DefaultMargin), "", usable, func() (string, time.Time, *failure) {
		return b.keyfaxFetch(r, keys)
	})
	if f != nil {
		f.write(w)
		return
	}
	var c keyfaxCached
	if v == "" || json.Unmarshal([]byte(v), &c) != nil {
		return // the caller has gone
	}
	writeJSON(w, http.StatusOK, keyfaxAnswer{c.Token, b.keyfax.hostName, exp.UTC().Format(time.RFC3339), c.Company})
}

// keyfaxFetch mints a JWT for the flight, expiring at its exp, with the keys
// in the ring's order (keyfax.KeyRing.Candidates: pending keys first, their
// first successful use switches to them; then the current ones, which Keyfax
// keeps valid until the new ones are used).
func (b *Broker) keyfaxFetch(r *http.Request, keys keyfaxKeys) (string, time.Time, *failure) {
	var f *failure
	for _, k := range keys.Candidates() {
		a, failed, ok := b.keyfaxMint(r, k)
		if ok {
			if k == keys.Pending {
				if f := b.keyfaxSwitch(r, k); f != nil {
					return "", time.Time{}, f
				}
			}
			return keyfaxCache(a, k)
		}
		if failed == nil {
			return "", time.Time{}, nil // the caller has gone
		}
		f = failed
	}
	return "", time.Time{}, f
}

// keyfaxCache is the cached form of a JWT minted with k, and its expiry.
func keyfaxCache(a keyfax.TokenAnswer, k *keyfax.Keys) (string, time.Time, *failure) {
	raw, _ := json.Marshal(keyfaxCached{a.JWT, a.Company, fingerprint(k)}) // strings: cannot fail
	return string(raw), a.Claims.Exp, nil
}

// keyfaxMint is GET /api/v1/token signed with k. On failure it returns what
// to answer (nil when the caller has gone).
func (b *Broker) keyfaxMint(r *http.Request, k *keyfax.Keys) (keyfax.TokenAnswer, *failure, bool) {
	p := b.keyfax
	req, _ := keyfax.GetTokenRequest(p.base) // the base is checked by setupKeyfax
	if f := b.keyfaxSign(req, k); f != nil {
		return keyfax.TokenAnswer{}, f, false
	}
	resp, f, ok := b.call(r, keyfaxWhat, req)
	if !ok {
		return keyfax.TokenAnswer{}, f, false
	}
	p.clock.Observe(resp.Header.Get("Date"))
	if resp.Status != http.StatusOK {
		return keyfax.TokenAnswer{}, b.statusFailure(keyfaxWhat, resp.Status, resp.Header.Get("Retry-After")), false
	}
	a, err := keyfax.ParseTokenAnswer(resp.Body)
	if err != nil {
		return keyfax.TokenAnswer{}, b.upstreamFailure(r, keyfaxWhat, err), false
	}
	return a, nil, true
}

// keyfaxSign signs req with k (Keyfax Basic) at the server's time as the
// Date headers of its answers tell it.
func (b *Broker) keyfaxSign(req *signers.Request, k *keyfax.Keys) *failure {
	signer, err := keyfax.NewSigner(k.HostName, k.APIKey, k.SigningKey)
	if err == nil {
		_, err = signer.SignRequest(req, b.keyfax.clock.Now())
	}
	if err != nil {
		return &failure{Status: http.StatusServiceUnavailable, Code: signers.CodeConfig,
			Message: "keyfax keys held by the broker cannot be used (" + msgOf(err) + ")"}
	}
	return nil
}

// keyfaxKeys reads the key record: the State's, else the environment's keys,
// else the host's initial keys, fetched once (GET /api/v1/key) and stored.
func (b *Broker) keyfaxKeys(r *http.Request) (keyfaxKeys, *failure) {
	ctx := r.Context()
	for tries := 0; tries < 3; tries++ {
		k, _, f := b.keyfaxRecord(r)
		if f != nil || k.Current != nil {
			return k, f
		}
		now := b.clock.Now()
		_, _, f = b.once(ctx, keyfaxBootKey, now, "", nil, func() (string, time.Time, *failure) {
			keys, f := b.keyfaxInitial(r)
			if keys == nil {
				return "", time.Time{}, f
			}
			raw, _ := json.Marshal(keyfaxKeys{Current: keys})
			if _, err := b.state.Put(ctx, keyfaxKeysKey, string(raw), 0); err != nil {
				return "", time.Time{}, stateFailure(err)
			}
			b.logf("apisign broker: keyfax: initial keys fetched and stored")
			return "stored", now.Add(time.Minute), nil
		})
		if f != nil {
			return keyfaxKeys{}, f
		}
	}
	return keyfaxKeys{}, &failure{Status: http.StatusServiceUnavailable, Code: signers.CodeConfig, Message: "keyfax: the broker holds no keys"}
}

// keyfaxRecord reads the key record and its version; without one, the
// environment's keys as current (version 0), or no keys.
func (b *Broker) keyfaxRecord(r *http.Request) (keyfaxKeys, int64, *failure) {
	raw, version, err := b.state.Get(r.Context(), keyfaxKeysKey)
	if err != nil {
		return keyfaxKeys{}, 0, stateFailure(err)
	}
	var k keyfaxKeys
	if raw == "" {
		k.Current = b.keyfax.env
	} else if json.Unmarshal([]byte(raw), &k) != nil || k.Current == nil {
		return keyfaxKeys{}, 0, &failure{Status: http.StatusServiceUnavailable, Code: signers.CodeConfig, Message: "keyfax: the stored keys cannot be read"}
	}
	return k, version, nil
}

// keyfaxInitial is the anonymous GET /api/v1/key: the host's initial keys.
func (b *Broker) keyfaxInitial(r *http.Request) (*keyfax.Keys, *failure) {
	const what = "keyfax key endpoint"
	p := b.keyfax
	req, _ := keyfax.InitialKeyRequest(p.base, p.hostName, keyfax.JSON) // checked by setupKeyfax
	resp, f, ok := b.call(r, what, req)
	if !ok {
		return nil, f
	}
	keys, err := keyfax.ParseInitialKey(resp.Status, resp.Body, p.hostName, keyfax.JSON)
	switch code := signers.CodeOf(err); {
	case err == nil:
		return &keys, nil
	case code == signers.CodeConfig:
		b.logf("apisign broker: %s answered %d", what, resp.Status)
		return nil, &failure{Status: http.StatusServiceUnavailable, Code: code, Message: "keyfax: " + msgOf(err)}
	case code == signers.CodeHTTP:
		return nil, b.statusFailure(what, resp.Status, resp.Header.Get("Retry-After"))
	}
	b.logf("apisign broker: %s: unusable keys", what)
	return nil, &failure{Status: http.StatusBadGateway, Code: signers.CodeKey, Message: what + " answered keys that cannot be used"}
}

// keyfaxSwitch records in the stored ring that a request made with used, the
// pending keys, has succeeded (keyfax.KeyRing.Used: they become current). Keys
// that are no longer pending (another request switched, or newer keys
// arrived) are left as they are.
func (b *Broker) keyfaxSwitch(r *http.Request, used *keyfax.Keys) *failure {
	for tries := 0; tries < 3; tries++ {
		k, version, f := b.keyfaxRecord(r)
		if f != nil || !k.Used(*used) {
			return f
		}
		raw, _ := json.Marshal(k)
		ok, err := b.state.Put(r.Context(), keyfaxKeysKey, string(raw), version)
		if err != nil {
			return stateFailure(err)
		}
		if ok {
			b.logf("apisign broker: keyfax: switched to the new keys")
			return nil
		}
	}
	return &failure{Status: http.StatusServiceUnavailable, Code: signers.CodeConfig, Message: "keyfax: the key record kept changing; retry"}
}

// ---- the key routes: admin reset, web hook -------------------------------------

// serveOwnAuth serves the routes that take no caller token, and reports
// whether r was one: POST /keyfax/keys/reset (the admin credential) and POST
// /keyfax/webhook/{secret} (Keyfax delivering new keys; the unguessable
// secret in the URL is its credential).
func (b *Broker) serveOwnAuth(w http.ResponseWriter, r *http.Request) bool {
	path := r.URL.EscapedPath()
	secret, hook := strings.CutPrefix(path, "/keyfax/webhook/")
	if path != "/keyfax/keys/reset" && !hook {
		return false
	}
	if hook && (b.keyfax == nil || b.keyfax.webhook == nil || !equalSecret(secret, b.keyfax.webhook)) {
		// As if there were no such route: the secret is the credential.
		writeError(w, http.StatusNotFound, signers.CodeInput, "no such broker route")
		return true
	}
	if !hook && !b.admin(w, r) {
		return true
	}
	if !methodAllowed(w, "POST", r.Method) {
		return true
	}
	if why, off := b.off["keyfax"]; off {
		writeError(w, http.StatusServiceUnavailable, signers.CodeConfig, why)
		return true
	}
	if hook {
		b.keyfaxWebhook(w, r)
	} else {
		b.keyfaxReset(w, r)
	}
	return true
}

// equalSecret compares a presented secret with the configured one in
// constant time (of their hashes, so that not even the length shows).
func equalSecret(got string, want []byte) bool {
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256(want)
	return hmac.Equal(g[:], w[:])
}

// admin checks `Authorization: Bearer <APISIGN_ADMIN_SECRET>`, a credential
// of the deployment's operator, never a page's; it answers the refusal.
func (b *Broker) admin(w http.ResponseWriter, r *http.Request) bool {
	if b.adminSecret == nil {
		writeError(w, http.StatusServiceUnavailable, signers.CodeConfig, EnvAdminSecret+" is not set: the admin routes are off")
		return false
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || !equalSecret(tok, b.adminSecret) {
		writeError(w, http.StatusUnauthorized, signers.CodeSignature, "admin route: Authorization: Bearer <"+EnvAdminSecret+"> required")
		return false
	}
	return true
}

// maxWebhookBody bounds a web hook delivery: four short strings.
const maxWebhookBody = 4096

// keyfaxWebhook takes keys Keyfax posts after a reset: the document's JSON
// for the configured host name, held as pending, then used at once (GET
// /api/v1/token) so that the broker switches to them. It answers 204 once
// they are stored, whether or not the first use worked (the next mint tries
// again), and never repeats a key.
func (b *Broker) keyfaxWebhook(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxWebhookBody+1))
	if err != nil || len(body) > maxWebhookBody {
		writeError(w, http.StatusBadRequest, signers.CodeInput, "web hook body is unreadable or too large")
		return
	}
	keys, err := keyfax.ParseKeys(body, b.keyfax.hostName)
	if err != nil {
		writeError(w, http.StatusBadRequest, signers.CodeKey, msgOf(err))
		return
	}
	for tries := 0; ; tries++ {
		k, version, f := b.keyfaxRecord(r)
		if f != nil {
			f.write(w)
			return
		}
		if !k.Deliver(keys) {
			break // delivered again
		}
		raw, _ := json.Marshal(k)
		ok, err := b.state.Put(r.Context(), keyfaxKeysKey, string(raw), version)
		if err != nil {
			stateFailure(err).write(w)
			return
		}
		if ok {
			b.logf("apisign broker: keyfax: new keys received, pending")
			break
		}
		if tries == 2 {
			writeError(w, http.StatusServiceUnavailable, signers.CodeConfig, "keyfax: the key record kept changing; deliver again")
			return
		}
	}
	k, _, f := b.keyfaxRecord(r)
	if f == nil && k.Pending != nil {
		pending := fingerprint(k.Pending)
		_, _, f = b.once(r.Context(), keyfaxJWTKey, b.clock.Now().Add(keyfax.DefaultMargin), "", func(v string) bool {
			var c keyfaxCached
			return json.Unmarshal([]byte(v), &c) == nil && c.Key == pending
		}, func() (string, time.Time, *failure) { return b.keyfaxFetch(r, k) })
	}
	if f != nil {
		b.logf("apisign broker: keyfax: the new keys are not usable yet (%s); kept pending", f.Code)
	}
	w.WriteHeader(http.StatusNoContent)
}

// keyfaxReset asks Keyfax for new keys (POST /api/v1/key signed with the
// current ones). Keyfax delivers them to the web hook; the answer says how
// far the change got: "switched" (delivered and in use), "pending"
// (delivered, not yet used) or "requested" (not delivered here yet, e.g. sent
// by e-mail). It names no key.
func (b *Broker) keyfaxReset(w http.ResponseWriter, r *http.Request) {
	const what = "keyfax key endpoint"
	keys, f := b.keyfaxKeys(r)
	if f != nil {
		f.write(w)
		return
	}
	req, _ := keyfax.ResetKeyRequest(b.keyfax.base, keyfax.JSON) // the base is checked by setupKeyfax
	if f := b.keyfaxSign(req, keys.Current); f != nil {
		f.write(w)
		return
	}
	resp, f, ok := b.call(r, what, req)
	if !ok {
		f.write(w)
		return
	}
	if resp.Status != http.StatusOK {
		b.upstreamStatus(w, what, resp.Status, resp.Header.Get("Retry-After"))
		return
	}
	after, _, f := b.keyfaxRecord(r)
	if f != nil {
		f.write(w)
		return
	}
	status := "requested"
	switch {
	case after.Current.APIKey != keys.Current.APIKey:
		status = "switched"
	case after.Pending != nil:
		status = "pending"
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": status})
}
