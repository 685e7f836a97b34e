package broker

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/apisign/apisign/internal/testkit"
	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/keyfax"
)

// ---- caller tokens ----------------------------------------------------------

// The vector was computed with Python's hmac module:
// urlsafe_b64encode(hmac.new(key, b"apisign-caller:1700000000", sha256).digest()).rstrip("=").
func TestMintCallerTokenVector(t *testing.T) {
	got := MintCallerToken([]byte("0123456789abcdef0123456789abcdef"), time.Unix(1700000000, 0))
	want := "1700000000.BDNoIJqs4IlX_QSR46Ph3QfYmlfIIHmE_IRM7GWO-1E"
	if got != want {
		t.Fatalf("MintCallerToken = %s, want %s", got, want)
	}
	secret := []byte("0123456789abcdef0123456789abcdef")
	now := time.Unix(1700000000-60, 0)
	if _, err := VerifyCallerToken(secret, want, now); err != nil {
		t.Fatalf("valid token refused: %v", err)
	}
	if _, err := VerifyCallerToken(secret, want+"=", now); err != nil {
		t.Fatalf("padded token refused: %v", err)
	}
}

func TestVerifyCallerTokenRefusals(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	now := time.Unix(1700000000, 0)
	good := MintCallerToken(secret, now.Add(time.Minute))
	cases := []struct {
		name, tok string
		code      signers.Code
	}{
		{"missing", "", signers.CodeToken},
		{"no dot", "1700000060", signers.CodeToken},
		{"signed expiry", "+1700000060" + good[10:], signers.CodeToken},
		{"leading zero", "01700000060" + good[10:], signers.CodeToken},
		{"letters", "17000000x0" + good[10:], signers.CodeToken},
		{"other secret", MintCallerToken([]byte("another secret, 32 bytes long!!!"), now.Add(time.Minute)), signers.CodeSignature},
		{"expiry changed", "1700000061" + good[10:], signers.CodeSignature},
		{"mac cut", good[:len(good)-1], signers.CodeSignature},
		{"expired", MintCallerToken(secret, now), signers.CodeTokenExpired},
		{"long ago", MintCallerToken(secret, now.Add(-48*time.Hour)), signers.CodeTokenExpired},
		{"too far ahead", MintCallerToken(secret, now.Add(25*time.Hour)), signers.CodeToken},
	}
	for _, c := range cases {
		_, err := VerifyCallerToken(secret, c.tok, now)
		if signers.CodeOf(err) != c.code {
			t.Errorf("%s: code %s, want %s (%v)", c.name, signers.CodeOf(err), c.code, err)
		}
		if err != nil && c.tok != "" && strings.Contains(err.Error(), c.tok) {
			t.Errorf("%s: the message repeats the token", c.name)
		}
	}
}

func TestCallerRequiredOnEveryRoute(t *testing.T) {
	h := newHarness(t, nil)
	secret := []byte(h.env[EnvCallerSecret])
	routes := []req{
		{Method: "GET", Target: "/keyfax/token"},
		{Method: "POST", Target: "/ansira/token"},
		{Method: "POST", Target: "/fortis/session"},
		{Method: "DELETE", Target: "/fortis/session/abc"},
		{Method: "POST", Target: "/fortis/sso", Body: []byte("{}")},
		{Method: "GET", Target: "/nfon/api/customers"},
		{Method: "POST", Target: "/fonn/api/v1/things", Body: []byte("{}")},
		{Method: "GET", Target: "/no/such/route"},
	}
	callers := []struct {
		name, tok, code string
	}{
		{"missing", "-", "E_TOKEN"},
		{"malformed", "garbage", "E_TOKEN"},
		{"wrong secret", MintCallerToken([]byte("not the broker's caller secret!!"), h.clk.Now().Add(time.Minute)), "E_SIGNATURE"},
		{"expired", MintCallerToken(secret, h.clk.Now().Add(-time.Second)), "E_TOKEN_EXPIRED"},
		{"too long-lived", MintCallerToken(secret, h.clk.Now().Add(48*time.Hour)), "E_TOKEN"},
	}
	for _, r := range routes {
		for _, c := range callers {
			r.Caller = c.tok
			rec := h.do(r)
			t.Run(r.Method+r.Target+"/"+c.name, func(t *testing.T) { wantError(t, rec, http.StatusUnauthorized, c.code) })
		}
	}
	for _, s := range h.up.Requests() {
		t.Errorf("%s %s reached upstream without a valid caller", s.Method, s.URI)
	}
}

// ---- CORS -------------------------------------------------------------------

func TestCORS(t *testing.T) {
	h := newHarness(t, nil)

	rec := h.do(req{Method: "OPTIONS", Target: "/nfon/api/x", Caller: "-", Header: map[string]string{
		"Origin": testOrigin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "x-apisign-caller, content-type",
	}})
	if rec.Code != http.StatusNoContent {
		t.Fatalf("preflight status %d", rec.Code)
	}
	want := map[string]string{
		"Access-Control-Allow-Origin":   testOrigin,
		"Access-Control-Allow-Headers":  "X-Apisign-Caller, Content-Type, impersonatedUserExternalId, X-Apisign-NFON-Audio",
		"Access-Control-Expose-Headers": "Retry-After, Date, X-Apisign-Error",
		"Vary":                          "Origin",
	}
	for k, v := range want {
		if got := rec.Header().Get(k); got != v {
			t.Errorf("preflight %s = %q, want %q", k, got, v)
		}
	}
	if !strings.Contains(rec.Header().Get("Access-Control-Allow-Methods"), "DELETE") {
		t.Errorf("preflight Allow-Methods = %q", rec.Header().Get("Access-Control-Allow-Methods"))
	}

	// An actual request from an allowed origin gets the CORS headers too.
	rec = h.do(req{Target: "/keyfax/token", Header: map[string]string{"Origin": testOrigin}})
	if rec.Code != 200 || rec.Header().Get("Access-Control-Allow-Origin") != testOrigin ||
		rec.Header().Get("Access-Control-Expose-Headers") != "Retry-After, Date, X-Apisign-Error" {
		t.Errorf("allowed origin: status %d, headers %v", rec.Code, rec.Header())
	}

	// Other origins: refused, preflight or not, caller token or not, with no
	// CORS header that would let their page read anything.
	for _, origin := range []string{"https://evil.example", "https://app.example.evil.example", "http://app.example", "null", "https://APP.example.:443"} {
		for _, r := range []req{
			{Method: "OPTIONS", Target: "/nfon/api/x", Caller: "-", Header: map[string]string{"Origin": origin, "Access-Control-Request-Method": "GET"}},
			{Target: "/keyfax/token", Header: map[string]string{"Origin": origin}},
			{Method: "POST", Target: "/nfon/api/x", Body: []byte("{}"), Header: map[string]string{"Origin": origin}},
		} {
			rec := h.do(r)
			wantError(t, rec, http.StatusForbidden, "E_INPUT")
			if v := rec.Header().Get("Access-Control-Allow-Origin"); v != "" {
				t.Errorf("origin %s: Access-Control-Allow-Origin %q", origin, v)
			}
		}
	}
	if n := h.up.Count("nfon") + h.up.Count("keyfax get"); n != 1 {
		t.Errorf("upstream calls = %d, want 1 (the allowed Keyfax mint)", n)
	}

	// An OPTIONS that is not a preflight is not a route.
	rec = h.do(req{Method: "OPTIONS", Target: "/keyfax/token"})
	wantError(t, rec, http.StatusMethodNotAllowed, "E_INPUT")
}

// ---- Keyfax -----------------------------------------------------------------

func TestKeyfaxToken(t *testing.T) {
	h := newHarness(t, nil)
	rec := h.do(req{Target: "/keyfax/token"})
	if rec.Code != 200 {
		t.Fatalf("status %d: %s (upstream: %v)", rec.Code, rec.Body, h.up.Failures())
	}
	a := decode[keyfaxAnswer](t, rec)
	claims, err := keyfax.ReadJWT(a.Token)
	if err != nil {
		t.Fatalf("token is not a JWT: %v", err)
	}
	if a.HostName != h.creds.KeyfaxHostName || a.ExpiresAt != claims.Exp.UTC().Format(time.RFC3339) {
		t.Errorf("answer %+v, JWT exp %v", a, claims.Exp)
	}
	if !claims.Exp.Equal(testStart.Add(24 * time.Hour)) {
		t.Errorf("JWT exp %v", claims.Exp)
	}
	if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q", cc)
	}

	// Cached until near expiry: the same JWT, no new upstream call.
	h.clk.Advance(23 * time.Hour)
	if b := decode[keyfaxAnswer](t, h.do(req{Target: "/keyfax/token"})); b.Token != a.Token {
		t.Errorf("JWT not cached")
	}
	if h.up.Count("keyfax get") != 1 || h.up.Count("keyfax renew") != 0 {
		t.Errorf("upstream get %d renew %d, want 1 0", h.up.Count("keyfax get"), h.up.Count("keyfax renew"))
	}
	// Within the margin: a new JWT. The broker holds the keys, so it mints
	// with Basic again (POST /api/v1/token is for holders of a JWT only).
	h.clk.Advance(time.Hour - keyfax.DefaultMargin + time.Second)
	c := decode[keyfaxAnswer](t, h.do(req{Target: "/keyfax/token"}))
	if c.Token == a.Token || h.up.Count("keyfax get") != 2 {
		t.Errorf("JWT not minted anew near expiry (mints %d)", h.up.Count("keyfax get"))
	}
}

// The Worker's Broker lives for one request; the State carries the JWT over.
func TestKeyfaxTokenStore(t *testing.T) {
	store, _ := NewLocalState("")
	h := newHarness(t, nil, WithState(store))
	a := decode[keyfaxAnswer](t, h.do(req{Target: "/keyfax/token"}))
	b2, _ := New(func(k string) string { return h.env[k] }, testkit.InMemory{Handler: h.up}, WithClock(h.clk), WithState(store))
	h.b = b2 // a fresh instance, as in the Worker
	if b := decode[keyfaxAnswer](t, h.do(req{Target: "/keyfax/token"})); b != a {
		t.Errorf("second instance answered %+v, want the stored %+v", b, a)
	}
	if n := h.up.Count("keyfax get"); n != 1 {
		t.Errorf("upstream mints = %d, want 1", n)
	}
	h.clk.Advance(24*time.Hour - keyfax.DefaultMargin)
	if b := decode[keyfaxAnswer](t, h.do(req{Target: "/keyfax/token"})); b.Token == a.Token {
		t.Errorf("stored JWT used within the margin of its expiry")
	}
}

// ---- Ansira -----------------------------------------------------------------

func TestAnsiraToken(t *testing.T) {
	h := newHarness(t, nil)
	rec := h.do(req{Method: "POST", Target: "/ansira/token"})
	if rec.Code != 200 {
		t.Fatalf("status %d: %s (upstream: %v)", rec.Code, rec.Body, h.up.Failures())
	}
	a := decode[ansiraAnswer](t, rec)
	if !h.ansiraValid(a.AccessToken) || a.TokenType != "Bearer" || a.ExpiresIn != 3600 || a.Scope != h.creds.AnsiraScope {
		t.Errorf("answer %+v (accepted by the Ansira API: %v)", a, h.ansiraValid(a.AccessToken))
	}
	h.clk.Advance(10 * time.Minute)
	b := decode[ansiraAnswer](t, h.do(req{Method: "POST", Target: "/ansira/token"}))
	if b.AccessToken != a.AccessToken || b.ExpiresIn != 3000 {
		t.Errorf("cached answer %+v, want the same token with 3000 s left", b)
	}
	// A refused token is exchanged again once, however often it is reported.
	for i := 0; i < 3; i++ {
		c := decode[ansiraAnswer](t, h.do(req{Method: "POST", Target: "/ansira/token", Body: []byte(`{"invalidate":"` + a.AccessToken + `"}`)}))
		if c.AccessToken == a.AccessToken {
			t.Fatalf("invalidated token handed out again")
		}
	}
	if n := h.up.Count("ansira"); n != 2 {
		t.Errorf("upstream exchanges = %d, want 2", n)
	}
	wantError(t, h.do(req{Method: "POST", Target: "/ansira/token", Body: []byte(`not json`)}), 400, "E_INPUT")
	wantError(t, h.do(req{Method: "GET", Target: "/ansira/token"}), 405, "E_INPUT")
}

func TestAnsiraTokenStore(t *testing.T) {
	store, _ := NewLocalState("")
	h := newHarness(t, nil, WithState(store))
	a := decode[ansiraAnswer](t, h.do(req{Method: "POST", Target: "/ansira/token"}))
	h.b, _ = New(func(k string) string { return h.env[k] }, testkit.InMemory{Handler: h.up}, WithClock(h.clk), WithState(store))
	h.clk.Advance(time.Minute)
	b := decode[ansiraAnswer](t, h.do(req{Method: "POST", Target: "/ansira/token"}))
	if b.AccessToken != a.AccessToken || b.ExpiresIn != 3540 || b.Scope != a.Scope {
		t.Errorf("stored answer %+v, want %+v with 3540 s left", b, a)
	}
	c := decode[ansiraAnswer](t, h.do(req{Method: "POST", Target: "/ansira/token", Body: []byte(`{"invalidate":"` + a.AccessToken + `"}`)}))
	if c.AccessToken == a.AccessToken || h.up.Count("ansira") != 2 {
		t.Errorf("invalidate ignored the store")
	}
}

// ---- Fortis -----------------------------------------------------------------

func TestFortisSession(t *testing.T) {
	h := newHarness(t, nil)
	rec := h.do(req{Method: "POST", Target: "/fortis/session"})
	if rec.Code != 200 {
		t.Fatalf("status %d: %s (upstream: %v)", rec.Code, rec.Body, h.up.Failures())
	}
	a := decode[fortisAnswer](t, rec)
	if a.ExpiresIn != 900 || a.DeveloperID != h.creds.FortisDeveloperID || !h.fortisOpen(a.Token) {
		t.Fatalf("answer %+v", a)
	}
	b := decode[fortisAnswer](t, h.do(req{Method: "POST", Target: "/fortis/session"}))
	if b.Token == a.Token {
		t.Errorf("each caller should get its own session")
	}
	rec = h.do(req{Method: "DELETE", Target: "/fortis/session/" + a.Token})
	if rec.Code != http.StatusNoContent || h.fortisOpen(a.Token) {
		t.Errorf("close: status %d, still open %v", rec.Code, h.fortisOpen(a.Token))
	}
	// Closing again: the server no longer knows it, which still means closed.
	if rec := h.do(req{Method: "DELETE", Target: "/fortis/session/" + a.Token}); rec.Code != http.StatusNoContent {
		t.Errorf("second close: status %d", rec.Code)
	}
	wantError(t, h.do(req{Method: "DELETE", Target: "/fortis/session/bad%20token"}), 400, "E_TOKEN")
	wantError(t, h.do(req{Method: "GET", Target: "/fortis/session"}), 405, "E_INPUT")
	wantError(t, h.do(req{Method: "POST", Target: "/fortis/session/x"}), 405, "E_INPUT")
}

// POST /fortis/sso: the broker opens a session for the one call, asks
// v2/contactsso for the link with the page's fields, closes the session, and
// answers Fortis' record; the link signs the contact in once.
func TestFortisSSO(t *testing.T) {
	h := newHarness(t, nil)
	rec := h.do(req{Method: "POST", Target: "/fortis/sso", Body: []byte(`{"contact_id":"11e95f8ec39de8fbdb0a4f1a"}`)})
	if rec.Code != 200 {
		t.Fatalf("status %d: %s (upstream: %v)", rec.Code, rec.Body, h.up.Failures())
	}
	if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q: the link is a credential", cc)
	}
	a := decode[struct {
		ContactSSO struct {
			URL       string `json:"url"`
			ContactID string `json:"contact_id"`
		} `json:"contactsso"`
	}](t, rec)
	if !strings.HasPrefix(a.ContactSSO.URL, upstreamBase+"/fortis/sso/") || a.ContactSSO.ContactID != "11e95f8ec39de8fbdb0a4f1a" {
		t.Fatalf("answer %s", rec.Body)
	}
	var methods []string
	var opened string
	for _, s := range h.up.Requests() {
		methods = append(methods, s.Method+" "+s.URI)
		if tok, ok := strings.CutPrefix(s.URI, "/fortis/v2/token/"); ok {
			opened = tok
		}
	}
	if len(methods) != 3 || methods[0] != "POST /fortis/v2/token" || methods[1] != "POST /fortis/v2/contactsso" || !strings.HasPrefix(methods[2], "DELETE /fortis/v2/token/") {
		t.Errorf("upstream calls %q", methods)
	}
	if opened == "" || h.fortisOpen(opened) {
		t.Errorf("the session for the call is still open")
	}
	if st := h.sandboxStatus("GET", strings.TrimPrefix(a.ContactSSO.URL, upstreamBase), nil); st != 200 {
		t.Errorf("the link: status %d", st)
	}
	if st := h.sandboxStatus("GET", strings.TrimPrefix(a.ContactSSO.URL, upstreamBase), nil); st != 404 {
		t.Errorf("the link a second time: status %d, want 404 (one-time)", st)
	}
	wantError(t, h.do(req{Method: "POST", Target: "/fortis/sso", Body: []byte(`[1]`)}), 400, "E_INPUT")
	wantError(t, h.do(req{Method: "GET", Target: "/fortis/sso"}), 405, "E_INPUT")
	// Behind the caller token and its scope.
	// Behind the caller token and its scope: TestCallerRequiredOnEveryRoute,
	// TestScopedCallerTokenRoutes.
}

// ---- forwarding ---------------------------------------------------------------

func TestNFONForward(t *testing.T) {
	h := newHarness(t, nil)
	body := []byte(`{"data":[{"name":"displayName","value":"John Doe"},{"name":"displayNumber","value":"+49 (176) 12345678"}]}`)
	target := "/nfon/api/customers/K1234/phone-books?search=I%20Am%20Encoded&x=a%2Bb"
	rec := h.do(req{Method: "POST", Target: target, Body: body, Header: map[string]string{
		"Content-Type":  "application/json",
		"Accept":        "application/json",
		"Cookie":        "site-session=1",
		"Authorization": "Bearer from-the-page",
		"Content-MD5":   "00000000000000000000000000000000",
		"Origin":        testOrigin,
	}})
	// The sandbox's phone book created the entry: 201 with the entry.
	if rec.Code != http.StatusCreated || !strings.Contains(rec.Body.String(), `"John Doe"`) {
		t.Fatalf("status %d: %s (upstream: %v)", rec.Code, rec.Body, h.up.Failures())
	}
	e := h.up.Last(t)
	sum := md5.Sum(body)
	got := md5.Sum(e.Body)
	if e.Method != "POST" || e.URI != "/nfon/api/customers/K1234/phone-books?search=I%20Am%20Encoded&x=a%2Bb" ||
		got != sum || e.Header.Get("Content-Type") != "application/json" || e.Header.Get("Accept") != "application/json" {
		t.Errorf("upstream saw %s %s, body md5 %s, headers %v", e.Method, e.URI, hex.EncodeToString(got[:]), e.Header)
	}
	for _, name := range []string{"Cookie", "Origin", HeaderCaller} {
		if _, ok := e.Header[http.CanonicalHeaderKey(name)]; ok {
			t.Errorf("client header %q was forwarded upstream", name)
		}
	}
	if e.Header.Get("Authorization") == "Bearer from-the-page" || e.Header.Get("Content-MD5") != hex.EncodeToString(sum[:]) {
		t.Errorf("the page's Authorization or Content-MD5 reached upstream: %v", e.Header)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("Content-Type passed back = %q", ct)
	}
	if rec.Header().Get("Set-Cookie") != "" || rec.Header().Get("X-Upstream-Only") != "" {
		t.Errorf("upstream-only headers passed back: %v", rec.Header())
	}
	if rec.Header().Get("Date") == "" {
		t.Errorf("upstream Date not passed back")
	}

	// Methods and bodies pass through as they are; the status comes back. The
	// sandbox checks the signature first (403 if wrong), then answers 404 for
	// an unknown entry and 405 for a method an entry does not take.
	const entry = "/nfon/api/customers/K1234/phone-books/Base%20Device?x=1"
	for m, status := range map[string]int{"GET": 404, "PUT": 405, "PATCH": 405, "DELETE": 405} {
		var b []byte
		if m == "PUT" || m == "PATCH" {
			b = []byte{0, 1, 2, 0xff, '\n'}
		}
		rec := h.do(req{Method: m, Target: entry, Body: b, Header: map[string]string{"Content-Type": "application/octet-stream"}})
		e := h.up.Last(t)
		if rec.Code != status || e.Status != status || e.Method != m || e.URI != entry || !bytes.Equal(e.Body, b) {
			t.Errorf("%s: status %d (upstream %d), upstream saw %s %s %q (failures %v)", m, rec.Code, e.Status, e.Method, e.URI, e.Body, h.up.Failures())
		}
	}
	if rec := h.do(req{Method: "HEAD", Target: "/nfon/api/customers/K1234/phone-books"}); rec.Code != 200 || rec.Body.Len() != 0 || h.up.Last(t).Method != "HEAD" {
		t.Errorf("HEAD: status %d, body %d bytes", rec.Code, rec.Body.Len())
	}
}

// The broker's NFON signatures are the docs/PROTOCOLS.md "NFON" vectors (computed with
// Node's crypto) when the clock and credentials are the vectors'.
func TestNFONForwardVectors(t *testing.T) {
	var auths []string
	h := newHarness(t, func(env map[string]string) {
		env["NFON_BASE_URL"] = "https://portal-api.example.com"
		env["NFON_KEY_ID"] = "3697ad86-fa77-4b25-9373-02dce48530ff"
		env["NFON_SECRET"] = "nfon-example-secret"
	})
	h.clk.Set(time.Date(2025, 8, 6, 14, 32, 0, 0, time.UTC))
	h.outbound(roundTripFunc(func(r *http.Request) (*http.Response, error) {
		auths = append(auths, r.Header.Get("Authorization")+" "+r.Header.Get("x-nfon-date")+" "+r.URL.String())
		return &http.Response{StatusCode: 200, Header: http.Header{}, Body: http.NoBody}, nil
	}))
	body := `{"data":[{"name":"displayName","value":"John Doe"},{"name":"displayNumber","value":"+49 (176) 12345678"}]}`
	h.do(req{Target: "/nfon/api/customers/K1234/phone-books"})
	h.do(req{Target: "/nfon/api/customers/K1234/phone-books?search=I%20Am%20Encoded"})
	h.do(req{Method: "POST", Target: "/nfon/api/customers/K1234/phone-books", Body: []byte(body), Header: map[string]string{"Content-Type": "application/json"}})
	const pre = "NFON-API 3697ad86-fa77-4b25-9373-02dce48530ff:"
	const date = " Wed, 06 Aug 2025 14:32:00 GMT "
	want := []string{
		pre + "ofdQ9hgbzJ/n5f0iL2mXVXJ14T0=" + date + "https://portal-api.example.com/api/customers/K1234/phone-books",
		pre + "7HXhfWhFeAJCqkOG1cmbBAZG/Xo=" + date + "https://portal-api.example.com/api/customers/K1234/phone-books?search=I%20Am%20Encoded",
		pre + "1OPtkwRjA5ElFXJhVQ7I4uqKdwI=" + date + "https://portal-api.example.com/api/customers/K1234/phone-books",
	}
	if len(auths) != len(want) {
		t.Fatalf("upstream calls %d, want %d", len(auths), len(want))
	}
	for i := range want {
		if auths[i] != want[i] {
			t.Errorf("call %d:\n got %s\nwant %s", i, auths[i], want[i])
		}
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestFonnForward(t *testing.T) {
	h := newHarness(t, nil)
	// The sandbox echoes the impersonated user in its answer.
	rec := h.do(req{Target: "/fonn/api/v1/projects?page=2", Header: map[string]string{"impersonatedUserExternalId": "ext-42"}})
	var projects struct {
		Impersonated string `json:"impersonatedUserExternalId"`
		TotalCount   int    `json:"totalCount"`
	}
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &projects) != nil || projects.Impersonated != "ext-42" || projects.TotalCount == 0 {
		t.Fatalf("status %d: %s (upstream: %v)", rec.Code, rec.Body, h.up.Failures())
	}
	if e := h.up.Last(t); e.URI != "/fonn/api/v1/projects?page=2" || e.Header.Get("impersonatedUserExternalId") != "ext-42" {
		t.Errorf("upstream saw %s %v", e.URI, e.Header)
	}
	// A body passes on as it is; the sandbox takes the credentials, then
	// answers 405 (its projects are read-only), which comes back.
	rec = h.do(req{Method: "POST", Target: "/fonn/api/v1/customers/7/orders?page=2", Body: []byte(`{"a":1}`), Header: map[string]string{
		"Content-Type": "application/json", "impersonatedUserExternalId": "ext-42",
	}})
	if e := h.up.Last(t); rec.Code != 405 || e.URI != "/fonn/api/v1/customers/7/orders?page=2" ||
		e.Header.Get("impersonatedUserExternalId") != "ext-42" || string(e.Body) != `{"a":1}` || e.Header.Get("Content-Type") != "application/json" {
		t.Errorf("status %d, upstream saw %s %v %q (failures %v)", rec.Code, e.URI, e.Header, e.Body, h.up.Failures())
	}
	rec = h.do(req{Target: "/fonn/api/v1/me"})
	if e := h.up.Last(t); rec.Code != 404 || len(e.Header.Values("impersonatedUserExternalId")) != 0 || strings.Contains(rec.Body.String(), "ext-42") {
		t.Errorf("impersonation without the client asking: %d %s %v", rec.Code, rec.Body, e.Header)
	}
	wantError(t, h.do(req{Target: "/fonn/api", Header: map[string]string{"impersonatedUserExternalId": " padded "}}), 400, "E_INPUT")
}

// ---- not an open proxy ----------------------------------------------------------

func TestPathRejections(t *testing.T) {
	h := newHarness(t, nil)
	bad := []string{
		"/nfon/admin",                                  // not under /api/
		"/nfon/apix/customers",                         // prefix at a segment boundary only
		"/nfon/",                                       // nothing
		"/nfon/api/../admin",                           // dot segments
		"/nfon/api/./x",                                //
		"/nfon/api/%2e%2e/admin",                       // encoded dots
		"/nfon/api/%2E%2E/admin",                       //
		"/nfon/api/.%2e/admin",                         //
		"/nfon/api/%252e%252e/admin",                   // double-encoded
		"/nfon/api/%25252e%25252e/admin",               // triple-encoded
		"/nfon/api/..%2fadmin",                         // encoded slash
		"/nfon/api/%2F%2Fevil.example/x",               //
		"/nfon/api/x%5c..%5cadmin",                     // encoded backslash
		"/nfon/api/..;/admin",                          // path parameter trick
		"/nfon//evil.example/api/x",                    // //host
		"/nfon/api//evil.example/x",                    //
		"/nfon/api/a%00b",                              // encoded NUL
		"/fonn/../nfon/api/x",                          // out of the route
		"/fonn//evil.example/",                         //
		"/fonn/%2e%2e/nfon",                            //
		"http://evil.example/nfon/api/x",               // absolute-form request line
		"http://127.0.0.1:9/nfon/api/x",                //
		"/nfon/http://evil.example/api/x",              //
		"/nfon/api/x/..%2f..%2f..%2fadmin",             //
		"/nfon/api/customers/%c0%ae%c0%ae/phone-books", // overlong UTF-8 dots: dots to a lenient UTF-8 decoder (F8)
	}
	for _, target := range bad {
		rec := h.do(req{Target: target})
		if rec.Code != http.StatusForbidden && rec.Code != http.StatusNotFound {
			t.Errorf("%s: status %d, want 403 (or 404 outside the routes): %s", target, rec.Code, rec.Body)
		}
	}
	if n := h.up.Count("nfon") + h.up.Count("fonn"); n != 0 {
		t.Errorf("upstream calls = %d, want 0", n)
	}
	// Query bytes that cannot be on a request line are refused, escapes pass.
	wantError(t, h.do(req{Target: "/nfon/api/x?a=1#b"}), 400, "E_INPUT")
	if !cleanQuery("a=%20&b=%23&c=d+e") || cleanQuery("a=1#b") || cleanQuery("a b") || cleanQuery("a=\xff") {
		t.Errorf("cleanQuery")
	}
	wantError(t, h.do(req{Target: "/nfon/api/%2e%2e/admin"}), 403, "E_INPUT")
	wantError(t, h.do(req{Target: "/nfon/admin"}), 403, "E_INPUT")
	wantError(t, h.do(req{Target: "/nothing"}), 404, "E_INPUT")
}

func TestCheckPath(t *testing.T) {
	ok := []string{"/", "/api/", "/api/customers/K1234/phone-books", "/api/Base%20Device", "/api/100%25", "/api/a.b/c..d/...", "/api/%7Euser", "/api/x;v=1"}
	for _, p := range ok {
		if msg := checkPath(p); msg != "" {
			t.Errorf("checkPath(%q) = %q, want clean", p, msg)
		}
	}
	bad := []string{"", "api", "//x", "/a//b", "/a/../b", "/a/%2e", "/a/%2e%2E", "/a/%2f", "/a/%5C", "/a b", "/a\\b", "/a\x00", "/a/%0a", "/a/é", "/a/%252f", "/..", "/a/..;x"}
	for _, p := range bad {
		if checkPath(p) == "" {
			t.Errorf("checkPath(%q) accepted", p)
		}
	}
	if !allowedPrefix("/api", []string{"/api"}) || !allowedPrefix("/api/x", []string{"/api"}) || allowedPrefix("/apix", []string{"/api"}) ||
		!allowedPrefix("/api/x", []string{"/api/"}) || allowedPrefix("/api", []string{"/api/"}) {
		t.Errorf("allowedPrefix boundaries")
	}
}

func TestAllowedPathsConfig(t *testing.T) {
	h := newHarness(t, func(env map[string]string) {
		env["NFON_ALLOWED_PATHS"] = " /api/customers/K1234/ , /api/customers/K7/phone-books"
		env["FONN_ALLOWED_PATHS"] = "/api/v1/projects"
	})
	for target, status := range map[string]int{
		"/nfon/api/customers/K1234/phone-books": 200,
		"/nfon/api/customers/K9999/phone-books": 403,
		"/nfon/api/customers/K7/phone-books":    200,
		"/nfon/api/customers/K7/phone-booksx":   403,
		"/fonn/api/v1/projects/p-100":           200,
		"/fonn/api/v1/private":                  403,
	} {
		if rec := h.do(req{Target: target}); rec.Code != status {
			t.Errorf("%s: status %d, want %d", target, rec.Code, status)
		}
	}
	// FONN_ALLOWED_PATHS has no default: the access token reaches the whole API.
	h = newHarness(t, func(env map[string]string) { delete(env, "FONN_ALLOWED_PATHS") })
	wantError(t, h.do(req{Target: "/fonn/api/v1/projects"}), 503, "E_CONFIG")
	if h.cfgErr == nil || !strings.Contains(h.cfgErr.Error(), "FONN_ALLOWED_PATHS not set") {
		t.Errorf("config error %v", h.cfgErr)
	}
	h = newHarness(t, func(env map[string]string) { env["NFON_ALLOWED_PATHS"] = "/api/../admin" })
	wantError(t, h.do(req{Target: "/nfon/api/x"}), 503, "E_CONFIG")
	if h.cfgErr == nil || !strings.Contains(h.cfgErr.Error(), "NFON_ALLOWED_PATHS") {
		t.Errorf("config error %v", h.cfgErr)
	}
}

func TestBodyCap(t *testing.T) {
	h := newHarness(t, func(env map[string]string) { env[EnvMaxBody] = "1000" })
	// A phone book entry the sandbox accepts (201), padded to n bytes.
	entry := func(n int) []byte {
		const pre, post = `{"data":[{"name":"displayName","value":"`, `"}]}`
		return []byte(pre + strings.Repeat("a", n-len(pre)-len(post)) + post)
	}
	const books = "/nfon/api/customers/K1234/phone-books"
	exact, over := entry(1000), entry(1001)
	ct := map[string]string{"Content-Type": "application/json"} // NFON requires it on a POST
	if rec := h.do(req{Method: "POST", Target: books, Header: ct, Body: exact}); rec.Code != 201 {
		t.Errorf("body of exactly the cap: status %d", rec.Code)
	}
	if rec := h.do(req{Method: "POST", Target: books, Header: ct, Body: exact, Chunked: true}); rec.Code != 201 {
		t.Errorf("chunked body of exactly the cap: status %d", rec.Code)
	}
	for _, r := range []req{
		{Method: "POST", Target: books, Body: over},
		{Method: "POST", Target: books, Body: over, Chunked: true},
		{Method: "PUT", Target: "/fonn/x", Body: over, Chunked: true},
		{Method: "POST", Target: "/ansira/token", Body: over, Chunked: true},
		{Method: "POST", Target: "/fortis/session", Body: over},
	} {
		wantError(t, h.do(r), http.StatusRequestEntityTooLarge, "E_INPUT")
	}
	if n := h.up.Count("nfon"); n != 2 {
		t.Errorf("nfon upstream calls %d, want 2", n)
	}
	if h.up.Count("fonn")+h.up.Count("ansira")+h.up.Count("fortis open") != 0 {
		t.Errorf("an oversized request reached upstream")
	}

	// The default is 1 MiB.
	h = newHarness(t, nil)
	if h.b.maxBody != 1<<20 {
		t.Errorf("default cap %d", h.b.maxBody)
	}
	wantError(t, h.do(req{Method: "POST", Target: "/nfon/api/x", Body: make([]byte, 1<<20+1), Chunked: true}), 413, "E_INPUT")
}

// ---- configuration ------------------------------------------------------------

func TestProviderNotConfigured(t *testing.T) {
	routes := map[string]req{
		"KEYFAX": {Target: "/keyfax/token"},
		"ANSIRA": {Method: "POST", Target: "/ansira/token"},
		"FORTIS": {Method: "POST", Target: "/fortis/session"},
		"NFON":   {Target: "/nfon/api/x"},
		"FONN":   {Target: "/fonn/x"},
	}
	for prefix, r := range routes {
		// Not configured at all: disabled, not an error.
		h := newHarness(t, func(env map[string]string) {
			for k := range env {
				if strings.HasPrefix(k, prefix+"_") {
					delete(env, k)
				}
			}
		})
		if h.cfgErr != nil {
			t.Errorf("%s unset: New error %v", prefix, h.cfgErr)
		}
		e := wantError(t, h.do(r), http.StatusServiceUnavailable, "E_CONFIG")
		if !strings.Contains(e.Message, prefix+"_") {
			t.Errorf("%s unset: message %q does not say what to set", prefix, e.Message)
		}
		if ok, _ := h.b.Enabled(strings.ToLower(prefix)); ok {
			t.Errorf("%s unset but Enabled", prefix)
		}
		// The other providers still work.
		for other, r2 := range routes {
			if other != prefix && h.do(r2).Code == http.StatusServiceUnavailable {
				t.Errorf("%s unset disabled %s too", prefix, other)
			}
		}

		// Partly configured: disabled and reported.
		dropped := map[string]string{"KEYFAX": "KEYFAX_SIGNING_KEY", "ANSIRA": "ANSIRA_CLIENT_SECRET",
			"FORTIS": "FORTIS_PASSWORD", "NFON": "NFON_SECRET", "FONN": "FONN_ACCESS_TOKEN"}[prefix]
		h = newHarness(t, func(env map[string]string) { delete(env, dropped) })
		var ce *ConfigError
		if !errors.As(h.cfgErr, &ce) || !strings.Contains(ce.Error(), dropped) {
			t.Errorf("%s without %s: New error %v", prefix, dropped, h.cfgErr)
		}
		e = wantError(t, h.do(r), http.StatusServiceUnavailable, "E_CONFIG")
		if !strings.Contains(e.Message, dropped) {
			t.Errorf("%s without %s: message %q", prefix, dropped, e.Message)
		}
	}
}

func TestMalformedConfig(t *testing.T) {
	cases := map[string]string{
		"KEYFAX_SIGNING_KEY": "not base64!",
		"KEYFAX_BASE_URL":    "ftp://x/",
		"NFON_BASE_URL":      "https://user:pw@portal/",
		"NFON_KEY_ID":        "has:colon",
		"FORTIS_BASE_URL":    "https://x/?q=1",
		"ANSIRA_TOKEN_URL":   "http://remote.example/token", // http only for localhost
		"FONN_ACCESS_TOKEN":  "bad\x01token",
	}
	for name, value := range cases {
		h := newHarness(t, func(env map[string]string) { env[name] = value })
		if h.cfgErr == nil || !strings.Contains(h.cfgErr.Error(), name) {
			t.Errorf("%s=%q: New error %v", name, value, h.cfgErr)
		}
		if h.cfgErr != nil && strings.Contains(h.cfgErr.Error(), strings.TrimSpace(value)) {
			t.Errorf("%s: the error repeats the value", name)
		}
		provider := strings.ToLower(name[:strings.IndexByte(name, '_')])
		if ok, why := h.b.Enabled(provider); ok || !strings.Contains(why, name) {
			t.Errorf("%s: Enabled(%s) = %v, %q", name, provider, ok, why)
		}
	}
}

func TestNoCallerSecret(t *testing.T) {
	for _, secret := range []string{"", "too short"} {
		h := newHarness(t, func(env map[string]string) { env[EnvCallerSecret] = secret })
		if h.cfgErr == nil || !strings.Contains(h.cfgErr.Error(), EnvCallerSecret) {
			t.Errorf("secret %q: New error %v", secret, h.cfgErr)
		}
		wantError(t, h.do(req{Target: "/keyfax/token", Caller: MintCallerToken([]byte(secret), h.clk.Now().Add(time.Minute))}), 503, "E_CONFIG")
		if h.up.Count("keyfax get") != 0 {
			t.Errorf("upstream reached without a caller secret")
		}
	}
}

func TestNothingConfiguredNeverPanics(t *testing.T) {
	b, err := New(nil, nil)
	if err == nil || b == nil {
		t.Fatalf("New(nil, nil) = %v, %v", b, err)
	}
	r, _ := http.NewRequest("GET", "/keyfax/token", nil)
	rec := &recorderForPanic{h: http.Header{}}
	b.ServeHTTP(rec, r)
	if rec.status != 503 {
		t.Errorf("status %d", rec.status)
	}
}

type recorderForPanic struct {
	h      http.Header
	status int
}

func (r *recorderForPanic) Header() http.Header         { return r.h }
func (r *recorderForPanic) Write(b []byte) (int, error) { return len(b), nil }
func (r *recorderForPanic) WriteHeader(s int)           { r.status = s }

// ---- upstream failures --------------------------------------------------------

func TestUpstreamStatusesPassedBack(t *testing.T) {
	h := newHarness(t, nil)
	answer := func(status int, retryAfter string) {
		h.up.SetScript(func(w http.ResponseWriter, r *http.Request) bool {
			if retryAfter != "" {
				w.Header().Set("Retry-After", retryAfter)
			}
			w.Header().Set("Content-Type", "text/plain")
			w.Header().Set(HeaderError, "E_UPSTREAM_SAYS")
			w.WriteHeader(status)
			w.Write([]byte("upstream says " + http.StatusText(status)))
			return true
		})
	}
	// Forwarded calls: status, body and Retry-After as the upstream sent them.
	for _, c := range []struct {
		status     int
		retryAfter string
	}{{429, "7"}, {503, "Wed, 21 Oct 2026 07:28:00 GMT"}, {503, ""}, {404, ""}, {401, ""}} {
		answer(c.status, c.retryAfter)
		for _, target := range []string{"/nfon/api/x", "/fonn/x"} {
			rec := h.do(req{Target: target})
			if rec.Code != c.status || rec.Header().Get("Retry-After") != c.retryAfter || rec.Body.String() != "upstream says "+http.StatusText(c.status) {
				t.Errorf("%s upstream %d: got %d, Retry-After %q, body %q", target, c.status, rec.Code, rec.Header().Get("Retry-After"), rec.Body)
			}
			// A forwarded refusal is the upstream's: no broker error code (an
			// upstream's own X-Apisign-Error stays behind), and it cannot run
			// as a page of the broker's origin.
			hd := rec.Header()
			if _, ok := hd[HeaderError]; ok || hd.Get("Content-Security-Policy") != "sandbox" || hd.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("%s upstream %d: headers %v", target, c.status, hd)
			}
		}
	}
	// A malformed Retry-After is not passed on.
	answer(429, "soon\r\nX-Injected: 1")
	if rec := h.do(req{Target: "/nfon/api/x"}); rec.Code != 429 || rec.Header().Get("Retry-After") != "" {
		t.Errorf("malformed Retry-After: %d %q", rec.Code, rec.Header().Get("Retry-After"))
	}

	// Token routes: 429 and 5xx pass through (with Retry-After) as JSON errors;
	// other refusals of the broker's credentials are 502, never 401.
	tokenRoutes := []req{
		{Target: "/keyfax/token"},
		{Method: "POST", Target: "/ansira/token"},
		{Method: "POST", Target: "/fortis/session"},
	}
	for _, r := range tokenRoutes {
		answer(429, "12")
		rec := h.do(r)
		wantError(t, rec, 429, "E_HTTP")
		if rec.Header().Get("Retry-After") != "12" {
			t.Errorf("%s: 429 Retry-After %q", r.Target, rec.Header().Get("Retry-After"))
		}
		answer(503, "")
		wantError(t, h.do(r), 503, "E_HTTP")
		answer(401, "")
		wantError(t, h.do(r), 502, "E_HTTP")
		answer(403, "")
		wantError(t, h.do(r), 502, "E_HTTP")
	}
	answer(429, "3")
	rec := h.do(req{Method: "DELETE", Target: "/fortis/session/abc"})
	wantError(t, rec, 429, "E_HTTP")

	// Unusable token answers.
	h.up.SetScript(func(w http.ResponseWriter, r *http.Request) bool {
		w.Write([]byte(`{"token": "not a jwt", "access_token": ""}`))
		return true
	})
	for _, r := range tokenRoutes {
		wantError(t, h.do(r), 502, "E_TOKEN")
	}
}

func TestUpstreamTimeoutAndUnreachable(t *testing.T) {
	h := newHarness(t, func(env map[string]string) { env[EnvUpstreamTimeout] = "50ms" })
	// The emulator hangs until the broker gives up on it.
	h.up.SetScript(func(w http.ResponseWriter, r *http.Request) bool {
		<-r.Context().Done()
		return true
	})
	all := []req{
		{Target: "/keyfax/token"},
		{Method: "POST", Target: "/ansira/token"},
		{Method: "POST", Target: "/fortis/session"},
		{Method: "DELETE", Target: "/fortis/session/abc"},
		{Target: "/nfon/api/x"},
		{Method: "POST", Target: "/fonn/x", Body: []byte("{}")},
	}
	for _, r := range all {
		e := wantError(t, h.do(r), http.StatusGatewayTimeout, "E_NETWORK")
		if !strings.Contains(e.Message, "50ms") {
			t.Errorf("%s: message %q", r.Target, e.Message)
		}
	}

	// A transport that cannot connect.
	h.outbound(roundTripFunc(func(*http.Request) (*http.Response, error) {
		return nil, errors.New("dial tcp 127.0.0.1:9: connection refused")
	}))
	for _, r := range all {
		e := wantError(t, h.do(r), http.StatusBadGateway, "E_NETWORK")
		if strings.Contains(e.Message, "127.0.0.1") {
			t.Errorf("transport error text leaked: %q", e.Message)
		}
	}
	logs := h.logs.String()
	if !strings.Contains(logs, "unreachable") || !strings.Contains(logs, "timeout") {
		t.Errorf("failures not logged: %q", logs)
	}
}

// A Worker's fetch ignores the context; the broker still answers in time.
func TestUpstreamTimeoutWithContextBlindTransport(t *testing.T) {
	h := newHarness(t, func(env map[string]string) { env[EnvUpstreamTimeout] = "20ms" })
	release := make(chan struct{})
	defer close(release)
	h.outbound(roundTripFunc(func(*http.Request) (*http.Response, error) {
		<-release
		return nil, errors.New("never")
	}))
	wantError(t, h.do(req{Target: "/nfon/api/x"}), http.StatusGatewayTimeout, "E_NETWORK")
}

func TestClientGoneNoAnswer(t *testing.T) {
	h := newHarness(t, nil)
	h.up.SetScript(func(w http.ResponseWriter, r *http.Request) bool {
		<-r.Context().Done()
		return true
	})
	ctx, cancel := context.WithCancel(context.Background())
	r, _ := http.NewRequestWithContext(ctx, "GET", "/nfon/api/x", nil)
	r.Header.Set(HeaderCaller, h.caller())
	rec := &recorderForPanic{h: http.Header{}}
	go func() { cancel() }()
	h.b.ServeHTTP(rec, r)
	if rec.status != 0 {
		t.Errorf("answered %d to a caller that went away", rec.status)
	}
}

func TestRedirectLocationNotPassedOn(t *testing.T) {
	h := newHarness(t, nil)
	h.up.SetScript(func(w http.ResponseWriter, r *http.Request) bool {
		w.Header().Set("Location", "https://evil.example/steal")
		w.WriteHeader(http.StatusFound)
		return true
	})
	rec := h.do(req{Target: "/nfon/api/x"})
	if rec.Code != http.StatusFound || rec.Header().Get("Location") != "" {
		t.Errorf("redirect: status %d, Location %q", rec.Code, rec.Header().Get("Location"))
	}
}
