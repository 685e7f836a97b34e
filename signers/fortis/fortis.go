// Package fortis implements the ways a Fortis v2 API call is authenticated, as
// Fortis documents them (docs/PROTOCOLS.md, "Fortis"):
//
//   - API key: `developer-id` plus `user-id` and `user-api-key`, sent as headers,
//     as query parameters of the same names, or as
//     `Authorization: Basic base64(user_id:user_api_key)` ([APIKey]).
//   - HMAC: `developer-id`, `user-id`, `timestamp` (Unix seconds) and
//     `hash-key = lower-hex(HMAC-SHA256(key = user_hash_key, msg = user_id + timestamp))`,
//     valid 15 minutes ([HMAC], [HMACSigner], [VerifyHMAC]). Fortis supports it
//     on six endpoints only ([HMACEndpoints], [HMACSigner.SignFor]).
//   - Token: `POST /v2/token` with username, password and domain (all three
//     required) opens a session whose token expires after 15 idle minutes; every
//     successful request restarts the 15 minutes; `DELETE /v2/token/{token}`
//     ends it ([Session]).
//   - SSO: `v2/contactsso` generates a URL that signs a user in by a click
//     ([SSORequest], [ParseSSOResponse]).
//   - OAuth: `Authorization: Bearer <token>` with a token from Fortis' OAuth
//     authorization process, on most endpoints ([OAuthSource],
//     [OAuthAuthorizer], [Bearer]).
//
// `developer-id` goes on every request. Field names are written the way Fortis
// writes them on the wire: lower case, dashes instead of underscores.
//
// The package links into the browser module, so it imports neither net/http nor
// fmt. Long-lived secrets (the user API key, the user hash key, the password)
// belong on the broker; the browser holds at most a session token the broker
// opened (see [SessionConfig.Open]).
package fortis

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/apisign/apisign/signers"
)

// Wire names of the Fortis authentication fields (headers and query parameters).
const (
	HeaderDeveloperID = "developer-id"
	HeaderUserID      = "user-id"
	HeaderUserAPIKey  = "user-api-key"
	HeaderTimestamp   = "timestamp"
	HeaderHashKey     = "hash-key"
	HeaderAccessToken = "access-token"
)

// Window is how long a Fortis HMAC signature is valid: 15 minutes either side of
// the verifier's clock.
const Window = 15 * time.Minute

// Signed is the result of HMAC signing: the headers to add to the request and the
// exact string the HMAC was computed over (user_id + timestamp), for debugging.
type Signed struct {
	Header       signers.Header
	StringToSign string
}

// StringToSign is the message Fortis' hash-key is computed over: the user id
// immediately followed by the Unix timestamp in decimal seconds, no separator.
func StringToSign(userID, timestamp string) string { return userID + timestamp }

// HashKey computes Fortis' hash-key: lower-case hex of HMAC-SHA256 keyed with the
// user hash key's bytes (UTF-8, used as given, not decoded) over
// StringToSign(userID, timestamp). timestamp must be decimal Unix seconds.
func HashKey(userID, timestamp, userHashKey string) (string, error) {
	const op = "fortis.HashKey"
	if err := checkHashInput(op, userID, timestamp); err != nil {
		return "", err
	}
	if userHashKey == "" {
		return "", signers.E(signers.CodeKey, op, "user hash key is empty")
	}
	m := hmac.New(sha256.New, []byte(userHashKey))
	m.Write([]byte(StringToSign(userID, timestamp)))
	return hex.EncodeToString(m.Sum(nil)), nil
}

func checkHashInput(op, userID, timestamp string) error {
	if userID == "" {
		return signers.E(signers.CodeInput, op, "user id is empty")
	}
	if !isUnixSeconds(timestamp) {
		return signers.E(signers.CodeInput, op, "timestamp must be Unix seconds (decimal digits)")
	}
	return nil
}

// isUnixSeconds accepts what Fortis sends: 1 to 19 decimal digits, no sign, no
// leading zero (so that a timestamp has exactly one spelling).
func isUnixSeconds(s string) bool {
	if s == "" || len(s) > 19 || (s[0] == '0' && len(s) > 1) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// HMACSigner signs requests for one Fortis user with the HMAC method. It is built
// once from the credentials and is safe for concurrent use; it keeps keyed HMAC
// states (the key's inner and outer pads already hashed) for reuse.
type HMACSigner struct {
	developerID, userID string
	pool                sync.Pool // of hash.Hash keyed with the user hash key
}

// NewHMACSigner checks the credentials and returns a signer. The ids travel in
// headers, so they must be printable ASCII; the hash key must not be empty.
func NewHMACSigner(developerID, userID, userHashKey string) (*HMACSigner, error) {
	const op = "fortis.NewHMACSigner"
	if err := checkHeaderValue(op, "developer id", developerID); err != nil {
		return nil, err
	}
	if err := checkHeaderValue(op, "user id", userID); err != nil {
		return nil, err
	}
	if userHashKey == "" {
		return nil, signers.E(signers.CodeKey, op, "user hash key is empty")
	}
	key := []byte(userHashKey)
	s := &HMACSigner{developerID: developerID, userID: userID}
	s.pool.New = func() any { return hmac.New(sha256.New, key) }
	return s, nil
}

// Sign returns the four HMAC headers for a request sent at t (Unix seconds).
func (s *HMACSigner) Sign(t time.Time) (Signed, error) {
	const op = "fortis.Sign"
	if t.IsZero() || t.Unix() < 0 {
		return Signed{}, signers.E(signers.CodeInput, op, "time is not set or before 1970")
	}
	ts := strconv.FormatInt(t.Unix(), 10)
	sts := StringToSign(s.userID, ts)
	m := s.pool.Get().(hash.Hash)
	m.Write([]byte(sts))
	sum := hex.EncodeToString(m.Sum(nil))
	m.Reset()
	s.pool.Put(m)
	return Signed{
		Header: signers.Header{
			HeaderDeveloperID: s.developerID,
			HeaderUserID:      s.userID,
			HeaderTimestamp:   ts,
			HeaderHashKey:     sum,
		},
		StringToSign: sts,
	}, nil
}

// HMACEndpoints are the only endpoints on which Fortis supports HMAC
// authentication, as its document lists them ("these are all the endpoints that
// support HMAC authentication"); elsewhere an HMAC-signed request is refused.
var HMACEndpoints = []string{
	"v2/accountform",
	"v2/accountvaults",
	"v2/payform",
	"v2/routeraccountvault",
	"v2/salestax",
	"v2/transactions",
}

// SupportsHMAC reports whether path (a request path such as
// "/v2/transactions/123?x=1", with or without the leading "/") is one of
// HMACEndpoints or below one. Matching is by whole path segments and case
// sensitive, as the paths are written.
func SupportsHMAC(path string) bool {
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	path = strings.TrimPrefix(path, "/")
	for _, e := range HMACEndpoints {
		if rest, ok := strings.CutPrefix(path, e); ok && (rest == "" || rest[0] == '/') {
			return true
		}
	}
	return false
}

// SignFor is Sign for a request to path, in strict mode: a path outside
// HMACEndpoints (see SupportsHMAC) is E_INPUT, so that a request Fortis would
// refuse is caught before it is sent.
func (s *HMACSigner) SignFor(path string, t time.Time) (Signed, error) {
	if !SupportsHMAC(path) {
		return Signed{}, signers.E(signers.CodeInput, "fortis.Sign",
			"Fortis supports HMAC authentication only on "+strings.Join(HMACEndpoints, ", "))
	}
	return s.Sign(t)
}

// HMAC is NewHMACSigner followed by Sign, for a single request.
func HMAC(developerID, userID, userHashKey string, t time.Time) (Signed, error) {
	s, err := NewHMACSigner(developerID, userID, userHashKey)
	if err != nil {
		return Signed{}, err
	}
	return s.Sign(t)
}

// VerifyHMAC checks HMAC headers the way a Fortis server does (for the sandbox
// emulator and tests). lookup returns the hash key of a user id. window is the
// allowed difference between the timestamp and now in either direction; 0 means
// Window (15 minutes).
//
// The signature is checked first, in constant time, and the clock second, so
// that E_CLOCK is only ever reported for an authentic request ("your clock is
// off") and a tampered timestamp reads as E_SIGNATURE. Missing or malformed
// fields are E_INPUT, an unknown user is E_SIGNATURE. developer-id is not part
// of the signature and is not checked here.
func VerifyHMAC(header signers.Header, lookup func(userID string) (hashKey string, ok bool), now time.Time, window time.Duration) error {
	const op = "fortis.VerifyHMAC"
	if window <= 0 {
		window = Window
	}
	userID, ts, got := header.Get(HeaderUserID), header.Get(HeaderTimestamp), header.Get(HeaderHashKey)
	if userID == "" || ts == "" || got == "" {
		return signers.E(signers.CodeInput, op, "user-id, timestamp or hash-key header missing")
	}
	if !isUnixSeconds(ts) {
		return signers.E(signers.CodeInput, op, "timestamp is not Unix seconds")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return signers.E(signers.CodeInput, op, "timestamp out of range")
	}
	if lookup == nil {
		return signers.E(signers.CodeConfig, op, "no hash key lookup")
	}
	key, ok := lookup(userID)
	if !ok || key == "" {
		return signers.E(signers.CodeSignature, op, "unknown user")
	}
	want, _ := HashKey(userID, ts, key)
	if !hmac.Equal([]byte(want), []byte(got)) {
		return signers.E(signers.CodeSignature, op, "hash-key does not match")
	}
	d := now.Sub(time.Unix(sec, 0))
	if d > window || d < -window { // Sub saturates, so a far-off timestamp lands here too
		return signers.E(signers.CodeClock, op, "timestamp outside the allowed window")
	}
	return nil
}

// Mode says where the API-key credentials travel. The values are the strings the
// JS API passes.
type Mode string

const (
	ModeHeaders Mode = "headers" // headers developer-id, user-id, user-api-key
	ModeQuery   Mode = "query"   // query parameters developer-id, user-id, user-api-key
	ModeBasic   Mode = "basic"   // header developer-id and Authorization: Basic base64(user_id:user_api_key)
)

// Auth is what to add to a request: header fields and query parameters (in
// order, not yet encoded). One of them may be empty.
type Auth struct {
	Header signers.Header
	Query  [][2]string
}

// APIKey returns the API-key credentials in the given mode. developer-id travels
// as a header in headers and basic mode, and as a query parameter in query mode.
//
// Header values must be printable ASCII (a browser's fetch refuses anything
// else); query values may be any UTF-8 (they are percent-encoded by ApplyTo). The
// Basic credentials are base64 of the UTF-8 bytes of user_id ":" user_api_key
// (RFC 7617), so the user id must not contain a colon.
func APIKey(developerID, userID, userAPIKey string, mode Mode) (Auth, error) {
	const op = "fortis.APIKey"
	if userAPIKey == "" {
		return Auth{}, signers.E(signers.CodeKey, op, "user API key is empty")
	}
	switch mode {
	case ModeHeaders:
		if err := checkHeaderValue(op, "developer id", developerID); err != nil {
			return Auth{}, err
		}
		if err := checkHeaderValue(op, "user id", userID); err != nil {
			return Auth{}, err
		}
		if !printableASCII(userAPIKey) {
			return Auth{}, signers.E(signers.CodeKey, op, "user API key is not printable ASCII")
		}
		return Auth{Header: signers.Header{
			HeaderDeveloperID: developerID,
			HeaderUserID:      userID,
			HeaderUserAPIKey:  userAPIKey,
		}}, nil
	case ModeQuery:
		if err := checkQueryValue(op, "developer id", developerID); err != nil {
			return Auth{}, err
		}
		if err := checkQueryValue(op, "user id", userID); err != nil {
			return Auth{}, err
		}
		return Auth{Query: [][2]string{
			{HeaderDeveloperID, developerID},
			{HeaderUserID, userID},
			{HeaderUserAPIKey, userAPIKey},
		}}, nil
	case ModeBasic:
		if err := checkHeaderValue(op, "developer id", developerID); err != nil {
			return Auth{}, err
		}
		if err := checkQueryValue(op, "user id", userID); err != nil {
			return Auth{}, err
		}
		if strings.IndexByte(userID, ':') >= 0 {
			return Auth{}, signers.E(signers.CodeInput, op, "user id contains a colon, which Basic credentials cannot carry")
		}
		return Auth{Header: signers.Header{
			HeaderDeveloperID: developerID,
			"Authorization":   "Basic " + base64.StdEncoding.EncodeToString([]byte(userID+":"+userAPIKey)),
		}}, nil
	}
	return Auth{}, signers.E(signers.CodeInput, op, `mode must be "headers", "query" or "basic"`)
}

// ApplyTo adds a's header fields to req.Header (creating it if needed) and
// appends a's query parameters to req.URL, keeping the existing query bytes as
// they are and encoding the new ones with url.QueryEscape.
func (a Auth) ApplyTo(req *signers.Request) error {
	const op = "fortis.ApplyTo"
	if req == nil {
		return signers.E(signers.CodeInput, op, "request is nil")
	}
	if len(a.Query) > 0 {
		u, err := AppendQuery(req.URL, a.Query)
		if err != nil {
			return err
		}
		req.URL = u
	}
	if len(a.Header) > 0 && req.Header == nil {
		req.Header = signers.Header{}
	}
	for k, v := range a.Header {
		req.Header.Set(k, v)
	}
	return nil
}

// AppendQuery appends name=value pairs to the query of rawURL (before any
// fragment), encoding them with url.QueryEscape. The URL must be absolute.
func AppendQuery(rawURL string, q [][2]string) (string, error) {
	const op = "fortis.AppendQuery"
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "", signers.E(signers.CodeInput, op, "URL is not absolute")
	}
	frag := ""
	base := rawURL
	if i := strings.IndexByte(base, '#'); i >= 0 {
		base, frag = base[:i], base[i:]
	}
	var b strings.Builder
	b.WriteString(base)
	sep := byte('?')
	if strings.IndexByte(base, '?') >= 0 {
		sep = '&'
		if strings.HasSuffix(base, "?") || strings.HasSuffix(base, "&") {
			sep = 0
		}
	}
	for _, kv := range q {
		if sep != 0 {
			b.WriteByte(sep)
		}
		sep = '&'
		b.WriteString(url.QueryEscape(kv[0]))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(kv[1]))
	}
	b.WriteString(frag)
	return b.String(), nil
}

// Bearer returns the Authorization value for a Fortis OAuth access token.
func Bearer(token string) (string, error) {
	if err := checkToken("fortis.Bearer", token); err != nil {
		return "", err
	}
	return "Bearer " + token, nil
}

func checkToken(op, token string) error {
	if token == "" {
		return signers.E(signers.CodeToken, op, "token is empty")
	}
	for i := 0; i < len(token); i++ {
		if c := token[i]; c <= ' ' || c >= 0x7f {
			return signers.E(signers.CodeToken, op, "token contains a space, control or non-ASCII character")
		}
	}
	return nil
}

// printableASCII reports whether s is non-empty and only bytes 0x20..0x7e, which
// every HTTP stack (fetch included) sends unchanged in a header value.
func printableASCII(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

func checkHeaderValue(op, name, v string) error {
	if v == "" {
		return signers.E(signers.CodeInput, op, name+" is empty")
	}
	if !printableASCII(v) {
		return signers.E(signers.CodeInput, op, name+" must be printable ASCII to travel in a header")
	}
	return nil
}

func checkQueryValue(op, name, v string) error {
	if v == "" {
		return signers.E(signers.CodeInput, op, name+" is empty")
	}
	if !utf8.ValidString(v) {
		return signers.E(signers.CodeInput, op, name+" is not valid UTF-8")
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f {
			return signers.E(signers.CodeInput, op, name+" contains a control character")
		}
	}
	return nil
}
