package broker

import (
	"net/http"
	"sync/atomic"

	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/fonn"
)

// Fonn variables beyond the required ones (docs/PROTOCOLS.md "Fonn").
const (
	// EnvFonnSecondaryKey is the subscription's second key: the broker tries
	// it when Fonn's gateway refuses the other one, so that either key can be
	// regenerated without downtime.
	EnvFonnSecondaryKey = "FONN_SUBSCRIPTION_KEY_SECONDARY"
	// EnvFonnTokenKind says what FONN_ACCESS_TOKEN is: "regular" (the
	// default) or "workspace", a Workspace Access Token, with which Fonn makes
	// impersonation mandatory. Nothing on the wire tells the two apart.
	EnvFonnTokenKind = "FONN_TOKEN_KIND"
)

// fonnAuth adds the Fonn headers: the subscription key (one of two) and the
// access token; the impersonated user as the caller sent it.
type fonnAuth struct {
	keys      fonn.Keys
	token     string
	workspace bool
	// secondary: the last key the gateway took was the secondary, so it is
	// tried first. Natively it lasts for the process; in the Worker, a request.
	secondary atomic.Bool
}

// setupFonn: the broker adds the subscription key and access token to each
// forwarded request (docs/PROTOCOLS.md "Fonn"); the page may name the user to
// impersonate, as far as its caller token allows.
func setupFonn(b *Broker, e *env, v map[string]string) string {
	const p = "fonn"
	f, why := newForwarder(e, p, v, "")
	if why != "" {
		return why
	}
	a := &fonnAuth{keys: fonn.Keys{Primary: v["FONN_SUBSCRIPTION_KEY"], Secondary: v[EnvFonnSecondaryKey]}, token: v["FONN_ACCESS_TOKEN"]}
	switch v[EnvFonnTokenKind] {
	case "", "regular":
	case "workspace":
		a.workspace = true
	default:
		return e.invalid(p, EnvFonnTokenKind, "is neither regular nor workspace")
	}
	if err := a.keys.Check(); err != nil {
		return e.invalid(p, "FONN_SUBSCRIPTION_KEY or "+EnvFonnSecondaryKey, "is malformed ("+msgOf(err)+")")
	}
	if _, err := fonn.Headers(fonn.Credentials{SubscriptionKey: a.keys.Primary, AccessToken: a.token}); err != nil {
		return e.invalid(p, "FONN_ACCESS_TOKEN", "is malformed ("+msgOf(err)+")")
	}
	f.passOn = []string{fonn.HeaderImpersonatedUser}
	f.authorize = a.authorize
	f.again = a.again
	f.check = a.check
	b.forwarders[p] = f
	return ""
}

// check refuses a request its caller token does not allow to impersonate the
// user it names (403 E_SCOPE), and, with a workspace token, one that names no
// user (400 E_INPUT): Fonn's rule, enforced before anything is sent.
func (a *fonnAuth) check(w http.ResponseWriter, r *http.Request) bool {
	user := header(r.Header, fonn.HeaderImpersonatedUser)
	if !scopeOf(r).allowsFonnUser(user) {
		writeError(w, http.StatusForbidden, CodeScope, "caller token does not allow impersonating this Fonn user ("+fonn.HeaderImpersonatedUser+")")
		return false
	}
	if err := fonn.RequireImpersonation(fonn.Credentials{Workspace: a.workspace, ImpersonatedUserExternalID: user}); err != nil {
		writeError(w, http.StatusBadRequest, signers.CodeInput, msgOf(err)+" ("+EnvFonnTokenKind+" is workspace)")
		return false
	}
	return true
}

func (a *fonnAuth) key() string {
	if a.secondary.Load() {
		return a.keys.Secondary
	}
	return a.keys.Primary
}

func (a *fonnAuth) authorize(req *signers.Request, _ http.Header) error {
	h, err := fonn.Headers(fonn.Credentials{SubscriptionKey: a.key(), AccessToken: a.token,
		ImpersonatedUserExternalID: req.Header.Get(fonn.HeaderImpersonatedUser)})
	if err != nil {
		return err
	}
	for k, v := range h {
		req.Header.Set(k, v)
	}
	return nil
}

// again switches req to the other subscription key when the gateway refused
// the one it carried (fonn.KeyRefused), and remembers the switch.
func (a *fonnAuth) again(req *signers.Request, resp *signers.Response) bool {
	if !fonn.KeyRefused(resp.Status, resp.Body) {
		return false
	}
	other, ok := a.keys.Other(req.Header.Get(fonn.HeaderSubscriptionKey))
	if !ok {
		return false
	}
	req.Header.Set(fonn.HeaderSubscriptionKey, other)
	a.secondary.Store(other == a.keys.Secondary)
	return true
}
