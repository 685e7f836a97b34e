package broker

import (
	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/fonn"
)

// setupFonn: the broker adds the subscription key and access token to each
// forwarded request (docs/PROTOCOLS.md "Fonn"); the page may name the user to
// impersonate.
func setupFonn(b *Broker, e *env, v map[string]string) string {
	const p = "fonn"
	f, why := newForwarder(e, p, v, "")
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
	b.forwarders[p] = f
	return ""
}
