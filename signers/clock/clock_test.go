package clock

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/apisign/apisign/signers"
)

var t0 = time.Date(2025, 8, 6, 14, 32, 0, 0, time.UTC)

func TestFakeSleepAdvancesWithoutWaiting(t *testing.T) {
	f := NewFake(t0)
	start := time.Now()
	if err := f.Sleep(context.Background(), time.Hour); err != nil {
		t.Fatal(err)
	}
	if got := f.Now(); !got.Equal(t0.Add(time.Hour)) {
		t.Fatalf("Now = %v", got)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatal("Fake.Sleep really slept")
	}
	if s := f.Sleeps(); len(s) != 1 || s[0] != time.Hour {
		t.Fatalf("Sleeps = %v", s)
	}
}

func TestSleepHonoursCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, c := range []Clock{Real, NewFake(t0)} {
		err := c.Sleep(ctx, time.Hour)
		if !errors.Is(err, signers.ErrAborted) {
			t.Fatalf("%T: err = %v", c, err)
		}
	}
	// Real: cancellation during the wait.
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if err := Real.Sleep(ctx, time.Hour); !errors.Is(err, signers.ErrAborted) {
		t.Fatalf("err = %v", err)
	}
}

func TestSkewedLearnsFromDate(t *testing.T) {
	f := NewFake(t0)
	s := NewSkewed(f)
	if !s.Observe("Wed, 06 Aug 2025 14:42:00 GMT") { // server 10 minutes ahead
		t.Fatal("date not read")
	}
	if s.Offset() != 10*time.Minute || !s.Now().Equal(t0.Add(10*time.Minute)) {
		t.Fatalf("offset %v now %v", s.Offset(), s.Now())
	}
	// Unreadable dates change nothing.
	for _, d := range []string{"", "yesterday", "Wed, 06 Aug 2025 14:42:00 CET"} {
		if s.Observe(d) || s.Offset() != 10*time.Minute {
			t.Fatalf("Observe(%q) changed the offset", d)
		}
	}
	// A difference under the threshold is noise: back to zero.
	if !s.Observe("Wed, 06 Aug 2025 14:32:01 GMT") || s.Offset() != 0 {
		t.Fatalf("offset %v, want 0", s.Offset())
	}
	// Server behind, obsolete RFC 850 form.
	if !s.Observe("Wednesday, 06-Aug-25 14:22:00 GMT") || s.Offset() != -10*time.Minute {
		t.Fatalf("offset %v", s.Offset())
	}
	// asctime form.
	if !s.Observe("Wed Aug  6 14:37:00 2025") || s.Offset() != 5*time.Minute {
		t.Fatalf("offset %v", s.Offset())
	}
}

func TestFormatHTTPDate(t *testing.T) {
	if got := FormatHTTPDate(t0.In(time.FixedZone("CEST", 7200))); got != "Wed, 06 Aug 2025 14:32:00 GMT" {
		t.Fatal(got)
	}
}

func TestOr(t *testing.T) {
	if Or(nil) != Real {
		t.Error("Or(nil) is not Real")
	}
	f := NewFake(time.Unix(1700000000, 0))
	if Or(f) != Clock(f) {
		t.Error("Or(f) is not f")
	}
}
