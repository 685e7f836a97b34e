// Package clock is the time source of every signer, token cache and retry loop.
// Signatures carry timestamps and tokens expire, so time is an input like any
// other: tests pass a Fake that never sleeps, and a Skewed clock corrects the
// local time by what a server's Date header says (NFON, Fortis HMAC and Keyfax
// Basic reject requests whose time is more than a few minutes off).
package clock

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apisign/apisign/signers"
)

// Clock tells the time and waits.
type Clock interface {
	Now() time.Time
	// Sleep waits d, or until ctx ends, in which case it returns an E_ABORTED error.
	Sleep(ctx context.Context, d time.Duration) error
}

// Real is the system clock.
var Real Clock = realClock{}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return signers.Wrap(signers.CodeAborted, "clock.Sleep", err)
	}
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return signers.Wrap(signers.CodeAborted, "clock.Sleep", ctx.Err())
	}
}

// Fake is a clock for tests: Now stays where it is until Advance or Sleep moves it,
// and Sleep returns at once, recording how long it was asked to wait.
type Fake struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

// NewFake returns a Fake standing at t.
func NewFake(t time.Time) *Fake { return &Fake{now: t} }

func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// Advance moves the clock forward by d.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

// Set moves the clock to t.
func (f *Fake) Set(t time.Time) {
	f.mu.Lock()
	f.now = t
	f.mu.Unlock()
}

// Sleep advances the clock by d (unless ctx has ended) and returns immediately.
func (f *Fake) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return signers.Wrap(signers.CodeAborted, "clock.Sleep", err)
	}
	f.mu.Lock()
	f.sleeps = append(f.sleeps, d)
	if d > 0 {
		f.now = f.now.Add(d)
	}
	f.mu.Unlock()
	return nil
}

// Sleeps returns every duration Sleep was called with, in order.
func (f *Fake) Sleeps() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.sleeps...)
}

// SkewThreshold is the smallest difference Skewed acts on. A Date header has
// one-second resolution and arrives after some latency, so a smaller measured
// offset is noise, not skew.
const SkewThreshold = 2 * time.Second

// Skewed is a Clock whose Now is the base clock corrected by the offset learned
// from the last server Date header it observed. It is safe for concurrent use.
type Skewed struct {
	base   Clock
	offset atomic.Int64 // nanoseconds
}

// NewSkewed returns a Skewed clock over base with no correction yet.
func NewSkewed(base Clock) *Skewed {
	if base == nil {
		base = Real
	}
	return &Skewed{base: base}
}

func (s *Skewed) Now() time.Time { return s.base.Now().Add(s.Offset()) }

func (s *Skewed) Sleep(ctx context.Context, d time.Duration) error { return s.base.Sleep(ctx, d) }

// Offset is the correction added to the base clock.
func (s *Skewed) Offset() time.Duration { return time.Duration(s.offset.Load()) }

// Observe learns the offset from a server's Date header (RFC 1123, as HTTP sends
// it). It reports whether the header was readable; an empty or unreadable one
// (for instance a cross-origin response that does not expose Date) changes
// nothing. A measured difference under SkewThreshold resets the offset to zero.
func (s *Skewed) Observe(date string) bool {
	server, err := ParseHTTPDate(date)
	if err != nil {
		return false
	}
	d := server.Sub(s.base.Now())
	if d > -SkewThreshold && d < SkewThreshold {
		d = 0
	}
	s.offset.Store(int64(d))
	return true
}

// HTTPDate is the layout of HTTP dates (RFC 1123 in GMT), the same as net/http's
// TimeFormat, repeated here so that the browser module need not link net/http.
const HTTPDate = "Mon, 02 Jan 2006 15:04:05 GMT"

// FormatHTTPDate formats t as an HTTP date; the weekday always matches the date.
func FormatHTTPDate(t time.Time) string { return t.UTC().Format(HTTPDate) }

// ParseHTTPDate reads an HTTP date in the preferred RFC 1123 form, and in the two
// obsolete forms (RFC 850, asctime) that HTTP/1.1 recipients must accept.
func ParseHTTPDate(s string) (time.Time, error) {
	for _, layout := range []string{HTTPDate, "Monday, 02-Jan-06 15:04:05 GMT", "Mon Jan _2 15:04:05 2006"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, signers.E(signers.CodeInput, "clock.ParseHTTPDate", "not an HTTP date")
}

// Or returns c, or Real when c is nil: every Clock field and argument of
// apisign means the real clock when it is left unset.
func Or(c Clock) Clock {
	if c == nil {
		return Real
	}
	return c
}
