package sandbox

import (
	"testing"
	"time"

	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/fonn"
)

func (h *harness) fonnHeaders(key, tok, user string) signers.Header {
	h.t.Helper()
	hd, err := fonn.Headers(fonn.Credentials{SubscriptionKey: key, AccessToken: tok, ImpersonatedUserExternalID: user})
	if err != nil {
		h.t.Fatal(err)
	}
	return hd
}

func TestFonnBurst(t *testing.T) {
	h := start(t, Options{FonnBurst: 3})
	hd := h.fonnHeaders(h.env["FONN_SUBSCRIPTION_KEY"], h.env["FONN_ACCESS_TOKEN"], "ext-42")
	projects := h.env["FONN_BASE_URL"] + "/api/v1/projects"
	for i := 0; i < 3; i++ {
		r := h.call("GET", projects, hd, "")
		wantStatus(t, "call within the burst", r, 200)
		m := decode(t, r.Body)
		if m["impersonatedUserExternalId"] != "ext-42" || m["totalCount"] != float64(3) {
			t.Errorf("answer %s", r.Body)
		}
	}
	r := h.call("GET", projects, hd, "")
	wantStatus(t, "call over the burst", r, 429)
	if got := r.Header.Get("Retry-After"); got != "10" {
		t.Errorf("Retry-After %q, want 10", got)
	}
	h.clk.Advance(3500 * time.Millisecond)
	r = h.call("GET", projects, hd, "")
	wantStatus(t, "still over the burst", r, 429)
	if got := r.Header.Get("Retry-After"); got != "7" { // 6.5 s rounded up
		t.Errorf("Retry-After %q, want 7", got)
	}
	h.clk.Advance(6500 * time.Millisecond)
	wantStatus(t, "next window", h.call("GET", projects, hd, ""), 200)
}

func TestFonnRefused(t *testing.T) {
	h := start(t, Options{})
	key, tok := h.env["FONN_SUBSCRIPTION_KEY"], h.env["FONN_ACCESS_TOKEN"]
	base := h.env["FONN_BASE_URL"]
	r := h.call("GET", base+"/api/v1/projects/p-101", h.fonnHeaders(key, tok, ""), "")
	wantStatus(t, "project", r, 200)
	m := decode(t, r.Body)
	if path(m, "project", "id") != "p-101" || m["impersonatedUserExternalId"] != "" {
		t.Errorf("project: %s", r.Body)
	}
	wantStatus(t, "unknown project", h.call("GET", base+"/api/v1/projects/p-999", h.fonnHeaders(key, tok, ""), ""), 404)
	wantStatus(t, "wrong subscription key", h.call("GET", base+"/api/v1/projects", h.fonnHeaders("0000", tok, ""), ""), 401)
	wantStatus(t, "wrong access token", h.call("GET", base+"/api/v1/projects", h.fonnHeaders(key, "nope", ""), ""), 401)
	wantStatus(t, "token with a scheme word", h.call("GET", base+"/api/v1/projects", h.fonnHeaders(key, "Bearer "+tok, ""), ""), 401)
	wantStatus(t, "no headers", h.call("GET", base+"/api/v1/projects", nil, ""), 401)
	wantStatus(t, "POST", h.call("POST", base+"/api/v1/projects", h.fonnHeaders(key, tok, ""), "{}"), 405)
}

func TestFonnUnknownKeyNotCounted(t *testing.T) {
	h := start(t, Options{FonnBurst: 1})
	projects := h.env["FONN_BASE_URL"] + "/api/v1/projects"
	for i := 0; i < 5; i++ {
		wantStatus(t, "unknown key", h.call("GET", projects, h.fonnHeaders("0000", "x", ""), ""), 401)
	}
	wantStatus(t, "the subscription's first call", h.call("GET", projects, h.fonnHeaders(h.env["FONN_SUBSCRIPTION_KEY"], h.env["FONN_ACCESS_TOKEN"], ""), ""), 200)
}
