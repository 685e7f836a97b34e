package keyfax

import (
	"encoding/base64"
	"math"
	"strings"
	"time"

	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/internal/jsonv"
)

// maxJWT bounds what ReadJWT and Bearer accept. A Keyfax JWT is well under 2 KB.
const maxJWT = 16 << 10

// Bearer returns the client-flow Authorization value `Bearer {HostName}:{JWT}`.
// E_INPUT if hostName is empty or not visible ASCII without ':', E_TOKEN if jwt
// is not three dot-separated base64url parts. The message never contains the JWT.
func Bearer(hostName, jwt string) (string, error) {
	const op = "keyfax.Bearer"
	if !validID(hostName) {
		return "", signers.E(signers.CodeInput, op, "host name must be non-empty visible ASCII without ':'")
	}
	if !jwtShape(jwt) {
		return "", signers.E(signers.CodeToken, op, "token is not a JWT (three base64url parts)")
	}
	return "Bearer " + hostName + ":" + jwt, nil
}

// jwtShape: header.payload.signature, each base64url characters (trailing '='
// tolerated), header and payload non-empty.
func jwtShape(jwt string) bool {
	if len(jwt) > maxJWT || strings.Count(jwt, ".") != 2 {
		return false
	}
	parts := strings.Split(jwt, ".")
	if parts[0] == "" || parts[1] == "" {
		return false
	}
	for _, p := range parts {
		p = strings.TrimRight(p, "=")
		for i := 0; i < len(p); i++ {
			c := p[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// Claims is what the client reads from a Keyfax JWT.
type Claims struct {
	Exp      time.Time      // the exp claim (required)
	IssuedAt time.Time      // the iat claim, zero when absent or not a number
	Header   map[string]any // the JOSE header (alg, typ, …)
	Payload  map[string]any // every claim, as JSON.parse reads it (numbers are float64)
}

// ReadJWT decodes a JWT's header and payload and returns its claims, with exp
// required as a JSON number (NumericDate, seconds; a fraction is kept).
//
// It does not verify the signature, on purpose: the client holds no key to
// verify it with (Keyfax signs its JWTs with a server secret), it only needs to
// know when to renew, and the server verifies the token on every request, so a
// forged or altered token gains nothing but a refusal.
//
// Parts are base64url without padding; trailing '=' padding is tolerated. Every
// malformation is E_TOKEN: not three parts, an empty header or payload, bad
// base64url, header or payload not a JSON object, exp missing, not a number
// (e.g. a string) or out of range. The message never contains the token.
func ReadJWT(jwt string) (Claims, error) {
	const op = "keyfax.ReadJWT"
	if !jwtShape(jwt) {
		return Claims{}, signers.E(signers.CodeToken, op, "token is not a JWT (three base64url parts)")
	}
	parts := strings.Split(jwt, ".")
	var c Claims
	var err error
	if c.Header, err = jwtPart(parts[0]); err != nil {
		return Claims{}, signers.E(signers.CodeToken, op, "JWT header: "+err.Error())
	}
	if c.Payload, err = jwtPart(parts[1]); err != nil {
		return Claims{}, signers.E(signers.CodeToken, op, "JWT payload: "+err.Error())
	}
	if _, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[2], "=")); err != nil {
		return Claims{}, signers.E(signers.CodeToken, op, "JWT signature is not base64url")
	}
	exp, ok := c.Payload["exp"]
	if !ok {
		return Claims{}, signers.E(signers.CodeToken, op, "JWT has no exp claim")
	}
	if c.Exp, ok = numericDate(exp); !ok {
		return Claims{}, signers.E(signers.CodeToken, op, "JWT exp claim is not a NumericDate")
	}
	if iat, ok := c.Payload["iat"]; ok {
		c.IssuedAt, _ = numericDate(iat)
	}
	return c, nil
}

type tokenError string

func (e tokenError) Error() string { return string(e) }

func jwtPart(p string) (map[string]any, error) {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(p, "="))
	if err != nil {
		return nil, tokenError("not base64url")
	}
	v, n, err := jsonv.ParseFirst(b)
	if err != nil || v.Kind != jsonv.Object {
		return nil, tokenError("not a JSON object")
	}
	if n != len(b) {
		return nil, tokenError("trailing data after the JSON object")
	}
	return v.Any().(map[string]any), nil
}

// numericDate reads a JWT NumericDate: a JSON number of seconds since the epoch,
// between 0 and year 9999 (a fraction is kept).
func numericDate(v any) (time.Time, bool) {
	f, ok := v.(float64)
	if !ok || math.IsNaN(f) || f < 0 || f > 253402300799 {
		return time.Time{}, false
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), true
}
