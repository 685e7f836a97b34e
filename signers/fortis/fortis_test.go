package fortis

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apisign/apisign/internal/testkit"
	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/clock"
	"github.com/apisign/apisign/signers/flow"
	"github.com/apisign/apisign/signers/internal/nodecheck"
	"github.com/apisign/apisign/signers/token"
)

// docs/PROTOCOLS.md "Fortis" and "Vectors from outside this project" (Fortis' own
// documentation), as literals.
func TestHashKeyVectors(t *testing.T) {
	for _, v := range []struct{ user, ts, key, want string }{
		{"11e95f8ec39de8fbdb0a4f1a", "1422283692", "fortis-example-hash-key",
			"21800953f8bc7ead8de43c5dd22d4603297a32930571059e0efc54ff1668855a"},
		{"my_user_id", "1234567890", "my_user_hash_key",
			"fc62408f3d419105e38287b84fd7ff0581a64a31d18f95183c58c61aa9727ed9"},
	} {
		got, err := HashKey(v.user, v.ts, v.key)
		if err != nil || got != v.want {
			t.Errorf("HashKey(%q, %q) = %q, %v; want %q", v.user, v.ts, got, err, v.want)
		}
	}
}

func TestHMACVector(t *testing.T) {
	s, err := HMAC("dev-1", "11e95f8ec39de8fbdb0a4f1a", "fortis-example-hash-key", time.Unix(1422283692, 999e6).In(time.FixedZone("X", 3600)))
	if err != nil {
		t.Fatal(err)
	}
	want := signers.Header{
		"developer-id": "dev-1",
		"user-id":      "11e95f8ec39de8fbdb0a4f1a",
		"timestamp":    "1422283692",
		"hash-key":     "21800953f8bc7ead8de43c5dd22d4603297a32930571059e0efc54ff1668855a",
	}
	testkit.SameHeader(t, s.Header, want)
	if s.StringToSign != "11e95f8ec39de8fbdb0a4f1a1422283692" {
		t.Errorf("StringToSign = %q", s.StringToSign)
	}
}

func TestSignerReusesStateConsistently(t *testing.T) {
	s, err := NewHMACSigner("d", "my_user_id", "my_user_hash_key")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ { // pooled keyed states must be reset between uses
		got, err := s.Sign(time.Unix(1234567890, 0))
		if err != nil || got.Header["hash-key"] != "fc62408f3d419105e38287b84fd7ff0581a64a31d18f95183c58c61aa9727ed9" {
			t.Fatalf("round %d: %v %v", i, got.Header, err)
		}
	}
}

var t1 = time.Unix(1422283692, 0)

var st0 = time.Date(2025, 8, 6, 14, 32, 0, 0, time.UTC)

func lookupAll(key string) func(string) (string, bool) {
	return func(string) (string, bool) { return key, true }
}

func TestVerifyAcceptsSignedRejectsOneByteChange(t *testing.T) {
	const key = "fortis-example-hash-key"
	s, err := HMAC("dev", "11e95f8ec39de8fbdb0a4f1a", key, t1)
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyHMAC(s.Header, lookupAll(key), t1, 0); err != nil {
		t.Fatalf("verify own signature: %v", err)
	}
	for _, field := range []string{"user-id", "timestamp", "hash-key"} {
		v := s.Header[field]
		for i := 0; i < len(v); i++ {
			b := []byte(v)
			switch {
			case b[i] >= '0' && b[i] < '9':
				b[i]++
			case b[i] == '9':
				b[i] = '8'
			case b[i] >= 'a' && b[i] <= 'f':
				b[i] -= 32 // same hex digit, upper case: must still be refused
			default:
				b[i] ^= 1
			}
			h := s.Header.Clone()
			h[field] = string(b)
			err := VerifyHMAC(h, lookupAll(key), t1, 0)
			if !errors.Is(err, signers.ErrSignature) {
				t.Errorf("%s[%d] changed to %q: err = %v", field, i, b, err)
			}
		}
	}
	// Wrong key.
	if err := VerifyHMAC(s.Header, lookupAll("other"), t1, 0); !errors.Is(err, signers.ErrSignature) {
		t.Errorf("wrong key: %v", err)
	}
	// developer-id is not signed: changing it does not matter to the HMAC.
	h := s.Header.Clone()
	h["developer-id"] = "x"
	if err := VerifyHMAC(h, lookupAll(key), t1, 0); err != nil {
		t.Errorf("developer-id change: %v", err)
	}
	// Header names in another case (net/http canonicalises them).
	hc := signers.Header{"User-Id": s.Header["user-id"], "Timestamp": s.Header["timestamp"], "Hash-Key": s.Header["hash-key"]}
	if err := VerifyHMAC(hc, lookupAll(key), t1, 0); err != nil {
		t.Errorf("canonical names: %v", err)
	}
}

func TestVerifyWindow(t *testing.T) {
	const key = "k"
	s, _ := HMAC("dev", "u", key, t1)
	for _, c := range []struct {
		now    time.Time
		window time.Duration
		ok     bool
	}{
		{t1.Add(15 * time.Minute), 0, true},
		{t1.Add(-15 * time.Minute), 0, true},
		{t1.Add(15*time.Minute + time.Second), 0, false},
		{t1.Add(-15*time.Minute - time.Second), 0, false},
		{t1.Add(5 * time.Minute), time.Minute, false},
		{t1.Add(59 * time.Second), time.Minute, true},
		{t1.Add(100 * 365 * 24 * time.Hour), 0, false},
	} {
		err := VerifyHMAC(s.Header, lookupAll(key), c.now, c.window)
		if c.ok && err != nil || !c.ok && !errors.Is(err, signers.ErrClock) {
			t.Errorf("now %v window %v: %v", c.now.Sub(t1), c.window, err)
		}
	}
	// A tampered signature outside the window is E_SIGNATURE, not E_CLOCK.
	h := s.Header.Clone()
	h["hash-key"] = strings.Repeat("0", 64)
	if err := VerifyHMAC(h, lookupAll(key), t1.Add(time.Hour), 0); !errors.Is(err, signers.ErrSignature) {
		t.Errorf("tampered + late: %v", err)
	}
}

func TestVerifyBadInput(t *testing.T) {
	s, _ := HMAC("dev", "u", "k", t1)
	for name, c := range map[string]struct {
		mod  func(signers.Header)
		want error
	}{
		"no user":        {func(h signers.Header) { delete(h, "user-id") }, signers.ErrInput},
		"no timestamp":   {func(h signers.Header) { delete(h, "timestamp") }, signers.ErrInput},
		"no hash":        {func(h signers.Header) { delete(h, "hash-key") }, signers.ErrInput},
		"ms timestamp":   {func(h signers.Header) { h["timestamp"] = "1422283692.5" }, signers.ErrInput},
		"neg timestamp":  {func(h signers.Header) { h["timestamp"] = "-1422283692" }, signers.ErrInput},
		"lead zero":      {func(h signers.Header) { h["timestamp"] = "01422283692" }, signers.ErrInput},
		"huge timestamp": {func(h signers.Header) { h["timestamp"] = "9999999999999999999" }, signers.ErrInput},
	} {
		h := s.Header.Clone()
		c.mod(h)
		if err := VerifyHMAC(h, lookupAll("k"), t1, 0); !errors.Is(err, c.want) {
			t.Errorf("%s: %v", name, err)
		}
	}
	none := func(string) (string, bool) { return "", false }
	if err := VerifyHMAC(s.Header, none, t1, 0); !errors.Is(err, signers.ErrSignature) {
		t.Errorf("unknown user: %v", err)
	}
	if err := VerifyHMAC(s.Header, nil, t1, 0); !errors.Is(err, signers.ErrConfig) {
		t.Errorf("nil lookup: %v", err)
	}
}

const secret = "s3cr3t-Value-do-not-print"

func checkErr(t *testing.T, name string, err, want error) {
	t.Helper()
	testkit.CheckErr(t, name, err, want, secret)
}

func TestBadInput(t *testing.T) {
	_, err := HashKey("", "1", secret)
	checkErr(t, "HashKey empty user", err, signers.ErrInput)
	_, err = HashKey("u", "", secret)
	checkErr(t, "HashKey empty ts", err, signers.ErrInput)
	_, err = HashKey("u", "12a", secret)
	checkErr(t, "HashKey bad ts", err, signers.ErrInput)
	_, err = HashKey("u", "1", "")
	checkErr(t, "HashKey empty key", err, signers.ErrKey)

	_, err = HMAC("", "u", secret, t1)
	checkErr(t, "HMAC empty dev", err, signers.ErrInput)
	_, err = HMAC("d", "", secret, t1)
	checkErr(t, "HMAC empty user", err, signers.ErrInput)
	_, err = HMAC("d", "u\r\nX: y", secret, t1)
	checkErr(t, "HMAC header injection", err, signers.ErrInput)
	_, err = HMAC("d", "ü", secret, t1)
	checkErr(t, "HMAC non-ASCII user", err, signers.ErrInput)
	_, err = HMAC("d", "u", "", t1)
	checkErr(t, "HMAC empty key", err, signers.ErrKey)
	_, err = HMAC("d", "u", secret, time.Time{})
	checkErr(t, "HMAC zero time", err, signers.ErrInput)
	_, err = HMAC("d", "u", secret, time.Unix(-5, 0))
	checkErr(t, "HMAC before 1970", err, signers.ErrInput)

	for _, m := range []Mode{"", "Headers", "bearer", "basic "} {
		_, err = APIKey("d", "u", secret, m)
		checkErr(t, "APIKey mode "+string(m), err, signers.ErrInput)
	}
	for _, m := range []Mode{ModeHeaders, ModeQuery, ModeBasic} {
		_, err = APIKey("d", "u", "", m)
		checkErr(t, "APIKey empty key "+string(m), err, signers.ErrKey)
		_, err = APIKey("", "u", secret, m)
		checkErr(t, "APIKey empty dev "+string(m), err, signers.ErrInput)
		_, err = APIKey("d", "", secret, m)
		checkErr(t, "APIKey empty user "+string(m), err, signers.ErrInput)
		_, err = APIKey("d", "u\n", secret, m)
		checkErr(t, "APIKey control char "+string(m), err, signers.ErrInput)
	}
	_, err = APIKey("d", "a:b", secret, ModeBasic)
	checkErr(t, "APIKey colon", err, signers.ErrInput)
	_, err = APIKey("d", "u", secret+"\n", ModeHeaders)
	checkErr(t, "APIKey key newline", err, signers.ErrKey)

	for _, tok := range []string{"", "a b", "a\nb", "ä", secret + " "} {
		_, err = Bearer(tok)
		checkErr(t, "Bearer "+strconv.Quote(tok), err, signers.ErrToken)
	}
	_, err = AppendQuery("/relative", nil)
	checkErr(t, "AppendQuery relative", err, signers.ErrInput)
	checkErr(t, "ApplyTo nil", Auth{}.ApplyTo(nil), signers.ErrInput)
}

func TestAPIKeyModes(t *testing.T) {
	a, err := APIKey("dev", "user1", "key1", ModeHeaders)
	if err != nil || len(a.Query) != 0 || len(a.Header) != 3 ||
		a.Header["developer-id"] != "dev" || a.Header["user-id"] != "user1" || a.Header["user-api-key"] != "key1" {
		t.Errorf("headers: %+v %v", a, err)
	}
	a, err = APIKey("dev", "user1", "key1", ModeQuery)
	if err != nil || len(a.Header) != 0 || len(a.Query) != 3 ||
		a.Query[0] != [2]string{"developer-id", "dev"} || a.Query[1] != [2]string{"user-id", "user1"} || a.Query[2] != [2]string{"user-api-key", "key1"} {
		t.Errorf("query: %+v %v", a, err)
	}
	a, err = APIKey("dev", "user1", "key1", "basic") // the string the JS API passes
	if err != nil || len(a.Query) != 0 || len(a.Header) != 2 ||
		a.Header["developer-id"] != "dev" || a.Header["Authorization"] != "Basic dXNlcjE6a2V5MQ==" {
		t.Errorf("basic: %+v %v", a, err)
	}
	// RFC 7617: UTF-8 bytes; a colon in the key is fine (the first colon splits).
	a, _ = APIKey("dev", "Ünïcode", "k:ey ✓", ModeBasic)
	raw, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(a.Header["Authorization"], "Basic "))
	if string(raw) != "Ünïcode:k:ey ✓" {
		t.Errorf("basic unicode: %q", raw)
	}
}

func TestApplyTo(t *testing.T) {
	a, _ := APIKey("dev 1", "u+1", "k&=*~", ModeQuery)
	for _, c := range []struct{ in, want string }{
		{"https://api.example.com/v2/contacts", "https://api.example.com/v2/contacts?developer-id=dev+1&user-id=u%2B1&user-api-key=k%26%3D%2A~"},
		{"https://api.example.com/v2/contacts?page=2&x=%20", "https://api.example.com/v2/contacts?page=2&x=%20&developer-id=dev+1&user-id=u%2B1&user-api-key=k%26%3D%2A~"},
		{"https://api.example.com/v2/contacts?", "https://api.example.com/v2/contacts?developer-id=dev+1&user-id=u%2B1&user-api-key=k%26%3D%2A~"},
		{"https://api.example.com/x#frag", "https://api.example.com/x?developer-id=dev+1&user-id=u%2B1&user-api-key=k%26%3D%2A~#frag"},
	} {
		req := &signers.Request{Method: "GET", URL: c.in}
		if err := a.ApplyTo(req); err != nil || req.URL != c.want {
			t.Errorf("ApplyTo(%q) = %q, %v", c.in, req.URL, err)
		}
		u, _ := url.Parse(req.URL)
		if q := u.Query(); q.Get("developer-id") != "dev 1" || q.Get("user-id") != "u+1" || q.Get("user-api-key") != "k&=*~" {
			t.Errorf("decoded %v", q)
		}
	}
	h, _ := APIKey("dev", "u", "k", ModeHeaders)
	req := &signers.Request{Method: "GET", URL: "https://x.test/", Header: signers.Header{"User-Id": "old"}}
	if err := h.ApplyTo(req); err != nil || req.Header.Get("user-id") != "u" || len(req.Header) != 3 || req.URL != "https://x.test/" {
		t.Errorf("header ApplyTo: %v %v", req, err)
	}
}

func TestBearer(t *testing.T) {
	if b, err := Bearer("eyJ.abc-_~+/="); err != nil || b != "Bearer eyJ.abc-_~+/=" {
		t.Errorf("%q %v", b, err)
	}
}

func TestParseOpenResponse(t *testing.T) {
	o, err := ParseOpenResponse(200, []byte(`{"type":"Token","token":{"token":"abc123","expire":15,"user_id":"u"}}`))
	if err != nil || o.Token != "abc123" || o.Expire != 15*time.Minute {
		t.Errorf("good: %+v %v", o, err)
	}
	for name, body := range map[string]string{
		"not JSON":       `<html>`,
		"empty":          ``,
		"null":           `null`,
		"no token obj":   `{"expire":15}`,
		"token string":   `{"token":"abc"}`,
		"no token.token": `{"token":{"expire":15}}`,
		"empty token":    `{"token":{"token":"","expire":15}}`,
		"token w/ space": `{"token":{"token":"a b","expire":15}}`,
		"no expire":      `{"token":{"token":"abc"}}`,
		"null expire":    `{"token":{"token":"abc","expire":null}}`,
		"zero expire":    `{"token":{"token":"abc","expire":0}}`,
		"neg expire":     `{"token":{"token":"abc","expire":-1}}`,
		"frac expire":    `{"token":{"token":"abc","expire":1.5}}`,
		"string expire":  `{"token":{"token":"abc","expire":"15"}}`,
		"trailing":       `{"token":{"token":"abc","expire":15}} x`,
	} {
		if _, err := ParseOpenResponse(200, []byte(body)); !errors.Is(err, signers.ErrToken) {
			t.Errorf("%s: %v", name, err)
		}
	}
	_, err = ParseOpenResponse(401, []byte(`{"token":{"token":"abc","expire":15}}`))
	var e *signers.Error
	if !errors.Is(err, signers.ErrHTTP) || !errors.As(err, &e) || e.Status != 401 {
		t.Errorf("401: %v", err)
	}
}

// Seed 001, "POST /v2/token": the request and the answer as the document shows
// them.
func TestTokenMethodSeedExample(t *testing.T) {
	r, err := OpenRequest("https://api.example.com", "dev", "myusername", "xxxxxxxx", "xxxx.sandbox.domain.com")
	if err != nil {
		t.Fatal(err)
	}
	var in map[string]string
	if err := json.Unmarshal(r.Body, &in); err != nil || len(in) != 3 || in["username"] != "myusername" ||
		in["password"] != "xxxxxxxx" || in["domain"] != "xxxx.sandbox.domain.com" {
		t.Fatalf("body %s: %v", r.Body, err)
	}
	o, err := ParseOpenResponse(200, []byte(testkit.FortisDocOpened))
	if err != nil || o.Token != "abcdefghijklmnop" || o.Expire != 15*time.Minute {
		t.Fatalf("%+v, %v", o, err)
	}
	// "GET /v2/contacts?access-token=3pPzNQstYfXDCE5x", "DELETE /v2/token/3pPzNQstYfXDCE5x".
	d, err := CloseRequest("https://api.example.com", "dev", "3pPzNQstYfXDCE5x")
	if err != nil || d.Method != "DELETE" || d.URL != "https://api.example.com/v2/token/3pPzNQstYfXDCE5x" {
		t.Fatalf("%+v, %v", d, err)
	}
}

func TestOpenCloseRequest(t *testing.T) {
	r, err := OpenRequest("https://api.example.com/", "dev", "me@example.com", `pa"ss`, "xxxx.sandbox.domain.com")
	if err != nil {
		t.Fatal(err)
	}
	if r.Method != "POST" || r.URL != "https://api.example.com/v2/token" || r.Header["developer-id"] != "dev" ||
		r.Header["Content-Type"] != "application/json" ||
		string(r.Body) != `{"username":"me@example.com","password":"pa\"ss","domain":"xxxx.sandbox.domain.com"}` {
		t.Errorf("%+v %s", r, r.Body)
	}
	r, err = CloseRequest("https://api.example.com/base", "dev", "tok/1")
	if err != nil || r.Method != "DELETE" || r.URL != "https://api.example.com/base/v2/token/tok%2F1" ||
		r.Header["access-token"] != "tok/1" || r.Header["developer-id"] != "dev" {
		t.Errorf("%+v %v", r, err)
	}
	for _, u := range []string{"", "api.example.com", "ftp://x/", "https:///x", "https://x/?a=1", "https://x/#f", "https://u:p@x/"} {
		_, err := OpenRequest(u, "d", "u", secret, "dom")
		checkErr(t, "OpenRequest URL "+u, err, signers.ErrInput)
	}
	_, err = OpenRequest("https://x", "d", "u", "", "dom")
	checkErr(t, "OpenRequest empty password", err, signers.ErrKey)
	// Seed 001, POST /v2/token: "domain": "xxxx.sandbox.domain.com" //REQUIRED.
	_, err = OpenRequest("https://x", "d", "u", secret, "")
	checkErr(t, "OpenRequest empty domain", err, signers.ErrInput)
	_, err = CloseRequest("https://x", "d", "")
	checkErr(t, "CloseRequest empty token", err, signers.ErrToken)
}

func FuzzHashKey(f *testing.F) {
	f.Add("11e95f8ec39de8fbdb0a4f1a", "1422283692", "fortis-example-hash-key")
	f.Add("my_user_id", "1234567890", "my_user_hash_key")
	f.Add("", "", "")
	f.Add("ü", "0", "\x00")
	f.Fuzz(func(t *testing.T, user, ts, key string) {
		h, err := HashKey(user, ts, key)
		if err != nil {
			if c := signers.CodeOf(err); c != signers.CodeInput && c != signers.CodeKey {
				t.Fatalf("code %s", c)
			}
			return
		}
		if len(h) != 64 || strings.ToLower(h) != h {
			t.Fatalf("hash %q", h)
		}
		if !printableASCII(user) {
			return
		}
		sec, _ := strconv.ParseInt(ts, 10, 64)
		s, err := HMAC("d", user, key, time.Unix(sec, 0))
		if err != nil || s.Header["hash-key"] != h {
			t.Fatalf("HMAC disagrees: %v %v", s, err)
		}
		if err := VerifyHMAC(s.Header, lookupAll(key), time.Unix(sec, 0), 0); err != nil {
			t.Fatal(err)
		}
	})
}

func FuzzParseOpenResponse(f *testing.F) {
	f.Add(200, []byte(`{"token":{"token":"abc","expire":15}}`))
	f.Add(201, []byte(`{"token":{"token":"abc","expire":99999999999}}`))
	f.Add(500, []byte(``))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		o, err := ParseOpenResponse(status, body)
		if err == nil && (o.Token == "" || o.Expire <= 0) {
			t.Fatalf("accepted %+v", o)
		}
	})
}

func FuzzAPIKey(f *testing.F) {
	f.Add("dev", "user", "key", "basic")
	f.Add("d", "a:b", "k", "query")
	f.Add("d", "u", "k", "headers")
	f.Fuzz(func(t *testing.T, dev, user, key, mode string) {
		if key != "" {
			key = "Zq9!" + key // a prefix no error message contains, so a leak is detectable
		}
		a, err := APIKey(dev, user, key, Mode(mode))
		if err != nil {
			if key != "" && strings.Contains(err.Error(), key) {
				t.Fatalf("key in message %q", err)
			}
			return
		}
		req := &signers.Request{Method: "GET", URL: "https://x.test/p?q=1"}
		if err := a.ApplyTo(req); err != nil {
			t.Fatal(err)
		}
		u, err := url.Parse(req.URL)
		if err != nil {
			t.Fatal(err)
		}
		if Mode(mode) == ModeQuery && (u.Query().Get("user-id") != user || u.Query().Get("user-api-key") != key) {
			t.Fatalf("query round trip %q", req.URL)
		}
		for _, v := range req.Header {
			if !printableASCII(v) {
				t.Fatalf("header value %q", v)
			}
		}
	})
}

// Cross-check with Node's crypto, crypto-js (Fortis' own sample uses
// CryptoJS.HmacSHA256) and Buffer.
type crossCase struct {
	UserID    string `json:"userId"`
	Timestamp string `json:"timestamp"`
	Key       string `json:"key"`
	HashKey   string `json:"hashKey"`
	APIKey    string `json:"apiKey"`
	Basic     string `json:"basic,omitempty"`
	QueryURL  string `json:"queryUrl,omitempty"`
	DevID     string `json:"developerId"`
}

func randString(r *rand.Rand, alphabet []rune, min, max int) string {
	n := min + r.IntN(max-min+1)
	b := make([]rune, n)
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

func TestCrossCheckNode(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 2024))
	hexa := []rune("0123456789abcdef")
	wild := []rune("abcXYZ019 +=/&?%#:;_-.~*!'()\"\\üéßÄ中文字😀∑€\u00a0\u200b")
	var cases []crossCase
	for i := 0; i < 300; i++ {
		var user string
		switch i % 3 {
		case 0:
			user = randString(r, hexa, 24, 24)
		case 1:
			user = randString(r, wild, 1, 30)
		default:
			user = randString(r, []rune("abcdefghij_-0123456789@."), 1, 40)
		}
		ts := strconv.FormatInt(r.Int64N(4_000_000_000), 10)
		key := randString(r, wild, 1, 80)
		if i%10 == 0 {
			key = randString(r, hexa, 100, 200) // longer than the SHA-256 block: hashed first
		}
		hk, err := HashKey(user, ts, key)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		c := crossCase{UserID: user, Timestamp: ts, Key: key, HashKey: hk, APIKey: randString(r, wild, 1, 40), DevID: randString(r, wild, 1, 12)}
		if !strings.Contains(user, ":") {
			a, err := APIKey("dev", user, c.APIKey, ModeBasic)
			if err != nil {
				t.Fatalf("case %d basic: %v", i, err)
			}
			c.Basic = a.Header["Authorization"]
		}
		a, err := APIKey(c.DevID, user, c.APIKey, ModeQuery)
		if err != nil {
			t.Fatalf("case %d query: %v", i, err)
		}
		req := &signers.Request{URL: "https://api.example.com/v2/contacts?page=1"}
		if err := a.ApplyTo(req); err != nil {
			t.Fatal(err)
		}
		c.QueryURL = req.URL
		cases = append(cases, c)
	}
	nodecheck.Run(t, "testdata/crosscheck.mjs", cases)
}

// Seed 001, "HMAC": "these are all the endpoints that support HMAC
// authentication": v2/accountform, v2/accountvaults, v2/payform,
// v2/routeraccountvault, v2/salestax, v2/transactions.
func TestHMACEndpoints(t *testing.T) {
	want := []string{"v2/accountform", "v2/accountvaults", "v2/payform", "v2/routeraccountvault", "v2/salestax", "v2/transactions"}
	if strings.Join(HMACEndpoints, " ") != strings.Join(want, " ") {
		t.Fatalf("HMACEndpoints = %q", HMACEndpoints)
	}
	for _, p := range []string{"/v2/transactions", "v2/transactions", "/v2/transactions/11e95f8e?page=1", "/v2/salestax?x",
		"/v2/accountvaults/", "/v2/routeraccountvault", "/v2/payform#top", "/v2/accountform"} {
		if !SupportsHMAC(p) {
			t.Errorf("SupportsHMAC(%q) = false", p)
		}
	}
	for _, p := range []string{"/v2/contacts", "/v2/contacts/1", "/v2/transactionsx", "/v2/Transactions", "/v2/token",
		"/v2/contactsso", "/v3/transactions", "/api/v2/transactions", "", "/", "/v2/accountvault"} {
		if SupportsHMAC(p) {
			t.Errorf("SupportsHMAC(%q) = true", p)
		}
	}
	s, err := NewHMACSigner("dev", "11e95f8ec39de8fbdb0a4f1a", "fortis-example-hash-key")
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.SignFor("/v2/transactions", t1)
	if err != nil || got.Header["hash-key"] != "21800953f8bc7ead8de43c5dd22d4603297a32930571059e0efc54ff1668855a" {
		t.Fatalf("SignFor allowed endpoint: %v, %v", got.Header, err)
	}
	_, err = s.SignFor("/v2/contacts/1", t1)
	checkErr(t, "SignFor /v2/contacts", err, signers.ErrInput)
	if err == nil || !strings.Contains(err.Error(), "v2/transactions") {
		t.Fatalf("message does not list the endpoints: %v", err)
	}
}

func TestSSORequestAndAnswer(t *testing.T) {
	auth, err := APIKey("dev-1", "user-1", secret, ModeHeaders)
	if err != nil {
		t.Fatal(err)
	}
	fields := []byte(`{"contact_id":"11e95f8ec39de8fbdb0a4f1a"}`)
	r, err := SSORequest("https://api.example.com/", auth, fields)
	if err != nil {
		t.Fatal(err)
	}
	if r.Method != "POST" || r.URL != "https://api.example.com/v2/contactsso" || string(r.Body) != string(fields) ||
		r.Header["developer-id"] != "dev-1" || r.Header["user-id"] != "user-1" || r.Header["user-api-key"] != secret ||
		r.Header["Content-Type"] != "application/json" || r.Header["Accept"] != "application/json" {
		t.Fatalf("%+v %s", r, r.Body)
	}
	q, _ := APIKey("dev-1", "user 1", secret, ModeQuery)
	if r, err := SSORequest("https://api.example.com", q, []byte(`{}`)); err != nil ||
		r.URL != "https://api.example.com/v2/contactsso?developer-id=dev-1&user-id=user+1&user-api-key="+url.QueryEscape(secret) {
		t.Fatalf("query auth: %+v, %v", r, err)
	}
	for _, bad := range []string{``, `[]`, `null`, `"x"`, `{`} {
		_, err := SSORequest("https://api.example.com", auth, []byte(bad))
		checkErr(t, "SSORequest fields "+bad, err, signers.ErrInput)
	}
	_, err = SSORequest("api.example.com", auth, fields)
	checkErr(t, "SSORequest base", err, signers.ErrInput)

	const link = "https://portal.example.com/sso?token=abc123"
	sso, err := ParseSSOResponse(201, []byte(`{"contactsso":{"id":"1","url":"`+link+`","contact_id":"c"}}`))
	if err != nil || sso.URL != link || !strings.Contains(string(sso.Record), `"contact_id":"c"`) {
		t.Fatalf("ParseSSOResponse = %+v, %v", sso, err)
	}
	if sso, err := ParseSSOResponse(200, []byte(`{"contactsso":{"url":"http://127.0.0.1:8080/sso/x"}}`)); err != nil || sso.URL == "" {
		t.Fatalf("local sandbox URL: %v", err)
	}
	_, err = ParseSSOResponse(401, []byte(`{}`))
	var e *signers.Error
	if !errors.As(err, &e) || e.Code != signers.CodeHTTP || e.Status != 401 {
		t.Fatalf("401: %v", err)
	}
	for _, body := range []string{`{}`, `{"contactsso":{}}`, `{"url":"` + link + `"}`, `{"contactsso":{"url":"javascript:alert(1)"}}`,
		`{"contactsso":{"url":"http://evil.example.com/x"}}`, `{"contactsso":{"url":"/relative"}}`, `not json`,
		`{"contactsso":{"url":"https://u:p@x.example/"}}`, `{"contactsso":{"url":7}}`} {
		_, err := ParseSSOResponse(200, []byte(body))
		checkErr(t, "ParseSSOResponse "+body, err, signers.ErrToken)
		if err != nil && strings.Contains(err.Error(), "evil") {
			t.Fatalf("URL in message: %v", err)
		}
	}
}

func TestOAuthSource(t *testing.T) {
	clk := clock.NewFake(st0)
	var fetches atomic.Int32
	var refused []string
	src, err := NewOAuthSource(OAuthConfig{
		Clock: clk,
		Fetch: func(ctx context.Context, cur token.Token) (token.Token, error) {
			refused = append(refused, cur.Value)
			n := fetches.Add(1)
			return token.Token{Value: "oauth-" + strconv.Itoa(int(n)), Expiry: clk.Now().Add(time.Hour)}, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if tok, err := src.Token(ctx); err != nil || tok.Value != "oauth-1" {
		t.Fatalf("Token = %v, %v", tok, err)
	}
	// Cached until Margin before expiry, then renewed.
	clk.Advance(time.Hour - DefaultMargin - time.Second)
	if tok, _ := src.Token(ctx); tok.Value != "oauth-1" {
		t.Fatalf("renewed too early: %v", tok)
	}
	clk.Advance(2 * time.Second)
	if tok, _ := src.Token(ctx); tok.Value != "oauth-2" {
		t.Fatalf("not renewed: %v", tok)
	}
	src.Invalidate(token.Token{Value: "oauth-1"}) // stale: no effect
	if src.Current().Value != "oauth-2" {
		t.Fatal("stale Invalidate dropped the current token")
	}

	// Through flow.Do: the bearer and developer-id on the wire; a 401 drops the
	// token, one new one is fetched and the request sent once more.
	var sent []signers.Header
	status := []int{401, 200}
	doer := signers.DoerFunc(func(_ context.Context, r *signers.Request) (*signers.Response, error) {
		sent = append(sent, r.Header)
		return &signers.Response{Status: status[len(sent)-1]}, nil
	})
	req := &signers.Request{Method: "GET", URL: "https://api.example.com/v2/contacts/1"}
	resp, err := flow.Do(ctx, doer, src, req, OAuthAuthorizer{DeveloperID: "dev-1"})
	if err != nil || resp.Status != 200 || len(sent) != 2 || fetches.Load() != 3 {
		t.Fatalf("flow.Do = %v, %v; %d sends, %d fetches", resp, err, len(sent), fetches.Load())
	}
	if sent[0]["Authorization"] != "Bearer oauth-2" || sent[1]["Authorization"] != "Bearer oauth-3" ||
		sent[1]["developer-id"] != "dev-1" || len(sent[1]) != 2 || refused[2] != "oauth-2" {
		t.Fatalf("sent %v, fetch told %q", sent, refused)
	}
	a := OAuthAuthorizer{}
	if !a.Refused(&signers.Response{Status: 401}) || a.Refused(&signers.Response{Status: 403}) || a.Active(&signers.Response{Status: 200}) {
		t.Fatal("Refused/Active")
	}
	for _, c := range []struct {
		a   OAuthAuthorizer
		tok string
		err error
	}{{OAuthAuthorizer{}, "", signers.ErrToken}, {OAuthAuthorizer{}, "a b", signers.ErrToken}, {OAuthAuthorizer{DeveloperID: "a\nb"}, "t", signers.ErrInput}} {
		err := c.a.Authorize(&signers.Request{Header: signers.Header{}}, token.Token{Value: c.tok})
		checkErr(t, "Authorize "+c.tok, err, c.err)
	}

	// A fetched value that cannot go in a header is refused, never cached.
	bad, _ := NewOAuthSource(OAuthConfig{Fetch: func(context.Context, token.Token) (token.Token, error) {
		return token.Token{Value: "a b"}, nil
	}})
	if _, err := bad.Token(ctx); !errors.Is(err, signers.ErrToken) || bad.Current().Value != "" {
		t.Fatalf("bad token: %v", err)
	}
	_, err = NewOAuthSource(OAuthConfig{})
	checkErr(t, "no fetch", err, signers.ErrConfig)
}
