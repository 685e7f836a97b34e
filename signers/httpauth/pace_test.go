//go:build !js

package httpauth

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/pace"
)

// frozenClock stands still at t0 and records the waits asked of it, so that
// the slots concurrent callers took can be read whatever their order.
type frozenClock struct {
	mu     sync.Mutex
	sleeps []time.Duration
}

func (*frozenClock) Now() time.Time { return t0 }

func (f *frozenClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return signers.Wrap(signers.CodeAborted, "frozenClock.Sleep", err)
	}
	f.mu.Lock()
	f.sleeps = append(f.sleeps, d)
	f.mu.Unlock()
	return nil
}

// A burst of concurrent calls through one Pace is spread, not refused: each
// call takes its own slot of the shared Limiter (Ansira stage: one every
// 200 ms), and every call is sent.
func TestPaceSpreadsAConcurrentBurst(t *testing.T) {
	var hits atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer ts.Close()
	clk := &frozenClock{}
	limiter, err := pace.New(pace.AnsiraStage, clk)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Transport: &Pace{Limiter: limiter}, Timeout: 10 * time.Second}
	const n = 12
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := c.Get(ts.URL)
			if err == nil {
				resp.Body.Close()
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if hits.Load() != n {
		t.Fatalf("%d of %d calls sent", hits.Load(), n)
	}
	// The first call goes at once; the others wait 200 ms, 400 ms, ... 2.2 s.
	got := slices.Clone(clk.sleeps)
	slices.Sort(got)
	var want []time.Duration
	for i := 1; i < n; i++ {
		want = append(want, time.Duration(i)*200*time.Millisecond)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("waits %v, want %v", got, want)
	}
}

func TestPaceErrors(t *testing.T) {
	var hits atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer ts.Close()
	req, _ := http.NewRequest("GET", ts.URL, nil)
	if _, err := (&Pace{}).RoundTrip(req); !errors.Is(err, signers.ErrConfig) {
		t.Errorf("no limiter: %v", err)
	}
	// A call whose context ends while it waits for its slot is not sent.
	limiter, _ := pace.New(pace.AnsiraStage, &frozenClock{})
	c := &http.Client{Transport: &Pace{Limiter: limiter}, Timeout: 10 * time.Second}
	resp, err := c.Get(ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req, _ = http.NewRequestWithContext(ctx, "GET", ts.URL, nil)
	if _, err := (&Pace{Limiter: limiter}).RoundTrip(req); !errors.Is(err, signers.ErrAborted) {
		t.Errorf("ended context: %v", err)
	}
	if hits.Load() != 1 {
		t.Fatalf("%d calls sent, want 1", hits.Load())
	}
}
