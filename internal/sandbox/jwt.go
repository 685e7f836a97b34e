package sandbox

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// hs256 signs and verifies the sandbox's own JWTs (Keyfax bearer tokens, the
// Ansira client assertion) with a random key drawn at start. Only the emulator
// that issued a token verifies it, so HS256 with a private key is enough; the
// client reads the payload without verifying (keyfax.ReadJWT).
type hs256 struct{ key []byte }

func newHS256() hs256 { return hs256{key: randomBytes(32)} }

var jwtHeader = base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))

func (h hs256) sign(claims map[string]any) string {
	payload, _ := json.Marshal(claims) // map of plain values: cannot fail
	msg := jwtHeader + "." + base64.RawURLEncoding.EncodeToString(payload)
	return msg + "." + base64.RawURLEncoding.EncodeToString(h.mac(msg))
}

func (h hs256) mac(msg string) []byte {
	m := hmac.New(sha256.New, h.key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

var (
	errJWTMalformed = errors.New("token is malformed")
	errJWTSignature = errors.New("token signature is invalid")
	errJWTExpired   = errors.New("token has expired")
)

// verify checks the signature (constant time), the header's alg and the exp
// claim against now, and returns the claims.
func (h hs256) verify(jwt string, now time.Time) (map[string]any, error) {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 || len(jwt) > 8192 {
		return nil, errJWTMalformed
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return nil, errJWTMalformed
	}
	if !hmac.Equal(sig, h.mac(parts[0]+"."+parts[1])) {
		return nil, errJWTSignature
	}
	// Signed by us, so header and payload are ours; still decode defensively.
	var hdr struct{ Alg string }
	if b, err := base64.RawURLEncoding.DecodeString(parts[0]); err != nil || json.Unmarshal(b, &hdr) != nil || hdr.Alg != "HS256" {
		return nil, errJWTMalformed
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, errJWTMalformed
	}
	var claims map[string]any
	if err := json.Unmarshal(b, &claims); err != nil || claims == nil {
		return nil, errJWTMalformed
	}
	exp, ok := claims["exp"].(float64)
	if !ok {
		return nil, errJWTMalformed
	}
	if !now.Before(time.Unix(int64(exp), 0)) {
		return nil, errJWTExpired
	}
	return claims, nil
}
