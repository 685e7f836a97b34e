package broker

import (
	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/clock"
	"github.com/apisign/apisign/signers/nfon"
)

// setupNFON: the broker signs each forwarded request with NFON-API
// (docs/PROTOCOLS.md "NFON"); the page never holds the secret.
func setupNFON(b *Broker, e *env, v map[string]string) string {
	const p = "nfon"
	f, why := newForwarder(e, p, v, "/api/") // NFON_ALLOWED_PATHS: the API's own paths by default
	if why != "" {
		return why
	}
	signer, err := nfon.NewSigner(v["NFON_KEY_ID"], v["NFON_SECRET"])
	if err != nil {
		return e.invalid(p, "NFON_KEY_ID or NFON_SECRET", "is malformed ("+msgOf(err)+")")
	}
	f.skew = clock.NewSkewed(b.clock) // NFON refuses a Date more than 15 minutes off
	f.authorize = func(req *signers.Request) error {
		_, err := signer.SignRequest(req, f.skew.Now())
		return err
	}
	b.forwarders[p] = f
	return ""
}
