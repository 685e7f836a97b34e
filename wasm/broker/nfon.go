package broker

import (
	"net/http"

	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/clock"
	"github.com/apisign/apisign/signers/nfon"
)

// NFON: the broker signs each forwarded request with NFON-API
// (docs/PROTOCOLS.md "NFON"); the page never holds the secret.
var nfonProvider = provider{
	name:  "nfon",
	setup: setupNFON,
	routes: []route{
		{"/nfon/", allowMethods, func(b *Broker, w http.ResponseWriter, r *http.Request, rest string) {
			b.forward(w, r, b.nfon, rest)
		}},
	},
}

func setupNFON(b *Broker, e *env) string {
	const p = "nfon"
	f, v, why := setupForwarder(e, p, []string{"NFON_KEY_ID", "NFON_SECRET"}, "/api/")
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
	b.nfon = f
	return ""
}
