package keyfax

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"sync"
	"time"

	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/clock"
)

// DefaultWindow is the Verifier's default clock window: a request whose
// timestamp is more than this far from the server's clock, in either direction,
// is refused. Five minutes is the ASP.NET Web API HMAC pattern's default and
// covers ordinary clock drift without keeping nonces for long.
const DefaultWindow = 5 * time.Minute

// DefaultMaxNonces bounds the Verifier's replay set when MaxNonces is zero.
const DefaultMaxNonces = 1 << 20

// Verifier checks Keyfax Basic headers, as the Keyfax server does: for the
// sandbox emulator and tests. It is safe for concurrent use; it must not be
// copied after first use.
//
// A request is accepted when its header parses, its host name and API key are
// known, its timestamp is within Window of Clock, its signature matches
// (compared in constant time) and its nonce has not been accepted before within
// the window. A nonce is remembered only after the signature matched (so that
// forged requests cannot fill the set) and only until its timestamp leaves the
// window (after that the clock check refuses a replay anyway), which bounds the
// set; MaxNonces bounds it further against a flood of valid requests.
type Verifier struct {
	// Keys returns the decoded signing key of hostName/apiKey, ok=false if unknown.
	Keys func(hostName, apiKey string) (signingKey []byte, ok bool)
	// Window is the allowed clock difference; zero means DefaultWindow (5 minutes).
	Window time.Duration
	// Clock is the server's clock; nil means clock.Real.
	Clock clock.Clock
	// MaxNonces caps the number of remembered nonces; zero means DefaultMaxNonces.
	// When the cap is reached (after expiring old ones) requests are refused with
	// E_REPLAY until entries expire: refusing is safe, forgetting is not.
	MaxNonces int

	mu        sync.Mutex
	seen      map[string]int64 // hostName:apiKey:nonce -> Unix second after which it expires
	sweepAt   int
	lastSweep int64
}

// KeysFromBase64 is a helper for Verifier.Keys with a single credential set.
// It returns E_KEY if signingKey is not standard base64.
func KeysFromBase64(hostName, apiKey, signingKey string) (func(string, string) ([]byte, bool), error) {
	key, err := decodeSigningKey(signingKey)
	if err != nil {
		return nil, signers.E(signers.CodeKey, "keyfax.KeysFromBase64", err.Error())
	}
	return func(h, a string) ([]byte, bool) {
		if h == hostName && a == apiKey {
			return key, true
		}
		return nil, false
	}, nil
}

// Verify checks the Authorization header of a request with the given method,
// absolute URI (as received, e.g. scheme + "://" + Host + RequestURI) and body.
// Errors: E_INPUT malformed header or request fields, E_CONFIG no Keys,
// E_SIGNATURE unknown host name / API key or wrong signature, E_CLOCK timestamp
// outside the window, E_REPLAY nonce already used within the window. On success
// it returns the header's fields.
func (v *Verifier) Verify(authorization, method, absoluteURI string, body []byte) (BasicFields, error) {
	const op = "keyfax.Verify"
	if v.Keys == nil {
		return BasicFields{}, signers.E(signers.CodeConfig, op, "verifier has no Keys")
	}
	f, err := ParseBasic(authorization)
	if err != nil {
		return BasicFields{}, err
	}
	raw, err := StringToSign(f.ApiKey, method, absoluteURI, f.Timestamp, f.Nonce, body)
	if err != nil {
		return BasicFields{}, err
	}
	key, ok := v.Keys(f.HostName, f.ApiKey)
	if !ok || len(key) == 0 {
		return BasicFields{}, signers.E(signers.CodeSignature, op, "unknown host name or api key")
	}
	c := clock.Or(v.Clock)
	now := c.Now().Unix()
	w := v.window()
	if d := now - f.Unix; d > w || d < -w {
		return BasicFields{}, signers.E(signers.CodeClock, op, "timestamp is outside the allowed window")
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(raw))
	want := m.Sum(nil)
	got, _ := base64.StdEncoding.DecodeString(f.Signature) // ParseBasic checked it
	if !hmac.Equal(got, want) {
		return BasicFields{}, signers.E(signers.CodeSignature, op, "signature does not match")
	}
	if err := v.remember(f.HostName+":"+f.ApiKey+":"+f.Nonce, f.Unix+w, now); err != nil {
		return BasicFields{}, err
	}
	return f, nil
}

// VerifyRequest is Verify over a signers.Request (URL absolute, Authorization in
// Header).
func (v *Verifier) VerifyRequest(req *signers.Request) (BasicFields, error) {
	if req == nil {
		return BasicFields{}, signers.E(signers.CodeInput, "keyfax.Verify", "request is nil")
	}
	return v.Verify(req.Header.Get("Authorization"), req.Method, req.URL, req.Body)
}

func (v *Verifier) window() int64 {
	w := v.Window
	if w <= 0 {
		w = DefaultWindow
	}
	return int64(w / time.Second)
}

// remember records key until expiry (Unix seconds) unless it is already there
// and not expired, in which case the request is a replay.
func (v *Verifier) remember(key string, expiry, now int64) error {
	const op = "keyfax.Verify"
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.seen == nil {
		v.seen = make(map[string]int64)
		v.sweepAt = 1024
		v.lastSweep = now
	}
	if exp, ok := v.seen[key]; ok && exp >= now {
		return signers.E(signers.CodeReplay, op, "nonce was already used within the window")
	}
	max := v.MaxNonces
	if max <= 0 {
		max = DefaultMaxNonces
	}
	// Sweep when the set has doubled since the last sweep (amortised O(1) per
	// call), when it is full, or once per window so that memory goes down again.
	if len(v.seen) >= v.sweepAt || len(v.seen) >= max || now-v.lastSweep > v.window() {
		for k, exp := range v.seen {
			if exp < now {
				delete(v.seen, k)
			}
		}
		v.lastSweep = now
		v.sweepAt = 2 * len(v.seen)
		if v.sweepAt < 1024 {
			v.sweepAt = 1024
		}
	}
	if len(v.seen) >= max {
		return signers.E(signers.CodeReplay, op, "too many nonces within the window to check replays")
	}
	v.seen[key] = expiry
	return nil
}

// Nonces returns how many nonces the Verifier remembers (for tests and metrics).
func (v *Verifier) Nonces() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.seen)
}
