package keyfax

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/apisign/apisign/signers"
)

// PROTOCOLS.md "Keyfax Web API" credentials.
const (
	vHost   = "Dev"
	vAPIKey = "28f7d828-3f78-4482-a0ac-5f5a64edd4b4"
	vKey    = "EI4fm9mmaLttvt5485x+YfOBNYKbb++cYG5HH/aZ8VfT2SdXLwrKHjKqCjckTsovVyoUm1x0CrMRM/wDFc1LTw=="
	vTS     = "1700000000"
	vNonce  = "3f2504e04f8941d39a0c0305e82c3301"
)

var vectors = []struct {
	name              string
	host, apiKey, key string
	method, uri       string
	body              []byte
	ts, nonce         string
	raw, sig          string
}{
	{
		name: "PROTOCOLS.md Keyfax POST startup",
		host: vHost, apiKey: vAPIKey, key: vKey,
		method: "POST", uri: "https://keyfax.example.com/Interview/api/v1/startup",
		body: []byte(`{"mode":{"value":"ROL"},"company":{"value":"OL3_Dev"}}`),
		ts:   vTS, nonce: vNonce,
		raw: "28f7d828-3f78-4482-a0ac-5f5a64edd4b4POSThttps%3a%2f%2fkeyfax.example.com%2finterview%2fapi%2fv1%2fstartup17000000003f2504e04f8941d39a0c0305e82c3301beGK/MLlAIQETlpsj43EuA==",
		sig: "6yeZnOkqs/b/MrzpPDX0HkmVV2LcMU92A30vzj8zxwY=",
	},
	{
		name: "PROTOCOLS.md Keyfax GET token, no body",
		host: vHost, apiKey: vAPIKey, key: vKey,
		method: "GET", uri: "https://keyfax.example.com/Interview/api/v1/token",
		ts: vTS, nonce: vNonce,
		raw: "28f7d828-3f78-4482-a0ac-5f5a64edd4b4GEThttps%3a%2f%2fkeyfax.example.com%2finterview%2fapi%2fv1%2ftoken17000000003f2504e04f8941d39a0c0305e82c3301",
		sig: "/FZFrOf4TNSrV8d9PzrCbv/IdKqC9QOWnxn4PwPR5yw=",
	},
	{
		// "Vectors from outside this project": the widely copied ASP.NET Web API
		// HMAC sample (Taiseer Joudeh) that keyfax.StringToSign follows.
		name: "third-party ASP.NET Web API HMAC sample",
		host: "Sample", apiKey: "4d53bce03ec34c0a911182d4c228ee6c", key: "A93reRTUJHsCuQSHR+L3GxqOJyDmQpCgps102ciuabc=",
		method: "POST", uri: "http://localhost:43326/api/orders",
		body: []byte(`{"OrderID":10248,"CustomerName":"Taiseer Joudeh","ShipperCity":"Amman","IsShipped":true}`),
		ts:   "1700000000", nonce: "0123456789abcdef0123456789abcdef",
		raw: "4d53bce03ec34c0a911182d4c228ee6cPOSThttp%3a%2f%2flocalhost%3a43326%2fapi%2forders17000000000123456789abcdef0123456789abcdef0moQeULsJyv2u6NRkmiAMA==",
		sig: "eiEwhI+5TKTp3R09ykW03s/5hncPIRmRYh13consbS4=",
	},
}

func TestVectors(t *testing.T) {
	for _, v := range vectors {
		t.Run(v.name, func(t *testing.T) {
			raw, err := StringToSign(v.apiKey, v.method, v.uri, v.ts, v.nonce, v.body)
			if err != nil {
				t.Fatal(err)
			}
			if raw != v.raw {
				t.Errorf("StringToSign\n got %s\nwant %s", raw, v.raw)
			}
			s, err := NewSigner(v.host, v.apiKey, v.key)
			if err != nil {
				t.Fatal(err)
			}
			signed, err := s.Basic(v.method, v.uri, v.body, v.ts, v.nonce)
			if err != nil {
				t.Fatal(err)
			}
			if signed.StringToSign != v.raw {
				t.Errorf("Signed.StringToSign = %s", signed.StringToSign)
			}
			if signed.Signature != v.sig {
				t.Errorf("signature = %s, want %s", signed.Signature, v.sig)
			}
			wantAuth := "Basic " + v.host + ":" + v.apiKey + ":" + v.sig + ":" + v.nonce + ":" + v.ts
			if got := signed.Header["Authorization"]; got != wantAuth {
				t.Errorf("Authorization = %s, want %s", got, wantAuth)
			}
			if len(signed.Header) != 1 {
				t.Errorf("header has %d fields, want only Authorization", len(signed.Header))
			}
		})
	}
}

func TestVectorAuthorizationLiteral(t *testing.T) {
	s, err := NewSigner(vHost, vAPIKey, vKey)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := s.Basic("POST", "https://keyfax.example.com/Interview/api/v1/startup",
		[]byte(`{"mode":{"value":"ROL"},"company":{"value":"OL3_Dev"}}`), vTS, vNonce)
	if err != nil {
		t.Fatal(err)
	}
	const want = "Basic Dev:28f7d828-3f78-4482-a0ac-5f5a64edd4b4:6yeZnOkqs/b/MrzpPDX0HkmVV2LcMU92A30vzj8zxwY=:3f2504e04f8941d39a0c0305e82c3301:1700000000"
	if got := signed.Header.Get("authorization"); got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
}

func TestUrlEncode(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", ""},
		{"abcXYZ019", "abcXYZ019"},
		{"a b", "a+b"},
		{"a+b", "a%2bb"},
		{"~", "%7e"},
		{"!*()", "!*()"},
		{"-_.", "-_."},
		{"'", "%27"},
		{"/:?=&#%", "%2f%3a%3f%3d%26%23%25"},
		{"é", "%c3%a9"},
		{"€", "%e2%82%ac"},
		{"😀", "%f0%9f%98%80"},
		{"\x00\x1f\x7f", "%00%1f%7f"},
		{"\xff\xfe", "%ff%fe"}, // invalid UTF-8: byte by byte, never U+FFFD
		{"https://Keyfax.example.com/A B?x=1&y=2", "https%3a%2f%2fKeyfax.example.com%2fA+B%3fx%3d1%26y%3d2"},
		{"[]{}|\\^`\"<>;,@$", "%5b%5d%7b%7d%7c%5c%5e%60%22%3c%3e%3b%2c%40%24"},
	}
	for _, c := range cases {
		if got := UrlEncode(c.in); got != c.want {
			t.Errorf("UrlEncode(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestWireURI(t *testing.T) {
	cases := []struct{ in, want string }{
		{"https://keyfax.example.com/Interview/api/v1/token", "https://keyfax.example.com/Interview/api/v1/token"},
		{"https://Keyfax.Example.com:443/A b?q=é#frag", "https://Keyfax.Example.com/A%20b?q=%C3%A9"},
		{"HTTP://h:80", "HTTP://h/"},
		{"http://h:443/", "http://h:443/"},
		{"https://h:80/", "https://h:80/"},
		{"http://h:8080?x=1", "http://h:8080/?x=1"},
		{"http://h:08080/", "http://h:8080/"},
		{"http://h:0000000080/", "http://h/"},
		{"http://h:0/", "http://h:0/"},
		{"http://h:/x", "http://h/x"},
		{"http://[::1]:8080/x", "http://[::1]:8080/x"},
		{"http://[::1]/x", "http://[::1]/x"},
		{"http://h/a%20b?c=%C3%A9&d=a+b", "http://h/a%20b?c=%C3%A9&d=a+b"}, // wire form unchanged
		{"http://h/%zz", "http://h/%zz"},
		{"http://h/a\tb\x7f", "http://h/a%09b%7F"},
		{"http://h/\"<>\\^`{|}", "http://h/%22%3C%3E%5C%5E%60%7B%7C%7D"},
		{"http://h/[]!$&'()*+,;=:@~", "http://h/[]!$&'()*+,;=:@~"},
		{"http://h/\xff", "http://h/%FF"},
	}
	for _, c := range cases {
		got, err := WireURI(c.in)
		if err != nil {
			t.Errorf("WireURI(%q): %v", c.in, err)
			continue
		}
		if got != c.want {
			t.Errorf("WireURI(%q) = %q, want %q", c.in, got, c.want)
		}
		if again, _ := WireURI(got); again != got {
			t.Errorf("WireURI not idempotent on %q: %q", got, again)
		}
	}
	bad := []string{"", "/relative", "keyfax.example.com/x", "ftp://h/", "mailto:x@y", "http:///x", "http://?x",
		"http://u@h/", "http://u:p@h/", "http://h:abc/", "http://h:70000/", "http://h:123456/", "http://h:0123456/", "http://h:99999999999999999999/", "http://h h/",
		"http://hé/", "http://[::1/x", "http://[::1]x/", "http://h\\x/", "http://a:b:c/"}
	for _, b := range bad {
		if _, err := WireURI(b); !errors.Is(err, signers.ErrInput) {
			t.Errorf("WireURI(%q) = %v, want E_INPUT", b, err)
		}
	}
}

func TestStringToSignNormalises(t *testing.T) {
	body := []byte("x")
	a, err := StringToSign("k", "post", "HTTPS://H.example:443/A b?Q=é#f", vTS, vNonce, body)
	if err != nil {
		t.Fatal(err)
	}
	b, err := StringToSign("k", "POST", "https://h.example/a%20b?q=%c3%a9", vTS, vNonce, body)
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Errorf("raw and wire forms sign differently:\n%s\n%s", a, b)
	}
	want := "kPOSThttps%3a%2f%2fh.example%2fa%2520b%3fq%3d%25c3%25a9" + vTS + vNonce + "ndTkYSaMgDT1yFZOFVxnpg=="
	if a != want {
		t.Errorf("got  %s\nwant %s", a, want)
	}
	// Empty and nil bodies both give an empty BodyMD5.
	e1, _ := StringToSign("k", "GET", "http://h/", vTS, vNonce, nil)
	e2, _ := StringToSign("k", "GET", "http://h/", vTS, vNonce, []byte{})
	if e1 != e2 || !strings.HasSuffix(e1, vNonce) {
		t.Errorf("empty body: %q %q", e1, e2)
	}
}

func TestStringToSignBadInput(t *testing.T) {
	ok := func() (string, string, string, string, string) {
		return "k", "GET", "http://h/", vTS, vNonce
	}
	type mod func(a, m, u, ts, n *string)
	cases := map[string]mod{
		"empty api key":      func(a, m, u, ts, n *string) { *a = "" },
		"api key colon":      func(a, m, u, ts, n *string) { *a = "a:b" },
		"api key space":      func(a, m, u, ts, n *string) { *a = "a b" },
		"empty method":       func(a, m, u, ts, n *string) { *m = "" },
		"method space":       func(a, m, u, ts, n *string) { *m = "GE T" },
		"method newline":     func(a, m, u, ts, n *string) { *m = "GET\n" },
		"method non-ascii":   func(a, m, u, ts, n *string) { *m = "GÉT" },
		"relative uri":       func(a, m, u, ts, n *string) { *u = "/api/v1/token" },
		"ftp uri":            func(a, m, u, ts, n *string) { *u = "ftp://h/" },
		"empty timestamp":    func(a, m, u, ts, n *string) { *ts = "" },
		"negative timestamp": func(a, m, u, ts, n *string) { *ts = "-1" },
		"float timestamp":    func(a, m, u, ts, n *string) { *ts = "1700000000.5" },
		"huge timestamp":     func(a, m, u, ts, n *string) { *ts = "1234567890123456789" },
		"short nonce":        func(a, m, u, ts, n *string) { *n = vNonce[:31] },
		"upper nonce":        func(a, m, u, ts, n *string) { *n = strings.ToUpper(vNonce) },
		"non-hex nonce":      func(a, m, u, ts, n *string) { *n = "g" + vNonce[1:] },
	}
	for name, f := range cases {
		a, m, u, ts, n := ok()
		f(&a, &m, &u, &ts, &n)
		if _, err := StringToSign(a, m, u, ts, n, nil); !errors.Is(err, signers.ErrInput) {
			t.Errorf("%s: err = %v, want E_INPUT", name, err)
		}
	}
}

func TestNewSignerBadInput(t *testing.T) {
	keys := []string{"", "not base64!", "QUJD\nREVG", "QUJDREVG\n", " QUJDREVG", "QUJDREV", "====", "QUJD-_==", "QUJDRA"}
	for _, k := range keys {
		_, err := NewSigner(vHost, vAPIKey, k)
		if !errors.Is(err, signers.ErrKey) {
			t.Errorf("key %q: err = %v, want E_KEY", k, err)
			continue
		}
		if k != "" && strings.Contains(err.Error(), strings.TrimSpace(k)) {
			t.Errorf("error message contains the key: %v", err)
		}
	}
	// A real-looking key that is one character short must not be echoed either.
	_, err := NewSigner(vHost, vAPIKey, vKey[:len(vKey)-1])
	if !errors.Is(err, signers.ErrKey) || strings.Contains(err.Error(), vKey[:20]) {
		t.Errorf("truncated key: %v", err)
	}
	for _, id := range []string{"", "a:b", "a b", "a\tb", "é", strings.Repeat("a", 300)} {
		if _, err := NewSigner(id, vAPIKey, vKey); !errors.Is(err, signers.ErrKey) {
			t.Errorf("host %q: err = %v, want E_KEY", id, err)
		}
		if _, err := NewSigner(vHost, id, vKey); !errors.Is(err, signers.ErrKey) {
			t.Errorf("api key %q: err = %v, want E_KEY", id, err)
		}
	}
}

func TestBasicBadInputHasNoSecret(t *testing.T) {
	s, err := NewSigner(vHost, vAPIKey, vKey)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ m, u, ts, n string }{
		{"", "http://h/", vTS, vNonce},
		{"GET", "h/x", vTS, vNonce},
		{"GET", "http://h/", "x", vNonce},
		{"GET", "http://h/", vTS, "x"},
	} {
		_, err := s.Basic(c.m, c.u, []byte("body"), c.ts, c.n)
		if !errors.Is(err, signers.ErrInput) {
			t.Errorf("%+v: %v, want E_INPUT", c, err)
			continue
		}
		if msg := err.Error(); strings.Contains(msg, vKey[:12]) || strings.Contains(msg, "body") {
			t.Errorf("message leaks: %s", msg)
		}
	}
}

func TestSignRequest(t *testing.T) {
	s, err := NewSigner(vHost, vAPIKey, vKey)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1700000000, 999)
	req := &signers.Request{Method: "post", URL: "https://keyfax.example.com/Interview/api/v1/startup",
		Body: []byte(`{"mode":{"value":"ROL"},"company":{"value":"OL3_Dev"}}`)}
	signed, err := s.SignRequest(req, now)
	if err != nil {
		t.Fatal(err)
	}
	if req.Method != "POST" {
		t.Errorf("method = %q, want POST", req.Method)
	}
	f, err := ParseBasic(req.Header.Get("Authorization"))
	if err != nil {
		t.Fatal(err)
	}
	if f.Timestamp != "1700000000" || f.HostName != vHost || f.ApiKey != vAPIKey || f.Signature != signed.Signature {
		t.Errorf("fields %+v", f)
	}
	again, _ := s.Basic("POST", req.URL, req.Body, f.Timestamp, f.Nonce)
	if again.Signature != signed.Signature {
		t.Error("SignRequest does not agree with Basic")
	}
	// A second signature uses a fresh nonce.
	req2 := &signers.Request{Method: "GET", URL: "https://keyfax.example.com/x", Header: signers.Header{"authorization": "old"}}
	if _, err := s.SignRequest(req2, now); err != nil {
		t.Fatal(err)
	}
	f2, _ := ParseBasic(req2.Header.Get("Authorization"))
	if f2.Nonce == f.Nonce {
		t.Error("nonce reused")
	}
	if len(req2.Header) != 1 {
		t.Errorf("old Authorization not replaced: %v", req2.Header)
	}
	if _, err := s.SignRequest(nil, now); !errors.Is(err, signers.ErrInput) {
		t.Errorf("nil request: %v", err)
	}
	if _, err := s.SignRequest(&signers.Request{Method: "GET", URL: "nope"}, now); !errors.Is(err, signers.ErrInput) {
		t.Errorf("bad URL: %v", err)
	}
}

func TestNonceAndTimestamp(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 100; i++ {
		n, err := NewNonce()
		if err != nil {
			t.Fatal(err)
		}
		if !validNonce(n) || seen[n] {
			t.Fatalf("nonce %q invalid or repeated", n)
		}
		seen[n] = true
	}
	if got := Timestamp(time.Date(2023, 11, 14, 23, 13, 20, 500, time.FixedZone("x", 3600))); got != "1700000000" {
		t.Errorf("Timestamp = %s", got)
	}
}

func TestConcurrentSigning(t *testing.T) {
	s, err := NewSigner(vHost, vAPIKey, vKey)
	if err != nil {
		t.Fatal(err)
	}
	v := vectors[0]
	done := make(chan string, 16)
	for i := 0; i < 16; i++ {
		go func() {
			var last string
			for j := 0; j < 50; j++ {
				signed, err := s.Basic(v.method, v.uri, v.body, v.ts, v.nonce)
				if err != nil {
					last = err.Error()
					break
				}
				if signed.Signature != v.sig {
					last = signed.Signature
					break
				}
			}
			done <- last
		}()
	}
	for i := 0; i < 16; i++ {
		if r := <-done; r != "" {
			t.Errorf("concurrent signing: %s", r)
		}
	}
}
