package ansira

import (
	"context"
	"encoding/base64"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/clock"
)

// jwt builds an unsigned-looking JWT with the given payload JSON.
func jwt(payload string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." + enc([]byte(payload)) + "." + enc([]byte("signature"))
}

func assertionExpiring(at time.Time) string {
	return jwt(`{"iss":"client-1","exp":` + strconv.FormatInt(at.Unix(), 10) + `}`)
}

func TestAssertionExpiry(t *testing.T) {
	exp := t0.Add(30 * 24 * time.Hour)
	a := assertionExpiring(exp)
	got, err := AssertionExpiry(a)
	if err != nil || !got.Equal(exp) {
		t.Fatalf("AssertionExpiry = %v, %v; want %v", got, err, exp)
	}
	left, err := CheckAssertion(a, t0)
	if err != nil || left != 30*24*time.Hour {
		t.Fatalf("CheckAssertion = %v, %v", left, err)
	}
	// At and after exp: E_CONFIG naming the expiry, never the assertion.
	for _, now := range []time.Time{exp, exp.Add(time.Second), exp.Add(400 * 24 * time.Hour)} {
		left, err := CheckAssertion(a, now)
		checkErr(t, "expired", err, signers.ErrConfig)
		if left != 0 || err == nil || !strings.Contains(err.Error(), exp.UTC().Format(time.RFC3339)) ||
			strings.Contains(err.Error(), a) {
			t.Fatalf("CheckAssertion at %v = %v, %v", now, left, err)
		}
	}
	for name, bad := range map[string]string{
		"not a JWT":  "h.p.s",
		"empty":      "",
		"no exp":     jwt(`{"iss":"client-1"}`),
		"string exp": jwt(`{"exp":"1754490720"}`),
	} {
		_, err := AssertionExpiry(bad)
		checkErr(t, name, err, signers.ErrConfig)
		_, err = CheckAssertion(bad, t0)
		checkErr(t, name+" (check)", err, signers.ErrConfig)
	}
}

// "Access Tokens can be generated as long as the Client Assertion has not
// expired": an expired assertion is a clear E_CONFIG at configuration, and at the
// first fetch after it expires, without a request to Ansira.
func TestTokenSourceChecksAssertionExpiry(t *testing.T) {
	exp := t0.Add(2 * time.Hour)
	p := params
	p.Assertion = assertionExpiring(exp)

	_, err := NewTokenSource(Config{Params: p, Doer: &tokenServer{}, Clock: clock.NewFake(exp)})
	checkErr(t, "expired at start", err, signers.ErrConfig)

	srv := &tokenServer{}
	clk := clock.NewFake(t0)
	src, err := NewTokenSource(Config{Params: p, Doer: srv, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	if !src.AssertionExpiry().Equal(exp) {
		t.Fatalf("AssertionExpiry = %v", src.AssertionExpiry())
	}
	if tok, err := src.Token(context.Background()); err != nil || tok.Value != "at-1" {
		t.Fatalf("Token = %v, %v", tok, err)
	}
	clk.Set(exp.Add(time.Minute)) // the token (1 h) and the assertion have expired
	_, err = src.Token(context.Background())
	checkErr(t, "expired later", err, signers.ErrConfig)
	if n := srv.hits.Load(); n != 1 {
		t.Fatalf("%d token requests, want 1", n)
	}

	// An assertion whose exp cannot be read is left for Ansira to judge.
	src, err = NewTokenSource(Config{Params: params, Doer: &tokenServer{}, Clock: clk})
	if err != nil || !src.AssertionExpiry().IsZero() {
		t.Fatalf("unreadable assertion: %v, %v", src.AssertionExpiry(), err)
	}
}
