package sandbox

import (
	"strings"
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

// "Note that two keys are for seamlessly changing access keys without service
// interruption": either key is accepted, and the rate limit is per
// subscription, so both count together.
func TestFonnTwoSubscriptionKeys(t *testing.T) {
	h := start(t, Options{FonnBurst: 2})
	projects := h.env["FONN_BASE_URL"] + "/api/v1/projects"
	tok := h.env["FONN_ACCESS_TOKEN"]
	primary, secondary := h.env["FONN_SUBSCRIPTION_KEY"], h.env["FONN_SECONDARY_SUBSCRIPTION_KEY"]
	if primary == secondary || secondary == "" {
		t.Fatal("the subscription needs two different keys")
	}
	wantStatus(t, "primary key", h.call("GET", projects, h.fonnHeaders(primary, tok, ""), ""), 200)
	wantStatus(t, "secondary key", h.call("GET", projects, h.fonnHeaders(secondary, tok, ""), ""), 200)
	r := h.call("GET", projects, h.fonnHeaders(secondary, tok, ""), "")
	wantStatus(t, "third call of the subscription", r, 429)
	if r.Header.Get("Retry-After") != "10" {
		t.Errorf("Retry-After %q", r.Header.Get("Retry-After"))
	}
}

// "User impersonation is mandatory in requests made to project scoped
// endpoints when authorized by Workspace Access Token."
func TestFonnWorkspaceToken(t *testing.T) {
	h := start(t, Options{})
	base, key, ws := h.env["FONN_BASE_URL"], h.env["FONN_SUBSCRIPTION_KEY"], h.env["FONN_WORKSPACE_TOKEN"]
	for _, p := range []string{"/api/v1/projects", "/api/v1/projects/p-100"} {
		r := h.call("GET", base+p, h.fonnHeaders(key, ws, ""), "")
		wantStatus(t, "workspace token without impersonation on "+p, r, 400)
		if m := decode(t, r.Body); !strings.Contains(m["message"].(string), "impersonatedUserExternalId") {
			t.Errorf("%s: %s", p, r.Body)
		}
		r = h.call("GET", base+p, h.fonnHeaders(key, ws, "ext-7"), "")
		wantStatus(t, "workspace token with impersonation on "+p, r, 200)
		if decode(t, r.Body)["impersonatedUserExternalId"] != "ext-7" {
			t.Errorf("%s: %s", p, r.Body)
		}
	}
	// The organization's access token needs none ("optional feature").
	wantStatus(t, "access token without impersonation", h.call("GET", base+"/api/v1/projects", h.fonnHeaders(key, h.env["FONN_ACCESS_TOKEN"], ""), ""), 200)
}
