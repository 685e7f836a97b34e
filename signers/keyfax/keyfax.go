// Package keyfax implements the authentication of the Keyfax Web API.
//
// Keyfax has two flows:
//
//   - Server flow (the broker or a native Go program, never the browser: it needs
//     the signing key). Every request carries
//
//     Authorization: Basic {HostName}:{ApiKey}:{Signature}:{Nonce}:{Timestamp}
//
//     where Signature is base64(HMAC-SHA256(base64decode(SigningKey), raw)) over the
//     string built by StringToSign. Note that the credentials are the literal
//     colon-joined fields, not base64 as in RFC 7617 Basic. The nonce and the
//     timestamp travel in clear so that the server can refuse replays.
//     GET /api/v1/token with this header returns a JWT.
//
//   - Client flow (the browser): Authorization: Bearer {HostName}:{JWT}. The JWT
//     lives 24 hours; POST /api/v1/token with a valid Bearer renews it. The client
//     reads exp from the JWT payload to renew ahead of expiry (TokenSource).
//
// The byte-level rules and the test vectors are in the project's PROTOCOLS.md
// ("Keyfax Web API").
package keyfax

import (
	"crypto/md5"
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/internal/lowhex"
)

const hexLower = "0123456789abcdef"

// dotnetEscapes are the printable ASCII bytes .NET's Uri escapes wherever they
// appear in a path or query, so a server sees them as %XX in AbsoluteUri.
const dotnetEscapes = "\"<>\\^`{|}"

// UrlEncode is .NET's HttpUtility.UrlEncode over the UTF-8 bytes of s: the
// letters A-Z a-z, the digits and - _ . ! * ( ) stay as they are, a space becomes
// '+', and every other byte becomes '%' followed by two lower-case hex digits
// (.NET writes lower case, unlike Go's url.QueryEscape and JavaScript's
// encodeURIComponent, and it encodes '~' and leaves '!*()' alone). s is taken as
// bytes: invalid UTF-8 is encoded byte by byte, never replaced.
func UrlEncode(s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if !urlSafe(s[i]) && s[i] != ' ' {
			n++
		}
	}
	if n == 0 && strings.IndexByte(s, ' ') < 0 {
		return s
	}
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case urlSafe(c):
			b = append(b, c)
		case c == ' ':
			b = append(b, '+')
		default:
			b = append(b, '%', hexLower[c>>4], hexLower[c&15])
		}
	}
	return string(b)
}

func urlSafe(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '-', '_', '.', '!', '*', '(', ')':
		return true
	}
	return false
}

// StringToSign builds the raw string the Keyfax Basic signature covers:
//
//	ApiKey + METHOD + UrlEncode(lower(absoluteURI)) + Timestamp + Nonce + BodyMD5
//
// with BodyMD5 = base64(MD5(body)), or "" when there is no body or it is empty.
//
// The Keyfax documentation describes the signature only in words (an HMAC over
// the request URI, content, method, timestamp and nonce, keyed with the signing
// key, base64). This is the ASP.NET Web API HMAC authentication pattern that
// description matches (the server computes it from Request.RequestUri.AbsoluteUri
// and Request.Method), and this function is the one place that holds the rule, so
// that a confirmed variant is a one-place change.
//
// Because the server signs the URI as it arrives, absoluteURI is first put in the
// form the server reads back as Uri.AbsoluteUri (see WireURI): fragment removed,
// default port removed, empty path "/", and space, control and non-ASCII bytes
// and the characters .NET always escapes percent-encoded, UTF-8 with upper-case
// hex (as fetch, net/http and .NET write them). A URI already in that form is
// unchanged, so the server side can pass the request URI it received. For the
// ASCII URIs of the vectors this changes nothing. Lower-casing is then ASCII only
// (the string is ASCII by then), which avoids the differences between Unicode
// case mappings (Go, JavaScript and .NET disagree on some letters).
// METHOD is the method in upper case (callers that send the request must send it
// in upper case too; Signer.SignRequest does).
//
// Errors (E_INPUT): method not an HTTP token, absoluteURI not an absolute http or
// https URI, timestamp not decimal digits, nonce not 32 lower-case hex digits,
// apiKey empty or not visible ASCII without ':'.
func StringToSign(apiKey, method, absoluteURI, timestamp, nonce string, body []byte) (string, error) {
	const op = "keyfax.StringToSign"
	if !validID(apiKey) {
		return "", signers.E(signers.CodeInput, op, "api key must be non-empty visible ASCII without ':'")
	}
	if !validMethod(method) {
		return "", signers.E(signers.CodeInput, op, "method is not an HTTP token")
	}
	uri, err := WireURI(absoluteURI)
	if err != nil {
		return "", err
	}
	if !validTimestamp(timestamp) {
		return "", signers.E(signers.CodeInput, op, "timestamp must be Unix seconds in decimal digits")
	}
	if !validNonce(nonce) {
		return "", signers.E(signers.CodeInput, op, "nonce must be 32 lower-case hex digits")
	}
	bodyMD5 := ""
	if len(body) > 0 {
		sum := md5.Sum(body)
		bodyMD5 = base64.StdEncoding.EncodeToString(sum[:])
	}
	return apiKey + strings.ToUpper(method) + UrlEncode(asciiLower(uri)) + timestamp + nonce + bodyMD5, nil
}

// WireURI returns absoluteURI the way an HTTP client puts it on the wire and a
// .NET server reads it back as Uri.AbsoluteUri, before any case change:
//
//   - the scheme must be http or https (any case) followed by "://";
//   - the fragment (from the first '#') is removed: it is never sent;
//   - the authority must be non-empty visible ASCII without userinfo ('@'); a
//     port must be decimal (at most 65535), is written without leading zeros, and
//     is removed when it is the scheme's default (80, 443);
//   - an empty path becomes "/";
//   - every byte of the path and query that cannot appear in a request line
//     (controls, space, DEL, bytes >= 0x80, so non-ASCII as its UTF-8) or that
//     .NET's Uri always escapes (" < > \ ^ ` { | }) becomes '%' with two
//     upper-case hex digits. Everything else, '%' included, is kept as given: a
//     URI in wire form comes out unchanged.
//
// Errors are E_INPUT and never contain the URI's query (it may hold a token).
func WireURI(absoluteURI string) (string, error) {
	const op = "keyfax.WireURI"
	s := absoluteURI
	if i := strings.IndexByte(s, '#'); i >= 0 {
		s = s[:i]
	}
	i := strings.Index(s, "://")
	if i < 0 {
		return "", signers.E(signers.CodeInput, op, "URI is not absolute (no scheme://)")
	}
	scheme := s[:i]
	var defPort string
	switch {
	case strings.EqualFold(scheme, "http"):
		defPort = "80"
	case strings.EqualFold(scheme, "https"):
		defPort = "443"
	default:
		return "", signers.E(signers.CodeInput, op, "URI scheme must be http or https")
	}
	rest := s[i+3:]
	end := strings.IndexAny(rest, "/?")
	if end < 0 {
		end = len(rest)
	}
	authority, pathQuery := rest[:end], rest[end:]
	host, port := authority, ""
	if strings.HasPrefix(authority, "[") {
		j := strings.IndexByte(authority, ']')
		if j < 0 {
			return "", signers.E(signers.CodeInput, op, "URI host has an unclosed '['")
		}
		host, port = authority[:j+1], authority[j+1:]
		if port != "" && port[0] != ':' {
			return "", signers.E(signers.CodeInput, op, "URI host is malformed")
		}
	} else if j := strings.LastIndexByte(authority, ':'); j >= 0 {
		host, port = authority[:j], authority[j:]
	}
	if host == "" || host == "[]" {
		return "", signers.E(signers.CodeInput, op, "URI has no host")
	}
	for k := 0; k < len(host); k++ {
		c := host[k]
		if c <= ' ' || c >= 0x7f || c == '@' || c == '\\' {
			return "", signers.E(signers.CodeInput, op, "URI host must be visible ASCII (punycode) without userinfo")
		}
		if c == ':' && host[0] != '[' {
			return "", signers.E(signers.CodeInput, op, "URI host is malformed")
		}
	}
	if port != "" {
		port = port[1:] // drop ':'
		if port != "" {
			if !allDigits(port) {
				return "", signers.E(signers.CodeInput, op, "URI port must be decimal")
			}
			digits := strings.TrimLeft(port, "0")
			n, _ := strconv.Atoi(digits)
			if len(digits) > 5 || n > 65535 {
				return "", signers.E(signers.CodeInput, op, "URI port is out of range")
			}
			port = strconv.Itoa(n)
			if port == defPort {
				port = ""
			}
		}
	}
	if pathQuery == "" || pathQuery[0] == '?' {
		pathQuery = "/" + pathQuery
	}
	b := make([]byte, 0, len(s)+16)
	b = append(b, scheme...)
	b = append(b, "://"...)
	b = append(b, host...)
	if port != "" {
		b = append(b, ':')
		b = append(b, port...)
	}
	const hexUpper = "0123456789ABCDEF"
	for k := 0; k < len(pathQuery); k++ {
		c := pathQuery[k]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(dotnetEscapes, c) >= 0 {
			b = append(b, '%', hexUpper[c>>4], hexUpper[c&15])
		} else {
			b = append(b, c)
		}
	}
	return string(b), nil
}

// NewNonce returns 16 bytes from the operating system's cryptographic random
// source (the page's in the browser module) as 32 lower-case hex digits, the
// nonce form Keyfax expects.
func NewNonce() (string, error) {
	var b [16]byte
	if err := readRandom(b[:]); err != nil {
		return "", signers.Wrap(signers.CodeInternal, "keyfax.NewNonce", err)
	}
	return lowhex.String(b[:]), nil
}

// Timestamp returns t as Keyfax's timestamp: Unix seconds (UTC) in decimal.
func Timestamp(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// validMethod reports whether m is an HTTP token (RFC 9110 tchar), at most 32
// bytes.
func validMethod(m string) bool {
	if m == "" || len(m) > 32 {
		return false
	}
	for i := 0; i < len(m); i++ {
		c := m[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// validTimestamp: decimal digits, at most 18 of them (so that it parses as int64).
func validTimestamp(ts string) bool { return ts != "" && len(ts) <= 18 && allDigits(ts) }

func validNonce(n string) bool {
	if len(n) != 32 {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// validID: HostName and ApiKey are fields of a colon-separated header value, so
// they must be non-empty visible ASCII without ':'.
func validID(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f || s[i] == ':' {
			return false
		}
	}
	return true
}
