package sandbox

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/keyfax"
)

func (h *harness) keyfaxSigner() *keyfax.Signer {
	h.t.Helper()
	s, err := keyfax.NewSigner(h.env["KEYFAX_HOST_NAME"], h.env["KEYFAX_API_KEY"], h.env["KEYFAX_SIGNING_KEY"])
	if err != nil {
		h.t.Fatal(err)
	}
	return s
}

// basic sends method path (relative to KEYFAX_BASE_URL) signed with Keyfax
// Basic at time at.
func (h *harness) keyfaxBasic(s *keyfax.Signer, method, path, body string, at time.Time) *signers.Response {
	h.t.Helper()
	req := &signers.Request{Method: method, URL: h.env["KEYFAX_BASE_URL"] + path, Header: signers.Header{"Content-Type": "application/json"}}
	if body != "" {
		req.Body = []byte(body)
	}
	if _, err := s.SignRequest(req, at); err != nil {
		h.t.Fatal(err)
	}
	return h.send(req)
}

// keyfaxJWT gets a JWT with Basic.
func (h *harness) keyfaxJWT() string {
	h.t.Helper()
	r := h.keyfaxBasic(h.keyfaxSigner(), "GET", "/api/v1/token", "", h.clk.Now())
	wantStatus(h.t, "GET token", r, 200)
	jwt, _, err := keyfax.ParseTokenResponse(r.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return jwt
}

func (h *harness) bearer(jwt string) signers.Header {
	h.t.Helper()
	auth, err := keyfax.Bearer(h.env["KEYFAX_HOST_NAME"], jwt)
	if err != nil {
		h.t.Fatal(err)
	}
	return signers.Header{"Authorization": auth, "Content-Type": "application/json"}
}

func TestKeyfaxBasicToken(t *testing.T) {
	h := start(t, Options{})
	s := h.keyfaxSigner()
	req := &signers.Request{Method: "GET", URL: h.env["KEYFAX_BASE_URL"] + "/api/v1/token"}
	if _, err := s.SignRequest(req, h.clk.Now()); err != nil {
		t.Fatal(err)
	}
	r := h.send(req)
	wantStatus(t, "GET token with Basic", r, 200)
	jwt, claims, err := keyfax.ParseTokenResponse(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	if !claims.Exp.Equal(t0.Add(24 * time.Hour)) {
		t.Errorf("exp = %v, want now + 24 h", claims.Exp)
	}
	if claims.Payload["hostName"] != h.env["KEYFAX_HOST_NAME"] || claims.Header["alg"] != "HS256" {
		t.Errorf("claims %v %v", claims.Header, claims.Payload)
	}
	if jwt == "" {
		t.Fatal("empty JWT")
	}

	// The same signed request again: a replayed nonce.
	req.Header = signers.Header{"Authorization": req.Header.Get("Authorization")}
	wantStatus(t, "replayed request", h.send(req), 401)

	bad := []struct {
		name string
		mod  func(*signers.Request)
	}{
		{"signature changed", func(r *signers.Request) {
			f := strings.Split(r.Header.Get("Authorization"), ":")
			f[2] = flipBase64(f[2])
			r.Header.Set("Authorization", strings.Join(f, ":"))
		}},
		{"other path than signed", func(r *signers.Request) { r.URL = strings.Replace(r.URL, "/token", "/startup", 1) }},
		{"unknown api key", func(r *signers.Request) {
			f := strings.Split(r.Header.Get("Authorization"), ":")
			f[1] = "00000000-0000-4000-8000-000000000000"
			r.Header.Set("Authorization", strings.Join(f, ":"))
		}},
		{"no Authorization", func(r *signers.Request) { r.Header = signers.Header{} }},
		{"Bearer where Basic is required", func(r *signers.Request) { r.Header.Set("Authorization", "Bearer Sandbox:"+jwt) }},
	}
	for _, c := range bad {
		req := &signers.Request{Method: "GET", URL: h.env["KEYFAX_BASE_URL"] + "/api/v1/token"}
		if _, err := s.SignRequest(req, h.clk.Now()); err != nil {
			t.Fatal(err)
		}
		c.mod(req)
		if r := h.send(req); r.Status != 401 {
			t.Errorf("%s: status %d, want 401", c.name, r.Status)
		}
	}

	// Timestamps: 4 minutes off is accepted, 6 minutes off is not.
	wantStatus(t, "signed 4 min ago", h.keyfaxBasic(s, "GET", "/api/v1/token", "", t0.Add(-4*time.Minute)), 200)
	wantStatus(t, "signed 6 min ago", h.keyfaxBasic(s, "GET", "/api/v1/token", "", t0.Add(-6*time.Minute)), 401)
	wantStatus(t, "signed 6 min ahead", h.keyfaxBasic(s, "GET", "/api/v1/token", "", t0.Add(6*time.Minute)), 401)

	// A signer with the wrong signing key.
	wrong, _ := keyfax.NewSigner(h.env["KEYFAX_HOST_NAME"], h.env["KEYFAX_API_KEY"], "c2FuZGJveC13cm9uZy1rZXk=")
	wantStatus(t, "wrong signing key", h.keyfaxBasic(wrong, "GET", "/api/v1/token", "", t0), 401)
}

// flipBase64 changes one character of a base64 string, keeping it base64.
func flipBase64(s string) string {
	b := []byte(s)
	if b[0] == 'A' {
		b[0] = 'B'
	} else {
		b[0] = 'A'
	}
	return string(b)
}

func TestKeyfaxTokenSourceRenew(t *testing.T) {
	h := start(t, Options{})
	ts, err := keyfax.NewTokenSource(keyfax.TokenConfig{
		BaseURL: h.env["KEYFAX_BASE_URL"], Doer: h.doer, Clock: h.clk, Signer: h.keyfaxSigner(),
	})
	if err != nil {
		t.Fatal(err)
	}
	first, err := ts.Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	h.clk.Advance(time.Hour)
	renewed, err := ts.Renew(t.Context()) // POST /api/v1/token with Bearer
	if err != nil {
		t.Fatal(err)
	}
	if renewed.Value == first.Value || !renewed.Expiry.Equal(t0.Add(25*time.Hour)) {
		t.Errorf("renewed token: same=%v expiry %v, want a new one expiring at now + 24 h", renewed.Value == first.Value, renewed.Expiry)
	}
	wantStatus(t, "startup with renewed JWT", h.call("GET", h.env["KEYFAX_BASE_URL"]+"/api/v1/startup", h.bearer(renewed.Value), ""), 200)
}

func TestKeyfaxBearerRefused(t *testing.T) {
	h := start(t, Options{})
	jwt := h.keyfaxJWT()
	startup := h.env["KEYFAX_BASE_URL"] + "/api/v1/startup"
	wantStatus(t, "valid bearer", h.call("GET", startup, h.bearer(jwt), ""), 200)

	other := start(t, Options{}).keyfaxJWT() // signed with another sandbox's key
	parts := strings.Split(jwt, ".")
	cases := map[string]string{
		"wrong host name":         "Bearer Other:" + jwt,
		"no host name":            "Bearer " + jwt,
		"signature changed":       "Bearer Sandbox:" + parts[0] + "." + parts[1] + "." + flipBase64(parts[2]),
		"payload changed":         "Bearer Sandbox:" + parts[0] + "." + parts[1] + "x." + parts[2],
		"another sandbox's token": "Bearer Sandbox:" + other,
		"not a JWT":               "Bearer Sandbox:abc",
		"Basic garbage":           "Basic Sandbox:x:y:z:1",
	}
	for name, auth := range cases {
		r := h.call("GET", startup, signers.Header{"Authorization": auth}, "")
		if r.Status != 401 {
			t.Errorf("%s: status %d, want 401", name, r.Status)
		}
	}
}

func TestKeyfaxJWTExpiry(t *testing.T) {
	h := start(t, Options{})
	jwt := h.keyfaxJWT()
	startup := h.env["KEYFAX_BASE_URL"] + "/api/v1/startup"
	h.clk.Advance(24*time.Hour - time.Second)
	wantStatus(t, "1 s before exp", h.call("GET", startup, h.bearer(jwt), ""), 200)
	h.clk.Advance(time.Second)
	wantStatus(t, "at exp", h.call("GET", startup, h.bearer(jwt), ""), 401)
	wantStatus(t, "renew with an expired JWT", h.call("POST", h.env["KEYFAX_BASE_URL"]+"/api/v1/token", h.bearer(jwt), ""), 401)

	// The lifetime is configurable.
	short := start(t, Options{KeyfaxTokenTTL: time.Minute})
	_, claims, err := keyfax.ParseTokenResponse(short.keyfaxBasic(short.keyfaxSigner(), "GET", "/api/v1/token", "", t0).Body)
	if err != nil || !claims.Exp.Equal(t0.Add(time.Minute)) {
		t.Errorf("KeyfaxTokenTTL: exp %v, err %v", claims.Exp, err)
	}
}

// startupBody is Keyfax start-up data in the documented JSON form.
func startupBody(company, returnURL string) string {
	return `{"mode":{"value":"RD"},"userName":{"value":"advisor1"},"company":{"value":"` + company +
		`"},"scriptSet":{"value":"RD"},"propertyId":{"value":"P-77"},"returnUrl":{"value":"` + returnURL + `"}}`
}

type launch struct{ GUID, LaunchURL, Company string }

func (h *harness) keyfaxStartup(auth signers.Header, body string) launch {
	h.t.Helper()
	r := h.call("POST", h.env["KEYFAX_BASE_URL"]+"/api/v1/startup", auth, body)
	wantStatus(h.t, "POST startup", r, 200)
	m := decode(h.t, r.Body)
	l := launch{GUID: m["guid"].(string), LaunchURL: m["launchUrl"].(string), Company: m["company"].(string)}
	if !strings.HasPrefix(l.LaunchURL, h.env["KEYFAX_BASE_URL"]+"/launch?guid=") || !strings.HasSuffix(l.LaunchURL, l.GUID) {
		h.t.Fatalf("launchUrl %q", l.LaunchURL)
	}
	return l
}

func (h *harness) keyfaxResults(auth signers.Header, l launch) *signers.Response {
	h.t.Helper()
	return h.call("POST", h.env["KEYFAX_BASE_URL"]+"/api/v1/results", auth,
		`{"company":"`+l.Company+`","guid":"`+l.GUID+`"}`)
}

// interview loads the launch page and presses a button, as a browser would:
// the form posts to launch/complete or launch/cancel relative to the page.
func (h *harness) interview(l launch, button string, form url.Values) *signers.Response {
	h.t.Helper()
	page := h.call("GET", l.LaunchURL, nil, "")
	wantStatus(h.t, "launch page", page, 200)
	html := string(page.Body)
	for _, want := range []string{">Complete</button>", ">Cancel</button>", `formaction="launch/complete"`, `formaction="launch/cancel"`,
		`value="` + l.GUID + `"`, kfQuestion1, "Leaking tap"} {
		if !strings.Contains(html, want) {
			h.t.Fatalf("launch page lacks %q:\n%s", want, html)
		}
	}
	if ct := page.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		h.t.Errorf("launch page Content-Type %q", ct)
	}
	pageURL, _ := url.Parse(l.LaunchURL)
	action, _ := pageURL.Parse("launch/" + button)
	form.Set("guid", l.GUID)
	return h.call("POST", action.String(), signers.Header{"Content-Type": "application/x-www-form-urlencoded"}, form.Encode())
}

func TestKeyfaxInterviewComplete(t *testing.T) {
	h := start(t, Options{})
	auth := h.bearer(h.keyfaxJWT())
	l := h.keyfaxStartup(auth, startupBody("OL3_Dev", "http://127.0.0.1:9/return?from=keyfax"))
	if l.Company != "OL3_Dev" {
		t.Errorf("company %q", l.Company)
	}
	for i := 0; i < 3; i++ {
		r := h.keyfaxResults(auth, l)
		wantStatus(t, "results while running", r, 202)
	}
	h.clk.Advance(5 * time.Minute)
	r := h.interview(l, "complete", url.Values{"problem": {"No heating"}, "risk": {"Yes"}, "details": {"Elderly tenant"}})
	wantStatus(t, "complete", r, 303)
	if got, want := r.Header.Get("Location"), "http://127.0.0.1:9/return?from=keyfax&status=1&guid="+l.GUID; got != want {
		t.Errorf("redirect to %q, want %q", got, want)
	}

	// Results with Bearer (client flow) and with Basic (server flow) agree.
	res := h.keyfaxResults(auth, l)
	wantStatus(t, "results after complete", res, 200)
	basic := h.keyfaxBasic(h.keyfaxSigner(), "POST", "/api/v1/results", `{"company":"OL3_Dev","guid":"`+l.GUID+`"}`, h.clk.Now())
	wantStatus(t, "results with Basic", basic, 200)
	if string(basic.Body) != string(res.Body) {
		t.Error("Basic and Bearer results differ")
	}
	m := decode(t, res.Body)
	checks := map[string]any{
		"KeyfaxData.GUID":                l.GUID,
		"KeyfaxData.Status":              "1",
		"KeyfaxData.Call.@name":          "Call1",
		"KeyfaxData.Call.@type":          "RD",
		"KeyfaxData.Call.Company":        "OL3_Dev",
		"KeyfaxData.Call.UserCode":       "advisor1",
		"KeyfaxData.Call.CallText":       "No heating",
		"KeyfaxData.Call.LogDate":        "02/03/2026 10:05:00",
		"KeyfaxData.Call.AdditionalInfo": "Elderly tenant",
		"KeyfaxData.Call.RepairCount":    "1",
	}
	for p, want := range checks {
		if got := path(m, strings.Split(p, ".")...); got != want {
			t.Errorf("%s = %v, want %v", p, got, want)
		}
	}
	repairs, _ := path(m, "KeyfaxData", "Call", "Repair").([]any)
	if len(repairs) != 1 {
		t.Fatalf("Repair %v", path(m, "KeyfaxData", "Call", "Repair"))
	}
	for k, want := range map[string]string{"@name": "Repair1", "Priority": "E" /* safety risk: emergency */, "RepairCode": "HT0310",
		"CompleteBy": "03/03/2026 10:05:00", "ResponseDays": "1"} {
		if got := path(repairs[0], k); got != want {
			t.Errorf("Repair.%s = %v, want %v", k, got, want)
		}
	}
	if sp, _ := path(m, "KeyfaxData", "Call", "ScriptPath", "#cdata-section").(string); !strings.Contains(sp, "<b>No heating</b>") {
		t.Errorf("ScriptPath %q", sp)
	}

	// Pressing Cancel afterwards changes nothing; the page says it has ended.
	r = h.call("POST", h.env["KEYFAX_BASE_URL"]+"/launch/cancel", signers.Header{"Content-Type": "application/x-www-form-urlencoded"}, "guid="+l.GUID)
	wantStatus(t, "cancel after complete", r, 303)
	if got := path(decode(t, h.keyfaxResults(auth, l).Body), "KeyfaxData", "Status"); got != "1" {
		t.Errorf("status after a late cancel: %v", got)
	}
	if page := h.call("GET", l.LaunchURL, nil, ""); !strings.Contains(string(page.Body), `id="ended"`) {
		t.Error("ended session page")
	}
}

func TestKeyfaxInterviewCancel(t *testing.T) {
	h := start(t, Options{})
	auth := h.bearer(h.keyfaxJWT())
	l := h.keyfaxStartup(auth, startupBody("OL3_Dev", "http://127.0.0.1:9/done?s={0}&co={1}&g={2}&u={3}"))
	wantStatus(t, "results while running", h.keyfaxResults(auth, l), 202)
	r := h.interview(l, "cancel", url.Values{})
	wantStatus(t, "cancel", r, 303)
	if got, want := r.Header.Get("Location"), "http://127.0.0.1:9/done?s=2&co=OL3_Dev&g="+l.GUID+"&u=advisor1"; got != want {
		t.Errorf("redirect to %q, want %q", got, want)
	}
	res := h.keyfaxResults(auth, l)
	wantStatus(t, "results after cancel", res, 200)
	m := decode(t, res.Body)
	if path(m, "KeyfaxData", "Status") != "2" || path(m, "KeyfaxData", "Call", "@type") != "RD" || path(m, "KeyfaxData", "Call", "RepairCount") != "0" {
		t.Errorf("cancelled results: %s", res.Body)
	}

	// Without a return URL the interview ends on a closing page.
	l2 := h.keyfaxStartup(auth, `{"company":"OL3_Dev"}`)
	r = h.interview(l2, "complete", url.Values{})
	wantStatus(t, "complete without return URL", r, 200)
	if !strings.Contains(string(r.Body), "completed") {
		t.Errorf("closing page: %s", r.Body)
	}
	res = h.keyfaxResults(auth, l2)
	wantStatus(t, "results", res, 200)
	if got := path(decode(t, res.Body), "KeyfaxData", "Call", "Repair").([]any); len(got) != 1 || path(got[0], "Priority") != "R" {
		t.Errorf("default answers: priority %v, want R", got)
	}
}

func TestKeyfaxStartupAndResultsErrors(t *testing.T) {
	h := start(t, Options{})
	auth := h.bearer(h.keyfaxJWT())
	base := h.env["KEYFAX_BASE_URL"]
	l := h.keyfaxStartup(auth, startupBody("OL3_Dev", ""))

	wantStatus(t, "startup without auth", h.call("POST", base+"/api/v1/startup", nil, startupBody("X", "")), 401)
	wantStatus(t, "results without auth", h.call("POST", base+"/api/v1/results", nil, `{"guid":"`+l.GUID+`"}`), 401)
	// The document defines no 400 here: invalid start-up data and bad results
	// requests are 500 with the error in the body.
	for name, r := range map[string]*signers.Response{
		"startup not JSON":       h.call("POST", base+"/api/v1/startup", auth, "<StartUpData/>"),
		"javascript: return URL": h.call("POST", base+"/api/v1/startup", auth, startupBody("X", "javascript:alert(1)")),
		"unknown guid":           h.keyfaxResults(auth, launch{GUID: "00000000-0000-4000-8000-000000000000", Company: "OL3_Dev"}),
		"wrong company":          h.keyfaxResults(auth, launch{GUID: l.GUID, Company: "Other"}),
		"no guid":                h.call("POST", base+"/api/v1/results", auth, `{"company":"OL3_Dev"}`),
		"results not JSON":       h.call("POST", base+"/api/v1/results", auth, "guid="+l.GUID),
	} {
		wantStatus(t, name, r, 500)
		if msg, _ := decode(t, r.Body)["message"].(string); msg == "" {
			t.Errorf("%s: no error in the body: %s", name, r.Body)
		}
	}
	wantStatus(t, "GET results", h.call("GET", base+"/api/v1/results", auth, ""), 405)
	wantStatus(t, "unknown launch", h.call("GET", base+"/launch?guid=nope", nil, ""), 404)
	// Paths are matched without regard to case, as IIS does.
	wantStatus(t, "lower-case path", h.call("POST", strings.Replace(base, "/Interview", "/interview", 1)+"/API/v1/results", auth,
		`{"company":"OL3_Dev","guid":"`+l.GUID+`"}`), 202)
	// Plain-string members are read too.
	wantStatus(t, "plain members", h.call("POST", base+"/api/v1/results", auth, `{"Company":"OL3_Dev","Guid":"`+l.GUID+`"}`), 202)
	// Example start-up data.
	ex := decode(t, h.call("GET", base+"/api/v1/startup", auth, "").Body)
	if path(ex, "mode", "value") != "RD" {
		t.Errorf("example start-up data %v", ex)
	}
}
