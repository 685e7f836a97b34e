package retry

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/clock"
)

var t0 = time.Date(2025, 8, 6, 14, 32, 0, 0, time.UTC)

func TestParseRetryAfter(t *testing.T) {
	good := map[string]time.Duration{
		"0":                             0,
		"7":                             7 * time.Second,
		" 120 ":                         2 * time.Minute,
		"86400":                         24 * time.Hour,
		"Wed, 06 Aug 2025 14:32:30 GMT": 30 * time.Second,
		"Wed, 06 Aug 2025 14:00:00 GMT": 0, // in the past: no wait
	}
	for v, want := range good {
		if got, err := ParseRetryAfter(v, t0); err != nil || got != want {
			t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v", v, got, err, want)
		}
	}
	for _, v := range []string{"", "-1", "+5", "1.5", "soon", "86401", "99999999999999999999999", "Thu, 06 Aug 2026 14:32:00 GMT", "5s"} {
		if _, err := ParseRetryAfter(v, t0); !errors.Is(err, signers.ErrInput) {
			t.Errorf("ParseRetryAfter(%q): err = %v, want E_INPUT", v, err)
		}
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"0", "120", "-1", "Wed, 06 Aug 2025 14:32:30 GMT", "1e9", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		d, err := ParseRetryAfter(v, t0)
		if err == nil && (d < 0 || d > MaxRetryAfter) {
			t.Fatalf("%q -> %v", v, d)
		}
	})
}

func TestBackoffFullJitterCapped(t *testing.T) {
	p := Policy{Rand: func() float64 { return 0.999999 }}
	want := []time.Duration{250, 500, 1000, 2000, 4000, 8000, 8000}
	for i, w := range want {
		got := p.Backoff(i)
		if got > w*time.Millisecond || got < w*time.Millisecond*99/100 {
			t.Errorf("Backoff(%d) = %v, want just under %v", i, got, w*time.Millisecond)
		}
	}
	if p.Backoff(1000) > 8*time.Second {
		t.Error("huge attempt overflowed the cap")
	}
	p.Rand = func() float64 { return 0 }
	if p.Backoff(3) != 0 {
		t.Error("full jitter must reach down to zero")
	}
}

// script is a Doer answering with the given statuses in order and recording
// every request it got.
type script struct {
	statuses []int
	headers  []signers.Header
	got      []signers.Request
}

func (s *script) Do(ctx context.Context, req *signers.Request) (*signers.Response, error) {
	rec := *req
	rec.Header = req.Header.Clone()
	s.got = append(s.got, rec)
	i := len(s.got) - 1
	h := signers.Header{}
	if i < len(s.headers) && s.headers[i] != nil {
		h = s.headers[i]
	}
	req.Header.Set("X-Mutated-By-Doer", strconv.Itoa(i)) // must not leak into the next attempt
	return &signers.Response{Status: s.statuses[i], Header: h}, nil
}

func req() *signers.Request {
	return &signers.Request{Method: "POST", URL: "http://127.0.0.1/x", Header: signers.Header{"A": "1"}, Body: []byte("exact \x00 bytes")}
}

func TestDoRetriesAndReplaysTheSameRequest(t *testing.T) {
	clk := clock.NewFake(t0)
	s := &script{
		statuses: []int{429, 503, 429, 200},
		headers:  []signers.Header{{"Retry-After": "3"}, nil, {"retry-after": "Wed, 06 Aug 2025 14:32:10 GMT"}},
	}
	p := Policy{Clock: clk, Rand: func() float64 { return 0.5 }}
	resp, err := Do(context.Background(), p, s, req())
	if err != nil || resp.Status != 200 {
		t.Fatalf("resp %v err %v", resp, err)
	}
	// 3 s from Retry-After; 503 after 1 retry: half of 500 ms; the date is 10 s
	// after t0, and 3.25 s have passed on the fake clock.
	want := []time.Duration{3 * time.Second, 250 * time.Millisecond, 10*time.Second - 3250*time.Millisecond}
	got := clk.Sleeps()
	if len(got) != len(want) {
		t.Fatalf("sleeps %v want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("sleeps %v want %v", got, want)
		}
	}
	for i, r := range s.got {
		if r.Method != "POST" || r.URL != "http://127.0.0.1/x" || !bytes.Equal(r.Body, []byte("exact \x00 bytes")) || r.Header.Get("A") != "1" || r.Header.Get("X-Mutated-By-Doer") != "" {
			t.Fatalf("attempt %d was not the same request: %+v", i, r)
		}
	}
}

func TestDoLimits(t *testing.T) {
	cases := []struct {
		name     string
		p        Policy
		statuses []int
		headers  []signers.Header
		attempts int
		final    int
	}{
		{"gives up after 4 retries", Policy{}, []int{503, 503, 503, 503, 503, 200}, nil, 5, 503},
		{"custom retry count", Policy{Retries: 1}, []int{503, 503, 200}, nil, 2, 503},
		{"no retry", NoRetry, []int{503, 200}, nil, 1, 503},
		{"4xx is final", Policy{}, []int{403, 200}, nil, 1, 403},
		{"500 is final", Policy{}, []int{500, 200}, nil, 1, 500},
		{"429 too long to wait is handed back", Policy{}, []int{429, 200}, []signers.Header{{"Retry-After": "3600"}}, 1, 429},
		{"429 unreadable Retry-After backs off", Policy{}, []int{429, 200}, []signers.Header{{"Retry-After": "-5"}}, 2, 200},
		{"429 without Retry-After backs off", Policy{}, []int{429, 200}, nil, 2, 200},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.p.Clock = clock.NewFake(t0)
			s := &script{statuses: c.statuses, headers: c.headers}
			resp, err := Do(context.Background(), c.p, s, req())
			if err != nil || resp.Status != c.final || len(s.got) != c.attempts {
				t.Fatalf("status %v err %v attempts %d", resp, err, len(s.got))
			}
		})
	}
}

func TestDoBoundedByContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	s := &script{statuses: []int{503, 503, 200}}
	d := signers.DoerFunc(func(c context.Context, r *signers.Request) (*signers.Response, error) {
		cancel() // the caller gives up while the first answer is on its way
		return s.Do(c, r)
	})
	_, err := Do(ctx, Policy{Clock: clock.NewFake(t0)}, d, req())
	if !errors.Is(err, signers.ErrAborted) || len(s.got) != 1 {
		t.Fatalf("err %v attempts %d", err, len(s.got))
	}
	// With the real clock too: a long backoff ends when the context does.
	ctx, cancel2 := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel2()
	start := time.Now()
	_, err = Do(ctx, Policy{Base: time.Hour, Cap: time.Hour, Rand: func() float64 { return 0.9 }}, &script{statuses: []int{503, 200}}, req())
	if !errors.Is(err, signers.ErrAborted) || time.Since(start) > 10*time.Second {
		t.Fatalf("err %v after %v", err, time.Since(start))
	}
}

func TestTransportErrorNotRetried(t *testing.T) {
	n := 0
	d := signers.DoerFunc(func(context.Context, *signers.Request) (*signers.Response, error) {
		n++
		return nil, signers.E(signers.CodeNetwork, "test", "connection refused")
	})
	if _, err := Doer(d, Policy{Clock: clock.NewFake(t0)}).Do(context.Background(), req()); !errors.Is(err, signers.ErrNetwork) || n != 1 {
		t.Fatalf("err %v attempts %d", err, n)
	}
}
