package pace

import (
	"context"
	"errors"
	"runtime"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/clock"
)

var t0 = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

func mustNew(t *testing.T, r Rate, c clock.Clock) *Limiter {
	t.Helper()
	l, err := New(r, c)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestDocumentedRates(t *testing.T) {
	// Ansira (seed 002, "Errors", 429): 5 per second on stage, 10 on production.
	for _, c := range []struct {
		r    Rate
		want time.Duration
	}{{AnsiraStage, 200 * time.Millisecond}, {AnsiraProduction, 100 * time.Millisecond}} {
		if got := mustNew(t, c.r, nil).Interval(); got != c.want {
			t.Errorf("%+v: interval %v, want %v", c.r, got, c.want)
		}
	}
}

func TestNewRefusesBadRates(t *testing.T) {
	for _, r := range []Rate{{}, {N: 0, Per: time.Second}, {N: 5}, {N: -1, Per: time.Second}, {N: 10, Per: 5}} {
		if l, err := New(r, nil); l != nil || !errors.Is(err, signers.ErrInput) {
			t.Errorf("New(%+v) = %v, %v; want E_INPUT", r, l, err)
		}
	}
}

// A burst of sequential calls goes out one interval apart; the first at once.
func TestSequentialCallsAreSpaced(t *testing.T) {
	fake := clock.NewFake(t0)
	l := mustNew(t, AnsiraStage, fake)
	var at []time.Time
	for i := 0; i < 11; i++ {
		if err := l.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		at = append(at, fake.Now())
	}
	for i, got := range at {
		if want := t0.Add(time.Duration(i) * 200 * time.Millisecond); !got.Equal(want) {
			t.Fatalf("call %d at %v, want %v", i, got.Sub(t0), want.Sub(t0))
		}
	}
	// Never more than 5 calls in any one-second window.
	for i := range at {
		n := 0
		for _, b := range at[i:] {
			if b.Sub(at[i]) < time.Second {
				n++
			}
		}
		if n > 5 {
			t.Fatalf("%d calls within a second from call %d", n, i)
		}
	}
	// After an idle period the next call goes at once.
	fake.Advance(time.Minute)
	before := len(fake.Sleeps())
	if err := l.Wait(context.Background()); err != nil || len(fake.Sleeps()) != before {
		t.Fatalf("after idle: %v, sleeps %v", err, fake.Sleeps()[before:])
	}
}

// Concurrent callers each get their own slot: the slots are distinct and evenly
// spaced, whatever order the goroutines run in.
func TestConcurrentCallersShareTheLimiter(t *testing.T) {
	fake := clock.NewFake(t0)
	l := mustNew(t, Rate{N: 10, Per: time.Second}, fake)
	const n = 40
	slots := make([]time.Time, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			slots[i], _ = l.reserve()
		}()
	}
	wg.Wait()
	sort.Slice(slots, func(i, j int) bool { return slots[i].Before(slots[j]) })
	for i, s := range slots {
		if want := t0.Add(time.Duration(i) * 100 * time.Millisecond); !s.Equal(want) {
			t.Fatalf("slot %d at %v, want %v", i, s.Sub(t0), want.Sub(t0))
		}
	}
	// And through Wait: every call succeeds and each took one slot.
	l2 := mustNew(t, Rate{N: 10, Per: time.Second}, clock.NewFake(t0))
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); errs <- l2.Wait(context.Background()) }()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if next, _ := l2.reserve(); next.Before(t0.Add(n * 100 * time.Millisecond)) {
		t.Fatalf("after %d calls the next slot is %v", n, next.Sub(t0))
	}
}

// abortingClock is a Fake whose Sleep sees its context end first.
type abortingClock struct {
	*clock.Fake
	cancel context.CancelFunc
}

func (c abortingClock) Sleep(ctx context.Context, d time.Duration) error {
	c.cancel()
	return c.Fake.Sleep(ctx, d)
}

func TestCancelledWaitReturnsAbortedAndFreesItsSlot(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	fake := clock.NewFake(t0)
	l := mustNew(t, AnsiraStage, abortingClock{fake, cancel})
	if err := l.Wait(context.Background()); err != nil { // slot t0, no sleep
		t.Fatal(err)
	}
	err := l.Wait(ctx) // slot t0+200ms; the context ends while waiting
	if !errors.Is(err, signers.ErrAborted) {
		t.Fatalf("Wait = %v, want E_ABORTED", err)
	}
	if next, _ := l.reserve(); !next.Equal(t0.Add(200 * time.Millisecond)) {
		t.Fatalf("abandoned slot not given back: next slot %v", next.Sub(t0))
	}
	// A context that has already ended takes no slot.
	before, _ := l.reserve()
	if err := l.Wait(ctx); !errors.Is(err, signers.ErrAborted) {
		t.Fatalf("Wait(ended ctx) = %v", err)
	}
	if next, _ := l.reserve(); !next.Equal(before.Add(200 * time.Millisecond)) {
		t.Fatalf("an ended context took a slot")
	}
}

// With the real clock, a call waiting for a far slot returns E_ABORTED as soon as
// its context ends, and leaves no goroutine or timer behind.
func TestRealClockCancelLeavesNothingRunning(t *testing.T) {
	l := mustNew(t, Rate{N: 1, Per: time.Hour}, nil)
	if err := l.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	base := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Wait(ctx) }()
	cancel()
	if err := <-done; !errors.Is(err, signers.ErrAborted) {
		t.Fatalf("Wait = %v, want E_ABORTED", err)
	}
	for i := 0; i < 100 && runtime.NumGoroutine() > base; i++ {
		runtime.Gosched()
	}
	if n := runtime.NumGoroutine(); n > base {
		t.Fatalf("%d goroutines left, %d before", n, base)
	}
}
