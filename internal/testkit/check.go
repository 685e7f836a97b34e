package testkit

import (
	"errors"
	"strings"
	"testing"

	"github.com/apisign/apisign/signers"
)

// CheckErr fails the test when err is not want (errors.Is: every error of the
// core carries a stable code) or when its message holds secret (no message
// ever carries one).
func CheckErr(t testing.TB, name string, err, want error, secret string) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: err = %v, want %v", name, err, want)
		return
	}
	if strings.Contains(err.Error(), secret) {
		t.Errorf("%s: secret in error message %q", name, err)
	}
}

// Edit turns a valid value into one that must be refused with Want.
type Edit[T any] struct {
	Mod  func(*T)
	Want error
}

// Refuses checks with CheckErr that use refuses every edit of ok with the
// edit's error: the table of a constructor's or request builder's bad input.
func Refuses[T any](t testing.TB, ok T, edits map[string]Edit[T], use func(T) error, secret string) {
	t.Helper()
	for name, e := range edits {
		v := ok
		e.Mod(&v)
		CheckErr(t, name, use(v), e.Want, secret)
	}
}

// SameHeader fails the test unless got holds exactly the fields of want: a
// signer adds no header that the vector does not list.
func SameHeader(t testing.TB, got, want signers.Header) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("headers = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("header %s = %q, want %q", k, got[k], v)
		}
	}
}
