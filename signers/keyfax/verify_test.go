package keyfax

import (
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/clock"
)

const (
	startupURI  = "https://keyfax.example.com/Interview/api/v1/startup"
	startupBody = `{"mode":{"value":"ROL"},"company":{"value":"OL3_Dev"}}`
)

func newVerifier(t *testing.T, c clock.Clock) *Verifier {
	t.Helper()
	keys, err := KeysFromBase64(vHost, vAPIKey, vKey)
	if err != nil {
		t.Fatal(err)
	}
	return &Verifier{Keys: keys, Clock: c}
}

func signedStartup(t *testing.T, ts, nonce string) string {
	t.Helper()
	s, err := NewSigner(vHost, vAPIKey, vKey)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := s.Basic("POST", startupURI, []byte(startupBody), ts, nonce)
	if err != nil {
		t.Fatal(err)
	}
	return signed.Header["Authorization"]
}

// flip changes one byte of s at i to another character of the same class, so
// that the result still parses.
func flip(s string, i int) string {
	b := []byte(s)
	switch c := b[i]; {
	case c >= '0' && c <= '8', c >= 'a' && c <= 'e', c >= 'A' && c <= 'Y':
		b[i]++
	default:
		b[i]--
	}
	return string(b)
}

func TestVerifyAcceptsAndRejectsOneByteChanges(t *testing.T) {
	clk := clock.NewFake(time.Unix(1700000000, 0))
	auth := signedStartup(t, vTS, vNonce)
	f, _ := ParseBasic(auth)

	if _, err := newVerifier(t, clk).Verify(auth, "POST", startupURI, []byte(startupBody)); err != nil {
		t.Fatalf("valid request refused: %v", err)
	}
	// The server may see the URI in wire form with a different case and the
	// default port: the rule lower-cases it, so it still verifies.
	if _, err := newVerifier(t, clk).Verify(auth, "post", "HTTPS://KEYFAX.example.com:443/Interview/api/v1/startup", []byte(startupBody)); err != nil {
		t.Errorf("case/port variant refused: %v", err)
	}

	header := func(sig, nonce, ts string) string {
		return "Basic " + vHost + ":" + vAPIKey + ":" + sig + ":" + nonce + ":" + ts
	}
	sigBytes, _ := base64.StdEncoding.DecodeString(f.Signature)
	sigBytes[7] ^= 1
	otherSig := base64.StdEncoding.EncodeToString(sigBytes)

	cases := []struct {
		name         string
		auth, method string
		uri          string
		body         string
	}{
		{"method", auth, "POSU", startupURI, startupBody},
		{"uri path", auth, "POST", flip(startupURI, len(startupURI)-1), startupBody},
		{"uri host", auth, "POST", strings.Replace(startupURI, "keyfax", "keyfay", 1), startupBody},
		{"uri query added", auth, "POST", startupURI + "?", startupBody},
		{"body", auth, "POST", startupURI, flip(startupBody, 10)},
		{"body removed", auth, "POST", startupURI, ""},
		{"timestamp", header(f.Signature, f.Nonce, flip(f.Timestamp, len(f.Timestamp)-1)), "POST", startupURI, startupBody},
		{"nonce", header(f.Signature, flip(f.Nonce, 0), f.Timestamp), "POST", startupURI, startupBody},
		{"signature", header(otherSig, f.Nonce, f.Timestamp), "POST", startupURI, startupBody},
	}
	for _, c := range cases {
		_, err := newVerifier(t, clk).Verify(c.auth, c.method, c.uri, []byte(c.body))
		if !errors.Is(err, signers.ErrSignature) {
			t.Errorf("%s changed: err = %v, want E_SIGNATURE", c.name, err)
		}
	}

	// Key changed by one byte, API key and host name changed.
	key, _ := base64.StdEncoding.DecodeString(vKey)
	key[0] ^= 1
	v := &Verifier{Clock: clk, Keys: func(h, a string) ([]byte, bool) { return key, h == vHost && a == vAPIKey }}
	if _, err := v.Verify(auth, "POST", startupURI, []byte(startupBody)); !errors.Is(err, signers.ErrSignature) {
		t.Errorf("key changed: %v", err)
	}
	for _, a := range []string{
		strings.Replace(auth, "Dev:", "Dew:", 1),
		strings.Replace(auth, vAPIKey, flip(vAPIKey, 0), 1),
	} {
		if _, err := newVerifier(t, clk).Verify(a, "POST", startupURI, []byte(startupBody)); !errors.Is(err, signers.ErrSignature) {
			t.Errorf("credential changed: %v", err)
		}
	}

	// Malformed headers and requests are E_INPUT; a Verifier without keys E_CONFIG.
	for _, a := range []string{"", "Bearer x", auth[:len(auth)-11], "Basic " + base64.StdEncoding.EncodeToString([]byte(auth[6:]))} {
		if _, err := newVerifier(t, clk).Verify(a, "POST", startupURI, nil); !errors.Is(err, signers.ErrInput) {
			t.Errorf("header %q: %v, want E_INPUT", a, err)
		}
	}
	if _, err := newVerifier(t, clk).Verify(auth, "POST", "/relative", nil); !errors.Is(err, signers.ErrInput) {
		t.Errorf("relative URI: %v", err)
	}
	if _, err := (&Verifier{}).Verify(auth, "POST", startupURI, nil); !errors.Is(err, signers.ErrConfig) {
		t.Errorf("no keys: %v", err)
	}
	if _, err := KeysFromBase64(vHost, vAPIKey, "nope!"); !errors.Is(err, signers.ErrKey) {
		t.Errorf("KeysFromBase64: %v", err)
	}
}

func TestVerifyRequest(t *testing.T) {
	clk := clock.NewFake(time.Unix(1700000000, 0))
	s, _ := NewSigner(vHost, vAPIKey, vKey)
	req := &signers.Request{Method: "PATCH", URL: "https://keyfax.example.com/x?a=b c", Body: []byte("data")}
	if _, err := s.SignRequest(req, clk.Now()); err != nil {
		t.Fatal(err)
	}
	v := newVerifier(t, clk)
	if _, err := v.VerifyRequest(req); err != nil {
		t.Fatal(err)
	}
	if _, err := v.VerifyRequest(req); !errors.Is(err, signers.ErrReplay) {
		t.Errorf("replay: %v", err)
	}
	if _, err := v.VerifyRequest(nil); !errors.Is(err, signers.ErrInput) {
		t.Errorf("nil: %v", err)
	}
}

func TestVerifyReplay(t *testing.T) {
	clk := clock.NewFake(time.Unix(1700000000, 0))
	v := newVerifier(t, clk)
	auth := signedStartup(t, vTS, vNonce)
	if _, err := v.Verify(auth, "POST", startupURI, []byte(startupBody)); err != nil {
		t.Fatal(err)
	}
	clk.Advance(4 * time.Minute)
	_, err := v.Verify(auth, "POST", startupURI, []byte(startupBody))
	if !errors.Is(err, signers.ErrReplay) {
		t.Fatalf("replay: %v, want E_REPLAY", err)
	}
	// The same nonce under another API key is not a replay of this one.
	other := &Verifier{Clock: clk, Keys: func(h, a string) ([]byte, bool) { k, _ := base64.StdEncoding.DecodeString(vKey); return k, true }}
	if _, err := other.Verify(auth, "POST", startupURI, []byte(startupBody)); err != nil {
		t.Errorf("fresh verifier: %v", err)
	}
	// Once the timestamp has left the window the clock check refuses it.
	clk.Advance(2 * time.Minute)
	if _, err := v.Verify(auth, "POST", startupURI, []byte(startupBody)); !errors.Is(err, signers.ErrClock) {
		t.Errorf("after the window: %v, want E_CLOCK", err)
	}
	// A forged request (bad signature) does not burn the nonce.
	clk.Set(time.Unix(1700000000, 0))
	v2 := newVerifier(t, clk)
	forged := strings.Replace(auth, ":"+vNonce, ":"+flip(vNonce, 0), 1)
	forged = strings.Replace(forged, vNonce, flip(vNonce, 0), 1)
	if _, err := v2.Verify(forged, "POST", startupURI, []byte(startupBody)); !errors.Is(err, signers.ErrSignature) {
		t.Fatalf("forged: %v", err)
	}
	if v2.Nonces() != 0 {
		t.Errorf("a forged request was remembered")
	}
}

func TestVerifyWindow(t *testing.T) {
	now := int64(1700000000)
	clk := clock.NewFake(time.Unix(now, 0))
	for _, c := range []struct {
		offset int64
		window time.Duration
		ok     bool
	}{
		{0, 0, true},
		{-300, 0, true},
		{300, 0, true},
		{-301, 0, false},
		{301, 0, false},
		{-86400, 0, false},
		{60, time.Minute, true},
		{61, time.Minute, false},
		{-61, time.Minute, false},
	} {
		n, _ := NewNonce()
		auth := signedStartup(t, strconv.FormatInt(now+c.offset, 10), n)
		v := newVerifier(t, clk)
		v.Window = c.window
		_, err := v.Verify(auth, "POST", startupURI, []byte(startupBody))
		if c.ok && err != nil {
			t.Errorf("offset %d window %v: %v", c.offset, c.window, err)
		}
		if !c.ok && !errors.Is(err, signers.ErrClock) {
			t.Errorf("offset %d window %v: %v, want E_CLOCK", c.offset, c.window, err)
		}
	}
	// A timestamp far in the past or future does not overflow.
	for _, ts := range []string{"0", "999999999999999999"} {
		auth := signedStartup(t, ts, vNonce)
		if _, err := newVerifier(t, clk).Verify(auth, "POST", startupURI, []byte(startupBody)); !errors.Is(err, signers.ErrClock) {
			t.Errorf("ts %s: %v", ts, err)
		}
	}
}

func TestVerifyNonceSetIsBounded(t *testing.T) {
	clk := clock.NewFake(time.Unix(1700000000, 0))
	s, _ := NewSigner(vHost, vAPIKey, vKey)
	v := newVerifier(t, clk)
	verify := func() error {
		req := &signers.Request{Method: "GET", URL: "https://keyfax.example.com/x"}
		if _, err := s.SignRequest(req, clk.Now()); err != nil {
			t.Fatal(err)
		}
		_, err := v.VerifyRequest(req)
		return err
	}
	// One request a second for 3000 s: entries expire after about 2 windows at
	// most, so the set never holds much more than the sweep threshold.
	for i := 0; i < 3000; i++ {
		if err := verify(); err != nil {
			t.Fatal(err)
		}
		if n := v.Nonces(); n > 1024 {
			t.Fatalf("after %d requests the set holds %d nonces", i, n)
		}
		clk.Advance(time.Second)
	}
	// After a quiet window the next request sweeps the set.
	clk.Advance(11 * time.Minute)
	if err := verify(); err != nil {
		t.Fatal(err)
	}
	if n := v.Nonces(); n != 1 {
		t.Errorf("after a quiet window the set holds %d nonces, want 1", n)
	}

	// MaxNonces: when full of live nonces, refuse rather than forget.
	v = newVerifier(t, clk)
	v.MaxNonces = 3
	for i := 0; i < 3; i++ {
		if err := verify(); err != nil {
			t.Fatal(err)
		}
	}
	if err := verify(); !errors.Is(err, signers.ErrReplay) {
		t.Errorf("full set: %v, want E_REPLAY", err)
	}
	clk.Advance(DefaultWindow + time.Second)
	if err := verify(); err != nil {
		t.Errorf("after expiry: %v", err)
	}
	if n := v.Nonces(); n != 1 {
		t.Errorf("set holds %d after expiry", n)
	}
}

func TestVerifyConcurrentReplay(t *testing.T) {
	clk := clock.NewFake(time.Unix(1700000000, 0))
	v := newVerifier(t, clk)
	auth := signedStartup(t, vTS, vNonce)
	var wg sync.WaitGroup
	var mu sync.Mutex
	accepted, replays := 0, 0
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := v.Verify(auth, "POST", startupURI, []byte(startupBody))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				accepted++
			case errors.Is(err, signers.ErrReplay):
				replays++
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if accepted != 1 || replays != 19 {
		t.Errorf("accepted %d, replays %d; want 1 and 19", accepted, replays)
	}
}

func TestParseBasic(t *testing.T) {
	auth := signedStartup(t, vTS, vNonce)
	f, err := ParseBasic(auth)
	if err != nil {
		t.Fatal(err)
	}
	want := BasicFields{HostName: vHost, ApiKey: vAPIKey, Signature: "6yeZnOkqs/b/MrzpPDX0HkmVV2LcMU92A30vzj8zxwY=", Nonce: vNonce, Timestamp: vTS, Unix: 1700000000}
	if f != want {
		t.Errorf("got %+v", f)
	}
	if g, err := ParseBasic("basic   " + auth[6:] + " "); err != nil || g != want {
		t.Errorf("lenient spacing: %+v %v", g, err)
	}
	sig := want.Signature
	bad := []string{
		"", "Basic", "Basic ", "Bearer " + auth[6:], "Basic:" + auth[6:],
		"Basic Dev:" + vAPIKey + ":" + sig + ":" + vNonce,                                            // 4 fields
		"Basic Dev:" + vAPIKey + ":" + sig + ":" + vNonce + ":" + vTS + ":x",                         // 6 fields
		"Basic :" + vAPIKey + ":" + sig + ":" + vNonce + ":" + vTS,                                   // empty host
		"Basic Dev::" + sig + ":" + vNonce + ":" + vTS,                                               // empty api key
		"Basic Dev:" + vAPIKey + ":" + sig[:43] + ":" + vNonce + ":" + vTS,                           // short signature
		"Basic Dev:" + vAPIKey + ":" + strings.Replace(sig, "/", "_", -1) + ":" + vNonce + ":" + vTS, // base64url
		"Basic Dev:" + vAPIKey + ":" + sig + ":" + strings.ToUpper(vNonce) + ":" + vTS,
		"Basic Dev:" + vAPIKey + ":" + sig + ":" + vNonce + ":-1",
		"Basic Dev:" + vAPIKey + ":" + sig + ":" + vNonce + ":1.5",
		"Basic D v:" + vAPIKey + ":" + sig + ":" + vNonce + ":" + vTS,
		"Basic " + base64.StdEncoding.EncodeToString([]byte(auth[6:])),
	}
	for _, b := range bad {
		_, err := ParseBasic(b)
		if !errors.Is(err, signers.ErrInput) {
			t.Errorf("ParseBasic(%q) = %v, want E_INPUT", b, err)
			continue
		}
		if strings.Contains(err.Error(), sig[:10]) {
			t.Errorf("message echoes the signature: %v", err)
		}
	}
}
