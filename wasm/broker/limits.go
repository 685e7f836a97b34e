package broker

import (
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/apisign/apisign/signers"
)

// CodeRate is the code of the broker's own 429: the caller went over one of
// the broker's limits (a route's rate, the open Fortis sessions, the Ansira
// re-exchange interval). An upstream's 429 is E_HTTP (token routes) or has
// no code at all (forwarded answers).
const CodeRate signers.Code = "E_RATE"

// The defaults of the abuse limits.
const (
	// DefaultRateLimit requests per caller and route per DefaultRateWindow
	// (APISIGN_RATE_LIMIT, "120/1m"; "0/1m" turns the limit off): two a
	// second on average, far above what a page's flows need, far below what
	// scripted abuse sends.
	DefaultRateLimit  = 120
	DefaultRateWindow = time.Minute
	// DefaultFortisMaxSessions open Fortis sessions per caller
	// (FORTIS_MAX_SESSIONS): a page needs one, a few tabs a few.
	DefaultFortisMaxSessions = 5
	// DefaultAnsiraReexchange is the least time between two exchanges of the
	// assertion forced by reports of a refused token, per deployment
	// (ANSIRA_REEXCHANGE_INTERVAL). Tokens overlap, so a refused one is rare:
	// expired early, or lacking a scope, which a new exchange does not mend.
	DefaultAnsiraReexchange = time.Minute
)

// limits are the broker's abuse limits, read by env.limits.
type limits struct {
	rate           int // per caller and route per rateWindow; 0: off
	rateWindow     time.Duration
	fortisSessions int
	reexchange     time.Duration
}

// allow counts the request against the caller's rate on the route (path is
// the route's) and answers 429 when it is over.
func (b *Broker) allow(w http.ResponseWriter, r *http.Request, path string) bool {
	if b.limits.rate == 0 {
		return true
	}
	now := b.clock.Now()
	ok, retryAt, err := b.state.Take(r.Context(), "rate "+path+" "+callerKey(r), now, "", newID(), b.limits.rateWindow, b.limits.rate)
	if err != nil {
		stateFailure(err).write(w)
		return false
	}
	if !ok {
		b.tooMany(retryAt, "more than "+strconv.Itoa(b.limits.rate)+" requests per "+b.limits.rateWindow.String()+" on this route").write(w)
	}
	return ok
}

// tooMany is the broker's own 429, with Retry-After: whole seconds until
// retryAt, at least one.
func (b *Broker) tooMany(retryAt time.Time, msg string) *failure {
	secs := int64(math.Ceil(retryAt.Sub(b.clock.Now()).Seconds()))
	if secs < 1 {
		secs = 1
	}
	return &failure{Status: http.StatusTooManyRequests, Code: CodeRate, Message: msg + "; retry after " + strconv.FormatInt(secs, 10) + " s",
		RetryAfter: strconv.FormatInt(secs, 10)}
}
