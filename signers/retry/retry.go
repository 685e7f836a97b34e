// Package retry is the one retry policy of apisign (docs/PROTOCOLS.md, "Retry and
// clock skew"): a 429 waits Retry-After when it is there and readable,
// else backs off; a 503 backs off exponentially with full jitter (base 250 ms,
// cap 8 s, at most 4 retries); nothing else is retried, and the caller's context
// bounds the whole. The request is plain bytes, so every attempt sends the same
// method, URL, headers and body.
package retry

import (
	"context"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/clock"
)

// Policy says when and how long to wait before trying again. The zero Policy is
// the docs/PROTOCOLS.md default.
type Policy struct {
	Retries  int            // retries after the first attempt; 0 means 4, negative means none
	Base     time.Duration  // first backoff ceiling; 0 means 250 ms
	Cap      time.Duration  // largest backoff ceiling; 0 means 8 s
	MaxAfter time.Duration  // longest Retry-After honoured; a longer one ends the retries (0 means 60 s)
	Clock    clock.Clock    // nil means clock.Real
	Rand     func() float64 // jitter source in [0, 1); nil means math/rand/v2
}

// NoRetry is a Policy that never retries.
var NoRetry = Policy{Retries: -1}

func (p Policy) retries() int {
	switch {
	case p.Retries < 0:
		return 0
	case p.Retries == 0:
		return 4
	}
	return p.Retries
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// Backoff is the full-jitter wait before retry number attempt (0-based): a
// random duration in [0, min(Cap, Base·2^attempt)).
func (p Policy) Backoff(attempt int) time.Duration {
	base, ceil := orDefault(p.Base, 250*time.Millisecond), orDefault(p.Cap, 8*time.Second)
	d := ceil
	if attempt < 30 && base<<attempt < ceil && base<<attempt > 0 {
		d = base << attempt
	}
	r := rand.Float64
	if p.Rand != nil {
		r = p.Rand
	}
	return time.Duration(r() * float64(d))
}

// Wait decides about an answer with status and Retry-After value retryAfter,
// after attempt retries so far: whether to try again and how long to wait first.
func (p Policy) Wait(attempt, status int, retryAfter string, now time.Time) (time.Duration, bool) {
	if attempt >= p.retries() {
		return 0, false
	}
	switch status {
	case 429:
		if retryAfter != "" {
			d, err := ParseRetryAfter(retryAfter, now)
			if err == nil {
				if d > orDefault(p.MaxAfter, 60*time.Second) {
					return 0, false // the server asks for longer than we wait: hand the 429 back
				}
				return d, true
			}
		}
		return p.Backoff(attempt), true // missing (e.g. not exposed by CORS) or unreadable: back off
	case 503:
		return p.Backoff(attempt), true
	}
	return 0, false
}

// MaxRetryAfter is the largest Retry-After ParseRetryAfter accepts; a larger one
// is taken for a broken header rather than a plan.
const MaxRetryAfter = 24 * time.Hour

// ParseRetryAfter reads a Retry-After value: delay-seconds or an HTTP date
// (relative to now; a date in the past means no wait). A negative, fractional,
// malformed or absurd (over MaxRetryAfter) value is an E_INPUT error.
func ParseRetryAfter(v string, now time.Time) (time.Duration, error) {
	v = strings.TrimSpace(v)
	const op = "retry.ParseRetryAfter"
	if v == "" {
		return 0, signers.E(signers.CodeInput, op, "empty Retry-After")
	}
	if v[0] >= '0' && v[0] <= '9' || v[0] == '-' || v[0] == '+' {
		n, err := strconv.ParseInt(v, 10, 64)
		switch {
		case err != nil && len(v) > 12 && strings.Trim(v, "0123456789") == "":
			return 0, signers.E(signers.CodeInput, op, "Retry-After is absurdly large")
		case err != nil || v[0] == '+':
			return 0, signers.E(signers.CodeInput, op, "Retry-After is not a whole number of seconds")
		case n < 0:
			return 0, signers.E(signers.CodeInput, op, "Retry-After is negative")
		case n > int64(MaxRetryAfter/time.Second):
			return 0, signers.E(signers.CodeInput, op, "Retry-After is absurdly large")
		}
		return time.Duration(n) * time.Second, nil
	}
	t, err := clock.ParseHTTPDate(v)
	if err != nil {
		return 0, signers.E(signers.CodeInput, op, "Retry-After is neither seconds nor an HTTP date")
	}
	d := t.Sub(now)
	if d < 0 {
		return 0, nil
	}
	if d > MaxRetryAfter {
		return 0, signers.E(signers.CodeInput, op, "Retry-After is absurdly far away")
	}
	return d, nil
}

// Do sends req through d, retrying as p says. It returns the last answer, whatever
// its status (the caller decides what a 429 that outlasted the retries means),
// or the error of an attempt that got no answer, or E_ABORTED when ctx ends
// during a wait. Transport failures are not retried: whether the server acted on
// the request is unknown.
func Do(ctx context.Context, p Policy, d signers.Doer, req *signers.Request) (*signers.Response, error) {
	clk := clock.Or(p.Clock)
	for attempt := 0; ; attempt++ {
		attemptReq := *req
		attemptReq.Header = req.Header.Clone()
		resp, err := d.Do(ctx, &attemptReq)
		if err != nil {
			return nil, err
		}
		wait, again := p.Wait(attempt, resp.Status, resp.Header.Get("Retry-After"), clk.Now())
		if !again {
			return resp, nil
		}
		if err := clk.Sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// Doer returns a signers.Doer that sends every request through Do with p.
func Doer(next signers.Doer, p Policy) signers.Doer {
	return signers.DoerFunc(func(ctx context.Context, req *signers.Request) (*signers.Response, error) {
		return Do(ctx, p, next, req)
	})
}
