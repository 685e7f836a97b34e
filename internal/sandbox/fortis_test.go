package sandbox

import (
	"strings"
	"testing"
	"time"

	"github.com/apisign/apisign/internal/testkit"
	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/fortis"
	"github.com/apisign/apisign/signers/token"
)

func (h *harness) fortisSession() *fortis.Session {
	h.t.Helper()
	s, err := fortis.NewSession(fortis.SessionConfig{
		BaseURL: h.env["FORTIS_BASE_URL"], DeveloperID: h.env["FORTIS_DEVELOPER_ID"],
		Username: h.env["FORTIS_USERNAME"], Password: h.env["FORTIS_PASSWORD"], Domain: h.env["FORTIS_DOMAIN"],
		Doer: h.doer, Clock: h.clk,
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return s
}

func (h *harness) fortisTransactions(header signers.Header) *signers.Response {
	h.t.Helper()
	return h.call("GET", h.env["FORTIS_BASE_URL"]+"/v2/transactions", header, "")
}

func (h *harness) fortisWithToken(s *fortis.Session, t token.Token) *signers.Response {
	h.t.Helper()
	hd, err := s.AuthHeader(t)
	if err != nil {
		h.t.Fatal(err)
	}
	return h.fortisTransactions(hd)
}

func TestFortisSessionIdleExpiry(t *testing.T) {
	h := start(t, Options{})
	s := h.fortisSession()
	tok, err := s.Token(t.Context()) // POST /v2/token, read with fortis.ParseOpenResponse
	if err != nil {
		t.Fatal(err)
	}
	// Every successful request restarts the 15 idle minutes.
	for i := 0; i < 3; i++ {
		h.clk.Advance(14 * time.Minute)
		r := h.fortisWithToken(s, tok)
		wantStatus(t, "request within the idle period", r, 200)
		if m := decode(t, r.Body); path(m, "meta", "authenticatedBy") != "token" || len(m["list"].([]any)) == 0 {
			t.Errorf("transactions: %s", r.Body)
		}
	}
	h.clk.Advance(15 * time.Minute)
	wantStatus(t, "request after 15 idle minutes", h.fortisWithToken(s, tok), 401)
	r := h.call("DELETE", h.env["FORTIS_BASE_URL"]+"/v2/token/"+tok.Value, signers.Header{"developer-id": h.env["FORTIS_DEVELOPER_ID"]}, "")
	wantStatus(t, "DELETE an expired token", r, 404)

	// The token as query parameter, on a fresh session; never as Bearer (that
	// is the OAuth method).
	s2 := h.fortisSession()
	tok2, err := s2.Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	r = h.call("GET", h.env["FORTIS_BASE_URL"]+"/v2/transactions?developer-id="+h.env["FORTIS_DEVELOPER_ID"]+"&access-token="+tok2.Value, nil, "")
	wantStatus(t, "token and developer-id as query", r, 200)
	r = h.fortisTransactions(signers.Header{"developer-id": h.env["FORTIS_DEVELOPER_ID"], "Authorization": "Bearer " + tok2.Value})
	wantStatus(t, "session token as Bearer", r, 401)
	wantStatus(t, "unknown token", h.fortisWithToken(s2, token.Token{Value: "0123456789abcdef"}), 401)
}

func TestFortisClose(t *testing.T) {
	h := start(t, Options{})
	s := h.fortisSession()
	tok, err := s.Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(t.Context()); err != nil { // DELETE /v2/token/{token}: 204
		t.Fatal(err)
	}
	wantStatus(t, "closed token", h.fortisWithToken(s, tok), 401)
	r := h.call("DELETE", h.env["FORTIS_BASE_URL"]+"/v2/token/"+tok.Value, signers.Header{"developer-id": h.env["FORTIS_DEVELOPER_ID"]}, "")
	wantStatus(t, "DELETE twice", r, 404)

	tok2, err := h.fortisSession().Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	req, err := fortis.CloseRequest(h.env["FORTIS_BASE_URL"], h.env["FORTIS_DEVELOPER_ID"], tok2.Value)
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "DELETE", h.send(req), 204)
}

func TestFortisOpenRefused(t *testing.T) {
	h := start(t, Options{})
	e := h.env
	open := func(dev, user, pass, domain string) int {
		req, err := fortis.OpenRequest(e["FORTIS_BASE_URL"], dev, user, pass, domain)
		if err != nil {
			t.Fatal(err)
		}
		return h.send(req).Status
	}
	if got := open(e["FORTIS_DEVELOPER_ID"], e["FORTIS_USERNAME"], e["FORTIS_PASSWORD"], e["FORTIS_DOMAIN"]); got != 201 {
		t.Errorf("good credentials: %d", got)
	}
	if got := open(e["FORTIS_DEVELOPER_ID"], e["FORTIS_USERNAME"], "wrong", e["FORTIS_DOMAIN"]); got != 401 {
		t.Errorf("wrong password: %d", got)
	}
	if got := open(e["FORTIS_DEVELOPER_ID"], e["FORTIS_USERNAME"], e["FORTIS_PASSWORD"], "other"); got != 401 {
		t.Errorf("wrong domain: %d", got)
	}
	if got := open("dev-unknown", e["FORTIS_USERNAME"], e["FORTIS_PASSWORD"], e["FORTIS_DOMAIN"]); got != 401 {
		t.Errorf("wrong developer id: %d", got)
	}
	wantStatus(t, "bad JSON", h.call("POST", e["FORTIS_BASE_URL"]+"/v2/token", signers.Header{"developer-id": e["FORTIS_DEVELOPER_ID"]}, "{"), 400)
	wantStatus(t, "GET /v2/token", h.call("GET", e["FORTIS_BASE_URL"]+"/v2/token", signers.Header{"developer-id": e["FORTIS_DEVELOPER_ID"]}, ""), 405)
}

func TestFortisHMAC(t *testing.T) {
	h := start(t, Options{})
	c := h.s.Credentials()
	sign := func(at time.Time, hashKey string) signers.Header {
		s, err := fortis.HMAC(c.FortisDeveloperID, c.FortisUserID, hashKey, at)
		if err != nil {
			t.Fatal(err)
		}
		return s.Header
	}
	r := h.fortisTransactions(sign(t0, c.FortisUserHashKey))
	wantStatus(t, "HMAC", r, 200)
	if got := path(decode(t, r.Body), "meta", "authenticatedBy"); got != "hmac" {
		t.Errorf("authenticated by %v", got)
	}
	wantStatus(t, "HMAC 14 min old", h.fortisTransactions(sign(t0.Add(-14*time.Minute), c.FortisUserHashKey)), 200)
	wantStatus(t, "HMAC 16 min old", h.fortisTransactions(sign(t0.Add(-16*time.Minute), c.FortisUserHashKey)), 401)
	wantStatus(t, "HMAC wrong key", h.fortisTransactions(sign(t0, "wrong-hash-key")), 401)
	hd := sign(t0, c.FortisUserHashKey)
	hd.Set("timestamp", "1772445601") // changed after signing
	wantStatus(t, "HMAC timestamp changed", h.fortisTransactions(hd), 401)
	hd = sign(t0, c.FortisUserHashKey)
	hd.Set("developer-id", "dev-other")
	wantStatus(t, "HMAC wrong developer id", h.fortisTransactions(hd), 401)
}

func TestFortisAPIKey(t *testing.T) {
	h := start(t, Options{})
	c := h.s.Credentials()
	for _, mode := range []fortis.Mode{fortis.ModeHeaders, fortis.ModeQuery, fortis.ModeBasic} {
		for _, key := range []string{c.FortisUserAPIKey, "wrong-key"} {
			auth, err := fortis.APIKey(c.FortisDeveloperID, c.FortisUserID, key, mode)
			if err != nil {
				t.Fatal(err)
			}
			req := &signers.Request{Method: "GET", URL: h.env["FORTIS_BASE_URL"] + "/v2/transactions"}
			if err := auth.ApplyTo(req); err != nil {
				t.Fatal(err)
			}
			want := 200
			if key != c.FortisUserAPIKey {
				want = 401
			}
			r := h.send(req)
			wantStatus(t, string(mode)+" api key", r, want)
			if want == 200 && path(decode(t, r.Body), "meta", "authenticatedBy") != "api-key" {
				t.Errorf("%s: %s", mode, r.Body)
			}
		}
	}
	wantStatus(t, "no credentials", h.fortisTransactions(signers.Header{"developer-id": c.FortisDeveloperID}), 401)
	wantStatus(t, "no developer id", h.fortisTransactions(signers.Header{"user-id": c.FortisUserID, "user-api-key": c.FortisUserAPIKey}), 401)
}

func TestFortisOpenAsDocumented(t *testing.T) {
	h := start(t, Options{})
	e := h.env
	dev := signers.Header{"developer-id": e["FORTIS_DEVELOPER_ID"], "Content-Type": "application/json"}
	// The document's request with its comments removed and our values in.
	body := strings.NewReplacer(" //REQUIRED", "", "myusername", e["FORTIS_USERNAME"], "xxxxxxxx", e["FORTIS_PASSWORD"],
		"xxxx.sandbox.domain.com", e["FORTIS_DOMAIN"]).Replace(testkit.FortisDocOpen)
	r := h.call("POST", e["FORTIS_BASE_URL"]+"/v2/token", dev, body)
	wantStatus(t, "POST /v2/token", r, 201)
	sameShape(t, "token answer", r.Body, testkit.FortisDocOpened)
	m := decode(t, r.Body)
	if path(m, "token", "expire") != 15.0 || path(m, "token", "username") != e["FORTIS_USERNAME"] || len(path(m, "token", "token").(string)) != 16 {
		t.Errorf("token answer: %s", r.Body)
	}

	// domain is //REQUIRED, as are the others: 400 in Fortis' error shape.
	for _, missing := range []string{"username", "password", "domain"} {
		var fields []string
		for k, v := range map[string]string{"username": e["FORTIS_USERNAME"], "password": e["FORTIS_PASSWORD"], "domain": e["FORTIS_DOMAIN"]} {
			if k != missing {
				fields = append(fields, `"`+k+`":"`+v+`"`)
			}
		}
		r := h.call("POST", e["FORTIS_BASE_URL"]+"/v2/token", dev, "{"+strings.Join(fields, ",")+"}")
		wantStatus(t, "without "+missing, r, 400)
		m := decode(t, r.Body)
		if m["type"] != "Error" || m["statusCode"] != 400.0 || !strings.Contains(m["detail"].(string), missing+" is required") {
			t.Errorf("without %s: %s", missing, r.Body)
		}
	}
}

func TestFortisOAuthBearer(t *testing.T) {
	h := start(t, Options{})
	dev := h.env["FORTIS_DEVELOPER_ID"]
	for _, tok := range []string{h.env["FORTIS_OAUTH_TOKEN"], h.s.IssueFortisOAuthToken()} {
		for _, p := range []string{"/v2/transactions", "/v2/contacts"} {
			r := h.call("GET", h.env["FORTIS_BASE_URL"]+p, signers.Header{"developer-id": dev, "Authorization": "Bearer " + tok}, "")
			wantStatus(t, "OAuth bearer on "+p, r, 200)
			if path(decode(t, r.Body), "meta", "authenticatedBy") != "oauth" {
				t.Errorf("%s: %s", p, r.Body)
			}
		}
	}
	wantStatus(t, "unknown bearer", h.fortisTransactions(signers.Header{"developer-id": dev, "Authorization": "Bearer nope"}), 401)
	// The OAuth token is not a session token.
	wantStatus(t, "OAuth token as access-token", h.fortisTransactions(signers.Header{"developer-id": dev, "access-token": h.env["FORTIS_OAUTH_TOKEN"]}), 401)
}

// "these are all the endpoints that support HMAC authentication: ...
// v2/transactions"; v2/contacts is not among them.
func TestFortisHMACEndpoints(t *testing.T) {
	h := start(t, Options{})
	c := h.s.Credentials()
	s, err := fortis.HMAC(c.FortisDeveloperID, c.FortisUserID, c.FortisUserHashKey, t0)
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "HMAC on v2/transactions", h.fortisTransactions(s.Header), 200)
	r := h.call("GET", h.env["FORTIS_BASE_URL"]+"/v2/contacts", s.Header, "")
	wantStatus(t, "HMAC on v2/contacts", r, 401)
	if !strings.Contains(decode(t, r.Body)["detail"].(string), "not supported on this endpoint") {
		t.Errorf("HMAC on v2/contacts: %s", r.Body)
	}
	api, _ := fortis.APIKey(c.FortisDeveloperID, c.FortisUserID, c.FortisUserAPIKey, fortis.ModeHeaders)
	req := &signers.Request{Method: "GET", URL: h.env["FORTIS_BASE_URL"] + "/v2/contacts/11e95f8ec39de8fbdb0a4f1b"}
	if err := api.ApplyTo(req); err != nil {
		t.Fatal(err)
	}
	r = h.send(req)
	wantStatus(t, "API key on v2/contacts/{id}", r, 200)
	if path(decode(t, r.Body), "contact", "last_name") != "Doe" {
		t.Errorf("contact: %s", r.Body)
	}
}

func TestFortisContactSSO(t *testing.T) {
	h := start(t, Options{})
	c := h.s.Credentials()
	api, _ := fortis.APIKey(c.FortisDeveloperID, c.FortisUserID, c.FortisUserAPIKey, fortis.ModeHeaders)
	sso := func(body string) *signers.Response {
		req := &signers.Request{Method: "POST", URL: h.env["FORTIS_BASE_URL"] + "/v2/contactsso", Body: []byte(body),
			Header: signers.Header{"Content-Type": "application/json"}}
		if err := api.ApplyTo(req); err != nil {
			t.Fatal(err)
		}
		return h.send(req)
	}
	r := sso(`{"contact_id":"11e95f8ec39de8fbdb0a4f1a"}`)
	wantStatus(t, "POST v2/contactsso", r, 201)
	m := decode(t, r.Body)
	link, _ := path(m, "contactsso", "url").(string)
	if path(m, "contactsso", "contact_id") != "11e95f8ec39de8fbdb0a4f1a" || !strings.HasPrefix(link, h.env["FORTIS_BASE_URL"]+"/sso/") {
		t.Fatalf("contactsso answer: %s", r.Body)
	}
	// Just clicking the generated URL signs in, once.
	page := h.call("GET", link, nil, "")
	wantStatus(t, "click the link", page, 200)
	if !strings.Contains(string(page.Body), "Signed in") || !strings.HasPrefix(page.Header.Get("Content-Type"), "text/html") {
		t.Errorf("sign-in page: %s", page.Body)
	}
	wantStatus(t, "click it again", h.call("GET", link, nil, ""), 404)

	wantStatus(t, "not a JSON object", sso(`[]`), 400)
	wantStatus(t, "without credentials", h.call("POST", h.env["FORTIS_BASE_URL"]+"/v2/contactsso",
		signers.Header{"developer-id": c.FortisDeveloperID}, `{}`), 401)
	wantStatus(t, "GET v2/contactsso", h.call("GET", h.env["FORTIS_BASE_URL"]+"/v2/contactsso",
		signers.Header{"developer-id": c.FortisDeveloperID}, ""), 405)
	// SSO is not an HMAC endpoint.
	hm, _ := fortis.HMAC(c.FortisDeveloperID, c.FortisUserID, c.FortisUserHashKey, t0)
	hd := hm.Header.Clone()
	hd.Set("Content-Type", "application/json")
	wantStatus(t, "HMAC on v2/contactsso", h.call("POST", h.env["FORTIS_BASE_URL"]+"/v2/contactsso", hd, `{}`), 401)
}
