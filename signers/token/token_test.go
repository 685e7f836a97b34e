package token

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/clock"
)

var t0 = time.Date(2025, 8, 6, 14, 32, 0, 0, time.UTC)

// counter returns a FetchFunc that hands out tok-1, tok-2, … valid for life,
// failing while fail is set.
func counter(clk clock.Clock, life time.Duration, fail *atomic.Bool, n *atomic.Int32) FetchFunc {
	return func(ctx context.Context, current Token) (Token, error) {
		i := n.Add(1)
		if fail != nil && fail.Load() {
			return Token{}, errors.New("upstream down")
		}
		return Token{Value: "tok-" + string(rune('0'+i)), Expiry: clk.Now().Add(life)}, nil
	}
}

func TestCacheReusesUntilMargin(t *testing.T) {
	clk := clock.NewFake(t0)
	var n atomic.Int32
	c := NewCache(counter(clk, time.Hour, nil, &n), 5*time.Minute, clk)
	ctx := context.Background()
	a, _ := c.Token(ctx)
	clk.Advance(54 * time.Minute)
	b, _ := c.Token(ctx)
	if a != b || n.Load() != 1 {
		t.Fatalf("refetched too early: %v %v n=%d", a, b, n.Load())
	}
	clk.Advance(2 * time.Minute) // 56 min: inside the 5-minute margin
	c2, _ := c.Token(ctx)
	if c2.Value != "tok-2" || n.Load() != 2 {
		t.Fatalf("did not renew ahead of expiry: %v n=%d", c2, n.Load())
	}
}

func TestCacheSingleFlight(t *testing.T) {
	clk := clock.NewFake(t0)
	var n atomic.Int32
	release := make(chan struct{})
	c := NewCache(func(ctx context.Context, cur Token) (Token, error) {
		n.Add(1)
		<-release
		return Token{Value: "only", Expiry: t0.Add(time.Hour)}, nil
	}, time.Minute, clk)
	var wg sync.WaitGroup
	results := make(chan Token, 20)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok, err := c.Token(context.Background())
			if err != nil {
				t.Error(err)
			}
			results <- tok
		}()
	}
	time.Sleep(20 * time.Millisecond) // let the callers pile up on the flight
	close(release)
	wg.Wait()
	close(results)
	if n.Load() != 1 {
		t.Fatalf("%d fetches for 20 concurrent callers", n.Load())
	}
	for r := range results {
		if r.Value != "only" {
			t.Fatalf("caller got %v", r)
		}
	}
}

func TestFailedRefreshKeepsValidToken(t *testing.T) {
	clk := clock.NewFake(t0)
	var n atomic.Int32
	var fail atomic.Bool
	c := NewCache(counter(clk, time.Hour, &fail, &n), 5*time.Minute, clk)
	ctx := context.Background()
	first, err := c.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fail.Store(true)
	clk.Advance(58 * time.Minute) // in the margin, still valid
	got, err := c.Token(ctx)
	if err != nil || got != first {
		t.Fatalf("early refresh failure lost the valid token: %v %v", got, err)
	}
	// A forced refresh reports the failure, and the held token survives it.
	if _, err := c.Refresh(ctx); !errors.Is(err, signers.ErrTokenExpired) || err.Error() == "" {
		t.Fatalf("Refresh err = %v", err)
	}
	if c.Current() != first {
		t.Fatal("failed refresh replaced the held token")
	}
	// Once expired, the failure is an error.
	clk.Advance(3 * time.Minute)
	if _, err := c.Token(ctx); !errors.Is(err, signers.ErrTokenExpired) {
		t.Fatalf("expired + failing: err = %v", err)
	}
	fail.Store(false)
	if got, err := c.Token(ctx); err != nil || got.Value == first.Value {
		t.Fatalf("recovery: %v %v", got, err)
	}
}

func TestInvalidateOnlyTheRefusedToken(t *testing.T) {
	clk := clock.NewFake(t0)
	var n atomic.Int32
	c := NewCache(counter(clk, time.Hour, nil, &n), 0, clk)
	ctx := context.Background()
	old, _ := c.Token(ctx)
	c.Invalidate(old)
	fresh, _ := c.Token(ctx)
	c.Invalidate(old) // a second request that failed with the old token
	again, _ := c.Token(ctx)
	if fresh == old || again != fresh || n.Load() != 2 {
		t.Fatalf("old %v fresh %v again %v fetches %d", old, fresh, again, n.Load())
	}
}

func TestFetchPanicsAndEmptyTokens(t *testing.T) {
	c := NewCache(func(context.Context, Token) (Token, error) { panic("boom") }, 0, nil)
	if _, err := c.Token(context.Background()); !errors.Is(err, signers.ErrInternal) {
		t.Fatalf("panic: err = %v", err)
	}
	c = NewCache(func(context.Context, Token) (Token, error) { return Token{}, nil }, 0, nil)
	if _, err := c.Token(context.Background()); !errors.Is(err, signers.ErrToken) {
		t.Fatalf("empty: err = %v", err)
	}
}

func TestAbortedContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var n atomic.Int32
	c := NewCache(counter(clock.NewFake(t0), time.Hour, nil, &n), 0, nil)
	if _, err := c.Token(ctx); !errors.Is(err, signers.ErrAborted) || n.Load() != 0 {
		t.Fatalf("err = %v, fetches %d", err, n.Load())
	}
}

func TestRenewSeesCurrent(t *testing.T) {
	clk := clock.NewFake(t0)
	var seen []string
	c := NewCache(func(ctx context.Context, cur Token) (Token, error) {
		seen = append(seen, cur.Value)
		return Token{Value: cur.Value + "+", Expiry: clk.Now().Add(time.Hour)}, nil
	}, time.Minute, clk)
	c.Token(context.Background())
	c.Refresh(context.Background())
	if len(seen) != 2 || seen[0] != "" || seen[1] != "+" {
		t.Fatalf("fetch saw %q", seen)
	}
}

// The fetch after Invalidate is handed the refused token, marked so (never
// valid); Set forgets a token without calling it refused.
func TestFetchIsToldTheRefusedToken(t *testing.T) {
	var got []Token
	n := 0
	c := NewCache(func(_ context.Context, current Token) (Token, error) {
		got = append(got, current)
		n++
		return Token{Value: "t" + string(rune('0'+n))}, nil
	}, 0, nil)
	ctx := context.Background()
	first, _ := c.Token(ctx)
	c.Invalidate(first)
	c.Token(ctx)
	c.Set(Token{})
	c.Token(ctx)
	if len(got) != 3 || got[0] != (Token{}) || got[1] != (Token{Value: "t1", Refused: true}) || got[2] != (Token{}) {
		t.Fatalf("fetches were handed %+v", got)
	}
	if got[1].ValidAt(t0) {
		t.Fatal("a refused token must never be valid")
	}
}
