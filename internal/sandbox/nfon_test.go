package sandbox

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/nfon"
)

// The POST body of the docs/PROTOCOLS.md "NFON" vector.
const nfonVectorBody = `{"data":[{"name":"displayName","value":"John Doe"},{"name":"displayNumber","value":"+49 (176) 12345678"}]}`

func (h *harness) nfonSigned(secret, method, path, body string, at time.Time) *signers.Request {
	h.t.Helper()
	s, err := nfon.NewSigner(h.env["NFON_KEY_ID"], secret)
	if err != nil {
		h.t.Fatal(err)
	}
	req := &signers.Request{Method: method, URL: h.env["NFON_BASE_URL"] + path, Header: signers.Header{}}
	if body != "" {
		req.Body = []byte(body)
		req.Header.Set("Content-Type", "application/json")
	}
	if _, err := s.SignRequest(req, at); err != nil {
		h.t.Fatal(err)
	}
	return req
}

func TestNFONPhoneBook(t *testing.T) {
	h := start(t, Options{})
	secret := h.env["NFON_SECRET"]
	const books = "/api/customers/K1234/phone-books"

	r := h.send(h.nfonSigned(secret, "GET", books, "", h.clk.Now()))
	wantStatus(t, "list", r, 200)
	if m := decode(t, r.Body); m["total"] != float64(2) {
		t.Fatalf("seeded list: %s", r.Body)
	}

	r = h.send(h.nfonSigned(secret, "POST", books, nfonVectorBody, h.clk.Now()))
	wantStatus(t, "create", r, 201)
	href := decode(t, r.Body)["href"].(string)
	if loc := r.Header.Get("Location"); loc != href || !strings.HasSuffix(href, books+"/3") {
		t.Errorf("Location %q, href %q", loc, href)
	}

	// A query with an encoded space, as in the docs/PROTOCOLS.md "NFON" vector.
	r = h.send(h.nfonSigned(secret, "GET", books+"?search=John%20Doe", "", h.clk.Now()))
	wantStatus(t, "search", r, 200)
	m := decode(t, r.Body)
	if m["total"] != float64(1) || path(m["items"].([]any)[0], "href") != href {
		t.Errorf("search: %s", r.Body)
	}

	r = h.send(h.nfonSigned(secret, "GET", books+"/3", "", h.clk.Now()))
	wantStatus(t, "get entry", r, 200)
	if !strings.Contains(string(r.Body), "+49 (176) 12345678") {
		t.Errorf("entry: %s", r.Body)
	}
	wantStatus(t, "unknown entry", h.send(h.nfonSigned(secret, "GET", books+"/99", "", h.clk.Now())), 404)
	wantStatus(t, "other customer has its own book", h.send(h.nfonSigned(secret, "GET", "/api/customers/K9/phone-books/3", "", h.clk.Now())), 404)
	wantStatus(t, "unknown route", h.send(h.nfonSigned(secret, "GET", "/api/customers/K1234/devices", "", h.clk.Now())), 404)
	wantStatus(t, "DELETE", h.send(h.nfonSigned(secret, "DELETE", books+"/3", "", h.clk.Now())), 405)
	// HEAD is GET without the body (RFC 9110 9.1).
	r = h.send(h.nfonSigned(secret, "HEAD", books, "", h.clk.Now()))
	wantStatus(t, "HEAD list", r, 200)
	if len(r.Body) != 0 {
		t.Errorf("HEAD answered a body: %s", r.Body)
	}
	wantStatus(t, "HEAD entry", h.send(h.nfonSigned(secret, "HEAD", books+"/3", "", h.clk.Now())), 200)
	wantStatus(t, "create without displayName", h.send(h.nfonSigned(secret, "POST", books, `{"data":[]}`, h.clk.Now())), 400)
}

func TestNFONRefused(t *testing.T) {
	h := start(t, Options{})
	secret := h.env["NFON_SECRET"]
	const books = "/api/customers/K1234/phone-books"

	// The date window: 15 minutes either way.
	wantStatus(t, "signed 14 min ago", h.send(h.nfonSigned(secret, "GET", books, "", t0.Add(-14*time.Minute))), 200)
	wantStatus(t, "signed 16 min ago", h.send(h.nfonSigned(secret, "GET", books, "", t0.Add(-16*time.Minute))), 403)
	wantStatus(t, "signed 16 min ahead", h.send(h.nfonSigned(secret, "GET", books, "", t0.Add(16*time.Minute))), 403)

	cases := map[string]*signers.Request{
		"wrong secret": h.nfonSigned("not-the-secret", "GET", books, "", t0),
		"unsigned":     {Method: "GET", URL: h.env["NFON_BASE_URL"] + books},
	}
	r := h.nfonSigned(secret, "GET", books, "", t0)
	r.URL = strings.Replace(r.URL, "K1234", "K1235", 1)
	cases["other path than signed"] = r
	r = h.nfonSigned(secret, "POST", books, nfonVectorBody, t0)
	r.Body = []byte(strings.Replace(nfonVectorBody, "John", "Jane", 1))
	cases["body changed after signing"] = r
	r = h.nfonSigned(secret, "GET", books, "", t0)
	r.Header.Set("x-nfon-date", "Mon, 02 Mar 2026 10:00:01 GMT")
	cases["date changed after signing"] = r
	r = h.nfonSigned(secret, "GET", books, "", t0)
	r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), h.env["NFON_KEY_ID"], "3697ad86-fa77-4b25-9373-02dce48530ff", 1))
	cases["unknown key id"] = r
	for name, req := range cases {
		if resp := h.send(req); resp.Status != 403 {
			t.Errorf("%s: status %d, want 403: %s", name, resp.Status, resp.Body)
		}
	}
}

// "Content-Type header: ... Required for POST and PUT requests only." A POST
// signed without one is refused, whatever its signature.
func TestNFONContentTypeRequired(t *testing.T) {
	h := start(t, Options{})
	const books = "/api/customers/K1234/phone-books"
	for _, method := range []string{"POST", "PUT"} {
		// The core refuses to sign such a request (E_INPUT), so the header is
		// dropped after signing: an old client's request.
		req := h.nfonSigned(h.env["NFON_SECRET"], method, books, nfonVectorBody, h.clk.Now())
		delete(req.Header, "Content-Type")
		r := h.send(req)
		wantStatus(t, method+" without Content-Type", r, 400)
		if m := decode(t, r.Body); !strings.Contains(m["message"].(string), "Content-Type") {
			t.Errorf("%s: %s", method, r.Body)
		}
	}
}

// "Audio Upload Exception: For requests including audio file content, omit
// both Content-MD5 and Content-Type": the upload still says it is audio.
func TestNFONAudioUpload(t *testing.T) {
	h := start(t, Options{})
	s, _ := nfon.NewSigner(h.env["NFON_KEY_ID"], h.env["NFON_SECRET"])
	const ann = "/api/customers/K1234/announcements/welcome"
	const form = "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"hi.wav\"\r\nContent-Type: audio/wav\r\n\r\nRIFF\x00\r\n--b--\r\n"
	upload := func(sign func(*signers.Request, time.Time) (string, error), ct, body string) *signers.Response {
		req := &signers.Request{Method: "PUT", URL: h.env["NFON_BASE_URL"] + ann, Body: []byte(body),
			Header: signers.Header{"Content-Type": ct}}
		if _, err := sign(req, h.clk.Now()); err != nil {
			t.Fatal(err)
		}
		return h.send(req)
	}
	r := upload(s.SignRequest, "audio/x-wav", "RIFF....WAVEfmt ")
	wantStatus(t, "audio upload", r, 204)
	// A sound file in a multipart form is audio too: its content is not
	// signed, so only a client that marks it as audio gets through.
	wantStatus(t, "audio in a form", upload(s.SignAudioRequest, "multipart/form-data; boundary=b", form), 204)
	wantStatus(t, "audio in a form, content signed", upload(s.SignRequest, "multipart/form-data; boundary=b", form), 403)
	wantStatus(t, "not audio", upload(s.SignAudioRequest, "application/json", "{}"), 415)
	wantStatus(t, "a form without audio", upload(s.SignAudioRequest, "multipart/form-data; boundary=b", strings.Replace(form, "audio/wav", "text/plain", 1)), 415)

	// The string to sign of the upload has no Content-MD5 and Content-Type lines.
	req := &signers.Request{Method: "PUT", URL: h.env["NFON_BASE_URL"] + ann, Body: []byte("RIFF"), Header: signers.Header{"Content-Type": "audio/x-wav"}}
	sts, err := s.SignRequest(req, t0)
	if err != nil {
		t.Fatal(err)
	}
	if want := "PUT\nMon, 02 Mar 2026 10:00:00 GMT\n/sandbox/nfon" + ann; sts != want || req.Header.Get("Content-MD5") != "" {
		t.Errorf("string to sign %q, want %q", sts, want)
	}
}

// A query's "+" is read as the server decodes it: a space; "%2B" is a plus.
// The listing is asked directly, so this holds whatever the signature rules
// say about a raw "+".
func TestNFONQueryPlus(t *testing.T) {
	h := start(t, Options{})
	for query, want := range map[string]int{"search=%2B49": 2, "search=+49": 0, "search=+89": 2} {
		w := httptest.NewRecorder()
		h.s.nfon.list(w, httptest.NewRequest("GET", "/api/customers/K1234/phone-books?"+query, nil), "K1234")
		var m struct{ Total int }
		if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil || w.Code != 200 || m.Total != want {
			t.Errorf("%s: %d entries (status %d), want %d", query, m.Total, w.Code, want)
		}
	}
	r := h.send(h.nfonSigned(h.env["NFON_SECRET"], "GET", "/api/customers/K1234/phone-books?search=%2B49", "", h.clk.Now()))
	wantStatus(t, "signed search %2B49", r, 200)
	if decode(t, r.Body)["total"] != 2.0 {
		t.Errorf("search %%2B49: %s", r.Body)
	}
}
