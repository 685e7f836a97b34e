package broker

import (
	"net/http"
	"time"

	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/clock"
	"github.com/apisign/apisign/signers/keyfax"
)

// keyfaxState is the configured Keyfax provider. The token source caches the
// JWT in Go memory (and shares one mint among concurrent callers); the Store,
// when set, keeps it across the Worker's per-request Go instances too.
type keyfaxState struct {
	hostName string // the page needs it for the Bearer header
	ts       *keyfax.TokenSource
}

// keyfaxStoreKey is the Store key of the JWT.
const keyfaxStoreKey = "keyfax-jwt"

func setupKeyfax(b *Broker, e *env, v map[string]string) string {
	const p = "keyfax"
	base, _, why := e.base(p, "KEYFAX_BASE_URL", v)
	if why != "" {
		return why
	}
	signer, err := keyfax.NewSigner(v["KEYFAX_HOST_NAME"], v["KEYFAX_API_KEY"], v["KEYFAX_SIGNING_KEY"])
	if err != nil {
		return e.invalid(p, "KEYFAX_HOST_NAME, KEYFAX_API_KEY or KEYFAX_SIGNING_KEY", "is malformed ("+msgOf(err)+")")
	}
	ts, err := keyfax.NewTokenSource(keyfax.TokenConfig{
		BaseURL: base,
		Signer:  signer,
		Doer:    signers.DoerFunc(b.send),
		Clock:   clock.NewSkewed(b.clock), // Keyfax refuses a Basic timestamp minutes off
	})
	if err != nil {
		return e.invalid(p, "KEYFAX_BASE_URL or KEYFAX_HOST_NAME", "is malformed ("+msgOf(err)+")")
	}
	b.keyfax = &keyfaxState{hostName: signer.HostName(), ts: ts}
	return ""
}

type keyfaxAnswer struct {
	Token     string `json:"token"`
	HostName  string `json:"hostName"`
	ExpiresAt string `json:"expiresAt"`
}

// keyfaxToken answers a Keyfax JWT: GET /api/v1/token upstream with Basic, the
// JWT cached (and renewed with POST /api/v1/token) until DefaultMargin before
// its exp.
func (b *Broker) keyfaxToken(w http.ResponseWriter, r *http.Request, _ string) {
	p := b.keyfax
	if b.store != nil {
		if jwt, exp, ok := b.store.Load(keyfaxStoreKey); ok && b.clock.Now().Add(keyfax.DefaultMargin).Before(exp) {
			writeJSON(w, http.StatusOK, keyfaxAnswer{jwt, p.hostName, exp.UTC().Format(time.RFC3339)})
			return
		}
	}
	t, ok := b.token(w, r, "keyfax token endpoint", p.ts)
	if !ok {
		return
	}
	if b.store != nil {
		b.store.Save(keyfaxStoreKey, t.Value, t.Expiry)
	}
	writeJSON(w, http.StatusOK, keyfaxAnswer{t.Value, p.hostName, t.Expiry.UTC().Format(time.RFC3339)})
}
