package broker

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The in-process State's rules; the Durable Object's (worker/state.mjs) are
// the same, driven through the Worker in workerd (worker/workerd_test.go).

func TestLocalStatePutIsCompareAndSwap(t *testing.T) {
	ctx := context.Background()
	s, _ := NewLocalState("")
	if v, ver, _ := s.Get(ctx, "k"); v != "" || ver != 0 {
		t.Fatalf("empty state: %q %d", v, ver)
	}
	if ok, _ := s.Put(ctx, "k", "a", 0); !ok {
		t.Fatal("first put refused")
	}
	if ok, _ := s.Put(ctx, "k", "b", 0); ok {
		t.Error("put with a stale version accepted")
	}
	if ok, _ := s.Put(ctx, "k", "c", 1); !ok {
		t.Error("put with the current version refused")
	}
	if v, ver, _ := s.Get(ctx, "k"); v != "c" || ver != 2 {
		t.Errorf("got %q %d, want c 2", v, ver)
	}
}

// The records are in the file, mode 0600, and a new LocalState (a restart)
// reads them back; an unreadable file is an error, not an empty state.
func TestLocalStateFile(t *testing.T) {
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "keys.json")
	s, err := NewLocalState(file)
	if err != nil {
		t.Fatal(err)
	}
	s.Put(ctx, "keyfax-keys", `{"x":1}`, 0)
	if runtime.GOOS != "js" && runtime.GOOS != "windows" {
		if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("state file: %v, mode %v (want 0600)", err, fi.Mode().Perm())
		}
	}
	again, err := NewLocalState(file)
	if err != nil {
		t.Fatal(err)
	}
	if v, ver, _ := again.Get(ctx, "keyfax-keys"); v != `{"x":1}` || ver != 1 {
		t.Errorf("after a restart: %q %d", v, ver)
	}
	os.WriteFile(file, []byte("{half"), 0o600)
	if _, err := NewLocalState(file); err == nil {
		t.Error("an unreadable state file was taken for an empty one")
	}
}

// 20 concurrent callers: one lease, the others wait and get its value; a
// landed failure is every waiter's; a stale value is fetched anew.
func TestLocalStateFlight(t *testing.T) {
	ctx := context.Background()
	s, _ := NewLocalState("")
	now := time.Unix(1000, 0)
	var leases atomic.Int32
	var wg sync.WaitGroup
	got := make([]string, 20)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fl, err := s.Flight(ctx, "k", now, "", time.Minute)
			if err != nil {
				t.Error(err)
				return
			}
			if fl.Lease != "" {
				leases.Add(1)
				time.Sleep(20 * time.Millisecond) // the others arrive meanwhile (or find the value: the same outcome)
				s.Land(ctx, "k", fl.Lease, "v1", now.Add(time.Hour))
				fl.Value = "v1"
			}
			got[i] = fl.Value
		}()
	}
	wg.Wait()
	if leases.Load() != 1 {
		t.Errorf("leases = %d, want 1", leases.Load())
	}
	for i, v := range got {
		if v != "v1" {
			t.Errorf("caller %d got %q", i, v)
		}
	}
	// Not fresh enough, or stale: a lease.
	if fl, _ := s.Flight(ctx, "k", now.Add(time.Hour), "", time.Minute); fl.Lease == "" {
		t.Error("a value expiring before fresh was handed out")
	} else {
		s.Land(ctx, "k", fl.Lease, `{"status":502,"code":"E_HTTP","message":"m"}`, time.Time{})
	}
	fl, _ := s.Flight(ctx, "k", now, "v1", time.Minute)
	if fl.Lease == "" {
		t.Fatal("the stale value was handed out")
	}
	wait := make(chan Flight)
	go func() {
		w, _ := s.Flight(ctx, "k", now, "v1", time.Minute)
		wait <- w
	}()
	time.Sleep(10 * time.Millisecond)
	s.Land(ctx, "k", fl.Lease, "failed", time.Time{})
	if w := <-wait; w.Lease == "" && (w.Value != "failed" || !w.Expires.IsZero()) {
		t.Errorf("waiter got %+v, want the landed failure (or the lease, had it come late)", w)
	}
	// A holder that never lands: its lease ends and the next caller takes over.
	fl, _ = s.Flight(ctx, "gone", now, "", 10*time.Millisecond)
	if next, _ := s.Flight(ctx, "gone", now, "", time.Minute); next.Lease == "" || next.Lease == fl.Lease {
		t.Errorf("lease not taken over: %+v", next)
	}
}

func TestLocalStateTake(t *testing.T) {
	ctx := context.Background()
	s, _ := NewLocalState("")
	now := time.Unix(1000, 0)
	for i, id := range []string{"a", "b"} {
		if ok, _, _ := s.Take(ctx, "k", now.Add(time.Duration(i)*time.Second), "", id, time.Minute, 2); !ok {
			t.Fatalf("slot %s refused", id)
		}
	}
	ok, retryAt, _ := s.Take(ctx, "k", now.Add(2*time.Second), "", "c", time.Minute, 2)
	if ok || !retryAt.Equal(now.Add(time.Minute)) {
		t.Errorf("third slot: ok %v, retry at %v (want refused until the first ends)", ok, retryAt)
	}
	if ok, _, _ := s.Take(ctx, "k", now.Add(2*time.Second), "a", "c", time.Minute, 2); !ok {
		t.Error("a slot given back was not free")
	}
	if ok, _, _ := s.Take(ctx, "k", now.Add(61*time.Second+time.Millisecond), "", "d", time.Minute, 2); !ok {
		t.Error("an ended slot still counted")
	}
	// The sets of callers that never came back are swept.
	s.Take(ctx, "gone", now, "", "x", time.Minute, 0)
	s.Take(ctx, "k", now.Add(sweepEvery+time.Hour), "", "e", time.Minute, 0)
	if _, ok := s.slots["gone"]; ok || len(s.slots) != 1 {
		t.Errorf("slot sets after a sweep: %v", s.slots)
	}
}
