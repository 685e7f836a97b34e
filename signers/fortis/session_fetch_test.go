package fortis

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/apisign/apisign/internal/testkit"
	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/clock"
	"github.com/apisign/apisign/signers/token"
)

// The browser's Session: the broker opens the session (it holds the password)
// and closes it; no HTTP here, so this runs under GOOS=js too.
func TestSessionWithBrokerOpener(t *testing.T) {
	clk := clock.NewFake(st0)
	opens, closes := 0, []string{}
	fail := false
	s, err := NewSession(SessionConfig{
		DeveloperID: "dev-1",
		Clock:       clk,
		Open: func(ctx context.Context, current token.Token) (token.Token, error) {
			opens++
			if fail {
				return token.Token{}, errors.New("broker down")
			}
			// The broker opened it a minute ago (as it reports).
			return token.Token{Value: "b-" + string(rune('0'+opens)), Expiry: clk.Now().Add(14 * time.Minute)}, nil
		},
		Close: func(ctx context.Context, t token.Token) error { closes = append(closes, t.Value); return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tok, err := s.Token(ctx)
	if err != nil || tok.Value != "b-1" || !tok.Expiry.Equal(st0.Add(14*time.Minute)) {
		t.Fatalf("%+v %v", tok, err)
	}
	clk.Advance(10 * time.Minute)
	s.Touch()
	if got := s.Current().Expiry; !got.Equal(clk.Now().Add(15 * time.Minute)) {
		t.Fatalf("touch: %v", got)
	}
	clk.Advance(20 * time.Minute)
	fail = true
	if _, err := s.Token(ctx); !errors.Is(err, signers.ErrTokenExpired) {
		t.Fatalf("broker down: %v", err)
	}
	fail = false
	if tok, err := s.Token(ctx); err != nil || tok.Value != "b-3" {
		t.Fatalf("%+v %v", tok, err)
	}
	if err := s.Close(ctx); err != nil || len(closes) != 1 || closes[0] != "b-3" {
		t.Fatalf("close %v %v", closes, err)
	}
	// A broker answer that cannot travel in a header is refused.
	bad, _ := NewSession(SessionConfig{Open: func(context.Context, token.Token) (token.Token, error) {
		return token.Token{Value: "a b"}, nil
	}})
	if _, err := bad.Token(ctx); !errors.Is(err, signers.ErrToken) {
		t.Fatalf("bad broker token: %v", err)
	}
	if _, err := bad.AuthHeader(token.Token{}); !errors.Is(err, signers.ErrToken) {
		t.Fatalf("AuthHeader empty: %v", err)
	}
}

func TestNewSessionConfigErrors(t *testing.T) {
	ok := SessionConfig{BaseURL: "https://api.example.com", DeveloperID: "d", Username: "u", Password: secret, Domain: "dom", Doer: signers.DoerFunc(nil)}
	testkit.Refuses(t, ok, map[string]testkit.Edit[SessionConfig]{
		"no base":     {Mod: func(c *SessionConfig) { c.BaseURL = "" }, Want: signers.ErrInput},
		"bad base":    {Mod: func(c *SessionConfig) { c.BaseURL = "api.example.com" }, Want: signers.ErrInput},
		"no dev":      {Mod: func(c *SessionConfig) { c.DeveloperID = "" }, Want: signers.ErrInput},
		"bad dev":     {Mod: func(c *SessionConfig) { c.DeveloperID = "a\nb" }, Want: signers.ErrInput},
		"no password": {Mod: func(c *SessionConfig) { c.Password = "" }, Want: signers.ErrKey},
		"no user":     {Mod: func(c *SessionConfig) { c.Username = "" }, Want: signers.ErrKey},
		"no domain":   {Mod: func(c *SessionConfig) { c.Domain = "" }, Want: signers.ErrInput},
		"no doer":     {Mod: func(c *SessionConfig) { c.Doer = nil }, Want: signers.ErrConfig},
		"margin":      {Mod: func(c *SessionConfig) { c.Margin = time.Hour }, Want: signers.ErrInput},
	}, func(c SessionConfig) error { _, err := NewSession(c); return err }, secret)
	if _, err := NewSession(ok); err != nil {
		t.Fatal(err)
	}
}
