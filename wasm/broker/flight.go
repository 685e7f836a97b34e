package broker

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/apisign/apisign/signers"
)

// failure is an error answer that can be handed on: a flight's holder lands
// it for its waiters, who answer it as their own.
type failure struct {
	Status     int          `json:"status"`
	Code       signers.Code `json:"code"`
	Message    string       `json:"message"`
	RetryAfter string       `json:"retryAfter,omitempty"`
}

// write answers f; a nil f (the caller has gone) answers nothing.
func (f *failure) write(w http.ResponseWriter) {
	if f == nil {
		return
	}
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	writeError(w, f.Status, f.Code, f.Message)
}

// stateFailure answers a State that failed: 503, E_NETWORK (it did not answer).
func stateFailure(err error) *failure {
	return &failure{Status: http.StatusServiceUnavailable, Code: signers.CodeNetwork, Message: "the broker's state did not answer; retry later (" + string(signers.CodeOf(err)) + ")"}
}

// once returns the cached value under key and its expiry, or fetches it as
// the one caller of the deployment that does (State.Flight): 20 concurrent
// callers cause one fetch, and its failure is their failure. A cached value that usable refuses
// (or that equals stale) is fetched anew. fetch returns the value and its
// expiry, or a failure, or neither when the caller went away (the lease is
// then handed on without a result).
func (b *Broker) once(ctx context.Context, key string, fresh time.Time, stale string, usable func(string) bool,
	fetch func() (string, time.Time, *failure)) (string, time.Time, *failure) {
	for tries := 0; tries < 3; tries++ {
		fl, err := b.state.Flight(ctx, key, fresh, stale, b.timeout+leaseSlack)
		if err != nil {
			return "", time.Time{}, stateFailure(err)
		}
		if fl.Lease == "" && fl.Expires.IsZero() {
			var f failure
			if json.Unmarshal([]byte(fl.Value), &f) != nil || f.Status == 0 {
				f = failure{Status: http.StatusBadGateway, Code: signers.CodeInternal, Message: "a concurrent request failed"}
			}
			return "", time.Time{}, &f
		}
		if fl.Lease == "" {
			if usable == nil || usable(fl.Value) {
				return fl.Value, fl.Expires, nil
			}
			stale = fl.Value
			continue
		}
		value, expires, f := fetch()
		landed := value
		if f != nil {
			raw, _ := json.Marshal(f) // strings and numbers: cannot fail
			landed, expires = string(raw), time.Time{}
		}
		// Landed even when the caller has gone: the waiters need it.
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), leaseSlack)
		if err := b.state.Land(lctx, key, fl.Lease, landed, expires); err != nil {
			b.logf("apisign broker: state: %s: landing failed (%s)", key, signers.CodeOf(err))
		}
		cancel()
		return value, expires, f
	}
	return "", time.Time{}, &failure{Status: http.StatusBadGateway, Code: signers.CodeToken, Message: key + ": no usable value after three tries"}
}

// leaseSlack is what a flight's lease lasts beyond the upstream timeout: the
// holder's own work around the upstream call.
const leaseSlack = 5 * time.Second
