package sandbox

import (
	"errors"
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

func TestAnsiraExchangeInvalidatesEarlierTokens(t *testing.T) {
	h := start(t, Options{})
	ts, err := ansira.NewTokenSource(ansira.Config{Params: h.ansiraParams(), Doer: h.doer, Clock: h.clk})
	if err != nil {
		t.Fatal(err)
	}
	first, err := ts.Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	last := ts.Last()
	if last.TokenType != "Bearer" || last.Scope != "campaigns:read" || last.ExpiresIn != 3600 || len(last.Claims) == 0 {
		t.Errorf("token answer %+v", last)
	}
	r := h.campaigns(first.Value)
	wantStatus(t, "campaigns", r, 200)
	if len(decode(t, r.Body)["data"].([]any)) == 0 {
		t.Errorf("campaigns: %s", r.Body)
	}

	second, err := ts.Refresh(t.Context()) // a new assertion exchange
	if err != nil {
		t.Fatal(err)
	}
	if second.Value == first.Value {
		t.Fatal("the second exchange returned the same token")
	}
	wantStatus(t, "the earlier token", h.campaigns(first.Value), 403)
	wantStatus(t, "the new token", h.campaigns(second.Value), 200)
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
	h := start(t, Options{})
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

	// An expired assertion: the sandbox's own lives a year.
	h.clk.Advance(366 * 24 * time.Hour)
	resp, _, _ = h.ansiraExchange(p)
	wantStatus(t, "expired assertion", resp, 403)
}
