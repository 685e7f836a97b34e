package nfon

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"time"

	"github.com/apisign/apisign/signers"
)

// ParseAuthorization splits an Authorization header value
// "NFON-API <KeyId>:<Signature>" into the key id and the base64 signature.
//
// The scheme word is matched without regard to case (RFC 9110 auth schemes are
// case-insensitive) and may be followed by more than one space; the key id must be
// non-empty printable ASCII without ":"; the signature must be standard base64 of
// 20 bytes (an HMAC-SHA1), 28 characters with padding. Anything else is E_SIGNATURE
// (the request does not carry a usable NFON signature); the message never repeats
// the value.
func ParseAuthorization(v string) (keyID, signature string, err error) {
	const op = "nfon.ParseAuthorization"
	bad := func(msg string) (string, string, error) {
		return "", "", signers.E(signers.CodeSignature, op, msg)
	}
	if v == "" {
		return bad("missing Authorization header")
	}
	if len(v) <= len(Scheme) || !strings.EqualFold(v[:len(Scheme)], Scheme) || v[len(Scheme)] != ' ' {
		return bad("Authorization is not of scheme " + Scheme)
	}
	rest := strings.TrimLeft(v[len(Scheme):], " ")
	i := strings.IndexByte(rest, ':')
	if i < 0 {
		return bad("Authorization has no ':' between key id and signature")
	}
	keyID, signature = rest[:i], rest[i+1:]
	if err := checkKeyID(keyID); err != nil {
		return bad("Authorization " + err.Error())
	}
	if len(signature) != base64.StdEncoding.EncodedLen(sha1.Size) {
		return bad("Authorization signature is not 28 base64 characters")
	}
	var raw [sha1.Size + 2]byte
	n, derr := base64.StdEncoding.Strict().Decode(raw[:], []byte(signature))
	if derr != nil || n != sha1.Size {
		return bad("Authorization signature is not base64 of 20 bytes")
	}
	return keyID, signature, nil
}

// Verifier checks NFON-API signatures, as the NFON server does; the sandbox
// emulator and tests use it.
type Verifier struct {
	// Keys returns the secret of a key id, ok false when the key id is unknown.
	Keys func(keyID string) (secret string, ok bool)
	// Window is the clock difference accepted either way; 0 means DefaultWindow
	// (15 minutes).
	Window time.Duration
	// Audio reports whether a request is an audio upload although its
	// Content-Type is not audio/* (the endpoints that take sound files; the
	// client signs them with Request.Audio), so that its content is not signed.
	// nil means only audio/* Content-Types are audio uploads.
	Audio func(method, resource string) bool
}

// Verify checks a received request: method and resource (the request-target as
// received, e.g. net/http's Request.RequestURI) as the server saw them, the header
// fields, the exact body bytes, and the server's time now. It returns the key id of
// a valid request.
//
// Codes:
//   - E_SIGNATURE: the request is not authentic. A resource that is not in the
//     normalized form Sign signs and clients send (NormalizeResource changes it:
//     a raw "+" would be read as a space by the server, so the request means
//     something other than what was signed), a missing or malformed
//     Authorization (see ParseAuthorization), an unknown key id, a missing or
//     malformed x-nfon-date (it must be exactly the RFC 1123 form Sign writes, so
//     the weekday must match the date), a Content-MD5 that is missing or does not
//     match the body when it is signed, or a signature that does not match (compared
//     in constant time).
//   - E_CLOCK: x-nfon-date is more than Window away from now.
//   - E_INPUT: method or resource that StringToSign refuses (a request the server
//     cannot even describe), a POST, PUT or PATCH without Content-Type that is not
//     an audio upload, or a signed Content-Type that cannot be signed.
//   - E_CONFIG: Keys is nil.
func (v *Verifier) Verify(method, resource string, header signers.Header, body []byte, now time.Time) (keyID string, err error) {
	const op = "nfon.Verify"
	if v == nil || v.Keys == nil {
		return "", signers.E(signers.CodeConfig, op, "verifier has no key lookup")
	}
	if n, err := NormalizeResource(resource); err != nil {
		return "", err
	} else if n != resource {
		return "", signers.E(signers.CodeSignature, op, "resource is not in its signed form (special characters such as + must be percent-encoded)")
	}
	keyID, sig, err := ParseAuthorization(header.Get(HeaderAuthorization))
	if err != nil {
		return "", err
	}
	secret, ok := v.Keys(keyID)
	if !ok || secret == "" {
		return "", signers.E(signers.CodeSignature, op, "unknown key id")
	}
	ds := header.Get(HeaderDate)
	if ds == "" {
		return "", signers.E(signers.CodeSignature, op, "missing x-nfon-date header")
	}
	date, perr := time.Parse(DateLayout, ds)
	if perr != nil || date.Format(DateLayout) != ds {
		return "", signers.E(signers.CodeSignature, op, "x-nfon-date is not an RFC 1123 GMT date")
	}
	window := v.Window
	if window <= 0 {
		window = DefaultWindow
	}
	if d := now.Sub(date); d > window || d < -window {
		return "", signers.E(signers.CodeClock, op, "x-nfon-date is outside the allowed window of "+window.String())
	}
	ct := header.Get(HeaderContentType)
	m, err := normalizeMethod(method)
	if err != nil {
		return "", err
	}
	audio := v.Audio != nil && v.Audio(m, resource)
	sts, err := StringToSign(Request{Method: m, Resource: resource, Body: body, ContentType: ct, Date: date, Audio: audio})
	if err != nil {
		return "", err
	}
	if !audio && SignsContent(m, ct) {
		sum := md5.Sum(body)
		want := hex.EncodeToString(sum[:])
		got := header.Get(HeaderContentMD5)
		if got == "" {
			return "", signers.E(signers.CodeSignature, op, "missing Content-MD5 header")
		}
		if got != want {
			return "", signers.E(signers.CodeSignature, op, "Content-MD5 does not match the body")
		}
	}
	given, _ := base64.StdEncoding.DecodeString(sig)
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write([]byte(sts))
	if !hmac.Equal(mac.Sum(nil), given) {
		return "", signers.E(signers.CodeSignature, op, "signature does not match")
	}
	return keyID, nil
}
