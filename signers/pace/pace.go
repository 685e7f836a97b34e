// Package pace spreads the calls of one client evenly in time, so that a burst is
// sent at the rate a provider allows instead of being refused with 429s. Ansira
// limits each IP address to 5 requests per second on stage and 10 on production
// (AnsiraStage, AnsiraProduction); Fonn limits each subscription and asks clients
// to distribute their calls evenly, without publishing the rate, so a Fonn client
// passes its subscription's rate to New (docs/PROTOCOLS.md, "Ansira" and "Fonn").
//
// A Limiter hands out evenly spaced slots, one every Per/N: a call takes the next
// free slot and waits for it. Slots rather than a token bucket because the limits
// are per second with no documented burst: even spacing never has N+1 calls in
// any one-second window. Pacing does not replace the retry policy: a 429 from a
// limit shared with other clients still goes to signers/retry.
//
// The waiting is done by the Limiter's clock.Clock, so tests use clock.Fake and
// never sleep; no goroutine is started.
package pace

import (
	"context"
	"sync"
	"time"

	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/clock"
)

// Rate is N calls per Per.
type Rate struct {
	N   int
	Per time.Duration
}

// The documented rates.
var (
	// AnsiraStage is Ansira's per-IP limit on stage: 5 requests per second.
	AnsiraStage = Rate{N: 5, Per: time.Second}
	// AnsiraProduction is Ansira's per-IP limit on production: 10 per second.
	AnsiraProduction = Rate{N: 10, Per: time.Second}
)

// Limiter paces the calls that share it. It is safe for concurrent use: share
// one per client (per IP address for Ansira, per subscription for Fonn).
type Limiter struct {
	clock    clock.Clock
	interval time.Duration

	mu   sync.Mutex
	next time.Time // the first free slot
}

// New returns a Limiter allowing r.N calls per r.Per, evenly spaced, on c (nil
// means clock.Real). An N or Per that is not positive is E_INPUT.
func New(r Rate, c clock.Clock) (*Limiter, error) {
	if r.N <= 0 || r.Per <= 0 || r.Per/time.Duration(r.N) <= 0 {
		return nil, signers.E(signers.CodeInput, "pace.New", "rate must be a positive number of calls per positive duration")
	}
	return &Limiter{clock: clock.Or(c), interval: r.Per / time.Duration(r.N)}, nil
}

// Interval is the time between two slots.
func (l *Limiter) Interval() time.Duration { return l.interval }

// Wait takes the next free slot and waits until it comes; the first call after
// an idle period returns at once. If ctx ends first it returns E_ABORTED and
// gives its slot back when no later call has taken one since, so an abandoned
// call does not delay the next one.
func (l *Limiter) Wait(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return signers.Wrap(signers.CodeAborted, "pace.Wait", err)
	}
	slot, d := l.reserve()
	if d <= 0 {
		return nil
	}
	if err := l.clock.Sleep(ctx, d); err != nil {
		l.mu.Lock()
		if l.next.Equal(slot.Add(l.interval)) {
			l.next = slot
		}
		l.mu.Unlock()
		return signers.Wrap(signers.CodeAborted, "pace.Wait", err)
	}
	return nil
}

// reserve takes the next free slot and returns it with the wait until it.
func (l *Limiter) reserve() (time.Time, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	slot := l.next
	if slot.Before(now) {
		slot = now
	}
	l.next = slot.Add(l.interval)
	return slot, slot.Sub(now)
}
