package keyfax

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apisign/apisign/internal/testkit"
	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/clock"
	"github.com/apisign/apisign/signers/token"
)

// keyfaxServer emulates Keyfax's token endpoint: GET with a Basic header that
// its Verifier accepts issues a JWT living 24 h; POST with `Bearer Dev:<JWT>` for
// a JWT it issued and that has not expired issues a new one.
type keyfaxServer struct {
	t        *testing.T
	clk      *clock.Fake
	verifier *Verifier

	mu          sync.Mutex
	gets, posts int
	issued      map[string]time.Time
	serial      int
	postStatus  int           // when non-zero, POST answers this status
	getGate     chan struct{} // when non-nil, GET waits for it to close
	lastBasic   error
}

func newKeyfaxServer(t *testing.T, clk *clock.Fake) *keyfaxServer {
	return &keyfaxServer{t: t, clk: clk, verifier: newVerifier(t, clk), issued: map[string]time.Time{}}
}

// serverURL is where the token sources reach keyfaxServer: in memory
// (testkit.InMemory), so that the tests also run under GOOS=js.
const serverURL = "http://keyfax.test"

// doer sends requests to the server in memory.
func (s *keyfaxServer) doer() testkit.Doer {
	return testkit.Doer{Client: &http.Client{Transport: testkit.InMemory{Handler: http.HandlerFunc(s.serve)}}}
}

func (s *keyfaxServer) counts() (gets, posts int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gets, s.posts
}

func (s *keyfaxServer) issue(w http.ResponseWriter) {
	s.mu.Lock()
	s.serial++
	exp := s.clk.Now().Add(24 * time.Hour)
	jwt := makeJWT(`{"sub":"Dev","jti":"` + strconv.Itoa(s.serial) + `","exp":` + Timestamp(exp) + `}`)
	s.issued[jwt] = exp
	form := s.serial % 3
	s.mu.Unlock()
	switch form { // Keyfax's answer forms, in turn
	case 0:
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"token":"`+jwt+`"}`)
	case 1:
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `"`+jwt+`"`)
	default:
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, jwt+"\n")
	}
}

func (s *keyfaxServer) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/Interview"+TokenPath {
		http.NotFound(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	switch r.Method {
	case "GET":
		s.mu.Lock()
		s.gets++
		gate := s.getGate
		s.mu.Unlock()
		if gate != nil {
			select {
			case <-gate:
			case <-time.After(10 * time.Second):
				s.t.Error("GET gate never opened")
			}
		}
		_, err := s.verifier.Verify(r.Header.Get("Authorization"), r.Method, "http://"+r.Host+r.URL.RequestURI(), body)
		s.mu.Lock()
		s.lastBasic = err
		s.mu.Unlock()
		if err != nil {
			w.WriteHeader(401)
			return
		}
		s.issue(w)
	case "POST":
		s.mu.Lock()
		s.posts++
		status := s.postStatus
		auth := r.Header.Get("Authorization")
		exp, known := s.issued[strings.TrimPrefix(auth, "Bearer Dev:")]
		s.mu.Unlock()
		if status != 0 {
			w.WriteHeader(status)
			return
		}
		if !strings.HasPrefix(auth, "Bearer Dev:") || !known || !s.clk.Now().Before(exp) {
			w.WriteHeader(401)
			return
		}
		s.issue(w)
	default:
		w.WriteHeader(405)
	}
}

func newHTTPTokenSource(t *testing.T, s *keyfaxServer, key string) *TokenSource {
	t.Helper()
	signer, err := NewSigner(vHost, vAPIKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ts, err := NewTokenSource(TokenConfig{
		BaseURL: serverURL + "/Interview/",
		Doer:    s.doer(),
		Clock:   s.clk,
		Signer:  signer,
	})
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// heldFirst starts a fake server and a token source over it that already
// holds its first JWT (from a GET): the start of every renewal test.
func heldFirst(t *testing.T) (*clock.Fake, *keyfaxServer, *TokenSource, token.Token) {
	t.Helper()
	clk := clock.NewFake(time.Unix(1700000000, 0))
	srv := newKeyfaxServer(t, clk)
	ts := newHTTPTokenSource(t, srv, vKey)
	first, err := ts.Token(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	return clk, srv, ts, first
}

// answerPosts makes the server answer every later POST (renewal) with status.
func (s *keyfaxServer) answerPosts(status int) {
	s.mu.Lock()
	s.postStatus = status
	s.mu.Unlock()
}

func TestTokenSourceBasicThenRenew(t *testing.T) {
	clk, srv, ts, first := heldFirst(t)
	ctx := testCtx(t)
	if g, p := srv.counts(); g != 1 || p != 0 {
		t.Fatalf("gets %d posts %d", g, p)
	}
	if !first.Expiry.Equal(clk.Now().Add(24 * time.Hour)) {
		t.Errorf("expiry %v", first.Expiry)
	}
	// Cached while fresh.
	clk.Advance(23 * time.Hour)
	if tok, err := ts.Token(ctx); err != nil || tok != first {
		t.Fatalf("cached token: %v %v", tok, err)
	}
	if g, p := srv.counts(); g != 1 || p != 0 {
		t.Fatalf("gets %d posts %d", g, p)
	}
	auth, err := ts.Authorization(ctx)
	if err != nil || auth != "Bearer Dev:"+first.Value {
		t.Errorf("Authorization = %q %v", auth, err)
	}

	// Within the 5-minute margin of exp: renewed by POST with the Bearer.
	clk.Advance(56 * time.Minute)
	second, err := ts.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if second.Value == first.Value || !second.Expiry.Equal(clk.Now().Add(24*time.Hour)) {
		t.Errorf("not renewed: %v", second)
	}
	if g, p := srv.counts(); g != 1 || p != 1 {
		t.Fatalf("gets %d posts %d", g, p)
	}
	// Renew forces another POST.
	third, err := ts.Renew(ctx)
	if err != nil || third.Value == second.Value {
		t.Fatalf("Renew: %v %v", third, err)
	}
	if g, p := srv.counts(); g != 1 || p != 2 {
		t.Fatalf("gets %d posts %d", g, p)
	}
	if ts.Current() != third {
		t.Error("Current is not the renewed token")
	}
}

func TestTokenSourceRenewFailureKeepsOldJWT(t *testing.T) {
	clk, srv, ts, first := heldFirst(t)
	ctx := testCtx(t)
	srv.answerPosts(500)

	clk.Advance(24*time.Hour - 2*time.Minute)
	tok, err := ts.Token(ctx)
	if err != nil || tok != first {
		t.Fatalf("failed renewal should keep the old JWT: %v %v", tok, err)
	}
	if _, p := srv.counts(); p != 1 {
		t.Fatalf("posts %d, want 1", p)
	}
	_, err = ts.Renew(ctx)
	var e *signers.Error
	if !errors.As(err, &e) || e.Code != signers.CodeHTTP || e.Status != 500 {
		t.Fatalf("Renew error = %v, want E_HTTP 500", err)
	}
	if ts.Current() != first {
		t.Error("failed Renew dropped the held JWT")
	}
	// Once the old JWT has expired, a renewal is pointless: a fresh GET it is.
	clk.Advance(3 * time.Minute)
	tok, err = ts.Token(ctx)
	if err != nil || tok == first {
		t.Fatalf("after expiry: %v %v", tok, err)
	}
	if g, p := srv.counts(); g != 2 || p != 2 {
		t.Fatalf("gets %d posts %d, want 2 and 2", g, p)
	}
}

func TestTokenSourceRenew401FallsBackToGet(t *testing.T) {
	clk, srv, ts, first := heldFirst(t)
	ctx := testCtx(t)
	srv.answerPosts(401)
	clk.Advance(24*time.Hour - time.Minute)
	tok, err := ts.Token(ctx)
	if err != nil || tok == first || !tok.Expiry.Equal(clk.Now().Add(24*time.Hour)) {
		t.Fatalf("fallback: %v %v", tok, err)
	}
	if g, p := srv.counts(); g != 2 || p != 1 {
		t.Fatalf("gets %d posts %d, want 2 and 1", g, p)
	}
}

func TestTokenSourceConcurrentCallersOneFetch(t *testing.T) {
	clk := clock.NewFake(time.Unix(1700000000, 0))
	srv := newKeyfaxServer(t, clk)
	gate := make(chan struct{})
	srv.getGate = gate
	ts := newHTTPTokenSource(t, srv, vKey)
	ctx := testCtx(t)

	const n = 10
	var started, done sync.WaitGroup
	results := make(chan string, n)
	for i := 0; i < n; i++ {
		started.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			started.Done()
			tok, err := ts.Token(ctx)
			if err != nil {
				results <- "error: " + err.Error()
				return
			}
			results <- tok.Value
		}()
	}
	started.Wait()
	close(gate) // callers that arrive after the answer find the fresh JWT cached
	done.Wait()
	close(results)
	var first string
	for r := range results {
		if first == "" {
			first = r
		}
		if r != first || strings.HasPrefix(r, "error") {
			t.Errorf("caller got %q, another %q", r, first)
		}
	}
	if g, p := srv.counts(); g != 1 || p != 0 {
		t.Errorf("gets %d posts %d, want one GET", g, p)
	}
}

func TestTokenSourceBasicRefused(t *testing.T) {
	clk := clock.NewFake(time.Unix(1700000000, 0))
	srv := newKeyfaxServer(t, clk)
	ts := newHTTPTokenSource(t, srv, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=") // wrong key
	_, err := ts.Token(testCtx(t))
	var e *signers.Error
	if !errors.As(err, &e) || e.Code != signers.CodeTokenExpired || e.Status != 401 {
		t.Fatalf("err = %v, want E_TOKEN_EXPIRED 401", err)
	}
	srv.mu.Lock()
	verr := srv.lastBasic
	srv.mu.Unlock()
	if !errors.Is(verr, signers.ErrSignature) {
		t.Errorf("server saw %v, want a signature mismatch", verr)
	}
	// The server's clock an hour ahead: the Verifier refuses the timestamp.
	srv2 := newKeyfaxServer(t, clock.NewFake(time.Unix(1700003600, 0)))
	srv2.clk = clk // issue with the client's clock; verify with the skewed one
	ts2 := newHTTPTokenSource(t, srv2, vKey)
	if _, err := ts2.Token(testCtx(t)); signers.CodeOf(err) != signers.CodeTokenExpired {
		t.Fatalf("skewed server: %v", err)
	}
	srv2.mu.Lock()
	verr = srv2.lastBasic
	srv2.mu.Unlock()
	if !errors.Is(verr, signers.ErrClock) {
		t.Errorf("server saw %v, want E_CLOCK", verr)
	}
}

func TestTokenSourceInitialOverHTTP(t *testing.T) {
	clk := clock.NewFake(time.Unix(1700000000, 0))
	srv := newKeyfaxServer(t, clk)
	ctx := testCtx(t)
	var calls int
	var mu sync.Mutex
	// The broker's part: it mints the JWT with Basic (here a second TokenSource).
	broker := newHTTPTokenSource(t, srv, vKey)
	ts, err := NewTokenSource(TokenConfig{
		BaseURL:  serverURL + "/Interview",
		HostName: vHost,
		Doer:     srv.doer(),
		Clock:    clk,
		Initial: func(ctx context.Context, _ string) (string, error) {
			mu.Lock()
			calls++
			mu.Unlock()
			tok, err := broker.Renew(ctx)
			return `{"token":"` + tok.Value + `"}`, err
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	first, err := ts.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(23*time.Hour + 58*time.Minute)
	second, err := ts.Token(ctx)
	if err != nil || second == first {
		t.Fatalf("renewal: %v %v", second, err)
	}
	if g, p := srv.counts(); calls != 1 || g != 1 || p != 1 {
		t.Errorf("initial calls %d, gets %d, posts %d; want 1, 1, 1", calls, g, p)
	}
}
