package broker

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/apisign/apisign/signers"
)

// ---- scoped caller tokens (issue 12 item 3) ------------------------------------

// The vector was computed with Node's crypto module, independently of MintCallerToken:
//
//	p = Buffer.from(JSON.stringify({exp: 1700000000, sub: "user-7", routes: ["fonn", "/keyfax/token"],
//	    fonnUser: "site-manager-42", origin: "https://app.example"})).toString("base64url")
//	"v2." + p + "." + createHmac("sha256", secret).update("apisign-caller-v2:" + p).digest("base64url")
func TestMintScopedCallerTokenVector(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	const want = "v2.eyJleHAiOjE3MDAwMDAwMDAsInN1YiI6InVzZXItNyIsInJvdXRlcyI6WyJmb25uIiwiL2tleWZheC90b2tlbiJdLCJmb25uVXNlciI6InNpdGUtbWFuYWdlci00MiIsIm9yaWdpbiI6Imh0dHBzOi8vYXBwLmV4YW1wbGUifQ.fxtAaNMc6bqduUXkIlWFfNu5q2NWBFdHEhjbD7nvgt8"
	got := MintCallerToken(secret, time.Unix(1700000000, 0), WithSubject("user-7"), WithRoutes("fonn", "/keyfax/token"),
		WithFonnUser("site-manager-42"), WithOrigin("https://app.example"))
	if got != want {
		t.Fatalf("MintCallerToken = %s\nwant %s", got, want)
	}
	s, err := VerifyCallerToken(secret, want, time.Unix(1700000000-60, 0))
	if err != nil {
		t.Fatal(err)
	}
	if s.Subject != "user-7" || len(s.Routes) != 2 || s.FonnUser != "site-manager-42" || s.Origin != "https://app.example" || s.Expires.Unix() != 1700000000 {
		t.Fatalf("scope %+v", s)
	}
}

func TestScopedCallerTokenRefusals(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	now := time.Unix(1700000000, 0)
	exp := now.Add(time.Minute)
	// forge signs a payload of our own making with the right secret: what a
	// site's buggy minting code, or a future version, could produce.
	forge := func(json string) string {
		p := base64.RawURLEncoding.EncodeToString([]byte(json))
		return callerV2 + p + "." + callerMAC(secret, callerPrefixV2+p)
	}
	good := MintCallerToken(secret, exp, WithRoutes("nfon"))
	cases := []struct {
		name, tok string
		code      signers.Code
	}{
		{"other secret", MintCallerToken([]byte("another secret, 32 bytes long!!!"), exp, WithRoutes("nfon")), signers.CodeSignature},
		{"payload changed", strings.Replace(good, "v2.e", "v2.f", 1), signers.CodeSignature},
		{"v1 MAC on a v2 payload", callerV2 + good[3:strings.LastIndex(good, ".")] + "." + callerMAC(secret, callerPrefix+good[3:strings.LastIndex(good, ".")]), signers.CodeSignature},
		{"no MAC", good[:strings.LastIndex(good, ".")], signers.CodeSignature},
		{"expired", MintCallerToken(secret, now, WithRoutes("nfon")), signers.CodeTokenExpired},
		{"too far ahead", MintCallerToken(secret, now.Add(25*time.Hour), WithRoutes("nfon")), signers.CodeToken},
		{"unknown field", forge(`{"exp":1700000060,"routes":["nfon"],"admin":true}`), signers.CodeToken},
		{"unknown provider", MintCallerToken(secret, exp, WithRoutes("stripe")), signers.CodeToken},
		{"route with dots", MintCallerToken(secret, exp, WithRoutes("/nfon/api/../x")), signers.CodeToken},
		{"fonn user with CRLF", MintCallerToken(secret, exp, WithFonnUser("a\r\nX: y")), signers.CodeToken},
		{"origin with a path", MintCallerToken(secret, exp, WithOrigin("https://app.example/x")), signers.CodeToken},
		{"no exp", forge(`{"routes":["nfon"]}`), signers.CodeToken},
		{"not JSON", forge(`exp=1700000060`), signers.CodeToken},
		{"two objects", forge(`{"exp":1700000060}{"exp":1}`), signers.CodeToken},
		{"too long", MintCallerToken(secret, exp, WithSubject(strings.Repeat("s", 5000))), signers.CodeToken},
	}
	for _, c := range cases {
		_, err := VerifyCallerToken(secret, c.tok, now)
		if signers.CodeOf(err) != c.code {
			t.Errorf("%s: code %s, want %s (%v)", c.name, signers.CodeOf(err), c.code, err)
		}
		if err != nil && strings.Contains(err.Error(), c.tok) {
			t.Errorf("%s: the message repeats the token", c.name)
		}
	}
}

func TestScopedCallerTokenRoutes(t *testing.T) {
	h := newHarness(t, nil)
	secret := []byte(h.env[EnvCallerSecret])
	tok := func(opts ...CallerOption) string {
		return MintCallerToken(secret, h.clk.Now().Add(time.Minute), opts...)
	}
	nfonOnly := tok(WithRoutes("nfon"))
	if rec := h.do(req{Target: "/nfon/api/customers/K1234/phone-books", Caller: nfonOnly}); rec.Code != 200 {
		t.Fatalf("allowed route: %d %s", rec.Code, rec.Body)
	}
	for _, r := range []req{
		{Method: "GET", Target: "/keyfax/token"},
		{Method: "POST", Target: "/ansira/token"},
		{Method: "POST", Target: "/fortis/session"},
		{Method: "DELETE", Target: "/fortis/session/abc"},
		{Method: "POST", Target: "/fortis/sso", Body: []byte("{}")},
		{Method: "GET", Target: "/fonn/api/v1/projects"},
	} {
		r.Caller = nfonOnly
		wantError(t, h.do(r), 403, string(CodeScope))
	}
	// A path prefix, at a segment boundary.
	k1234 := tok(WithRoutes("/nfon/api/customers/K1234", "/keyfax/token"))
	if rec := h.do(req{Target: "/nfon/api/customers/K1234/phone-books", Caller: k1234}); rec.Code != 200 {
		t.Fatalf("allowed prefix: %d %s", rec.Code, rec.Body)
	}
	if rec := h.do(req{Target: "/keyfax/token", Caller: k1234}); rec.Code != 200 {
		t.Fatalf("allowed route: %d %s", rec.Code, rec.Body)
	}
	for _, target := range []string{"/nfon/api/customers/K12345/phone-books", "/nfon/api/customers/K9999", "/nfon/api/customers"} {
		wantError(t, h.do(req{Target: target, Caller: k1234}), 403, string(CodeScope))
	}
	// Escaping out of the prefix is refused by the path check before the upstream.
	wantError(t, h.do(req{Target: "/nfon/api/customers/K1234/%2e%2e/K9999", Caller: k1234}), 403, "E_INPUT")
	// A v1 token (no scope) still reaches every route.
	if rec := h.do(req{Target: "/keyfax/token"}); rec.Code != 200 {
		t.Fatalf("v1 token: %d", rec.Code)
	}
	if n := h.up.Count("nfon"); n != 2 {
		t.Errorf("NFON calls = %d, want 2 (the allowed ones)", n)
	}
}

func TestScopedCallerTokenOrigin(t *testing.T) {
	h := newHarness(t, nil)
	bound := MintCallerToken([]byte(h.env[EnvCallerSecret]), h.clk.Now().Add(time.Minute), WithOrigin(testOrigin))
	if rec := h.do(req{Target: "/keyfax/token", Caller: bound, Header: map[string]string{"Origin": testOrigin}}); rec.Code != 200 {
		t.Fatalf("bound origin: %d %s", rec.Code, rec.Body)
	}
	// Another allowed origin.
	rec := h.do(req{Target: "/keyfax/token", Caller: bound, Header: map[string]string{"Origin": "http://127.0.0.1:8080"}})
	wantError(t, rec, 403, string(CodeScope))
	if rec.Header().Get("Access-Control-Allow-Origin") == "" {
		t.Error("the scope refusal of an allowed origin must be readable by its page")
	}
	// No Origin: a same-origin GET of a browser, or a program, which could
	// send any Origin it likes: the binding only stops other sites' pages.
	if rec := h.do(req{Target: "/keyfax/token", Caller: bound}); rec.Code != 200 {
		t.Fatalf("no origin: %d %s", rec.Code, rec.Body)
	}
}

func TestScopedCallerTokenFonnUser(t *testing.T) {
	h := newHarness(t, nil)
	secret := []byte(h.env[EnvCallerSecret])
	as42 := MintCallerToken(secret, h.clk.Now().Add(time.Minute), WithRoutes("fonn"), WithFonnUser("site-manager-42"))
	noUser := MintCallerToken(secret, h.clk.Now().Add(time.Minute), WithRoutes("fonn"))
	imp := func(id string) map[string]string { return map[string]string{"impersonatedUserExternalId": id} }
	if rec := h.do(req{Target: "/fonn/api/v1/projects", Caller: as42, Header: imp("site-manager-42")}); rec.Code != 200 {
		t.Fatalf("allowed user: %d %s", rec.Code, rec.Body)
	}
	if got := h.up.Last(t).Header.Get("impersonatedUserExternalId"); got != "site-manager-42" {
		t.Fatalf("upstream impersonated %q", got)
	}
	if rec := h.do(req{Target: "/fonn/api/v1/projects", Caller: as42}); rec.Code != 200 {
		t.Fatalf("no impersonation: %d %s", rec.Code, rec.Body)
	}
	wantError(t, h.do(req{Target: "/fonn/api/v1/projects", Caller: as42, Header: imp("ceo")}), 403, string(CodeScope))
	wantError(t, h.do(req{Target: "/fonn/api/v1/projects", Caller: noUser, Header: imp("site-manager-42")}), 403, string(CodeScope))
	// A v1 token keeps its old meaning: any user.
	if rec := h.do(req{Target: "/fonn/api/v1/projects", Header: imp("ceo")}); rec.Code != 200 {
		t.Fatalf("v1 token: %d %s", rec.Code, rec.Body)
	}
	if n := h.up.Count("fonn"); n != 3 {
		t.Errorf("Fonn calls = %d, want 3", n)
	}
}

func TestCallerKey(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	now := time.Unix(1700000000, 0)
	key := func(tok string) string {
		s, err := VerifyCallerToken(secret, tok, now)
		if err != nil {
			t.Fatal(err)
		}
		r, _ := http.NewRequest("GET", "/keyfax/token", nil)
		r.Header.Set(HeaderCaller, tok)
		return callerKey(withScope(r, s))
	}
	a := key(MintCallerToken(secret, now.Add(time.Minute), WithSubject("user-7")))
	b := key(MintCallerToken(secret, now.Add(2*time.Minute), WithSubject("user-7"), WithRoutes("nfon")))
	if a != "sub:user-7" || a != b {
		t.Errorf("one subject, keys %q and %q", a, b)
	}
	v1 := MintCallerToken(secret, now.Add(time.Minute))
	k1, k2 := key(v1), key(MintCallerToken(secret, now.Add(2*time.Minute)))
	if k1 == k2 || !strings.HasPrefix(k1, "tok:") || strings.Contains(k1, v1[strings.Index(v1, ".")+1:]) {
		t.Errorf("tokens without a subject: keys %q and %q", k1, k2)
	}
}

// ---- Fonn: two subscription keys, workspace tokens (issue 11 item 11) -------------

func TestFonnSecondaryKey(t *testing.T) {
	const old = "0ld0ld0ld0ld0ld0ld0ld0ld0ld0ld00" // a primary the portal has regenerated
	h := newHarness(t, func(env map[string]string) {
		env[EnvFonnSecondaryKey] = env["FONN_SUBSCRIPTION_KEY"]
		env["FONN_SUBSCRIPTION_KEY"] = old
	})
	if h.cfgErr != nil {
		t.Fatal(h.cfgErr)
	}
	if rec := h.do(req{Target: "/fonn/api/v1/projects"}); rec.Code != 200 {
		t.Fatalf("status %d %s (upstream %v)", rec.Code, rec.Body, h.up.Failures())
	}
	seen := h.up.Requests()
	if len(seen) != 2 || seen[0].Header.Get("Ocp-Apim-Subscription-Key") != old || seen[0].Status != 401 ||
		seen[1].Header.Get("Ocp-Apim-Subscription-Key") != h.creds.FonnSubscriptionKey || string(seen[1].Body) != string(seen[0].Body) {
		t.Fatalf("upstream saw %d requests: %+v", len(seen), seen)
	}
	// The broker remembers the key that works: one call from now on.
	if rec := h.do(req{Method: "GET", Target: "/fonn/api/v1/projects/p-100"}); rec.Code != 200 {
		t.Fatalf("second call %d", rec.Code)
	}
	if n := len(h.up.Requests()); n != 3 {
		t.Errorf("upstream requests = %d, want 3", n)
	}
}

func TestFonnRefusedKeyWithoutSecondary(t *testing.T) {
	h := newHarness(t, func(env map[string]string) { env["FONN_SUBSCRIPTION_KEY"] = "0ld0ld0ld0ld0ld0ld0ld0ld0ld0ld00" })
	rec := h.do(req{Target: "/fonn/api/v1/projects"})
	if rec.Code != 401 || rec.Header().Get(HeaderError) != "" || len(h.up.Requests()) != 1 {
		t.Fatalf("status %d, %s = %q, %d upstream requests: the gateway's own 401, once", rec.Code, HeaderError, rec.Header().Get(HeaderError), len(h.up.Requests()))
	}
	// A refused access token is not a refused key: the secondary is not tried.
	h = newHarness(t, func(env map[string]string) {
		env[EnvFonnSecondaryKey] = "5ec0nd5ec0nd5ec0nd5ec0nd5ec0nd00"
		env["FONN_ACCESS_TOKEN"] = "not-the-token"
	})
	if rec := h.do(req{Target: "/fonn/api/v1/projects"}); rec.Code != 401 || len(h.up.Requests()) != 1 {
		t.Fatalf("refused token: status %d, %d upstream requests", rec.Code, len(h.up.Requests()))
	}
}

func TestFonnWorkspaceToken(t *testing.T) {
	h := newHarness(t, func(env map[string]string) { env[EnvFonnTokenKind] = "workspace" })
	e := wantError(t, h.do(req{Target: "/fonn/api/v1/projects"}), 400, "E_INPUT")
	if !strings.Contains(e.Message, "Workspace Access Token") {
		t.Errorf("message %q does not name the rule", e.Message)
	}
	if rec := h.do(req{Target: "/fonn/api/v1/projects", Header: map[string]string{"impersonatedUserExternalId": "site-manager-42"}}); rec.Code != 200 {
		t.Fatalf("impersonating: %d %s", rec.Code, rec.Body)
	}
	if n := len(h.up.Requests()); n != 1 {
		t.Errorf("upstream requests = %d, want 1", n)
	}
	for _, bad := range []func(map[string]string){
		func(env map[string]string) { env[EnvFonnTokenKind] = "organization" },
		func(env map[string]string) { env[EnvFonnSecondaryKey] = env["FONN_SUBSCRIPTION_KEY"] },
		func(env map[string]string) { env[EnvFonnSecondaryKey] = "a\r\nX-Evil: 1" },
	} {
		h := newHarness(t, bad)
		if h.cfgErr == nil {
			t.Error("bad Fonn configuration accepted")
		}
		wantError(t, h.do(req{Target: "/fonn/api/v1/projects"}), 503, "E_CONFIG")
	}
}

// ---- paths (issue 12 item 6: F4, F8) ------------------------------------------

func TestPathF8(t *testing.T) {
	bad := []string{
		"/api/%252e%252e;%25zz/x",   // double-encoded dots, a parameter, a malformed escape after one decoding
		"/api/..%3f/x",              // a decoded ? inside a segment
		"/api/..%3Fx=1/admin",       //
		"/api/x%23/..",              // a decoded #
		"/api/..%2523/x",            //
		"/api/%c0%ae%c0%ae/x",       // overlong UTF-8 dots
		"/api/%ef%bc%8e%ef%bc%8e/x", // full-width dots
		"/api/%e2%80%a5/x",          // two dot leader
		"/api/x%20",                 // trailing space
		"/api/..%20/x",              // dots and a space
		"/api/..%2520/x",            //
		"/api/x%20;p=1",             //
		"/api/%zz",                  // malformed escapes
		"/api/%",                    //
		"/api/%u002e%u002e/x",       //
		"/api/%2",                   //
	}
	for _, p := range bad {
		if checkPath(p) == "" {
			t.Errorf("checkPath(%q) accepted", p)
		}
	}
	ok := []string{"/api/x%20y", "/api/100%25", "/api/100%2525", "/api/50%25zz", "/api/a;b=%20c", "/api/..x", "/api/x.."}
	for _, p := range ok {
		if msg := checkPath(p); msg != "" {
			t.Errorf("checkPath(%q) = %q, want clean", p, msg)
		}
	}
	// Through the broker: refused before anything is sent.
	h := newHarness(t, nil)
	for _, p := range bad {
		if _, err := url.ParseRequestURI(p); err != nil {
			continue // net/http answers 400 itself; the Worker's guard is tested in workerd
		}
		for _, route := range []string{"/nfon", "/fonn"} {
			if rec := h.do(req{Target: route + p}); rec.Code != 403 && rec.Code != 400 {
				t.Errorf("%s%s: status %d", route, p, rec.Code)
			}
		}
	}
	if n := len(h.up.Requests()); n != 0 {
		t.Errorf("%d requests reached the upstream", n)
	}
}

func TestFortisCloseTokenF4(t *testing.T) {
	h := newHarness(t, nil)
	for _, tok := range []string{"%2e%2e", "%2E%2E", "..", ".", "...", "%2e", "a%2fb", "a%2Fb", "%252e%252e", "a;b", "a%00", "x%20"} {
		wantError(t, h.do(req{Method: "DELETE", Target: "/fortis/session/" + tok}), 400, "E_TOKEN")
	}
	if got := h.do(req{Method: "DELETE", Target: "/fortis/session/a/b"}); got.Code == 204 {
		t.Error("a token with a slash closed a session")
	}
	if n := len(h.up.Requests()); n != 0 {
		t.Fatalf("%d requests reached Fortis: %v", n, h.up.Requests()[0].URI)
	}
	for _, tok := range []string{"3pPzNQstYfXDCE5x", "a.b", "A-b_c~d"} {
		if got, ok := pathToken("/" + tok); !ok || got != tok {
			t.Errorf("pathToken(/%s) = %q, %v", tok, got, ok)
		}
	}
	// A real session still closes.
	rec := h.do(req{Method: "POST", Target: "/fortis/session"})
	s := decode[fortisAnswer](t, rec)
	if rec := h.do(req{Method: "DELETE", Target: "/fortis/session/" + s.Token}); rec.Code != 204 || h.fortisOpen(s.Token) {
		t.Fatalf("close: %d, still open %v", rec.Code, h.fortisOpen(s.Token))
	}
}
