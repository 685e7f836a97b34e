package flow_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/flow"
	"github.com/apisign/apisign/signers/token"
)

// server answers each request with the next status of its script (the last
// one repeats) and records what it got.
type server struct {
	statuses []int
	got      []*signers.Request
}

func (s *server) Do(_ context.Context, r *signers.Request) (*signers.Response, error) {
	s.got = append(s.got, r)
	st := s.statuses[min(len(s.got), len(s.statuses))-1]
	return &signers.Response{Status: st, Header: signers.Header{}}, nil
}

// auth sends the token as X-Token; 401 is a refusal, 2xx activity.
type auth struct{}

func (auth) Authorize(r *signers.Request, t token.Token) error {
	r.Header.Set("X-Token", t.Value)
	return nil
}
func (auth) Refused(r *signers.Response) bool { return r.Status == 401 }
func (auth) Active(r *signers.Response) bool  { return r.Status/100 == 2 }

// tokens hands out t1, t2, … and records the current token each fetch got.
type tokens struct {
	n       int
	current []token.Token
}

func (f *tokens) fetch(_ context.Context, current token.Token) (token.Token, error) {
	f.n++
	f.current = append(f.current, current)
	return token.Token{Value: "t" + string(rune('0'+f.n))}, nil
}

// touching is a Source that records TouchToken calls.
type touching struct {
	*token.Cache
	touched []string
}

func (s *touching) TouchToken(t token.Token) { s.touched = append(s.touched, t.Value) }

func newRequest() *signers.Request {
	return &signers.Request{Method: "POST", URL: "https://api.example/x", Header: signers.Header{"Content-Type": "application/json"}, Body: []byte(`{"a":1}`)}
}

func TestRefusedOnceRefetchesAndResendsTheSameRequest(t *testing.T) {
	srv := &server{statuses: []int{401, 200}}
	f := &tokens{}
	src := token.NewCache(f.fetch, 0, nil)
	req := newRequest()
	resp, err := flow.Do(context.Background(), srv, src, req, auth{})
	if err != nil || resp.Status != 200 {
		t.Fatalf("Do = %v, %v", resp, err)
	}
	if len(srv.got) != 2 || f.n != 2 {
		t.Fatalf("%d sends, %d fetches; want 2, 2", len(srv.got), f.n)
	}
	a, b := srv.got[0], srv.got[1]
	if a.Header.Get("X-Token") != "t1" || b.Header.Get("X-Token") != "t2" {
		t.Fatalf("tokens sent %q, %q", a.Header.Get("X-Token"), b.Header.Get("X-Token"))
	}
	if a.Method != b.Method || a.URL != b.URL || !bytes.Equal(a.Body, b.Body) || !bytes.Equal(b.Body, []byte(`{"a":1}`)) ||
		b.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("the resent request differs: %+v vs %+v", a, b)
	}
	if req.Header.Get("X-Token") != "" {
		t.Fatal("Do changed the caller's request")
	}
	// The second fetch was told which token the server refused.
	if got := f.current[1]; got.Value != "t1" || !got.Refused || got.ValidAt(got.Expiry) {
		t.Fatalf("fetch got current %+v, want the refused t1", got)
	}
	if f.current[0].Value != "" {
		t.Fatalf("the first fetch got %+v, want none", f.current[0])
	}
}

func TestRefusedTwiceIsTokenRefusedNotALoop(t *testing.T) {
	srv := &server{statuses: []int{401}}
	f := &tokens{}
	resp, err := flow.Do(context.Background(), srv, token.NewCache(f.fetch, 0, nil), newRequest(), auth{})
	var se *signers.Error
	if !errors.As(err, &se) || se.Code != signers.CodeTokenRefused || se.Status != 401 {
		t.Fatalf("err = %v, want E_TOKEN_REFUSED with status 401", err)
	}
	if resp == nil || resp.Status != 401 {
		t.Fatalf("the refusing answer must come back with the error, got %v", resp)
	}
	if len(srv.got) != 2 || f.n != 2 {
		t.Fatalf("%d sends, %d fetches; want exactly 2, 2", len(srv.got), f.n)
	}
}

func TestOtherStatusesAreAnswersNotRefusals(t *testing.T) {
	for _, st := range []int{200, 403, 404, 500} {
		srv := &server{statuses: []int{st}}
		f := &tokens{}
		resp, err := flow.Do(context.Background(), srv, token.NewCache(f.fetch, 0, nil), newRequest(), auth{})
		if err != nil || resp.Status != st || len(srv.got) != 1 || f.n != 1 {
			t.Fatalf("%d: resp %v err %v, %d sends %d fetches", st, resp, err, len(srv.got), f.n)
		}
	}
}

func TestActivityIsReportedToTheSource(t *testing.T) {
	for _, c := range []struct {
		statuses []int
		touched  int
	}{{[]int{200}, 1}, {[]int{204}, 1}, {[]int{302}, 0}, {[]int{404}, 0}, {[]int{401, 201}, 1}, {[]int{401}, 0}} {
		f := &tokens{}
		src := &touching{Cache: token.NewCache(f.fetch, 0, nil)}
		flow.Do(context.Background(), &server{statuses: c.statuses}, src, newRequest(), auth{})
		if len(src.touched) != c.touched {
			t.Fatalf("%v: touched %v, want %d", c.statuses, src.touched, c.touched)
		}
		if c.touched == 1 && src.touched[0] != "t"+string(rune('0'+len(c.statuses))) {
			t.Fatalf("%v: touched %v, not the token that was used", c.statuses, src.touched)
		}
	}
}

func TestFailuresComeBackAsTheyAre(t *testing.T) {
	boom := signers.E(signers.CodeNetwork, "test", "no answer")
	doer := signers.DoerFunc(func(context.Context, *signers.Request) (*signers.Response, error) { return nil, boom })
	f := &tokens{}
	if _, err := flow.Do(context.Background(), doer, token.NewCache(f.fetch, 0, nil), newRequest(), auth{}); err != boom {
		t.Fatalf("err = %v", err)
	}
	failing := token.NewCache(func(context.Context, token.Token) (token.Token, error) {
		return token.Token{}, signers.E(signers.CodeHTTP, "test", "token endpoint down")
	}, 0, nil)
	srv := &server{statuses: []int{200}}
	if _, err := flow.Do(context.Background(), srv, failing, newRequest(), auth{}); signers.CodeOf(err) != signers.CodeHTTP || len(srv.got) != 0 {
		t.Fatalf("err = %v, %d sends", err, len(srv.got))
	}
	if _, err := flow.Do(context.Background(), nil, failing, newRequest(), auth{}); signers.CodeOf(err) != signers.CodeConfig {
		t.Fatalf("no doer: %v", err)
	}
}
