//go:build !js

package httpauth

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apisign/apisign/internal/sandbox"
	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/clock"
	"github.com/apisign/apisign/signers/nfon"
	"github.com/apisign/apisign/signers/retry"
)

// The docs/PROTOCOLS.md NFON vector credentials; the vectors' date is t0.
const (
	nfonKeyID  = "3697ad86-fa77-4b25-9373-02dce48530ff"
	nfonSecret = "nfon-example-secret"
	nfonBody   = `{"data":[{"name":"displayName","value":"John Doe"},{"name":"displayNumber","value":"+49 (176) 12345678"}]}`
)

// nfonServer verifies every request with nfon.Verifier at time now and records
// what it received.
type nfonServer struct {
	now  time.Time
	fail atomic.Int32 // answer this many requests 503 before verifying

	seen recorder[nfonSeen]
}

type nfonSeen struct {
	target string
	header http.Header
	body   string
	code   signers.Code
}

func (s *nfonServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if s.fail.Add(-1) >= 0 {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	v := &nfon.Verifier{Keys: func(id string) (string, bool) { return nfonSecret, id == nfonKeyID }}
	id, err := v.Verify(r.Method, r.RequestURI, FromHTTP(r.Header), body, s.now)
	s.seen.add(nfonSeen{r.RequestURI, r.Header.Clone(), string(body), signers.CodeOf(err)})
	if err != nil {
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, string(signers.CodeOf(err)))
		return
	}
	io.WriteString(w, "hello "+id)
}

func nfonClient(t *testing.T, clk clock.Clock, rt http.RoundTripper) *http.Client {
	t.Helper()
	signer, err := nfon.NewSigner(nfonKeyID, nfonSecret)
	if err != nil {
		t.Fatal(err)
	}
	tr := &NFON{Signer: signer, Clock: clk, Base: rt}
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

func nfonDo(t *testing.T, c *http.Client, req *http.Request) (int, string) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestNFONTransport(t *testing.T) {
	srv := &nfonServer{now: t0}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	c := nfonClient(t, clock.NewFake(t0), nil)

	cases := []struct {
		name, method, path, ct, body string
		target, sig                  string // what the server must receive; sig "" = not checked
		md5                          bool
	}{
		{"GET vector", "GET", "/api/customers/K1234/phone-books", "", "",
			"/api/customers/K1234/phone-books", "ofdQ9hgbzJ/n5f0iL2mXVXJ14T0=", false},
		{"GET encoded query vector", "GET", "/api/customers/K1234/phone-books?search=I%20Am%20Encoded", "", "",
			"/api/customers/K1234/phone-books?search=I%20Am%20Encoded", "7HXhfWhFeAJCqkOG1cmbBAZG/Xo=", false},
		{"POST vector", "POST", "/api/customers/K1234/phone-books", "application/json", nfonBody,
			"/api/customers/K1234/phone-books", "1OPtkwRjA5ElFXJhVQ7I4uqKdwI=", true},
		{"PATCH", "PATCH", "/api/customers/K1234/phone-books/1", "application/json", `{"a":1}`,
			"/api/customers/K1234/phone-books/1", "", true},
		{"PUT audio", "PUT", "/api/announcements/1", "audio/wav", "RIFF\x00\x01\xff",
			"/api/announcements/1", "", false},
		{"DELETE", "DELETE", "/api/x/1", "", "", "/api/x/1", "", false},
		{"GET with a Content-Type", "GET", "/api/x", "application/json", "", "/api/x", "", false},
		{"raw space in path and query", "GET", "/api/Base Device?q=a b", "", "",
			"/api/Base%20Device?q=a%20b", "", false},
		{"brackets and unicode", "GET", "/api/[x]/Müller?k=v[1]", "", "",
			"/api/%5Bx%5D/M%C3%BCller?k=v%5B1%5D", "", false},
		{"lower-case escape kept", "GET", "/api/a%2fb?x=%7e", "", "", "/api/a%2fb?x=%7e", "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
			}
			req, err := http.NewRequest(tc.method, ts.URL+tc.path, body)
			if err != nil {
				t.Fatal(err)
			}
			if tc.ct != "" {
				req.Header.Set("Content-Type", tc.ct)
			}
			status, answer := nfonDo(t, c, req)
			if status != 200 || answer != "hello "+nfonKeyID {
				t.Fatalf("status %d %q", status, answer)
			}
			got := srv.seen.last()
			if got.target != tc.target {
				t.Fatalf("server received %q, want %q", got.target, tc.target)
			}
			if got.body != tc.body {
				t.Fatalf("server received body %q", got.body)
			}
			if tc.sig != "" && got.header.Get("Authorization") != "NFON-API "+nfonKeyID+":"+tc.sig {
				t.Fatalf("Authorization %q, want vector %q", got.header.Get("Authorization"), tc.sig)
			}
			if got.header.Get("X-Nfon-Date") != "Wed, 06 Aug 2025 14:32:00 GMT" {
				t.Fatalf("x-nfon-date %q", got.header.Get("X-Nfon-Date"))
			}
			if (got.header.Get("Content-MD5") != "") != tc.md5 {
				t.Fatalf("Content-MD5 %q", got.header.Get("Content-MD5"))
			}
			// A Content-Type goes only where it is signed, or with an audio upload.
			if ct := got.header.Get("Content-Type"); ct != "" && !tc.md5 && !strings.HasPrefix(ct, "audio/") {
				t.Fatalf("unsigned Content-Type %q sent", ct)
			}
			// The caller's request is not changed: no signing headers, body still whole.
			if req.Header.Get("Authorization") != "" || req.Header.Get("X-Nfon-Date") != "" {
				t.Fatalf("caller's request got headers %v", req.Header)
			}
			if tc.body != "" {
				b, _ := io.ReadAll(req.Body)
				if string(b) != tc.body {
					t.Fatalf("caller's body now %q", b)
				}
			}
		})
	}
}

func TestNFONTransportClockAndRetry(t *testing.T) {
	srv := &nfonServer{now: t0}
	ts := httptest.NewServer(srv)
	defer ts.Close()

	// 20 minutes behind the server: refused with E_CLOCK.
	c := nfonClient(t, clock.NewFake(t0.Add(-20*time.Minute)), nil)
	req, _ := http.NewRequest("GET", ts.URL+"/api/x", nil)
	if status, answer := nfonDo(t, c, req); status != 401 || answer != "E_CLOCK" {
		t.Fatalf("skewed client: %d %q", status, answer)
	}

	// Retry above NFON: each attempt is signed again, the body replayed.
	srv.fail.Store(2)
	clk := clock.NewFake(t0)
	signer, _ := nfon.NewSigner(nfonKeyID, nfonSecret)
	c = &http.Client{Timeout: 10 * time.Second, Transport: &Retry{
		Policy: retry.Policy{Clock: clk, Rand: func() float64 { return 0.5 }},
		Base:   &NFON{Signer: signer, Clock: clk},
	}}
	req, _ = http.NewRequest("POST", ts.URL+"/api/customers/K1234/phone-books", io.NopCloser(strings.NewReader(nfonBody)))
	req.Header.Set("Content-Type", "application/json")
	if status, answer := nfonDo(t, c, req); status != 200 || answer != "hello "+nfonKeyID {
		t.Fatalf("after retries: %d %q", status, answer)
	}
	if got := srv.seen.last(); got.body != nfonBody || got.header.Get("Content-MD5") != "4a51ed3a364b24112745d91921b177e5" {
		t.Fatalf("server got %q, md5 %q", got.body, got.header.Get("Content-MD5"))
	}
	if len(clk.Sleeps()) != 2 {
		t.Fatalf("sleeps %v", clk.Sleeps())
	}
}

func TestNFONTransportErrors(t *testing.T) {
	var hits atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer ts.Close()
	signer, _ := nfon.NewSigner(nfonKeyID, nfonSecret)
	cases := []struct {
		name string
		rt   *NFON
		url  string
		code error
	}{
		{"no signer", &NFON{}, ts.URL + "/api/x", signers.ErrConfig},
		{"bad escape in query", &NFON{Signer: signer}, ts.URL + "/api/x?q=%zz", signers.ErrInput},
	}
	for _, tc := range cases {
		req, err := http.NewRequest("GET", tc.url, nil)
		if err != nil {
			t.Fatal(err)
		}
		c := &http.Client{Transport: tc.rt, Timeout: 10 * time.Second}
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		if !errors.Is(err, tc.code) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.code)
		}
		if err != nil && strings.Contains(err.Error(), nfonSecret) {
			t.Errorf("%s: secret in %q", tc.name, err)
		}
	}
	// An opaque URL has no path to sign.
	req, _ := http.NewRequest("GET", ts.URL, nil)
	req.URL.Opaque = "//" + req.URL.Host + "/api/x"
	if _, err := (&NFON{Signer: signer}).RoundTrip(req); !errors.Is(err, signers.ErrInput) {
		t.Errorf("opaque URL: %v", err)
	}
	if hits.Load() != 0 {
		t.Fatalf("%d requests reached the server", hits.Load())
	}
}

// An audio file inside a multipart form: its Content-Type does not say audio,
// so the NFON RoundTripper is told by Audio, the same predicate the server's
// nfon.Verifier uses. Then neither Content-MD5 nor Content-Type is signed; a
// client and a server that disagree about it fail to verify.
func TestNFONTransportAudioMarker(t *testing.T) {
	announcement := func(method, resource string) bool {
		return method == "POST" && strings.HasPrefix(resource, "/api/announcements/")
	}
	var serverAudio func(method, resource string) bool
	var seen http.Header
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		seen = r.Header.Clone()
		v := &nfon.Verifier{Keys: func(id string) (string, bool) { return nfonSecret, id == nfonKeyID }, Audio: serverAudio}
		if _, err := v.Verify(r.Method, r.RequestURI, FromHTTP(r.Header), body, t0); err != nil {
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, string(signers.CodeOf(err)))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer ts.Close()
	signer, _ := nfon.NewSigner(nfonKeyID, nfonSecret)
	const form = "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"hi.wav\"\r\nContent-Type: audio/wav\r\n\r\nRIFF\x00\r\n--b--\r\n"
	send := func(clientAudio func(string, string) bool) (int, string) {
		c := &http.Client{Timeout: 10 * time.Second, Transport: &NFON{Signer: signer, Clock: clock.NewFake(t0), Audio: clientAudio}}
		req, _ := http.NewRequest("POST", ts.URL+"/api/announcements/welcome", strings.NewReader(form))
		req.Header.Set("Content-Type", "multipart/form-data; boundary=b")
		return nfonDo(t, c, req)
	}
	serverAudio = announcement
	if status, answer := send(announcement); status != 204 {
		t.Fatalf("marked audio upload: %d %s", status, answer)
	}
	if seen.Get("Content-MD5") != "" || seen.Get("Content-Type") != "multipart/form-data; boundary=b" {
		t.Fatalf("audio upload sent Content-MD5 %q, Content-Type %q", seen.Get("Content-MD5"), seen.Get("Content-Type"))
	}
	if status, answer := send(nil); status != 403 || answer != "E_SIGNATURE" {
		t.Fatalf("unmarked upload to an audio endpoint: %d %s", status, answer)
	}
	serverAudio = nil
	if status, answer := send(announcement); status != 403 || answer != "E_SIGNATURE" {
		t.Fatalf("marked upload to a server that signs its content: %d %s", status, answer)
	}
}

func nfonEmulator(t *testing.T) (*http.Client, string) {
	t.Helper()
	sb, base := emulators(t, sandbox.Options{})
	signer, err := nfon.NewSigner(sb.Credentials().NFONKeyID, sb.Credentials().NFONSecret)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Transport: &NFON{Signer: signer}}, base + "/nfon"
}

// NFON: "Special characters must be URL-encoded (+, /, =)". "+49" is a phone
// number: given as a query pair (NFONURL) or raw in the URL, it goes out as
// %2B49 and the emulator, which reads a raw "+" as a space like any server,
// finds the two numbers; " 49" (a space) finds none.
func TestNFONPlusReachesTheServerAsAPlus(t *testing.T) {
	c, base := nfonEmulator(t)
	const books = "/api/customers/K1234/phone-books"
	viaPairs, err := NFONURL(base, books, [][2]string{{"search", "+49"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := base + books + "?search=%2B49"; viaPairs != want {
		t.Fatalf("NFONURL = %q, want %q", viaPairs, want)
	}
	for _, tc := range []struct {
		url   string
		total int
	}{
		{viaPairs, 2},
		{base + books + "?search=+49", 2}, // raw "+" in the caller's URL: sent as %2B
		{base + books + "?search=%2049", 0},
	} {
		status, body, err := call(t, c, "GET", tc.url, nil, nil)
		if err != nil || status != 200 {
			t.Fatalf("%s: %d %s %v", tc.url, status, body, err)
		}
		var list struct{ Total int }
		if err := json.Unmarshal([]byte(body), &list); err != nil || list.Total != tc.total {
			t.Fatalf("%s: total %d (%v), want %d: %s", tc.url, list.Total, err, tc.total, body)
		}
	}
}

func TestNFONURL(t *testing.T) {
	for _, tc := range []struct {
		base, path string
		query      [][2]string
		want       string
	}{
		{"https://portal-api.nfon.net:8090", "/api/customers/K1234/phone-books", nil,
			"https://portal-api.nfon.net:8090/api/customers/K1234/phone-books"},
		{"https://portal-api.nfon.net:8090/", "/api/x", [][2]string{{"search", "I Am Encoded"}},
			"https://portal-api.nfon.net:8090/api/x?search=I%20Am%20Encoded"},
		{"http://127.0.0.1:1/sandbox/nfon", "/api/x?a=1", [][2]string{{"q", "a=b/c"}, {"n", "+49"}},
			"http://127.0.0.1:1/sandbox/nfon/api/x?a=1&q=a%3Db%2Fc&n=%2B49"},
	} {
		got, err := NFONURL(tc.base, tc.path, tc.query)
		if err != nil || got != tc.want {
			t.Errorf("NFONURL(%q, %q, %q) = %q, %v; want %q", tc.base, tc.path, tc.query, got, err, tc.want)
		}
	}
	for _, tc := range []struct{ base, path string }{
		{"portal-api.nfon.net", "/api"},
		{"ftp://h", "/api"},
		{"https://h?x=1", "/api"},
		{"https://h#f", "/api"},
		{"https://h", "api"},
		{"https://h", "/api?q=%zz"},
	} {
		if got, err := NFONURL(tc.base, tc.path, nil); !errors.Is(err, signers.ErrInput) {
			t.Errorf("NFONURL(%q, %q) = %q, %v; want E_INPUT", tc.base, tc.path, got, err)
		}
	}
}

// NFON: Content-Type is "Required for POST and PUT requests". A POST without
// one is E_INPUT and never sent; with one, the emulator takes it.
func TestNFONPostNeedsContentType(t *testing.T) {
	c, base := nfonEmulator(t)
	url := base + "/api/customers/K1234/phone-books"
	body := `{"data":[{"name":"displayName","value":"Night line"},{"name":"displayNumber","value":"+49 89 45300 999"}]}`
	if _, _, err := call(t, c, "POST", url, strings.NewReader(body), nil); !errors.Is(err, signers.ErrInput) {
		t.Fatalf("POST without Content-Type: %v, want E_INPUT", err)
	}
	status, answer, err := call(t, c, "POST", url, strings.NewReader(body), http.Header{"Content-Type": {"application/json"}})
	if err != nil || status != 201 {
		t.Fatalf("POST with Content-Type: %d %s %v", status, answer, err)
	}
	// The listing now has it, found by its number.
	u, _ := NFONURL(base, "/api/customers/K1234/phone-books", [][2]string{{"search", "+49 89 45300 999"}})
	if status, answer, err := call(t, c, "GET", u, nil, nil); err != nil || status != 200 || !strings.Contains(answer, `"total": 1`) {
		t.Fatalf("search: %d %s %v", status, answer, err)
	}
	// An audio upload is the exception: audio/* needs no flag.
	status, answer, err = call(t, c, "PUT", base+"/api/customers/K1234/announcements/welcome",
		strings.NewReader("RIFF\x00\x01"), http.Header{"Content-Type": {"audio/wav"}})
	if err != nil || status != 204 {
		t.Fatalf("audio PUT: %d %s %v", status, answer, err)
	}
}
