package sandbox

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/ansira"
)

func (h *harness) ansiraParams() ansira.TokenRequestParams {
	return ansira.TokenRequestParams{
		TokenURL: h.env["ANSIRA_TOKEN_URL"], ClientID: h.env["ANSIRA_CLIENT_ID"], ClientSecret: h.env["ANSIRA_CLIENT_SECRET"],
		Assertion: h.env["ANSIRA_ASSERTION"], Scope: h.env["ANSIRA_SCOPE"],
	}
}

func (h *harness) ansiraExchange(p ansira.TokenRequestParams) (*signers.Response, ansira.Token, error) {
	h.t.Helper()
	req, err := ansira.TokenRequest(p)
	if err != nil {
		h.t.Fatal(err)
	}
	resp := h.send(req)
	tok, err := ansira.ParseTokenResponse(resp.Status, resp.Body, h.clk.Now())
	return resp, tok, err
}

func (h *harness) campaigns(accessToken string) *signers.Response {
	h.t.Helper()
	auth, err := ansira.Bearer(accessToken)
	if err != nil {
		h.t.Fatal(err)
	}
	return h.call("GET", h.base+"/ansira/api/v1/campaigns", signers.Header{"Authorization": auth}, "")
}

// The document's token answer: "token_type: bearer", "scope: <A
// comma-separated list of scopes this token is authorized for>".
func TestAnsiraTokensOverlap(t *testing.T) {
	h := start(t, Options{})
	h.s.SetAnsiraScopes("campaigns:read", "campaigns:write")
	ts, err := ansira.NewTokenSource(ansira.Config{Params: h.ansiraParams(), Doer: h.doer, Clock: h.clk})
	if err != nil {
		t.Fatal(err)
	}
	first, err := ts.Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	last := ts.Last()
	if last.TokenType != "bearer" || last.Scope != "campaigns:read" || last.ExpiresIn != 3600 || len(last.Claims) == 0 {
		t.Errorf("token answer %+v", last)
	}
	r := h.campaigns(first.Value)
	wantStatus(t, "campaigns", r, 200)
	if len(decode(t, r.Body)["data"].([]any)) == 0 {
		t.Errorf("campaigns: %s", r.Body)
	}
	p := h.ansiraParams()
	p.Scope = "campaigns:read campaigns:write"
	_, both, err := h.ansiraExchange(p)
	if err != nil || both.Scope != "campaigns:read,campaigns:write" {
		t.Errorf("two scopes: %q, %v", both.Scope, err)
	}

	// "Multiple Access Tokens with overlapping TTLs can be generated and will
	// remain valid until they expire or are explicitly invalidated."
	h.clk.Advance(time.Second)
	second, err := ts.Refresh(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if second.Value == first.Value {
		t.Fatal("the second exchange returned the same token")
	}
	wantStatus(t, "the earlier token", h.campaigns(first.Value), 200)
	wantStatus(t, "the new token", h.campaigns(second.Value), 200)
	// The TTL counts from creation: the first expires a second before the second.
	h.clk.Advance(time.Hour - time.Second)
	wantStatus(t, "the earlier token at its expiry", h.campaigns(first.Value), 403)
	wantStatus(t, "the new token still", h.campaigns(second.Value), 200)
}

// Only a new assertion, a change of scopes or deleting the client invalidate
// tokens early.
func TestAnsiraInvalidation(t *testing.T) {
	for name, invalidate := range map[string]func(h *harness){
		"new assertion":  func(h *harness) { h.s.NewAnsiraAssertion(h.clk.Now().Add(time.Hour)) },
		"scope change":   func(h *harness) { h.s.SetAnsiraScopes("campaigns:read") },
		"client deleted": func(h *harness) { h.s.DeleteAnsiraClient() },
	} {
		t.Run(name, func(t *testing.T) {
			h := start(t, Options{})
			_, a, err := h.ansiraExchange(h.ansiraParams())
			if err != nil {
				t.Fatal(err)
			}
			_, b, _ := h.ansiraExchange(h.ansiraParams())
			invalidate(h)
			wantStatus(t, "first token", h.campaigns(a.AccessToken), 403)
			wantStatus(t, "second token", h.campaigns(b.AccessToken), 403)
			resp, c, err := h.ansiraExchange(h.ansiraParams())
			if name == "client deleted" {
				wantStatus(t, "exchange for a deleted client", resp, 401)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			wantStatus(t, "a token generated afterwards", h.campaigns(c.AccessToken), 200)
		})
	}

	// An assertion generated with an expiry date: tokens until then, 403 after.
	h := start(t, Options{})
	p := h.ansiraParams()
	p.Assertion = h.s.NewAnsiraAssertion(t0.Add(24 * time.Hour))
	if _, _, err := h.ansiraExchange(p); err != nil {
		t.Fatal(err)
	}
	h.clk.Advance(24 * time.Hour)
	resp, _, err := h.ansiraExchange(p)
	if resp.Status != 403 || !errors.Is(err, signers.ErrTokenExpired) || !strings.Contains(string(resp.Body), "expired") {
		t.Errorf("expired assertion: %d %v %s", resp.Status, err, resp.Body)
	}
}

func TestAnsiraRateLimit(t *testing.T) {
	for _, limit := range []int{0, 10} {
		h := start(t, Options{AnsiraRateLimit: limit})
		_, tok, err := h.ansiraExchange(h.ansiraParams())
		if err != nil {
			t.Fatal(err)
		}
		want := limit
		if limit == 0 {
			want = 5 // stage
		}
		for i := 0; i < want; i++ {
			wantStatus(t, "call within the limit", h.campaigns(tok.AccessToken), 200)
		}
		wantStatus(t, "call over the limit", h.campaigns(tok.AccessToken), 429)
		// Per endpoint: the token endpoint has its own count (one call so far).
		if resp, _, _ := h.ansiraExchange(h.ansiraParams()); resp.Status != 200 {
			t.Errorf("token endpoint: %d", resp.Status)
		}
		h.clk.Advance(time.Second)
		wantStatus(t, "next second", h.campaigns(tok.AccessToken), 200)
	}
}

func TestAnsiraListing(t *testing.T) {
	h := start(t, Options{AnsiraRateLimit: 1000})
	_, tok, err := h.ansiraExchange(h.ansiraParams())
	if err != nil {
		t.Fatal(err)
	}
	auth, _ := ansira.Bearer(tok.AccessToken)
	list := func(query string) (*signers.Response, []string, map[string]any) {
		t.Helper()
		r := h.call("GET", h.base+"/ansira/api/v1/campaigns?"+query, signers.Header{"Authorization": auth}, "")
		if r.Status != 200 {
			return r, nil, nil
		}
		m := decode(t, r.Body)
		var ids []string
		for _, c := range m["data"].([]any) {
			ids = append(ids, path(c, "id").(string))
		}
		return r, ids, m["meta"].(map[string]any)
	}
	// page=<page_number>&page_size=<page_size>
	_, ids, meta := list("page=2&page_size=5")
	if strings.Join(ids, " ") != "cmp-1006 cmp-1007 cmp-1008 cmp-1009 cmp-1010" ||
		meta["page"] != 2.0 || meta["page_size"] != 5.0 || meta["total"] != 12.0 || meta["total_pages"] != 3.0 {
		t.Errorf("page 2: %v %v", ids, meta)
	}
	if _, ids, _ := list("page=3&page_size=5"); len(ids) != 2 {
		t.Errorf("last page: %v", ids)
	}
	if _, ids, meta := list(""); len(ids) != 10 || meta["page"] != 1.0 {
		t.Errorf("defaults: %v %v", ids, meta)
	}
	// filter=<filter_condition><boolean_operator><filter_condition>, URL-encoded.
	f := url.QueryEscape("status eq 'active' and channel eq 'email' or budget gt 4500")
	if _, ids, _ := list("filter=" + f); strings.Join(ids, " ") != "cmp-1001 cmp-1002 cmp-1011" {
		t.Errorf("filter: %v", ids)
	}
	if _, ids, _ := list("filter=" + url.QueryEscape("name like 'tenant%'")); strings.Join(ids, " ") != "cmp-1006 cmp-1007" {
		t.Errorf("like: %v", ids)
	}
	// order_by=<sort_expression><sort_expression>
	if _, ids, _ := list("order_by=" + url.QueryEscape("+channel-budget") + "&page_size=3"); strings.Join(ids, " ") != "cmp-1001 cmp-1011 cmp-1012" {
		t.Errorf("order_by: %v", ids)
	}
	for _, bad := range []string{"page=0", "page_size=101", "page=x", "filter=" + url.QueryEscape("status eq"),
		"filter=" + url.QueryEscape("status eq 'a' xor id eq 'b'"), "filter=" + url.QueryEscape("owner eq 'x'"),
		"filter=" + url.QueryEscape("budget eq 'x'"), "order_by=" + url.QueryEscape("+name*id"), "order_by=owner"} {
		if r, _, _ := list(bad); r.Status != 400 {
			t.Errorf("%s: status %d, want 400", bad, r.Status)
		}
	}
}

func TestAnsiraTokenExpiry(t *testing.T) {
	h := start(t, Options{AnsiraTokenTTL: 10 * time.Minute})
	_, tok, err := h.ansiraExchange(h.ansiraParams())
	if err != nil {
		t.Fatal(err)
	}
	if tok.ExpiresIn != 600 {
		t.Errorf("expires_in %d, want 600", tok.ExpiresIn)
	}
	h.clk.Advance(10*time.Minute - time.Second)
	wantStatus(t, "1 s before expiry", h.campaigns(tok.AccessToken), 200)
	h.clk.Advance(time.Second)
	wantStatus(t, "at expiry", h.campaigns(tok.AccessToken), 403)
}

func TestAnsiraRefused(t *testing.T) {
	h := start(t, Options{AnsiraRateLimit: 1000})
	p := h.ansiraParams()

	bad := p
	bad.ClientSecret = "wrong"
	resp, _, err := h.ansiraExchange(bad)
	if resp.Status != 401 || path(decode(t, resp.Body), "error") != "invalid_client" {
		t.Errorf("wrong client secret: %d %s", resp.Status, resp.Body)
	}

	bad = p
	bad.Assertion = start(t, Options{}).env["ANSIRA_ASSERTION"] // another sandbox's
	resp, _, err = h.ansiraExchange(bad)
	if resp.Status != 403 || !errors.Is(err, signers.ErrTokenExpired) {
		t.Errorf("foreign assertion: %d %v", resp.Status, err)
	}

	bad = p
	bad.Scope = "campaigns:read admin"
	resp, _, _ = h.ansiraExchange(bad)
	if resp.Status != 400 || path(decode(t, resp.Body), "error") != "invalid_scope" {
		t.Errorf("unknown scope: %d %s", resp.Status, resp.Body)
	}

	// A token without the read scope cannot read campaigns.
	bad = p
	bad.Scope = "campaigns:write"
	_, tok, err := h.ansiraExchange(bad)
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "token without the scope", h.campaigns(tok.AccessToken), 403)

	auth, _ := ansira.BasicAuth(p.ClientID, p.ClientSecret)
	r := h.call("POST", p.TokenURL, signers.Header{"Authorization": auth, "Content-Type": "application/x-www-form-urlencoded"},
		"grant_type=client_credentials&assertion=x")
	if r.Status != 400 || path(decode(t, r.Body), "error") != "unsupported_grant_type" {
		t.Errorf("client_credentials grant: %d %s", r.Status, r.Body)
	}
	wantStatus(t, "no bearer", h.call("GET", h.base+"/ansira/api/v1/campaigns", nil, ""), 401)
	wantStatus(t, "unknown bearer", h.campaigns("not-a-token"), 403)
	wantStatus(t, "GET token URL", h.call("GET", p.TokenURL, nil, ""), 405)

	// An expired assertion ("Access Tokens can be generated as long as the
	// Client Assertion has not expired"): the sandbox's own lives a year.
	h.clk.Advance(366 * 24 * time.Hour)
	resp, _, _ = h.ansiraExchange(p)
	wantStatus(t, "expired assertion", resp, 403)
}

// The document's token answer, quoted: "Successfully calling the Assertion
// Flow will return a 200 (OK) response code with the following JSON content".
const ansiraDocAnswer = `
  • token_type: bearer
  • access_token: <The value of the access token to be used when performing an API call (the Authorization attribute)>
  • scope: <A comma-separated list of scopes this token is authorized for>
  • claims: <List of data-points used by Ansira for internal authentication>
  • expires_in: <The remaining TTL for the Access Token expressed in seconds>`

func TestAnsiraTokenAnswerAsDocumented(t *testing.T) {
	h := start(t, Options{})
	h.s.SetAnsiraScopes("campaigns:read", "campaigns:write")
	p := h.ansiraParams()
	p.Scope = "campaigns:read campaigns:write"
	resp, _, err := h.ansiraExchange(p)
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "token exchange", resp, 200)
	m := decode(t, resp.Body)
	var members []string
	for _, line := range strings.Split(strings.TrimSpace(ansiraDocAnswer), "\n") {
		name, _, _ := strings.Cut(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "•")), ":")
		members = append(members, name)
		if _, ok := m[name]; !ok {
			t.Errorf("answer lacks %s: %s", name, resp.Body)
		}
	}
	if len(m) != len(members) {
		t.Errorf("answer has %d members, the document %d (%v): %s", len(m), len(members), members, resp.Body)
	}
	if m["token_type"] != "bearer" || m["scope"] != "campaigns:read,campaigns:write" || m["expires_in"] != 3600.0 {
		t.Errorf("answer: %s", resp.Body)
	}
	// "401 (Unauthorized): The Access Token is missing." "403 (Forbidden): The
	// Access Token could be expired, or it was not granted the scopes".
	wantStatus(t, "no token", h.call("GET", h.base+"/ansira/api/v1/campaigns", signers.Header{"Authorization": "Bearer "}, ""), 401)
	wantStatus(t, "invalid token", h.campaigns("expired-or-unknown"), 403)
}
