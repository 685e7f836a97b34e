package broker

import (
	"net/http"
	"testing"
)

// NFON-19: no header the signature contradicts. A GET or DELETE forwarded with
// the caller's Content-Type reaches NFON without it (its content is never
// signed); a POST keeps the one it signed.
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
}
