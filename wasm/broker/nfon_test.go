package broker

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// NFON-19: no header the signature contradicts. A GET or DELETE forwarded with
// the caller's Content-Type reaches NFON without it (its content is never
// signed); a POST keeps the one it signed, and cannot go without one (NFON-8).
func TestNFONForwardContentType(t *testing.T) {
	h := newHarness(t, nil)
	const book = "/nfon/api/customers/K1234/phone-books"
	for m, target := range map[string]string{"GET": book, "DELETE": book + "/1"} {
		rec := h.do(req{Method: m, Target: target, Header: map[string]string{"Content-Type": "application/json"}})
		e := h.up.Last(t)
		if rec.Code == http.StatusForbidden || e.Method != m {
			t.Errorf("%s: status %d, upstream saw %s (failures %v)", m, rec.Code, e.Method, h.up.Failures())
		}
		if _, ok := e.Header["Content-Type"]; ok {
			t.Errorf("%s: Content-Type %q reached NFON, not signed", m, e.Header.Get("Content-Type"))
		}
	}
	body := []byte(`{"data":[{"name":"displayName","value":"Night line"}]}`)
	rec := h.do(req{Method: "POST", Target: book, Body: body, Header: map[string]string{"Content-Type": "application/json"}})
	if e := h.up.Last(t); rec.Code != http.StatusCreated || e.Header.Get("Content-Type") != "application/json" {
		t.Errorf("POST: status %d, Content-Type %q", rec.Code, e.Header.Get("Content-Type"))
	}
	// NFON-8: a POST or PUT needs one; without it nothing is sent.
	n := len(h.up.Requests())
	for _, m := range []string{"POST", "PUT"} {
		wantError(t, h.do(req{Method: m, Target: book, Body: body}), http.StatusBadRequest, "E_INPUT")
	}
	if len(h.up.Requests()) != n {
		t.Error("a POST without Content-Type was sent")
	}
}

// NFON-10: a caller marks an audio upload whose Content-Type does not say
// audio (a sound file in a multipart form) with X-Apisign-NFON-Audio: 1; the
// broker signs it without Content-MD5 and Content-Type, sends the
// Content-Type as given and the marker nowhere. The emulator's announcements
// are audio uploads: unmarked, the same upload is signed with its content and
// refused.
func TestNFONForwardAudio(t *testing.T) {
	h := newHarness(t, nil)
	const ann = "/nfon/api/customers/K1234/announcements/welcome"
	const form = "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"hi.wav\"\r\nContent-Type: audio/wav\r\n\r\nRIFF\x00\r\n--b--\r\n"
	upload := func(marker string) *httptest.ResponseRecorder {
		hd := map[string]string{"Content-Type": "multipart/form-data; boundary=b"}
		if marker != "" {
			hd[HeaderNFONAudio] = marker
		}
		return h.do(req{Method: "PUT", Target: ann, Body: []byte(form), Header: hd})
	}
	rec := upload("1")
	e := h.up.Last(t)
	if rec.Code != http.StatusNoContent || string(e.Body) != form {
		t.Fatalf("marked upload: status %d %s (failures %v)", rec.Code, rec.Body, h.up.Failures())
	}
	if e.Header.Get("Content-MD5") != "" || e.Header.Get("Content-Type") != "multipart/form-data; boundary=b" || len(e.Header.Values(HeaderNFONAudio)) != 0 {
		t.Errorf("upstream saw %v", e.Header)
	}
	h.up.Check = nil // the unmarked upload is signed wrongly on purpose
	if rec := upload(""); rec.Code != http.StatusForbidden || rec.Header().Get(HeaderError) != "" {
		t.Errorf("unmarked upload: status %d, want NFON's 403", rec.Code)
	}
	h.up.Check = h.independent
	n := len(h.up.Requests())
	wantError(t, upload("yes"), http.StatusBadRequest, "E_INPUT")
	if len(h.up.Requests()) != n {
		t.Error("a malformed marker was sent on")
	}
}

// NFON-16: a '/' that is data in a path step goes as %2F, and the broker
// forwards it, signed as sent; an encoded '/' that makes a dot step or an
// empty one, at any decoding depth, is still refused (F8).
func TestNFONForwardEncodedSlash(t *testing.T) {
	ok := []string{"/api/x/a%2Fb", "/api/x/a%2fb%2Fc", "/api/Base%20Device%2F2", "/api/a%252Fb", "/api/..x%2Fy..", "/api/a%2F...%2Fb"}
	for _, p := range ok {
		if msg := checkPath(p); msg != "" {
			t.Errorf("checkPath(%q) = %q, want clean", p, msg)
		}
	}
	bad := []string{"/api/..%2F", "/api/x/..%2fadmin", "/api/a%2F..", "/api/a%2F.%2Fb", "/api/a%2F%2e%2e", "/api/a%2F%2e%2e%2Fb",
		"/api/a%252F..%252Fb", "/api/a%2F..;x", "/api/a%2F..%20", "/api/%2F", "/api/a%2F", "/api/a%2F%2Fb", "/api/%2Fevil.example",
		"/api/a%2F%c0%ae%c0%ae", "/api/a%2F%5c..", "/api/a%2F%3f"}
	for _, p := range bad {
		if checkPath(p) == "" {
			t.Errorf("checkPath(%q) accepted", p)
		}
	}

	h := newHarness(t, nil)
	// The emulator checks the signature over the request-target as it arrived
	// (403 if it differs from what was signed), then has no such entry: 404.
	const entry = "/nfon/api/customers/K1234/phone-books/Base%2FDevice"
	rec := h.do(req{Target: entry})
	if e := h.up.Last(t); rec.Code != http.StatusNotFound || e.URI != entry || e.Status != http.StatusNotFound {
		t.Errorf("%s: status %d, upstream saw %s (failures %v)", entry, rec.Code, e.URI, h.up.Failures())
	}
	n := len(h.up.Requests())
	for _, p := range bad {
		wantError(t, h.do(req{Target: "/nfon" + p}), http.StatusForbidden, "E_INPUT")
	}
	if len(h.up.Requests()) != n {
		t.Error("a traversal reached NFON")
	}
}
