package httpauth

import (
	"net/http"

	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/pace"
)

// Pace is a RoundTripper that spreads requests evenly in time: each one waits
// for the next free slot of Limiter (signers/pace), so a burst of calls goes
// out at the rate the provider allows instead of being answered 429. Every
// request through it shares the one Limiter, concurrent ones included; give
// clients that share a limit (Ansira counts per IP address, Fonn per
// subscription) the same Limiter.
//
// The documented rates are pace.AnsiraStage (5 per second) and
// pace.AnsiraProduction (10 per second); Fonn asks for calls spread evenly
// without publishing its rate, so a Fonn client passes its subscription's rate
// (docs/PROTOCOLS.md, "Ansira" and "Fonn"). Put Pace at the bottom, just above
// the network, so that every request that goes out takes a slot, a retry or a
// resend with a fresh token included; a 429 that still comes (the limit is
// shared with other clients) is Retry's:
//
//	limiter, err := pace.New(pace.AnsiraStage, nil)
//	client := &http.Client{Transport: &httpauth.Retry{Base: &httpauth.Transport{
//		Source: src, Authorizer: ansira.Authorizer{}, Base: &httpauth.Pace{Limiter: limiter},
//	}}}
//
// A request whose context ends while it waits is not sent: the error is
// E_ABORTED.
type Pace struct {
	Limiter *pace.Limiter
	Base    http.RoundTripper // nil means http.DefaultTransport
}

func (t *Pace) RoundTrip(r *http.Request) (*http.Response, error) {
	var err error = signers.E(signers.CodeConfig, "httpauth.Pace", "no limiter")
	if t.Limiter != nil {
		err = t.Limiter.Wait(r.Context())
	}
	if err != nil {
		if r.Body != nil {
			r.Body.Close() // a RoundTripper closes the body, even on errors
		}
		return nil, err
	}
	return base(t.Base).RoundTrip(r)
}
