package signers

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

func TestErrorIsMatchesCodeOnly(t *testing.T) {
	err := E(CodeInput, "nfon.Sign", "method is empty")
	if !errors.Is(err, ErrInput) || errors.Is(err, ErrKey) {
		t.Fatal("errors.Is must match by code")
	}
	if got := err.Error(); got != "E_INPUT nfon.Sign: method is empty" {
		t.Fatalf("Error() = %q", got)
	}
	wrapped := fmt.Errorf("while signing: %w", err)
	if CodeOf(wrapped) != CodeInput || !errors.Is(wrapped, ErrInput) {
		t.Fatal("code lost through wrapping")
	}
	// A non-sentinel *Error as target must not match everything of its code.
	if errors.Is(err, E(CodeInput, "other", "x")) {
		t.Fatal("a detailed error is not a sentinel")
	}
}

func TestWrapAndCodeOf(t *testing.T) {
	if Wrap(CodeHTTP, "op", nil) != nil || CodeOf(nil) != "" {
		t.Fatal("nil must stay nil")
	}
	if c := CodeOf(Wrap(CodeNetwork, "op", context.Canceled)); c != CodeAborted {
		t.Fatalf("canceled -> %s", c)
	}
	if c := CodeOf(context.DeadlineExceeded); c != CodeAborted {
		t.Fatalf("deadline -> %s", c)
	}
	inner := E(CodeToken, "keyfax.ReadJWT", "no exp")
	if Wrap(CodeHTTP, "op", inner) != error(inner) {
		t.Fatal("Wrap must keep an existing *Error and its code")
	}
	if c := CodeOf(Wrap(CodeNetwork, "op", errors.New("refused"))); c != CodeNetwork {
		t.Fatalf("plain cause -> %s", c)
	}
	if c := CodeOf(errors.New("mystery")); c != CodeInternal {
		t.Fatalf("foreign error -> %s", c)
	}
}

func TestHeaderIgnoresCase(t *testing.T) {
	h := Header{"Content-Type": "a"}
	if h.Get("content-type") != "a" || h.Get("X") != "" {
		t.Fatal("Get")
	}
	h.Set("CONTENT-TYPE", "b")
	if len(h) != 1 || h.Get("Content-Type") != "b" {
		t.Fatalf("Set left %v", h)
	}
	c := h.Clone()
	c.Set("X", "1")
	if h.Get("X") != "" {
		t.Fatal("Clone shares storage")
	}
}

func TestAnswered(t *testing.T) {
	e := Answered("x.Op", "POST /api/v1/startup", 502)
	if e.Code != CodeHTTP || e.Op != "x.Op" || e.Status != 502 || e.Msg != "POST /api/v1/startup answered 502" || !errors.Is(e, ErrHTTP) {
		t.Errorf("%+v", e)
	}
}
