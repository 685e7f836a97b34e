package broker

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/apisign/apisign/signers"
)

// HeaderCaller carries the caller token on every broker request.
const HeaderCaller = "X-Apisign-Caller"

// CodeScope is the code of a 403 for a caller token that does not allow the
// request (route, origin or Fonn user): the page needs a token of another
// scope, which a new token of the same scope would not fix.
const CodeScope signers.Code = "E_SCOPE"

// MaxCallerLifetime is how far in the future a caller token may expire. Caller
// tokens are meant to be short-lived (minutes): the embedding site mints one per
// page and refreshes it; a token valid for longer than a day is refused so that
// a leaked one cannot be used for long.
const MaxCallerLifetime = 24 * time.Hour

// maxCallerToken bounds the header the broker decodes (a scoped token with a
// few routes is about 200 bytes).
const maxCallerToken = 4096

// The MAC inputs of the two token versions start differently, so that a MAC
// of one version can never pass for the other, nor for any other use of the
// secret.
const (
	callerPrefix   = "apisign-caller:"
	callerPrefixV2 = "apisign-caller-v2:"
	callerV2       = "v2."
)

// NewCallerSecret draws a caller secret (APISIGN_CALLER_SECRET): 32 random
// bytes written as 64 hex digits, so that the text, used as the HMAC key, is
// at least MinCallerSecret bytes and carries 256 bits.
func NewCallerSecret() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand crashes the program instead)
	return hex.EncodeToString(b)
}

// CallerScope is what a caller token allows. A version-1 token (no options)
// allows every route, any origin the broker allows and any Fonn user, as
// caller tokens did before scopes existed; a version-2 token allows only what
// it names.
type CallerScope struct {
	Expires time.Time
	// Subject names who the site minted the token for (its user, session…):
	// the broker's per-caller limits count per subject. Empty: per token.
	Subject string
	// Routes lists provider names ("nfon") or broker path prefixes
	// ("/nfon/api/customers/K1234", matched at a segment boundary). Empty:
	// every route.
	Routes []string
	// FonnUser is the one impersonatedUserExternalId a request may send. In a
	// version-2 token, empty means none: the page acts as the access token's
	// own user.
	FonnUser string
	// Origin, when set, is the only Origin header the token is accepted with
	// (a request without Origin passes: see allowsOrigin).
	Origin string
	// v1 marks a token without scope.
	v1 bool
}

// CallerOption scopes a caller token minted by MintCallerToken.
type CallerOption func(*callerClaims)

// WithSubject names who the token is for (rate limits count per subject).
func WithSubject(s string) CallerOption { return func(c *callerClaims) { c.Sub = s } }

// WithRoutes allows only these providers ("keyfax", "ansira", "fortis",
// "nfon", "fonn") or broker path prefixes ("/fonn/api/v1/projects").
func WithRoutes(r ...string) CallerOption {
	return func(c *callerClaims) { c.Routes = append(c.Routes, r...) }
}

// WithFonnUser lets the page impersonate this Fonn user (its External Id).
func WithFonnUser(id string) CallerOption { return func(c *callerClaims) { c.FonnUser = id } }

// WithOrigin accepts the token only from pages of this origin.
func WithOrigin(o string) CallerOption { return func(c *callerClaims) { c.Origin = o } }

// callerClaims is the JSON payload of a version-2 token.
type callerClaims struct {
	Exp      int64    `json:"exp"`
	Sub      string   `json:"sub,omitempty"`
	Routes   []string `json:"routes,omitempty"`
	FonnUser string   `json:"fonnUser,omitempty"`
	Origin   string   `json:"origin,omitempty"`
}

// MintCallerToken returns the caller token that lets a page use the broker until
// exp. Without options it is a version-1 token, valid for every route:
//
//	<exp as Unix seconds>.<base64url(HMAC-SHA256(key = secret, msg = "apisign-caller:" + <exp as Unix seconds>))>
//
// With options it is a version-2 token, valid only within its scope:
//
//	"v2." <payload> "." base64url(HMAC-SHA256(key = secret, msg = "apisign-caller-v2:" + <payload>))
//	payload = base64url(JSON {"exp": <Unix seconds>, "sub", "routes", "fonnUser", "origin"})
//
// (base64url without padding; the broker also accepts the MAC padded). It runs on the
// embedding site's backend, which shares secret (APISIGN_CALLER_SECRET, used as
// its bytes) with the broker and hands the token to its page; the secret itself
// never reaches the page. Option values are checked by the broker when it
// reads the token (a malformed one makes the token E_TOKEN).
func MintCallerToken(secret []byte, exp time.Time, opts ...CallerOption) string {
	e := strconv.FormatInt(exp.Unix(), 10)
	if len(opts) == 0 {
		return e + "." + callerMAC(secret, callerPrefix+e)
	}
	c := callerClaims{Exp: exp.Unix()}
	for _, o := range opts {
		o(&c)
	}
	data, _ := json.Marshal(c) // strings and numbers only: cannot fail
	p := base64.RawURLEncoding.EncodeToString(data)
	return callerV2 + p + "." + callerMAC(secret, callerPrefixV2+p)
}

func callerMAC(secret []byte, msg string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(msg))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// VerifyCallerToken checks a caller token at time now and returns its scope.
// Errors (all meaning 401): E_TOKEN for a missing or malformed token (or scope)
// or one that expires more than MaxCallerLifetime after now, E_SIGNATURE for a
// MAC that does not match (compared in constant time), E_TOKEN_EXPIRED for an
// expired one. The MAC is checked before anything else is read, so that the
// broker judges only what it issued. Messages never repeat the token.
func VerifyCallerToken(secret []byte, tok string, now time.Time) (*CallerScope, error) {
	const op = "broker.Caller"
	if tok == "" {
		return nil, signers.E(signers.CodeToken, op, "missing "+HeaderCaller+" header (a caller token from the embedding site)")
	}
	if len(tok) > maxCallerToken {
		return nil, signers.E(signers.CodeToken, op, "caller token is longer than 4096 bytes")
	}
	var s *CallerScope
	if p, ok := strings.CutPrefix(tok, callerV2); ok {
		payload, mac, _ := strings.Cut(p, ".")
		if !macEqual(mac, callerMAC(secret, callerPrefixV2+payload)) {
			return nil, signers.E(signers.CodeSignature, op, "caller token was not issued with this broker's caller secret")
		}
		if s = readClaims(payload); s == nil {
			return nil, signers.E(signers.CodeToken, op, "caller token scope is malformed (exp, sub, routes, fonnUser, origin)")
		}
	} else {
		exp, mac, ok := strings.Cut(tok, ".")
		if !ok || len(exp) == 0 || len(exp) > 12 || strings.Trim(exp, "0123456789") != "" || (exp[0] == '0' && len(exp) > 1) {
			return nil, signers.E(signers.CodeToken, op, "caller token is not <expiry>.<mac> or v2.<scope>.<mac>")
		}
		if !macEqual(mac, callerMAC(secret, callerPrefix+exp)) {
			return nil, signers.E(signers.CodeSignature, op, "caller token was not issued with this broker's caller secret")
		}
		n, _ := strconv.ParseInt(exp, 10, 64)
		s = &CallerScope{Expires: time.Unix(n, 0), v1: true}
	}
	if !now.Before(s.Expires) {
		return nil, signers.E(signers.CodeTokenExpired, op, "caller token has expired; get a new one from the embedding site")
	}
	if s.Expires.Sub(now) > MaxCallerLifetime {
		return nil, signers.E(signers.CodeToken, op, "caller token expires more than 24 h ahead; caller tokens must be short-lived")
	}
	return s, nil
}

// macEqual compares a MAC as sent (padding allowed) with the expected one in
// constant time.
func macEqual(got, want string) bool {
	got = strings.TrimSuffix(got, "=")
	return len(got) == len(want) && hmac.Equal([]byte(got), []byte(want))
}

// readClaims decodes a version-2 payload, or returns nil when it is not one.
// An unknown field makes the token unusable rather than ignored: a site that
// adds a restriction this broker does not know must not get a wider token.
func readClaims(payload string) *CallerScope {
	data, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return nil
	}
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	var c callerClaims
	if d.Decode(&c) != nil || d.More() || c.Exp <= 0 || c.Exp > 1e12 {
		return nil
	}
	if !headerSafe(c.Sub) || !headerSafe(c.FonnUser) || c.Origin != "" && !isOrigin(c.Origin) {
		return nil
	}
	for _, r := range c.Routes {
		if !knownProvider(r) && (!strings.HasPrefix(r, "/") || checkPath(r) != "") {
			return nil
		}
	}
	return &CallerScope{Expires: time.Unix(c.Exp, 0), Subject: c.Sub, Routes: c.Routes,
		FonnUser: c.FonnUser, Origin: strings.ToLower(c.Origin)}
}

// headerSafe accepts what may be sent as a header value: visible ASCII and
// inner spaces, at most 256 bytes.
func headerSafe(v string) bool {
	if len(v) > 256 || strings.TrimSpace(v) != v {
		return false
	}
	for i := 0; i < len(v); i++ {
		if v[i] < ' ' || v[i] > '~' {
			return false
		}
	}
	return true
}

func knownProvider(name string) bool {
	for _, p := range providers {
		if p.name == name {
			return true
		}
	}
	return false
}

// allows reports whether the token may use the route of provider p at the
// escaped broker path.
func (s *CallerScope) allows(p, path string) bool {
	if len(s.Routes) == 0 {
		return true
	}
	for _, r := range s.Routes {
		if r == p || allowedPrefix(path, []string{r}) {
			return true
		}
	}
	return false
}

// allowsOrigin reports whether the token may be used with this Origin header.
// A request without one passes: browsers send it on every cross-origin request
// (and omit it on a same-origin GET), so the binding stops other sites' pages;
// a program outside a browser could send any Origin anyway.
func (s *CallerScope) allowsOrigin(origin string) bool {
	return s.Origin == "" || origin == "" || strings.EqualFold(origin, s.Origin)
}

// allowsFonnUser reports whether the token may act as the Fonn user id ("":
// no impersonation, always allowed).
func (s *CallerScope) allowsFonnUser(id string) bool {
	return id == "" || s.v1 || id == s.FonnUser
}

type scopeKey struct{}

// withScope hands the verified scope to the route handlers.
func withScope(r *http.Request, s *CallerScope) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), scopeKey{}, s))
}

// scopeOf returns the scope ServeHTTP verified for r. A request that has not
// been through the check may impersonate no Fonn user and has no subject.
func scopeOf(r *http.Request) *CallerScope {
	if s, ok := r.Context().Value(scopeKey{}).(*CallerScope); ok {
		return s
	}
	return &CallerScope{}
}

// callerKey names the caller of r for per-caller limits: the token's subject,
// or, for a token without one, a digest of the token itself (each token its
// own caller; never the token, which is a credential).
func callerKey(r *http.Request) string {
	if s := scopeOf(r); s.Subject != "" {
		return "sub:" + s.Subject
	}
	sum := sha256.Sum256([]byte(header(r.Header, HeaderCaller)))
	return "tok:" + hex.EncodeToString(sum[:16])
}
