package broker

import (
	"net/http"

	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/fonn"
)

// Fonn: the broker adds the subscription key and access token to each
// forwarded request (docs/PROTOCOLS.md "Fonn"); the page may name the user to
// impersonate.
var fonnProvider = provider{
	name:  "fonn",
	setup: setupFonn,
	routes: []route{
		{"/fonn/", allowMethods, func(b *Broker, w http.ResponseWriter, r *http.Request, rest string) {
			b.forward(w, r, b.fonn, rest)
		}},
	},
}

// setupFonn has no default allow-list: the access token reaches every path of
// the API, so the deployment must say which the pages may use.
func setupFonn(b *Broker, e *env) string {
	const p = "fonn"
	f, v, why := setupForwarder(e, p, []string{"FONN_SUBSCRIPTION_KEY", "FONN_ACCESS_TOKEN"}, "")
	if why != "" {
		return why
	}
	creds := fonn.Credentials{SubscriptionKey: v["FONN_SUBSCRIPTION_KEY"], AccessToken: v["FONN_ACCESS_TOKEN"]}
	if _, err := fonn.Headers(creds); err != nil {
		return e.invalid(p, "FONN_SUBSCRIPTION_KEY or FONN_ACCESS_TOKEN", "is malformed ("+msgOf(err)+")")
	}
	f.passOn = []string{fonn.HeaderImpersonatedUser}
	f.authorize = func(req *signers.Request) error {
		c := creds
		c.ImpersonatedUserExternalID = req.Header.Get(fonn.HeaderImpersonatedUser)
		h, err := fonn.Headers(c)
		if err != nil {
			return err
		}
		for k, v := range h {
			req.Header.Set(k, v)
		}
		return nil
	}
	b.fonn = f
	return ""
}
