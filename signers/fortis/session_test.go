package fortis

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apisign/apisign/internal/testkit"
	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/clock"
)

// fakeFortis emulates POST /v2/token and DELETE /v2/token/{token}, in memory
// (testkit.InMemory) at fakeURL, so that the tests also run under GOOS=js.
type fakeFortis struct {
	t       *testing.T
	opens   atomic.Int32
	fail    atomic.Int32 // status to answer POST with, 0 = succeed
	expire  atomic.Int32 // minutes announced, 0 = 15
	body    atomic.Value // raw body override for POST
	mu      sync.Mutex
	live    map[string]bool
	deletes []string
	gate    chan struct{} // if set, POST waits on it
}

func newFakeFortis(t *testing.T) *fakeFortis {
	return &fakeFortis{t: t, live: map[string]bool{}}
}

const fakeURL = "http://fortis.test"

// doer sends requests to the fake in memory.
func (f *fakeFortis) doer() testkit.Doer {
	return testkit.Doer{Client: &http.Client{Transport: testkit.InMemory{Handler: http.HandlerFunc(f.serve)}}}
}

func (f *fakeFortis) serve(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("developer-id") != "dev-1" {
		http.Error(w, "no developer-id", 401)
		return
	}
	switch {
	case r.Method == "POST" && r.URL.Path == "/v2/token":
		n := f.opens.Add(1)
		if f.gate != nil {
			<-f.gate
		}
		var in struct{ Username, Password, Domain string }
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Username != "me" || in.Password != "pw" || in.Domain != "dom" ||
			r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "bad login", 401)
			return
		}
		if s := f.fail.Load(); s != 0 {
			http.Error(w, "down", int(s))
			return
		}
		if b, ok := f.body.Load().(string); ok && b != "" {
			io.WriteString(w, b)
			return
		}
		exp := f.expire.Load()
		if exp == 0 {
			exp = 15
		}
		tok := "tok-" + strconv.Itoa(int(n))
		f.mu.Lock()
		f.live[tok] = true
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"type":"Token","token":{"token":"`+tok+`","expire":`+strconv.Itoa(int(exp))+`,"user_id":"u1"}}`)
	case r.Method == "DELETE" && strings.HasPrefix(r.URL.Path, "/v2/token/"):
		tok := strings.TrimPrefix(r.URL.Path, "/v2/token/")
		f.mu.Lock()
		defer f.mu.Unlock()
		f.deletes = append(f.deletes, tok)
		if r.Header.Get("access-token") != tok {
			http.Error(w, "token header mismatch", 400)
			return
		}
		if !f.live[tok] {
			w.WriteHeader(404)
			return
		}
		delete(f.live, tok)
		w.WriteHeader(204)
	default:
		http.NotFound(w, r)
	}
}

func newTestSession(t *testing.T, f *fakeFortis, clk clock.Clock) *Session {
	t.Helper()
	s, err := NewSession(SessionConfig{
		BaseURL: fakeURL + "/", DeveloperID: "dev-1", Username: "me", Password: "pw", Domain: "dom",
		Doer: f.doer(), Clock: clk,
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func mustToken(t *testing.T, s *Session, want string) {
	t.Helper()
	tok, err := s.Token(ctxT(t))
	if err != nil || tok.Value != want {
		t.Fatalf("Token = %q, %v; want %q", tok.Value, err, want)
	}
}

func TestSessionOpenIdleTouchClose(t *testing.T) {
	f := newFakeFortis(t)
	clk := clock.NewFake(st0)
	s := newTestSession(t, f, clk)

	tok, err := s.Token(ctxT(t))
	if err != nil || tok.Value != "tok-1" || !tok.Expiry.Equal(st0.Add(15*time.Minute)) {
		t.Fatalf("open: %+v %v", tok, err)
	}
	h, err := s.AuthHeader(tok)
	if err != nil || h["access-token"] != "tok-1" || h["developer-id"] != "dev-1" {
		t.Fatalf("AuthHeader %v %v", h, err)
	}
	q, err := s.AuthQuery(tok)
	if err != nil || len(q) != 2 || q[1] != [2]string{"access-token", "tok-1"} {
		t.Fatalf("AuthQuery %v %v", q, err)
	}

	clk.Advance(10 * time.Minute)
	mustToken(t, s, "tok-1")
	s.Touch() // a successful request at +10m: expiry moves to +25m
	clk.Advance(10 * time.Minute)
	mustToken(t, s, "tok-1") // +20m: alive only because of Touch
	if n := f.opens.Load(); n != 1 {
		t.Fatalf("opens = %d", n)
	}
	if got := s.Current().Expiry; !got.Equal(st0.Add(25 * time.Minute)) {
		t.Fatalf("expiry %v", got)
	}

	// Within the margin of the idle expiry: reopen.
	clk.Advance(4*time.Minute + 31*time.Second)
	mustToken(t, s, "tok-2")

	// Idle past the expiry: reopen.
	clk.Advance(16 * time.Minute)
	mustToken(t, s, "tok-3")

	// A touch for an older token does not extend the new one.
	s.TouchToken(tok)
	if got := s.Current().Expiry; !got.Equal(clk.Now().Add(15 * time.Minute)) {
		t.Fatalf("expiry after stale touch %v", got)
	}

	if err := s.Close(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	deletes := append([]string(nil), f.deletes...)
	f.mu.Unlock()
	if len(deletes) != 1 || deletes[0] != "tok-3" {
		t.Fatalf("deletes %v", deletes)
	}
	if cur := s.Current(); cur.Value != "" {
		t.Fatalf("after Close: %+v", cur)
	}
	if err := s.Close(ctxT(t)); err != nil { // nothing held: no request
		t.Fatal(err)
	}
	mustToken(t, s, "tok-4") // a closed session reopens on demand
	// 404 (the server already forgot the token) is fine.
	f.mu.Lock()
	delete(f.live, "tok-4")
	f.mu.Unlock()
	if err := s.Close(ctxT(t)); err != nil {
		t.Fatalf("close after 404: %v", err)
	}
	if n := len(f.deletes); n != 2 {
		t.Fatalf("deletes %v", f.deletes)
	}
}

func TestSessionServerExpireShorter(t *testing.T) {
	f := newFakeFortis(t)
	f.expire.Store(5)
	clk := clock.NewFake(st0)
	s := newTestSession(t, f, clk)
	tok, err := s.Token(ctxT(t))
	if err != nil || !tok.Expiry.Equal(st0.Add(5*time.Minute)) {
		t.Fatalf("%+v %v", tok, err)
	}
	clk.Advance(4 * time.Minute)
	s.Touch()
	if got := s.Current().Expiry; !got.Equal(st0.Add(9 * time.Minute)) {
		t.Fatalf("touch with 5m life: %v", got)
	}
}

func TestSessionConcurrentOneOpen(t *testing.T) {
	f := newFakeFortis(t)
	f.gate = make(chan struct{})
	clk := clock.NewFake(st0)
	s := newTestSession(t, f, clk)
	const n = 10
	var wg sync.WaitGroup
	got := make([]string, n)
	errs := make([]error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			tok, err := s.Token(ctxT(t))
			got[i], errs[i] = tok.Value, err
		}(i)
	}
	// Let the first POST arrive, then release it.
	for deadline := time.Now().Add(10 * time.Second); f.opens.Load() == 0; {
		if time.Now().After(deadline) {
			t.Fatal("no open request arrived")
		}
		time.Sleep(time.Millisecond)
	}
	close(f.gate)
	wg.Wait()
	for i := range got {
		if errs[i] != nil || got[i] != "tok-1" {
			t.Errorf("caller %d: %q %v", i, got[i], errs[i])
		}
	}
	if c := f.opens.Load(); c != 1 {
		t.Fatalf("opens = %d, want 1", c)
	}
}

func TestSessionFailedReopenKeepsOldState(t *testing.T) {
	f := newFakeFortis(t)
	clk := clock.NewFake(st0)
	s := newTestSession(t, f, clk)
	mustToken(t, s, "tok-1")
	f.fail.Store(500)

	// Inside the margin, the reopen fails, the old token still works: it is returned.
	clk.Advance(14*time.Minute + 45*time.Second)
	mustToken(t, s, "tok-1")
	// Past the idle expiry: the error, and the held state is unchanged.
	clk.Advance(time.Minute)
	_, err := s.Token(ctxT(t))
	var e *signers.Error
	if !errors.Is(err, signers.ErrHTTP) || !errors.As(err, &e) || e.Status != 500 {
		t.Fatalf("err = %v", err)
	}
	if cur := s.Current(); cur.Value != "tok-1" || !cur.Expiry.Equal(st0.Add(15*time.Minute)) {
		t.Fatalf("state after failed reopen: %+v", cur)
	}
	f.fail.Store(0)
	mustToken(t, s, "tok-4") // opens 2 and 3 failed
}

func TestSessionInvalidateReopens(t *testing.T) {
	f := newFakeFortis(t)
	clk := clock.NewFake(st0)
	s := newTestSession(t, f, clk)
	tok, _ := s.Token(ctxT(t))
	s.Invalidate(tok)
	mustToken(t, s, "tok-2")
	s.Invalidate(tok) // old token: no effect
	mustToken(t, s, "tok-2")
}

func TestSessionBadAnswers(t *testing.T) {
	for body, want := range map[string]error{
		`<html>oops</html>`:                  signers.ErrToken,
		`{"token":{"expire":15}}`:            signers.ErrToken,
		`{"token":{"token":"abc"}}`:          signers.ErrToken,
		`{"token":{"token":"x","expire":0}}`: signers.ErrToken,
	} {
		f := newFakeFortis(t)
		f.body.Store(body)
		s := newTestSession(t, f, clock.NewFake(st0))
		if _, err := s.Token(ctxT(t)); !errors.Is(err, want) {
			t.Errorf("%s: %v", body, err)
		}
	}
	f := newFakeFortis(t)
	s, _ := NewSession(SessionConfig{BaseURL: fakeURL, DeveloperID: "dev-1", Username: "me", Password: "wrong-" + secret, Domain: "dom",
		Doer: f.doer(), Clock: clock.NewFake(st0)})
	_, err := s.Token(ctxT(t))
	checkErr(t, "wrong password", err, signers.ErrHTTP)
}

func TestSessionAbortedWhileWaiting(t *testing.T) {
	f := newFakeFortis(t)
	f.gate = make(chan struct{})
	defer close(f.gate)
	s := newTestSession(t, f, clock.NewFake(st0))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := s.Token(ctx); done <- err }()
	for deadline := time.Now().Add(10 * time.Second); f.opens.Load() == 0; {
		if time.Now().After(deadline) {
			t.Fatal("no open request arrived")
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, signers.ErrAborted) {
			t.Fatalf("err = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Token did not return after cancel")
	}
}
