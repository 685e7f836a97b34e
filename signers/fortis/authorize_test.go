package fortis

import (
	"context"
	"testing"
	"time"

	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/clock"
	"github.com/apisign/apisign/signers/flow"
	"github.com/apisign/apisign/signers/token"
)

// Only a 2xx answer restarts the idle period ("every successful request will
// refresh your expire time back to 15"); a 3xx or 4xx does not.
func TestAuthorizerActivityIsA2xxAnswer(t *testing.T) {
	for _, c := range []struct {
		status int
		alive  bool
	}{{200, true}, {204, true}, {299, true}, {302, false}, {304, false}, {404, false}, {500, false}} {
		clk := clock.NewFake(time.Unix(1700000000, 0))
		n := 0
		s, err := NewSession(SessionConfig{Clock: clk, Open: func(context.Context, token.Token) (token.Token, error) {
			n++
			return token.Token{Value: "tok-" + string(rune('0'+n))}, nil
		}})
		if err != nil {
			t.Fatal(err)
		}
		doer := signers.DoerFunc(func(_ context.Context, r *signers.Request) (*signers.Response, error) {
			if r.Header.Get(HeaderAccessToken) == "" || r.Header.Get(HeaderDeveloperID) != "dev" {
				t.Fatalf("sent %v", r.Header)
			}
			return &signers.Response{Status: c.status}, nil
		})
		if _, err := s.Token(context.Background()); err != nil { // opened now: idle until +15 min
			t.Fatal(err)
		}
		clk.Advance(10 * time.Minute)
		if _, err := flow.Do(context.Background(), doer, s, &signers.Request{Method: "GET", URL: "https://f/v2/contacts"}, Authorizer{DeveloperID: "dev"}); err != nil {
			t.Fatal(err)
		}
		clk.Advance(10 * time.Minute) // 10 minutes after the request: alive only if it restarted the 15
		if tok, _ := s.Token(context.Background()); (tok.Value == "tok-1") != c.alive {
			t.Fatalf("%d: token after 10 more minutes %q, alive want %v", c.status, tok.Value, c.alive)
		}
	}
}

func TestAuthorizerQueryAndRefusal(t *testing.T) {
	req := &signers.Request{Method: "GET", URL: "https://f/v2/contacts?page=2", Header: signers.Header{}}
	if err := (Authorizer{DeveloperID: "dev", Query: true}).Authorize(req, token.Token{Value: "abc"}); err != nil {
		t.Fatal(err)
	}
	if req.URL != "https://f/v2/contacts?page=2&developer-id=dev&access-token=abc" || len(req.Header) != 0 {
		t.Fatalf("query mode sent %q %v", req.URL, req.Header)
	}
	if err := (Authorizer{}).Authorize(req, token.Token{Value: "a b"}); signers.CodeOf(err) != signers.CodeToken {
		t.Fatalf("bad token: %v", err)
	}
	a := Authorizer{}
	if !a.Refused(&signers.Response{Status: 401}) || a.Refused(&signers.Response{Status: 403}) {
		t.Fatal("Fortis refuses a token with 401 only")
	}
}
