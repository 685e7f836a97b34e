// Package nfon signs and verifies requests to the NFON Service Portal API with the
// NFON-API scheme, an HMAC-SHA1 over a few lines that describe the request:
//
//	StringToSign  = METHOD "\n" [Content-MD5 "\n" Content-Type "\n"] Date "\n" Resource
//	Authorization: NFON-API <KeyId>:<base64(HMAC-SHA1(key = secret, msg = StringToSign))>
//	x-nfon-date:   <Date>
//	Content-MD5:   <Content-MD5>    (only when it is in StringToSign)
//	Content-Type:  <Content-Type>   (only when it is in StringToSign)
//
// The fields:
//   - METHOD is upper case.
//   - Content-MD5 is the lower-case hex MD5 of the exact body bytes; it and
//     Content-Type are signed for POST, PUT and PATCH, never for GET or DELETE, and
//     never for an audio upload (Content-Type audio/*) whatever the method. A field
//     that is not signed is left out together with its newline.
//   - Date is RFC 1123 in GMT ("Wed, 06 Aug 2025 14:32:00 GMT"), formatted here from a
//     time value so the weekday is always right, and also sent as x-nfon-date. The
//     server accepts 15 minutes of clock difference either way.
//   - Resource is the request-target as sent: path plus "?query", special characters
//     percent-encoded ("Base%20Device"; "+", "/" and "=" where they are data, so
//     "?search=+49" goes out as "?search=%2B49"). See EncodeResource,
//     NormalizeResource and BuildResource.
//   - Content-Type is required for POST, PUT and PATCH (NFON: "Required for POST and
//     PUT"), except for an audio upload.
//
// The rules are in the repository's docs/PROTOCOLS.md, "NFON".
//
// The secret is used as its UTF-8 bytes. The package is linked into the browser
// module, so it imports no net/http and no fmt; the secret itself belongs on a
// server (the broker), never in a page.
package nfon

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"encoding/base64"
	"github.com/apisign/apisign/signers/weburl"
	"hash"
	"strings"
	"sync"
	"time"

	"github.com/apisign/apisign/signers"
)

// Names and constants of the scheme.
const (
	// Scheme is the first word of the Authorization header.
	Scheme = "NFON-API"
	// DateLayout is RFC 1123 with a literal GMT, Go's http.TimeFormat (copied here
	// so that this package does not import net/http).
	DateLayout = "Mon, 02 Jan 2006 15:04:05 GMT"
	// DefaultWindow is the clock difference the NFON server accepts either way.
	DefaultWindow = 15 * time.Minute

	HeaderAuthorization = "Authorization"
	HeaderDate          = "x-nfon-date"
	HeaderContentMD5    = "Content-MD5"
	HeaderContentType   = "Content-Type"
)

// maxMethod bounds the length of a method name; the standard ones are at most 7.
const maxMethod = 20

// Request describes what is signed.
type Request struct {
	Method string // e.g. "GET"; any case, signed upper case
	// Resource is the request-target as it goes on the wire: path plus "?query"
	// (e.g. from EncodeResource). StringToSign and Sign normalize it with
	// NormalizeResource, and the client must send the normalized form
	// (Signed.Resource).
	Resource string
	// Query holds query parameters as unencoded key/value pairs, in order,
	// appended to Resource by BuildResource: the way to pass "+49" or "a=b"
	// without thinking about NFON's encoding rules.
	Query       [][2]string
	Body        []byte    // exact bytes sent; hashed only when Content-MD5 is signed
	ContentType string    // the Content-Type header sent; signed only with Content-MD5
	Date        time.Time // the signing time; formatted in UTC
	// Audio marks an audio upload whatever its Content-Type (a multipart form or
	// application/octet-stream carrying a sound file): NFON signs neither
	// Content-MD5 nor Content-Type for audio content. An audio/* Content-Type
	// needs no flag.
	Audio bool
}

// parts are the fields of one string to sign.
type parts struct {
	method, date, resource string
	content                bool // Content-MD5 and Content-Type are signed
	contentMD5, contentTyp string
	sts                    string
}

// StringToSign returns the exact string that is HMAC'd for r:
// METHOD "\n" [Content-MD5 "\n" Content-Type "\n"] Date "\n" Resource.
//
// Errors (E_INPUT): a method that is empty, longer than 20 bytes or not only ASCII
// letters; a zero Date or one whose year is outside 1..9999 (no RFC 1123 form); a
// Resource that NormalizeResource refuses; a POST, PUT or PATCH without a
// Content-Type that is not an audio upload (NFON requires the header; signing an
// empty line would only move the failure to the server); a signed Content-Type
// with control characters or leading/trailing whitespace (servers trim it, so it
// would be received differently from how it was signed).
func StringToSign(r Request) (string, error) {
	p, err := build(r)
	if err != nil {
		return "", err
	}
	return p.sts, nil
}

func build(r Request) (parts, error) {
	const op = "nfon.StringToSign"
	var p parts
	m, err := normalizeMethod(r.Method)
	if err != nil {
		return p, err
	}
	p.method = m
	if r.Date.IsZero() {
		return p, signers.E(signers.CodeInput, op, "date is not set")
	}
	d := r.Date.UTC()
	if y := d.Year(); y < 1 || y > 9999 {
		return p, signers.E(signers.CodeInput, op, "date year outside 1..9999")
	}
	p.date = d.Format(DateLayout)
	if p.resource, err = BuildResource(r.Resource, r.Query); err != nil {
		return p, err
	}
	p.content = !r.Audio && SignsContent(m, r.ContentType)
	n := len(p.method) + len(p.date) + len(p.resource) + 2
	if p.content {
		if r.ContentType == "" {
			return p, signers.E(signers.CodeInput, op, "Content-Type is required for "+m+" (set Audio for an audio upload)")
		}
		if err := checkHeaderValue(r.ContentType); err != nil {
			return p, signers.E(signers.CodeInput, op, "content type "+err.Error())
		}
		p.contentMD5 = string(AppendContentMD5(make([]byte, 0, 2*md5.Size), r.Body))
		p.contentTyp = r.ContentType
		n += len(p.contentMD5) + len(p.contentTyp) + 2
	}
	p.sts = string(AppendStringToSign(make([]byte, 0, n), p.method, p.contentMD5, p.contentTyp, p.date, p.resource))
	return p, nil
}

// normalizeMethod upper-cases a method made of 1 to 20 ASCII letters.
func normalizeMethod(m string) (string, error) {
	const op = "nfon.StringToSign"
	if m == "" {
		return "", signers.E(signers.CodeInput, op, "empty method")
	}
	if len(m) > maxMethod {
		return "", signers.E(signers.CodeInput, op, "method longer than 20 bytes")
	}
	lower := false
	for i := 0; i < len(m); i++ {
		c := m[i]
		switch {
		case 'A' <= c && c <= 'Z':
		case 'a' <= c && c <= 'z':
			lower = true
		default:
			return "", signers.E(signers.CodeInput, op, "method must be ASCII letters only")
		}
	}
	if lower {
		m = strings.ToUpper(m)
	}
	return m, nil
}

// BrokerAudioHeader, "1" on a request to apisign's broker (its NFON route),
// marks an audio upload whatever its Content-Type (a multipart form or
// application/octet-stream carrying a sound file), so that the broker signs it
// as Request.Audio does. It is apisign's own header, between the browser module
// and the broker, never sent to NFON (wasm/broker/README.md).
const BrokerAudioHeader = "X-Apisign-NFON-Audio"

// SignsContent reports whether Content-MD5 and Content-Type are part of the string
// to sign: for POST, PUT and PATCH (method upper case), unless the content type is
// audio/* (NFON's audio uploads sign neither, whatever the method; an upload whose
// Content-Type does not say audio sets Request.Audio). The media type
// is compared without regard to case, surrounding blanks and parameters
// ("Audio/MPEG; rate=8000"); "audio/" alone is not an audio type.
func SignsContent(method, contentType string) bool {
	switch method {
	case "POST", "PUT", "PATCH":
	default:
		return false
	}
	return !isAudio(contentType)
}

func isAudio(ct string) bool {
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	ct = strings.Trim(ct, " \t")
	return len(ct) > len("audio/") && strings.EqualFold(ct[:len("audio/")], "audio/")
}

// headerError is a secret-free reason a header value cannot be sent as signed.
type headerError string

func (e headerError) Error() string { return string(e) }

// checkHeaderValue refuses control characters (CR/LF would split the header or the
// string to sign) and leading/trailing blanks (servers strip them).
func checkHeaderValue(v string) error {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c == 0x7f {
			return headerError("contains a control character")
		}
	}
	if v != "" && (v[0] == ' ' || v[len(v)-1] == ' ') {
		return headerError("has leading or trailing whitespace")
	}
	return nil
}

// Signature returns base64(HMAC-SHA1(key = secret, msg = stringToSign)), the part
// of the Authorization header after "<KeyId>:". Signer.Sign computes the same with
// the keyed state cached.
func Signature(secret, stringToSign string) string {
	m := hmac.New(sha1.New, []byte(secret))
	m.Write([]byte(stringToSign))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Signer holds one NFON API key. Build it once with NewSigner and reuse it: it keeps
// the HMAC state keyed with the secret (inner and outer pads already hashed), so
// signing costs two SHA-1 runs over the short string to sign. It is safe for
// concurrent use.
type Signer struct {
	keyID string
	pool  sync.Pool // of hash.Hash keyed with the secret
}

// NewSigner returns a Signer for the key pair NFON issued. Errors (E_KEY, the
// message never contains either value): an empty key id or secret; a key id with
// ":" (it ends the key id in the header), whitespace, control or non-ASCII bytes.
func NewSigner(keyID, secret string) (*Signer, error) {
	const op = "nfon.NewSigner"
	if err := checkKeyID(keyID); err != nil {
		return nil, signers.E(signers.CodeKey, op, err.Error())
	}
	if secret == "" {
		return nil, signers.E(signers.CodeKey, op, "empty secret")
	}
	key := []byte(secret)
	s := &Signer{keyID: keyID}
	s.pool.New = func() any { return hmac.New(sha1.New, key) }
	return s, nil
}

func checkKeyID(keyID string) error {
	if keyID == "" {
		return headerError("empty key id")
	}
	for i := 0; i < len(keyID); i++ {
		c := keyID[i]
		if c == ':' {
			return headerError("key id contains ':'")
		}
		if c <= ' ' || c >= 0x7f {
			return headerError("key id contains whitespace, control or non-ASCII bytes")
		}
	}
	return nil
}

// KeyID returns the key id the Signer puts in the Authorization header ("" for a
// nil Signer).
func (s *Signer) KeyID() string {
	if s == nil {
		return ""
	}
	return s.keyID
}

// Signature returns base64(HMAC-SHA1(secret, stringToSign)) with the keyed state
// cached in s: the same value as the package-level Signature, for callers (the
// browser module's hot path) that build the string to sign themselves. A Signer
// not built by NewSigner is an E_KEY error.
func (s *Signer) Signature(stringToSign string) (string, error) {
	if !s.ready() {
		return "", errNotBuilt("nfon.Signature")
	}
	return s.mac(stringToSign), nil
}

func (s *Signer) ready() bool { return s != nil && s.keyID != "" && s.pool.New != nil }

func errNotBuilt(op string) error {
	return signers.E(signers.CodeKey, op, "signer not built with NewSigner")
}

func (s *Signer) mac(sts string) string { return base64.StdEncoding.EncodeToString(s.sum(sts)) }

// sum is the HMAC-SHA1 of sts with the keyed state cached in s.
func (s *Signer) sum(sts string) []byte {
	m := s.pool.Get().(hash.Hash)
	m.Reset()
	m.Write([]byte(sts))
	sum := m.Sum(make([]byte, 0, sha1.Size))
	s.pool.Put(m)
	return sum
}

// Signed is the result of Sign.
type Signed struct {
	// Header holds Authorization and x-nfon-date, plus Content-MD5 and
	// Content-Type when they are signed.
	Header signers.Header
	// StringToSign is the exact string that was HMAC'd, for debugging.
	StringToSign string
	// Resource is the normalized request-target that was signed; the request must
	// go out with exactly this path and query.
	Resource string
}

// Sign signs r. Errors: E_KEY for a Signer not built by NewSigner, else those of
// StringToSign.
func (s *Signer) Sign(r Request) (Signed, error) {
	if !s.ready() {
		return Signed{}, errNotBuilt("nfon.Sign")
	}
	p, err := build(r)
	if err != nil {
		return Signed{}, err
	}
	h := make(signers.Header, 4)
	h[HeaderAuthorization] = string(AppendAuthorization(make([]byte, 0, 64), s.keyID, s.sum(p.sts)))
	h[HeaderDate] = p.date
	if p.content {
		h[HeaderContentMD5] = p.contentMD5
		h[HeaderContentType] = p.contentTyp
	}
	return Signed{Header: h, StringToSign: p.sts, Resource: p.resource}, nil
}

// SignRequest signs req in place at time now and returns the string to sign. The
// resource is req.URL's path and query as an HTTP client sends them (Go's
// EscapedPath plus RawQuery; a fragment is dropped), normalized; when
// normalization changed it (e.g. a raw space, or a raw "+" that must go out as
// %2B, in the query), req.URL is rewritten to the signed form so that what is
// sent is what was signed. The content type is
// req.Header's Content-Type. The signing headers are set on req.Header (created
// when nil), replacing any of the same name.
//
// A method whose content is never signed (GET, DELETE) goes out without a
// Content-Type: the caller's would contradict the string to sign
// (docs/PROTOCOLS.md "NFON": values must match the request exactly).
//
// Errors (E_INPUT): a nil req; a URL that does not parse or is not absolute
// (scheme and host); else those of Sign.
func (s *Signer) SignRequest(req *signers.Request, now time.Time) (string, error) {
	return s.signRequest(req, now, false)
}

// SignAudioRequest is SignRequest for an audio upload whatever its
// Content-Type (Request.Audio): neither Content-MD5 nor Content-Type is
// signed, and the Content-Type goes out as the caller set it.
func (s *Signer) SignAudioRequest(req *signers.Request, now time.Time) (string, error) {
	return s.signRequest(req, now, true)
}

func (s *Signer) signRequest(req *signers.Request, now time.Time, audio bool) (string, error) {
	const op = "nfon.SignRequest"
	if req == nil {
		return "", signers.E(signers.CodeInput, op, "nil request")
	}
	u, err := weburl.Parse(req.URL)
	if err != nil {
		// The url error repeats the URL; leave it out of the message.
		return "", signers.E(signers.CodeInput, op, "URL cannot be parsed")
	}
	if u.Scheme == "" || u.Host == "" || u.Opaque != "" {
		return "", signers.E(signers.CodeInput, op, "URL must be absolute (scheme://host/path)")
	}
	resource := u.RequestURI() // the path and query as a client sends them
	signed, err := s.Sign(Request{
		Method:      req.Method,
		Resource:    resource,
		Body:        req.Body,
		ContentType: req.Header.Get(HeaderContentType),
		Date:        now,
		Audio:       audio,
	})
	if err != nil {
		return "", err
	}
	if req.Header == nil {
		req.Header = make(signers.Header, len(signed.Header))
	}
	if !SignsContent(strings.ToUpper(req.Method), "") {
		for k := range req.Header {
			if strings.EqualFold(k, HeaderContentType) {
				delete(req.Header, k)
			}
		}
	}
	for k, v := range signed.Header {
		req.Header.Set(k, v)
	}
	if signed.Resource != resource {
		prefix := u.Scheme + "://"
		if u.User != nil {
			prefix += u.User.String() + "@"
		}
		req.URL = prefix + u.Host + signed.Resource
	}
	return signed.StringToSign, nil
}
