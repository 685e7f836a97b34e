package broker

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	"github.com/apisign/apisign/signers"
)

// HeaderCaller carries the caller token on every broker request.
const HeaderCaller = "X-Apisign-Caller"

// MaxCallerLifetime is how far in the future a caller token may expire. Caller
// tokens are meant to be short-lived (minutes): the embedding site mints one per
// page and refreshes it; a token valid for longer than a day is refused so that
// a leaked one cannot be used for long.
const MaxCallerLifetime = 24 * time.Hour

// callerPrefix separates caller-token MACs from any other use of the secret.
const callerPrefix = "apisign-caller:"

// NewCallerSecret draws a caller secret (APISIGN_CALLER_SECRET): 32 random
// bytes written as 64 hex digits, so that the text, used as the HMAC key, is
// at least MinCallerSecret bytes and carries 256 bits.
func NewCallerSecret() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand crashes the program instead)
	return hex.EncodeToString(b)
}

// MintCallerToken returns the caller token that lets a page use the broker until
// exp:
//
//	<exp as Unix seconds>.<base64url(HMAC-SHA256(key = secret, msg = "apisign-caller:" + <exp as Unix seconds>))>
//
// (base64url without padding; the broker also accepts it padded). It runs on the
// embedding site's backend, which shares secret (APISIGN_CALLER_SECRET, used as
// its bytes) with the broker and hands the token to its page; the secret itself
// never reaches the page.
func MintCallerToken(secret []byte, exp time.Time) string {
	e := strconv.FormatInt(exp.Unix(), 10)
	return e + "." + callerMAC(secret, e)
}

func callerMAC(secret []byte, exp string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(callerPrefix + exp))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// VerifyCallerToken checks a caller token at time now. Errors (all meaning 401):
// E_TOKEN for a missing or malformed token or one that expires more than
// MaxCallerLifetime after now, E_SIGNATURE for a MAC that does not match
// (compared in constant time), E_TOKEN_EXPIRED for an expired one. The MAC is
// checked before the expiry so that "expired" is only ever said of a token the
// broker issued. Messages never repeat the token.
func VerifyCallerToken(secret []byte, tok string, now time.Time) error {
	const op = "broker.Caller"
	if tok == "" {
		return signers.E(signers.CodeToken, op, "missing "+HeaderCaller+" header (a caller token from the embedding site)")
	}
	exp, mac, ok := strings.Cut(tok, ".")
	if !ok || len(exp) == 0 || len(exp) > 12 || strings.Trim(exp, "0123456789") != "" || (exp[0] == '0' && len(exp) > 1) {
		return signers.E(signers.CodeToken, op, "caller token is not <expiry>.<mac>")
	}
	mac = strings.TrimSuffix(mac, "=")
	want := callerMAC(secret, exp)
	if len(mac) != len(want) || !hmac.Equal([]byte(mac), []byte(want)) {
		return signers.E(signers.CodeSignature, op, "caller token was not issued with this broker's caller secret")
	}
	n, _ := strconv.ParseInt(exp, 10, 64)
	e := time.Unix(n, 0)
	if !now.Before(e) {
		return signers.E(signers.CodeTokenExpired, op, "caller token has expired; get a new one from the embedding site")
	}
	if e.Sub(now) > MaxCallerLifetime {
		return signers.E(signers.CodeToken, op, "caller token expires more than 24 h ahead; caller tokens must be short-lived")
	}
	return nil
}
