package nfon

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/apisign/apisign/internal/testkit"
	"github.com/apisign/apisign/signers"
)

// The docs/PROTOCOLS.md ("NFON") vectors.
const (
	vecKeyID  = "3697ad86-fa77-4b25-9373-02dce48530ff"
	vecSecret = "nfon-example-secret"
	vecDate   = "Wed, 06 Aug 2025 14:32:00 GMT"
	vecBody   = `{"data":[{"name":"displayName","value":"John Doe"},{"name":"displayNumber","value":"+49 (176) 12345678"}]}`
	vecMD5    = "4a51ed3a364b24112745d91921b177e5"
)

var vecTime = time.UnixMilli(1754490720000)

func mustSigner(t testing.TB, keyID, secret string) *Signer {
	t.Helper()
	s, err := NewSigner(keyID, secret)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestVectorTime(t *testing.T) {
	if got := vecTime.UTC().Format(DateLayout); got != vecDate {
		t.Fatalf("date = %q, want %q", got, vecDate)
	}
	if !vecTime.Equal(time.Date(2025, 8, 6, 14, 32, 0, 0, time.UTC)) {
		t.Fatal("epoch ms does not match 2025-08-06T14:32:00Z")
	}
}

func TestProtocolVectors(t *testing.T) {
	s := mustSigner(t, vecKeyID, vecSecret)
	cases := []struct {
		name    string
		req     Request
		sts     string
		sig     string
		headers signers.Header
	}{
		{
			name: "GET phone-books",
			req:  Request{Method: "GET", Resource: "/api/customers/K1234/phone-books", Date: vecTime},
			sts:  "GET\n" + vecDate + "\n/api/customers/K1234/phone-books",
			sig:  "ofdQ9hgbzJ/n5f0iL2mXVXJ14T0=",
		},
		{
			name: "GET with encoded query",
			req:  Request{Method: "GET", Resource: "/api/customers/K1234/phone-books?search=I%20Am%20Encoded", Date: vecTime},
			sts:  "GET\n" + vecDate + "\n/api/customers/K1234/phone-books?search=I%20Am%20Encoded",
			sig:  "7HXhfWhFeAJCqkOG1cmbBAZG/Xo=",
		},
		{
			name: "POST json",
			req: Request{Method: "POST", Resource: "/api/customers/K1234/phone-books", Date: vecTime,
				Body: []byte(vecBody), ContentType: "application/json"},
			sts: "POST\n" + vecMD5 + "\napplication/json\n" + vecDate + "\n/api/customers/K1234/phone-books",
			sig: "1OPtkwRjA5ElFXJhVQ7I4uqKdwI=",
			headers: signers.Header{
				"Content-MD5":  vecMD5,
				"Content-Type": "application/json",
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sts, err := StringToSign(c.req)
			if err != nil {
				t.Fatal(err)
			}
			if sts != c.sts {
				t.Fatalf("string to sign\n got %q\nwant %q", sts, c.sts)
			}
			if got := Signature(vecSecret, sts); got != c.sig {
				t.Fatalf("Signature = %q, want %q", got, c.sig)
			}
			signed, err := s.Sign(c.req)
			if err != nil {
				t.Fatal(err)
			}
			if signed.StringToSign != c.sts {
				t.Fatalf("Signed.StringToSign = %q", signed.StringToSign)
			}
			want := signers.Header{
				"Authorization": "NFON-API " + vecKeyID + ":" + c.sig,
				"x-nfon-date":   vecDate,
			}
			for k, v := range c.headers {
				want[k] = v
			}
			testkit.SameHeader(t, signed.Header, want)
			// Signing twice reuses the pooled keyed state and gives the same answer.
			again, _ := s.Sign(c.req)
			if again.Header["Authorization"] != want["Authorization"] {
				t.Fatal("second signature differs")
			}
		})
	}
}

// The third-party HMAC-level vector: the string to sign is given literally (it has
// the MD5/type lines on a GET, which NFON's own examples do not), so it checks the
// keyed HMAC-SHA1 and base64 only.
func TestThirdPartyHMACVector(t *testing.T) {
	const (
		secret = "4f5f5402-da77-410a-9aad-fd5ef74f746e"
		sts    = "GET\nd41d8cd98f00b204e9800998ecf8427e\napplication/json\nSun, 31 Dec 2023 12:00:00 GMT\n/api/customers"
		want   = "UpujUjJOS5jywvmHSyw9dTl0SmM="
	)
	if got := Signature(secret, sts); got != want {
		t.Fatalf("Signature = %q, want %q", got, want)
	}
	s := mustSigner(t, "any-key", secret)
	for i := 0; i < 3; i++ { // pooled keyed state, reused
		if got, err := s.Signature(sts); err != nil || got != want {
			t.Fatalf("Signer.Signature = %q, want %q", got, want)
		}
	}
}

func TestEncodeResource(t *testing.T) {
	cases := []struct {
		segs  []string
		query [][2]string
		want  string
	}{
		{nil, nil, "/"},
		{[]string{"api", "customers", "K1234", "phone-books"}, nil, "/api/customers/K1234/phone-books"},
		{[]string{"api", "devices", "Base Device"}, nil, "/api/devices/Base%20Device"},
		{[]string{"api", "x"}, [][2]string{{"search", "I Am Encoded"}}, "/api/x?search=I%20Am%20Encoded"},
		{[]string{"n", "+49 (176) 1"}, nil, "/n/%2B49%20%28176%29%201"},
		{[]string{"a/b", "c?d", "e#f"}, nil, "/a%2Fb/c%3Fd/e%23f"},
		{[]string{"a"}, [][2]string{{"k", "a=b"}, {"x y", "1+1&2"}}, "/a?k=a%3Db&x%20y=1%2B1%262"},
		{[]string{"Müller"}, nil, "/M%C3%BCller"},
		{[]string{"unreserved-._~AZaz09"}, [][2]string{{"", ""}}, "/unreserved-._~AZaz09?="},
		{[]string{"a", ""}, nil, "/a/"},
		{[]string{"100%"}, nil, "/100%25"},
		{[]string{"\x00\xff"}, nil, "/%00%FF"},
	}
	for _, c := range cases {
		got := EncodeResource(c.segs, c.query)
		if got != c.want {
			t.Errorf("EncodeResource(%q, %q) = %q, want %q", c.segs, c.query, got, c.want)
		}
		if n, err := NormalizeResource(got); err != nil || n != got {
			t.Errorf("NormalizeResource(%q) = %q, %v; want it unchanged", got, n, err)
		}
	}
}

func TestNormalizeResource(t *testing.T) {
	ok := []struct{ in, want string }{
		{"/", "/"},
		{"/api/customers/K1234/phone-books?search=I%20Am%20Encoded", "/api/customers/K1234/phone-books?search=I%20Am%20Encoded"},
		{"/api/devices/Base Device", "/api/devices/Base%20Device"},
		{"/api/devices/Base%20Device", "/api/devices/Base%20Device"},
		{"/a%2fb/%7E", "/a%2fb/%7E"}, // lower-case escapes kept as given
		{"/Müller", "/M%C3%BCller"},
		{"/M%C3%BCller", "/M%C3%BCller"},
		{"/x?q=a b&r=1+2", "/x?q=a%20b&r=1%2B2"},
		// NFON's special characters + / = are encoded where they are data.
		{"/api/customers/K1234/phone-books?search=+49", "/api/customers/K1234/phone-books?search=%2B49"},
		{"/x?q=a=b", "/x?q=a%3Db"},
		{"/x?q=a/b&r=c", "/x?q=a%2Fb&r=c"},
		{"/x?a&b=1=2&c==&=d", "/x?a&b=1%3D2&c=%3D&=d"},
		{"/a+b/c=d/e", "/a%2Bb/c%3Dd/e"},
		{"/x?q=%2B49&r=%3d", "/x?q=%2B49&r=%3d"}, // already encoded: as given
		{"/p;a=1/:@!$'()*+,;=?a=b&c?d", "/p;a%3D1/:@!$'()*%2B,;%3D?a=b&c?d"},
		{"/q\"<>[]\\^`{|}", "/q%22%3C%3E%5B%5D%5C%5E%60%7B%7C%7D"},
		{"/c\r\n\t\x00\x7f", "/c%0D%0A%09%00%7F"},
		{"/%41%42", "/%41%42"},
		{"//double", "//double"},
		{"/a?", "/a?"},
	}
	for _, c := range ok {
		got, err := NormalizeResource(c.in)
		if err != nil || got != c.want {
			t.Errorf("NormalizeResource(%q) = %q, %v; want %q", c.in, got, err, c.want)
			continue
		}
		if again, err := NormalizeResource(got); err != nil || again != got {
			t.Errorf("NormalizeResource not idempotent on %q: %q, %v", got, again, err)
		}
	}
	bad := []string{"", "api/x", "*", "http://h/x", "/a#frag", "/a?b#", "/%zz", "/%4", "/a%", "/a%g1", "/%%41"}
	for _, in := range bad {
		_, err := NormalizeResource(in)
		if !errors.Is(err, signers.ErrInput) {
			t.Errorf("NormalizeResource(%q) err = %v, want E_INPUT", in, err)
		}
	}
}

func TestContentRules(t *testing.T) {
	base := Request{Resource: "/api/x", Date: vecTime, Body: []byte("hello"), ContentType: "application/json"}
	const md5hello = "5d41402abc4b2a76b9719d911017c592"
	cases := []struct {
		method, ct string
		content    bool
	}{
		{"GET", "application/json", false},
		{"DELETE", "application/json", false},
		{"HEAD", "application/json", false},
		{"POST", "application/json", true},
		{"PUT", "application/json", true},
		{"PATCH", "application/json", true},
		{"patch", "application/json", true},
		{"POST", "audio/mpeg", false},
		{"PUT", "Audio/WAV; rate=8000", false},
		{"PATCH", " AUDIO/x-wav", false},
		{"POST", "audio/", true}, // no subtype: not an audio media type
		{"POST", "audiox/mpeg", true},
		{"POST", "application/audio", true},
	}
	for _, c := range cases {
		r := base
		r.Method, r.ContentType = c.method, c.ct
		sts, err := StringToSign(r)
		if c.ct == " AUDIO/x-wav" {
			// Not signed (audio), so the leading blank does not matter.
			if err != nil {
				t.Fatalf("%s %q: %v", c.method, c.ct, err)
			}
		} else if err != nil {
			t.Fatalf("%s %q: %v", c.method, c.ct, err)
		}
		m := strings.ToUpper(c.method)
		want := m + "\n" + vecDate + "\n/api/x"
		if c.content {
			want = m + "\n" + md5hello + "\n" + c.ct + "\n" + vecDate + "\n/api/x"
		}
		if sts != want {
			t.Errorf("%s %q: sts %q, want %q", c.method, c.ct, sts, want)
		}
		signed, err := mustSigner(t, "k", "s").Sign(r)
		if err != nil {
			t.Fatal(err)
		}
		_, hasMD5 := signed.Header["Content-MD5"]
		_, hasCT := signed.Header["Content-Type"]
		if hasMD5 != c.content || hasCT != (c.content && c.ct != "") {
			t.Errorf("%s %q: headers %v", c.method, c.ct, signed.Header)
		}
	}
}

// NFON: Content-Type is "Required for POST and PUT" (PATCH alike), except for an
// audio upload, which Request.Audio marks whatever its Content-Type.
func TestContentTypeRequired(t *testing.T) {
	for _, m := range []string{"POST", "PUT", "PATCH", "post"} {
		r := Request{Method: m, Resource: "/api/x", Date: vecTime, Body: []byte("{}")}
		if _, err := StringToSign(r); !errors.Is(err, signers.ErrInput) {
			t.Errorf("%s without Content-Type: %v, want E_INPUT", m, err)
		}
		if _, err := mustSigner(t, "k", "s").Sign(r); !errors.Is(err, signers.ErrInput) {
			t.Errorf("Sign %s without Content-Type: %v, want E_INPUT", m, err)
		}
		// An audio upload signs neither line, with or without a Content-Type.
		for _, ct := range []string{"", "multipart/form-data; boundary=x", "application/octet-stream"} {
			r.ContentType, r.Audio = ct, true
			signed, err := mustSigner(t, "k", "s").Sign(r)
			want := strings.ToUpper(m) + "\n" + vecDate + "\n/api/x"
			if err != nil || signed.StringToSign != want {
				t.Errorf("%s audio %q: %q, %v", m, ct, signed.StringToSign, err)
			}
			if _, ok := signed.Header["Content-MD5"]; ok || signed.Header["Content-Type"] != "" {
				t.Errorf("%s audio %q: headers %v", m, ct, signed.Header)
			}
		}
	}
	for _, m := range []string{"GET", "DELETE", "HEAD"} {
		if _, err := StringToSign(Request{Method: m, Resource: "/api/x", Date: vecTime}); err != nil {
			t.Errorf("%s needs no Content-Type: %v", m, err)
		}
	}
}

// The docs/PROTOCOLS.md ("NFON") case: "?search=+49" is the digits, so it is signed and sent as
// %2B49 whether the caller writes the query into the path or passes it as pairs;
// the signature is the one of the literal string to sign (Signature is checked
// against the vectors above).
func TestPlusIsALiteralPlus(t *testing.T) {
	s := mustSigner(t, vecKeyID, vecSecret)
	const want = "/api/customers/K1234/phone-books?search=%2B49"
	sts := "GET\n" + vecDate + "\n" + want
	for _, r := range []Request{
		{Method: "GET", Resource: "/api/customers/K1234/phone-books?search=+49", Date: vecTime},
		{Method: "GET", Resource: "/api/customers/K1234/phone-books", Query: [][2]string{{"search", "+49"}}, Date: vecTime},
		{Method: "GET", Resource: "/api/customers/K1234/phone-books?", Query: [][2]string{{"search", "+49"}}, Date: vecTime},
		{Method: "GET", Resource: want, Date: vecTime},
	} {
		signed, err := s.Sign(r)
		if err != nil || signed.Resource != want || signed.StringToSign != sts ||
			signed.Header["Authorization"] != "NFON-API "+vecKeyID+":"+Signature(vecSecret, sts) {
			t.Errorf("%q %q: %+v, %v", r.Resource, r.Query, signed, err)
		}
	}
	// Through a URL: the URL is rewritten to what was signed.
	req := &signers.Request{Method: "GET", URL: "https://portal-api.nfon.net:8090/api/customers/K1234/phone-books?search=+49"}
	if got, err := s.SignRequest(req, vecTime); err != nil || got != sts ||
		req.URL != "https://portal-api.nfon.net:8090"+want {
		t.Fatalf("SignRequest: %q, %v, URL %q", got, err, req.URL)
	}
}

func TestBuildResource(t *testing.T) {
	cases := []struct {
		path  string
		query [][2]string
		want  string
	}{
		{"/api/x", nil, "/api/x"},
		{"/api/x", [][2]string{{"search", "I Am Encoded"}}, "/api/x?search=I%20Am%20Encoded"},
		{"/api/x?a=1", [][2]string{{"b", "x=y/z"}}, "/api/x?a=1&b=x%3Dy%2Fz"},
		{"/api/x?a=1&", [][2]string{{"b", "2"}}, "/api/x?a=1&b=2"},
		{"/api/Base Device", [][2]string{{"k&v", "1&x=2"}, {"n", ""}}, "/api/Base%20Device?k%26v=1%26x%3D2&n="},
	}
	for _, c := range cases {
		got, err := BuildResource(c.path, c.query)
		if err != nil || got != c.want {
			t.Errorf("BuildResource(%q, %q) = %q, %v; want %q", c.path, c.query, got, err, c.want)
		}
	}
	if _, err := BuildResource("api/x", [][2]string{{"a", "b"}}); !errors.Is(err, signers.ErrInput) {
		t.Errorf("relative path: %v", err)
	}
}

func TestPatchVector(t *testing.T) {
	// PATCH is signed like POST/PUT; the expected value is computed from the
	// literal string to sign with the (vector-checked) Signature function.
	r := Request{Method: "PATCH", Resource: "/api/customers/K1234/phone-books/1", Date: vecTime,
		Body: []byte(vecBody), ContentType: "application/json"}
	want := "PATCH\n" + vecMD5 + "\napplication/json\n" + vecDate + "\n/api/customers/K1234/phone-books/1"
	signed, err := mustSigner(t, vecKeyID, vecSecret).Sign(r)
	if err != nil {
		t.Fatal(err)
	}
	if signed.StringToSign != want {
		t.Fatalf("sts %q", signed.StringToSign)
	}
	if signed.Header["Authorization"] != "NFON-API "+vecKeyID+":"+Signature(vecSecret, want) {
		t.Fatalf("Authorization %q", signed.Header["Authorization"])
	}
}

func TestDateIsUTC(t *testing.T) {
	loc := time.FixedZone("CEST", 2*3600)
	r := Request{Method: "GET", Resource: "/", Date: vecTime.In(loc).Add(999 * time.Millisecond)}
	sts, err := StringToSign(r)
	if err != nil {
		t.Fatal(err)
	}
	if sts != "GET\n"+vecDate+"\n/" {
		t.Fatalf("sts %q", sts)
	}
}

func TestBadInput(t *testing.T) {
	const secret = "very-secret-value"
	s := mustSigner(t, "key-1", secret)
	good := Request{Method: "POST", Resource: "/api/x", Date: vecTime, Body: []byte("{}"), ContentType: "application/json"}
	mod := func(f func(*Request)) Request { r := good; f(&r); return r }
	cases := []struct {
		name string
		req  Request
	}{
		{"empty method", mod(func(r *Request) { r.Method = "" })},
		{"method with space", mod(func(r *Request) { r.Method = "GET " })},
		{"method with newline", mod(func(r *Request) { r.Method = "GET\nX" })},
		{"method with digit", mod(func(r *Request) { r.Method = "G3T" })},
		{"method with dash", mod(func(r *Request) { r.Method = "M-SEARCH" })},
		{"method too long", mod(func(r *Request) { r.Method = strings.Repeat("A", 21) })},
		{"zero date", mod(func(r *Request) { r.Date = time.Time{} })},
		{"year 10000", mod(func(r *Request) { r.Date = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) })},
		{"empty resource", mod(func(r *Request) { r.Resource = "" })},
		{"relative resource", mod(func(r *Request) { r.Resource = "api/x" })},
		{"fragment", mod(func(r *Request) { r.Resource = "/api/x#top" })},
		{"bad escape", mod(func(r *Request) { r.Resource = "/api/%zz" })},
		{"content type CRLF", mod(func(r *Request) { r.ContentType = "application/json\r\nX-Evil: 1" })},
		{"content type trailing blank", mod(func(r *Request) { r.ContentType = "application/json " })},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := StringToSign(c.req)
			if !errors.Is(err, signers.ErrInput) {
				t.Fatalf("StringToSign err = %v, want E_INPUT", err)
			}
			_, err = s.Sign(c.req)
			if !errors.Is(err, signers.ErrInput) {
				t.Fatalf("Sign err = %v, want E_INPUT", err)
			}
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("secret in message %q", err)
			}
		})
	}
	// Lower-case methods are fine: they are signed upper case.
	if sts, err := StringToSign(mod(func(r *Request) { r.Method = "post" })); err != nil || !strings.HasPrefix(sts, "POST\n") {
		t.Fatalf("lower-case method: %q, %v", sts, err)
	}
	// A content type that is not signed (GET) is not checked.
	if _, err := StringToSign(mod(func(r *Request) { r.Method = "GET"; r.ContentType = "x\n" })); err != nil {
		t.Fatalf("unsigned content type checked: %v", err)
	}
}

func TestNewSignerErrors(t *testing.T) {
	const secret = "very-secret-value"
	for _, c := range []struct{ keyID, secret string }{
		{"", secret},
		{"key", ""},
		{"key:1", secret},
		{"key 1", secret},
		{"key\t1", secret},
		{"key\n1", secret},
		{"kéy", secret},
	} {
		s, err := NewSigner(c.keyID, c.secret)
		if s != nil || !errors.Is(err, signers.ErrKey) {
			t.Errorf("NewSigner(%q) = %v, %v; want E_KEY", c.keyID, s, err)
			continue
		}
		if strings.Contains(err.Error(), secret) || (c.keyID != "" && strings.Contains(err.Error(), c.keyID)) {
			t.Errorf("message leaks a value: %q", err)
		}
	}
	var zero Signer
	if _, err := zero.Sign(Request{Method: "GET", Resource: "/", Date: vecTime}); !errors.Is(err, signers.ErrKey) {
		t.Errorf("zero Signer: %v", err)
	}
	if _, err := zero.Signature("x"); !errors.Is(err, signers.ErrKey) {
		t.Errorf("zero Signer Signature: %v", err)
	}
	var nilSigner *Signer
	if _, err := nilSigner.Signature("x"); !errors.Is(err, signers.ErrKey) || nilSigner.KeyID() != "" {
		t.Errorf("nil Signer Signature: %v", err)
	}
	if _, err := nilSigner.SignRequest(&signers.Request{Method: "GET", URL: "https://h/x"}, vecTime); !errors.Is(err, signers.ErrKey) {
		t.Errorf("nil Signer SignRequest: %v", err)
	}
	if _, err := nilSigner.Sign(Request{Method: "GET", Resource: "/", Date: vecTime}); !errors.Is(err, signers.ErrKey) {
		t.Errorf("nil Signer: %v", err)
	}
}

func TestSignRequest(t *testing.T) {
	s := mustSigner(t, vecKeyID, vecSecret)
	req := &signers.Request{
		Method: "POST",
		URL:    "https://portal-api.nfon.net:8090/api/customers/K1234/phone-books#ignored",
		Header: signers.Header{"content-type": "application/json", "Content-MD5": "stale"},
		Body:   []byte(vecBody),
	}
	sts, err := s.SignRequest(req, vecTime)
	if err != nil {
		t.Fatal(err)
	}
	if sts != "POST\n"+vecMD5+"\napplication/json\n"+vecDate+"\n/api/customers/K1234/phone-books" {
		t.Fatalf("sts %q", sts)
	}
	if got := req.Header.Get("Authorization"); got != "NFON-API "+vecKeyID+":1OPtkwRjA5ElFXJhVQ7I4uqKdwI=" {
		t.Fatalf("Authorization %q", got)
	}
	if req.Header.Get("Content-MD5") != vecMD5 || req.Header.Get("x-nfon-date") != vecDate {
		t.Fatalf("headers %v", req.Header)
	}
	n := 0
	for k := range req.Header {
		if strings.EqualFold(k, "content-md5") {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("Content-MD5 set %d times: %v", n, req.Header)
	}

	// The encoded query vector through a URL; the URL is left alone.
	const u2 = "https://portal-api.nfon.net:8090/api/customers/K1234/phone-books?search=I%20Am%20Encoded"
	req2 := &signers.Request{Method: "get", URL: u2}
	if _, err := s.SignRequest(req2, vecTime); err != nil {
		t.Fatal(err)
	}
	if req2.Header.Get("Authorization") != "NFON-API "+vecKeyID+":7HXhfWhFeAJCqkOG1cmbBAZG/Xo=" || req2.URL != u2 {
		t.Fatalf("req2 %+v", req2)
	}

	// A raw space in the query is encoded, and the URL rewritten to what was signed.
	req3 := &signers.Request{Method: "GET", URL: "https://user:pw@h.example/api/Base Device?q=a b"}
	sts, err = s.SignRequest(req3, vecTime)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(sts, "\n/api/Base%20Device?q=a%20b") {
		t.Fatalf("sts %q", sts)
	}
	if req3.URL != "https://user:pw@h.example/api/Base%20Device?q=a%20b" {
		t.Fatalf("URL %q", req3.URL)
	}

	// Empty path signs "/".
	req4 := &signers.Request{Method: "GET", URL: "https://h.example"}
	if sts, err := s.SignRequest(req4, vecTime); err != nil || !strings.HasSuffix(sts, "\n/") {
		t.Fatalf("empty path: %q, %v", sts, err)
	}

	for _, bad := range []string{"", "/api/x", "https://h/%zz", "mailto:x@y", "https://h/\x7f"} {
		r := &signers.Request{Method: "GET", URL: bad}
		if _, err := s.SignRequest(r, vecTime); !errors.Is(err, signers.ErrInput) {
			t.Errorf("SignRequest(%q): %v, want E_INPUT", bad, err)
		}
	}
	if _, err := s.SignRequest(nil, vecTime); !errors.Is(err, signers.ErrInput) {
		t.Errorf("nil request: %v", err)
	}
}

// SignRequest sends no header that contradicts the string to sign: a GET or
// DELETE loses the caller's Content-Type (in any case of its name); a POST
// keeps it. SignAudioRequest signs an upload as audio whatever its type and
// leaves its Content-Type on.
func TestSignRequestContentType(t *testing.T) {
	s := mustSigner(t, vecKeyID, vecSecret)
	const u = "https://portal-api.nfon.net:8090/api/customers/K1234/phone-books"
	for _, m := range []string{"GET", "delete", "HEAD"} {
		req := &signers.Request{Method: m, URL: u, Header: signers.Header{"content-type": "application/json", "Content-Type": "text/plain"}}
		if _, err := s.SignRequest(req, vecTime); err != nil {
			t.Fatal(err)
		}
		for k := range req.Header {
			if strings.EqualFold(k, "Content-Type") {
				t.Errorf("%s: Content-Type %q sent, not signed", m, req.Header[k])
			}
		}
	}
	post := &signers.Request{Method: "POST", URL: u, Header: signers.Header{"Content-Type": "application/json"}, Body: []byte(vecBody)}
	if _, err := s.SignRequest(post, vecTime); err != nil || post.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("POST: %v %v", err, post.Header)
	}
	const form = "multipart/form-data; boundary=b"
	up := &signers.Request{Method: "PUT", URL: "https://h.example/api/customers/K1234/announcements/welcome", Header: signers.Header{"Content-Type": form}, Body: []byte("RIFF")}
	sts, err := s.SignAudioRequest(up, vecTime)
	if err != nil {
		t.Fatal(err)
	}
	if sts != "PUT\n"+vecDate+"\n/api/customers/K1234/announcements/welcome" || up.Header.Get("Content-Type") != form || up.Header.Get("Content-MD5") != "" {
		t.Fatalf("audio: sts %q, headers %v", sts, up.Header)
	}
	if sts, err := s.SignRequest(&signers.Request{Method: "PUT", URL: up.URL, Header: signers.Header{"Content-Type": form}, Body: []byte("RIFF")}, vecTime); err != nil || !strings.Contains(sts, form) {
		t.Fatalf("not marked as audio: %q %v", sts, err)
	}
}

func BenchmarkSign(b *testing.B) {
	s := mustSigner(b, vecKeyID, vecSecret)
	r := Request{Method: "GET", Resource: "/api/customers/K1234/phone-books?search=I%20Am%20Encoded", Date: vecTime}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Sign(r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStringToSignPOST(b *testing.B) {
	r := Request{Method: "POST", Resource: "/api/customers/K1234/phone-books", Date: vecTime,
		Body: []byte(vecBody), ContentType: "application/json"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := StringToSign(r); err != nil {
			b.Fatal(err)
		}
	}
}
