//go:build js && wasm

package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/nfon"
)

// These tests drive the exports as JS does: inputs written into inBuf with
// their lengths in ctl, outputs read back from the output buffer and ctl.

// setInputs writes fields as the input of the next call.
func setInputs(t testing.TB, fields ...string) {
	t.Helper()
	n := 0
	for _, f := range fields {
		n += len(f)
	}
	if r := exportReserve(uint32(n)); r != 0 {
		t.Fatalf("reserve(%d) = %d", n, r)
	}
	off := 0
	for i, f := range fields {
		copy(inBuf[off:], f)
		ctl[ctlInLen+i] = uint32(len(f))
		off += len(f)
	}
	for i := len(fields); i < maxIn; i++ {
		ctl[ctlInLen+i] = 0 // fields not given are empty, as JS writes them
	}
}

// outputs returns the output fields of the last call.
func outputs(t testing.TB) []string {
	t.Helper()
	if ctl[ctlOutPtr] != addr(unsafePtr(outBuf)) {
		t.Fatal("OUT_PTR does not point at the output buffer")
	}
	var out []string
	off := 0
	for i := 0; i < int(ctl[ctlOutN]); i++ {
		l := int(ctl[ctlOutLen+i])
		out = append(out, string(outBuf[off:off+l]))
		off += l
	}
	return out
}

// failure returns the code and message of a failed call.
func failure(t testing.TB, ret int32) (string, string) {
	t.Helper()
	if ret != retFail {
		t.Fatalf("ret = %d, want %d (failure)", ret, retFail)
	}
	o := outputs(t)
	if len(o) != 2 {
		t.Fatalf("failure output has %d fields", len(o))
	}
	return o[0], o[1]
}

// outputJoined is the output of the last call, its fields joined by "|".
func outputJoined(t testing.TB) string { return strings.Join(outputs(t), "|") }

const (
	vKeyID  = "3697ad86-fa77-4b25-9373-02dce48530ff"
	vSecret = "nfon-example-secret"
	vDateMs = 1754490720000 // Wed, 06 Aug 2025 14:32:00 GMT
	vBody   = `{"data":[{"name":"displayName","value":"John Doe"},{"name":"displayNumber","value":"+49 (176) 12345678"}]}`
)

func nfonHandle(t testing.TB, keyID, secret string) int32 {
	t.Helper()
	setInputs(t, keyID, secret)
	h := exportKey(kindNFON)
	if h <= 0 {
		c, m := failure(t, h)
		t.Fatalf("key: %s %s", c, m)
	}
	return h
}

// The PROTOCOLS.md NFON vectors, through the export.
func TestNfonVectors(t *testing.T) {
	h := nfonHandle(t, vKeyID, vSecret)
	for _, v := range []struct{ method, path, body, ct, sig string }{
		{"GET", "/api/customers/K1234/phone-books", "", "", "ofdQ9hgbzJ/n5f0iL2mXVXJ14T0="},
		{"GET", "/api/customers/K1234/phone-books?search=I%20Am%20Encoded", "", "", "7HXhfWhFeAJCqkOG1cmbBAZG/Xo="},
		{"POST", "/api/customers/K1234/phone-books", vBody, "application/json", "1OPtkwRjA5ElFXJhVQ7I4uqKdwI="},
	} {
		setInputs(t, v.method, v.path, v.body, v.ct, "")
		if r := exportNfonSign(h, vDateMs); r != 0 {
			c, m := failure(t, r)
			t.Fatalf("%s %s: %s %s", v.method, v.path, c, m)
		}
		o := outputs(t)
		sts := "GET\n"
		if v.method == "POST" {
			sts = "POST\n4a51ed3a364b24112745d91921b177e5\napplication/json\n"
		}
		sts += "Wed, 06 Aug 2025 14:32:00 GMT\n" + v.path
		want := make([]string, nfonOutFields)
		want[nfonOutResource] = v.path
		want[nfonOutStringToSign] = sts
		want[nfonOutAuthorization] = "NFON-API " + vKeyID + ":" + v.sig
		want[nfonOutDate] = "Wed, 06 Aug 2025 14:32:00 GMT"
		if v.method == "POST" {
			want[nfonOutContentMD5] = "4a51ed3a364b24112745d91921b177e5"
			want[nfonOutContentType] = "application/json"
		}
		if !slices.Equal(o, want) {
			t.Errorf("%s %s:\n got %q\nwant %q", v.method, v.path, o, want)
		}
	}
	// The same with the time as an RFC 3339 string.
	setInputs(t, "GET", "/api/customers/K1234/phone-books", "", "", "2025-08-06T16:32:00+02:00")
	if r := exportNfonSign(h, math.NaN()); r != 0 || !strings.Contains(outputJoined(t), ":ofdQ9hgbzJ/n5f0iL2mXVXJ14T0=|") {
		t.Errorf("RFC 3339 time: ret %d output %s", r, outputJoined(t))
	}
}

// A query given as unencoded pairs and the explicit audio flag go through the
// core's rule: "+49" is signed and sent as "%2B49" (docs/PROTOCOLS.md "NFON"),
// and an audio upload signs neither Content-MD5 nor Content-Type. The
// signatures are checked with crypto/hmac.
func TestNfonQueryAndAudio(t *testing.T) {
	h := nfonHandle(t, vKeyID, vSecret)
	sig := func(sts string) string {
		m := hmac.New(sha1.New, []byte(vSecret))
		m.Write([]byte(sts))
		return "NFON-API " + vKeyID + ":" + base64.StdEncoding.EncodeToString(m.Sum(nil))
	}
	const date = "Wed, 06 Aug 2025 14:32:00 GMT"
	setInputs(t, "GET", "/api/customers/K1234/phone-books", "", "", "", "search\x00+49\x00a b\x00x=y\x00", "")
	if r := exportNfonSign(h, vDateMs); r != 0 {
		c, m := failure(t, r)
		t.Fatalf("query: %s %s", c, m)
	}
	res := "/api/customers/K1234/phone-books?search=%2B49&a%20b=x%3Dy"
	want := []string{res, "GET\n" + date + "\n" + res, sig("GET\n" + date + "\n" + res), date, "", ""}
	if o := outputs(t); !slices.Equal(o, want) {
		t.Errorf("query:\n got %q\nwant %q", o, want)
	}
	setInputs(t, "POST", "/api/sounds", "RIFF", "multipart/form-data; boundary=x", "", "", "1")
	if r := exportNfonSign(h, vDateMs); r != 0 {
		c, m := failure(t, r)
		t.Fatalf("audio: %s %s", c, m)
	}
	want = []string{"/api/sounds", "POST\n" + date + "\n/api/sounds", sig("POST\n" + date + "\n/api/sounds"), date, "", ""}
	if o := outputs(t); !slices.Equal(o, want) {
		t.Errorf("audio:\n got %q\nwant %q", o, want)
	}
	setInputs(t, "GET", "/api/x", "", "", "", "odd\x00", "")
	if c, _ := failure(t, exportNfonSign(h, vDateMs)); c != "E_INPUT" {
		t.Errorf("malformed pairs: code %s", c)
	}
	setInputs(t, "POST", "/api/x", "{}", "", "", "", "")
	if c, _ := failure(t, exportNfonSign(h, vDateMs)); c != "E_INPUT" {
		t.Errorf("POST without Content-Type: code %s", c)
	}
}

// The allocation-free path and the core's Signer must give the same output
// (or the same error code) for every input, odd ones included.
func TestNfonFastMatchesCore(t *testing.T) {
	h := nfonHandle(t, vKeyID, vSecret)
	e, _ := lookupKey(h)
	k := e.nfon
	rng := rand.New(rand.NewPCG(1, 2))
	methods := []string{"GET", "POST", "PUT", "PATCH", "DELETE", "get", "Post", "", "G3T", "ABCDEFGHIJKLMNOPQRSTU", "OPTIONS"}
	paths := []string{"/api/customers/K1234", "/a b/c", "/Base Device?x=a+b&y=ü", "/a%2Fb", "/a%zz", "/x#frag", "", "nope", "/", "/?", "/q?a=%20&b=%41"}
	cts := []string{"application/json", "", "audio/mpeg", "Audio/WAV; rate=8000", " text/plain", "a\x01b", "täxt/plain", "text/plain "}
	years := []int{1, 1970, 2025, 9999, 0, 10000, -5}
	var ok, failed, fastPath int
	for i := 0; i < 600; i++ {
		m := methods[rng.IntN(len(methods))]
		p := paths[rng.IntN(len(paths))]
		ct := cts[rng.IntN(len(cts))]
		body := make([]byte, rng.IntN(3)*rng.IntN(200))
		for j := range body {
			body[j] = byte(rng.IntN(256))
		}
		y := years[rng.IntN(len(years))]
		tm := time.Date(y, time.Month(1+rng.IntN(12)), 1+rng.IntN(28), rng.IntN(24), rng.IntN(60), rng.IntN(60), rng.IntN(1e9), time.FixedZone("z", 3600*(rng.IntN(25)-12)))

		if upperMethod(m) {
			fastPath++
		}
		rf := nfonSign(k, m, p, body, ct, tm)
		fast, fastOut := rf, outputJoined(t)
		var fastCode string
		if rf != 0 {
			fastCode, _ = failure(t, rf)
		}
		rs := nfonSlow(k, m, p, body, ct, tm)
		slowOut := outputJoined(t)
		var slowCode string
		if rs != 0 {
			slowCode, _ = failure(t, rs)
		}
		if fast != rs || fastCode != slowCode || (rf == 0 && fastOut != slowOut) {
			t.Fatalf("case %d (%q %q %q %v): fast %d %s %+v, core %d %s %+v", i, m, p, ct, tm, fast, fastCode, fastOut, rs, slowCode, slowOut)
		}
		// And the core's own header agrees with the signature.
		s, err := k.signer.Sign(nfon.Request{Method: m, Resource: p, Body: body, ContentType: ct, Date: tm})
		if (err == nil) != (rf == 0) || err == nil && !strings.Contains(fastOut, "|"+s.Header["Authorization"]+"|") {
			t.Fatalf("case %d: core says %v", i, err)
		}
		if rf == 0 {
			ok++
		} else {
			failed++
		}
	}
	if ok < 100 || failed < 100 || fastPath < 200 {
		t.Errorf("weak mix of cases: %d signed, %d refused, %d with a fast-path method", ok, failed, fastPath)
	}
}

func TestNfonFastDoesNotAllocate(t *testing.T) {
	h := nfonHandle(t, vKeyID, vSecret)
	for _, c := range []struct{ method, path, body, ct string }{
		{"GET", "/api/customers/K1234/phone-books?search=I%20Am%20Encoded", "", ""},
		{"POST", "/api/customers/K1234/phone-books", vBody, "application/json"},
	} {
		setInputs(t, c.method, c.path, c.body, c.ct, "")
		ms := float64(vDateMs)
		allocs := testing.AllocsPerRun(200, func() {
			ms += 1000 // a new second each time: the date is formatted, not cached
			if exportNfonSign(h, ms) != 0 {
				t.Fatal("sign failed")
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per call, want 0", c.method, allocs)
		}
	}
}

func TestKeyHandles(t *testing.T) {
	h1 := nfonHandle(t, vKeyID, vSecret)
	if h2 := nfonHandle(t, vKeyID, vSecret); h2 != h1 {
		t.Errorf("same key, different handles %d %d", h1, h2)
	}
	// Fields are length-prefixed: moving a byte between fields is another key.
	if h3 := nfonHandle(t, vKeyID[:10], vKeyID[10:]+vSecret); h3 == h1 {
		t.Error("different fields, same handle")
	}
	// The key id is copied out of the input buffer.
	setInputs(t, strings.Repeat("x", 200))
	if e, ok := lookupKey(h1); !ok || e.nfon.keyID != vKeyID {
		t.Error("the registered key id changed when the input buffer was reused")
	}
	exportForget()
	setInputs(t, "GET", "/", "", "", "")
	if r := exportNfonSign(h1, vDateMs); r != retStale {
		t.Errorf("after forget: ret %d, want stale", r)
	}
	// A full table is cleared: the oldest handles go stale, memory stays bounded.
	first := nfonHandle(t, "k0", vSecret)
	var last int32
	for i := 1; i <= maxKeys; i++ {
		last = nfonHandle(t, "k"+string(rune('a'+i%26))+strings.Repeat("z", i), vSecret)
	}
	if _, ok := lookupKey(first); ok {
		t.Error("first handle still valid after the table filled up")
	}
	if _, ok := lookupKey(last); !ok || len(keyTable) > maxKeys {
		t.Errorf("last handle invalid or table too big (%d)", len(keyTable))
	}
	if _, ok := lookupKey(0); ok {
		t.Error("handle 0 is valid")
	}
	if _, ok := lookupKey(-1); ok {
		t.Error("handle -1 is valid")
	}
}

func TestKeyErrorsHoldNoSecret(t *testing.T) {
	const secret = "very-secret-signing-key!!"
	setInputs(t, "Dev", "api-key", secret)
	c, m := failure(t, exportKey(kindKeyfax))
	if c != "E_KEY" || strings.Contains(m, secret) {
		t.Errorf("bad signing key: %s %q", c, m)
	}
	setInputs(t, "key:id", secret)
	c, m = failure(t, exportKey(kindNFON))
	if c != "E_KEY" || strings.Contains(m, secret) || strings.Contains(m, "key:id") {
		t.Errorf("bad key id: %s %q", c, m)
	}
	setInputs(t, "a", "b")
	if c, _ := failure(t, exportKey(42)); c != "E_INPUT" {
		t.Errorf("unknown kind: %s", c)
	}
}

// A panic inside an export is an E_INTERNAL failure, and the module goes on.
func TestPanicIsRecovered(t *testing.T) {
	setInputs(t)
	c, m := failure(t, func() (ret int32) {
		defer recoverExport(&ret)
		panic("apisign: test panic")
	}())
	if c != "E_INTERNAL" || strings.Contains(m, "test panic") {
		t.Errorf("panic: %s %q", c, m)
	}
	h := nfonHandle(t, vKeyID, vSecret)
	setInputs(t, "GET", "/api/customers/K1234/phone-books", "", "", "")
	if exportNfonSign(h, vDateMs) != 0 || !strings.Contains(outputJoined(t), ":ofdQ9hgbzJ/n5f0iL2mXVXJ14T0=|") {
		t.Error("the module does not sign after a panic")
	}
}

func TestInputLengthsChecked(t *testing.T) {
	h := nfonHandle(t, vKeyID, vSecret)
	setInputs(t, "GET", "/", "", "", "")
	ctl[ctlInLen+1] = uint32(len(inBuf) + 1) // a length JS could never write
	if c, _ := failure(t, exportNfonSign(h, vDateMs)); c != "E_INTERNAL" {
		t.Errorf("bad lengths: %s", c)
	}
	if c, _ := failure(t, exportReserve(maxInput+1)); c != "E_INPUT" {
		t.Errorf("reserve over the limit: %s", c)
	}
	if exportReserve(1<<20) != 0 || ctl[ctlInCap] < 1<<20 || ctl[ctlInPtr] != addr(unsafePtr(inBuf)) {
		t.Error("reserve did not grow the buffer or publish it")
	}
}

func TestTimeArg(t *testing.T) {
	before := time.Now()
	now, err := timeArg(math.NaN(), "")
	if err != nil || now.Before(before.Add(-time.Second)) || now.After(time.Now().Add(time.Second)) {
		t.Errorf("now: %v %v", now, err)
	}
	for _, c := range []struct {
		ms   float64
		s    string
		want time.Time
		code signers.Code
	}{
		{vDateMs, "", time.UnixMilli(vDateMs), ""},
		{1.5, "", time.Unix(0, 1500000), ""},
		{-1000, "", time.Unix(-1, 0), ""},
		{math.NaN(), "2025-08-06T14:32:00Z", time.UnixMilli(vDateMs), ""},
		{math.NaN(), "2025-08-06T14:32:00.5-01:00", time.UnixMilli(vDateMs + 3600000 + 500), ""},
		{math.Inf(1), "", time.Time{}, signers.CodeInput},
		{9e15, "", time.Time{}, signers.CodeInput},
		{math.NaN(), "yesterday", time.Time{}, signers.CodeInput},
		{math.NaN(), "2025-08-06 14:32:00", time.Time{}, signers.CodeInput},
		{math.NaN(), strings.Repeat("9", 100), time.Time{}, signers.CodeInput},
	} {
		got, err := timeArg(c.ms, c.s)
		if signers.CodeOf(err) != c.code || c.code == "" && !got.Equal(c.want) {
			t.Errorf("timeArg(%v, %q) = %v, %v", c.ms, c.s, got, err)
		}
	}
}

// The generic functions against PROTOCOLS.md literals.
func TestCallVectors(t *testing.T) {
	setInputs(t, "Dev", "28f7d828-3f78-4482-a0ac-5f5a64edd4b4", "EI4fm9mmaLttvt5485x+YfOBNYKbb++cYG5HH/aZ8VfT2SdXLwrKHjKqCjckTsovVyoUm1x0CrMRM/wDFc1LTw==")
	kh := exportKey(kindKeyfax)
	setInputs(t, "POST", "https://keyfax.example.com/Interview/api/v1/startup", `{"mode":{"value":"ROL"},"company":{"value":"OL3_Dev"}}`, "3f2504e04f8941d39a0c0305e82c3301", "")
	if r := exportCall(fnKeyfaxBasic, kh, 1700000000000); r != 0 {
		c, m := failure(t, r)
		t.Fatal(c, m)
	}
	o := strings.Join(outputs(t), "|")
	if !strings.Contains(o, "s|signature|6yeZnOkqs/b/MrzpPDX0HkmVV2LcMU92A30vzj8zxwY=|") ||
		!strings.Contains(o, "h|Authorization|Basic Dev:28f7d828-3f78-4482-a0ac-5f5a64edd4b4:6yeZnOkqs/b/MrzpPDX0HkmVV2LcMU92A30vzj8zxwY=:3f2504e04f8941d39a0c0305e82c3301:1700000000|") {
		t.Errorf("keyfax basic: %s", o)
	}
	setInputs(t, "dev", "11e95f8ec39de8fbdb0a4f1a", "fortis-example-hash-key")
	fh := exportKey(kindFortis)
	setInputs(t, "")
	if r := exportCall(fnFortisHMAC, fh, 1422283692000); r != 0 || !strings.Contains(strings.Join(outputs(t), "|"), "h|hash-key|21800953f8bc7ead8de43c5dd22d4603297a32930571059e0efc54ff1668855a|") {
		t.Errorf("fortis hmac: %d %v", r, outputs(t))
	}
	// A handle of another kind is refused, a stale one reported.
	setInputs(t, "")
	if c, _ := failure(t, exportCall(fnFortisHMAC, kh, 1422283692000)); c != "E_KEY" {
		t.Errorf("keyfax handle for fortis: %s", c)
	}
	if r := exportCall(fnFortisHMAC, fh+1<<16, 0); r != retStale {
		t.Errorf("stale handle: %d", r)
	}
	setInputs(t)
	if c, _ := failure(t, exportCall(77, 0, 0)); c != "E_INPUT" {
		t.Errorf("unknown function: %s", c)
	}
}

func TestMessage(t *testing.T) {
	err := &respError{err: &signers.Error{Code: signers.CodeHTTP, Op: "x.y", Msg: "GET /p answered 500", Status: 500}}
	if m := message(err); m != "x.y: GET /p answered 500" {
		t.Errorf("message = %q", m)
	}
	if m := message(errors.New("plain")); m != "plain" {
		t.Errorf("message = %q", m)
	}
	if !bytes.Equal([]byte(message(signers.E(signers.CodeInput, "", "m"))), []byte("m")) {
		t.Error("message without op")
	}
}

func unsafePtr(b []byte) unsafe.Pointer { return unsafe.Pointer(unsafe.SliceData(b)) }
