package keyfax

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"hash"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apisign/apisign/signers"
)

// Signer signs Keyfax server-flow requests with one set of credentials. It is
// built once (NewSigner) and is safe for concurrent use; it keeps the keyed
// HMAC-SHA256 state so that a signature does not rehash the key.
type Signer struct {
	hostName string
	apiKey   string
	macs     sync.Pool // of hash.Hash keyed with the signing key
}

// NewSigner returns a Signer for the Keyfax host name (Keyfax's name for the
// customer system, e.g. "Dev"), the API key and the signing key as Keyfax issues
// it: standard base64 (with padding) of random bytes, whose decoded bytes are
// the HMAC-SHA256 key.
//
// Errors are E_KEY: host name or API key empty or not visible ASCII without ':'
// (they are fields of a colon-separated header), signing key empty, not standard
// base64, or containing white space. The message never contains the key.
func NewSigner(hostName, apiKey, signingKey string) (*Signer, error) {
	const op = "keyfax.NewSigner"
	if !validID(hostName) {
		return nil, signers.E(signers.CodeKey, op, "host name must be non-empty visible ASCII without ':'")
	}
	if !validID(apiKey) {
		return nil, signers.E(signers.CodeKey, op, "api key must be non-empty visible ASCII without ':'")
	}
	key, err := decodeSigningKey(signingKey)
	if err != nil {
		return nil, signers.E(signers.CodeKey, op, err.Error())
	}
	s := &Signer{hostName: hostName, apiKey: apiKey}
	s.macs.New = func() any { return hmac.New(sha256.New, key) }
	return s, nil
}

type keyError string

func (e keyError) Error() string { return string(e) }

// decodeSigningKey decodes a standard base64 signing key. Go's decoder skips
// '\r' and '\n'; .NET's skips all white space; a key with either is refused here
// so that what is accepted does not depend on the decoder.
func decodeSigningKey(s string) ([]byte, error) {
	if s == "" {
		return nil, keyError("signing key is empty")
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return nil, keyError("signing key is not standard base64")
		}
	}
	key, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(key) == 0 {
		return nil, keyError("signing key is not standard base64")
	}
	return key, nil
}

// HostName returns the host name the Signer was built with.
func (s *Signer) HostName() string { return s.hostName }

// APIKey returns the API key the Signer was built with (it is sent in clear).
func (s *Signer) APIKey() string { return s.apiKey }

// Signed is the result of signing one request.
type Signed struct {
	Header       signers.Header // Authorization
	StringToSign string         // the raw string the signature covers
	Signature    string         // base64(HMAC-SHA256(key, StringToSign))
}

// Basic signs a request with the given timestamp (Unix seconds, see Timestamp)
// and nonce (32 lower-case hex digits, see NewNonce) and returns
//
//	Authorization: Basic {HostName}:{ApiKey}:{Signature}:{Nonce}:{Timestamp}
//
// uri is the absolute request URI and body the exact bytes sent (nil or empty for
// none). It is deterministic; errors are those of StringToSign (E_INPUT).
func (s *Signer) Basic(method, uri string, body []byte, timestamp, nonce string) (Signed, error) {
	raw, err := StringToSign(s.apiKey, method, uri, timestamp, nonce, body)
	if err != nil {
		return Signed{}, err
	}
	sig := s.sign(raw)
	return Signed{
		Header:       signers.Header{"Authorization": "Basic " + s.hostName + ":" + s.apiKey + ":" + sig + ":" + nonce + ":" + timestamp},
		StringToSign: raw,
		Signature:    sig,
	}, nil
}

func (s *Signer) sign(raw string) string {
	m := s.macs.Get().(hash.Hash)
	m.Reset()
	m.Write([]byte(raw))
	var sum [sha256.Size]byte
	out := base64.StdEncoding.EncodeToString(m.Sum(sum[:0]))
	s.macs.Put(m)
	return out
}

// SignRequest signs req in place for the time now with a fresh nonce: it sets
// req.Method to upper case (the signature covers the upper-case method, so that
// is what must be sent) and the Authorization header. It is what the token
// source, the net/http RoundTripper and the broker call. E_INPUT for a request
// StringToSign refuses, E_INTERNAL if no random nonce can be drawn.
func (s *Signer) SignRequest(req *signers.Request, now time.Time) (Signed, error) {
	if req == nil {
		return Signed{}, signers.E(signers.CodeInput, "keyfax.SignRequest", "request is nil")
	}
	nonce, err := NewNonce()
	if err != nil {
		return Signed{}, err
	}
	signed, err := s.Basic(req.Method, req.URL, req.Body, Timestamp(now), nonce)
	if err != nil {
		return Signed{}, err
	}
	req.Method = strings.ToUpper(req.Method)
	if req.Header == nil {
		req.Header = signers.Header{}
	}
	req.Header.Set("Authorization", signed.Header["Authorization"])
	return signed, nil
}

// BasicFields are the fields of a Keyfax Basic Authorization header.
type BasicFields struct {
	HostName  string
	ApiKey    string
	Signature string // standard base64 of the 32-byte HMAC-SHA256
	Nonce     string // 32 lower-case hex digits
	Timestamp string // Unix seconds, decimal, as sent
	Unix      int64  // Timestamp parsed
}

// ParseBasic reads `Basic {HostName}:{ApiKey}:{Signature}:{Nonce}:{Timestamp}`.
// The scheme is matched without regard to case and may be followed by several
// spaces; the value must have exactly five non-empty fields: host name and API
// key visible ASCII, the signature standard base64 of 32 bytes, the nonce 32
// lower-case hex digits, the timestamp decimal digits. Anything else is E_INPUT,
// with a message that names the field but never echoes it.
func ParseBasic(header string) (BasicFields, error) {
	const op = "keyfax.ParseBasic"
	if len(header) > 2048 {
		return BasicFields{}, signers.E(signers.CodeInput, op, "header is too long")
	}
	if len(header) < 6 || !strings.EqualFold(header[:6], "basic ") {
		return BasicFields{}, signers.E(signers.CodeInput, op, "scheme is not Basic")
	}
	v := strings.TrimLeft(header[6:], " ")
	v = strings.TrimRight(v, " \t")
	parts := strings.Split(v, ":")
	if len(parts) != 5 {
		return BasicFields{}, signers.E(signers.CodeInput, op, "credentials must be HostName:ApiKey:Signature:Nonce:Timestamp")
	}
	f := BasicFields{HostName: parts[0], ApiKey: parts[1], Signature: parts[2], Nonce: parts[3], Timestamp: parts[4]}
	if !validID(f.HostName) {
		return BasicFields{}, signers.E(signers.CodeInput, op, "host name field is malformed")
	}
	if !validID(f.ApiKey) {
		return BasicFields{}, signers.E(signers.CodeInput, op, "api key field is malformed")
	}
	if len(f.Signature) != 44 {
		return BasicFields{}, signers.E(signers.CodeInput, op, "signature field is not base64 of 32 bytes")
	}
	if sig, err := base64.StdEncoding.Strict().DecodeString(f.Signature); err != nil || len(sig) != sha256.Size {
		return BasicFields{}, signers.E(signers.CodeInput, op, "signature field is not base64 of 32 bytes")
	}
	if !validNonce(f.Nonce) {
		return BasicFields{}, signers.E(signers.CodeInput, op, "nonce field must be 32 lower-case hex digits")
	}
	if !validTimestamp(f.Timestamp) {
		return BasicFields{}, signers.E(signers.CodeInput, op, "timestamp field must be decimal Unix seconds")
	}
	f.Unix, _ = strconv.ParseInt(f.Timestamp, 10, 64)
	return f, nil
}
