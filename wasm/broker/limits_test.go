package broker

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apisign/apisign/internal/testkit"
	"github.com/apisign/apisign/signers/keyfax"
)

// concurrently runs n copies of r through the broker at once (Overlapping)
// and returns the answers.
func (h *harness) concurrently(n int, r req) []*httptest.ResponseRecorder {
	h.t.Helper()
	out := make([]*httptest.ResponseRecorder, n)
	h.up.Overlapping(n, 50*time.Millisecond, func(i int) { out[i] = h.do(r) })
	return out
}

// 20 concurrent requests for a Keyfax JWT: one mint; for an Ansira token: one
// exchange.
func TestTokenSingleFlights(t *testing.T) {
	h := newHarness(t, nil)
	for _, c := range []struct {
		r    req
		kind string // of the upstream call
	}{{req{Target: "/keyfax/token"}, "keyfax get"}, {req{Method: "POST", Target: "/ansira/token"}, "ansira"}} {
		recs := h.concurrently(20, c.r)
		for i, rec := range recs {
			if rec.Code != 200 || rec.Body.String() != recs[0].Body.String() {
				t.Errorf("%s answer %d: %d %s", c.r.Target, i, rec.Code, rec.Body)
			}
		}
		if n := h.up.Count(c.kind); n != 1 {
			t.Errorf("%s: upstream calls = %d, want 1", c.r.Target, n)
		}
	}
}

// F1: reports of a refused Ansira token force one exchange, not one each.
func TestAnsiraReexchangeOnce(t *testing.T) {
	h := newHarness(t, nil)
	a := decode[ansiraAnswer](t, h.do(req{Method: "POST", Target: "/ansira/token"}))
	report := req{Method: "POST", Target: "/ansira/token", Body: []byte(`{"invalidate":"` + a.AccessToken + `"}`)}
	var b ansiraAnswer
	for i := 0; i < 50; i++ {
		rec := h.do(report)
		b = decode[ansiraAnswer](t, rec)
		if rec.Code != 200 || b.AccessToken == a.AccessToken {
			t.Fatalf("report %d: %d %s", i, rec.Code, rec.Body)
		}
	}
	if n := h.up.Count("ansira"); n != 2 {
		t.Errorf("upstream exchanges after 50 reports = %d, want 2 (the first and one forced)", n)
	}
	// 20 concurrent reports of the new token: one exchange, one answer.
	h.clk.Advance(DefaultAnsiraReexchange)
	report.Body = []byte(`{"invalidate":"` + b.AccessToken + `"}`)
	var c string
	for i, rec := range h.concurrently(20, report) {
		got := decode[ansiraAnswer](t, rec)
		if i == 0 {
			c = got.AccessToken
		}
		if rec.Code != 200 || got.AccessToken == b.AccessToken || got.AccessToken != c {
			t.Errorf("concurrent report %d: %d %s", i, rec.Code, rec.Body)
		}
	}
	if n := h.up.Count("ansira"); n != 3 {
		t.Errorf("upstream exchanges after 20 concurrent reports = %d, want 3", n)
	}
	// Within the interval, a report of the token just issued is refused.
	report.Body = []byte(`{"invalidate":"` + c + `"}`)
	rec := h.do(report)
	wantError(t, rec, 429, string(CodeRate))
	if ra, _ := strconv.Atoi(rec.Header().Get("Retry-After")); ra < 1 || ra > 60 {
		t.Errorf("Retry-After %q", rec.Header().Get("Retry-After"))
	}
	h.clk.Advance(DefaultAnsiraReexchange)
	if got := decode[ansiraAnswer](t, h.do(report)); got.AccessToken == c || h.up.Count("ansira") != 4 {
		t.Errorf("after the interval: %+v, exchanges %d", got, h.up.Count("ansira"))
	}
}

// F3: a caller's rate per route.
func TestRateLimit(t *testing.T) {
	h := newHarness(t, func(env map[string]string) { env[EnvRateLimit] = "3/1m" })
	caller := h.caller()
	for i := 0; i < 3; i++ {
		if rec := h.do(req{Target: "/keyfax/token", Caller: caller}); rec.Code != 200 {
			t.Fatalf("request %d: %d %s", i, rec.Code, rec.Body)
		}
	}
	rec := h.do(req{Target: "/keyfax/token", Caller: caller})
	wantError(t, rec, 429, string(CodeRate))
	if rec.Header().Get("Retry-After") != "60" {
		t.Errorf("Retry-After %q, want 60", rec.Header().Get("Retry-After"))
	}
	// Another route, another caller: counted apart.
	if rec := h.do(req{Target: "/nfon/api/customers/K1234/phone-books", Caller: caller}); rec.Code != 200 {
		t.Errorf("another route: %d", rec.Code)
	}
	other := MintCallerToken([]byte(h.env[EnvCallerSecret]), h.clk.Now().Add(6*time.Minute))
	if rec := h.do(req{Target: "/keyfax/token", Caller: other}); rec.Code != 200 {
		t.Errorf("another caller: %d", rec.Code)
	}
	h.clk.Advance(time.Minute)
	if rec := h.do(req{Target: "/keyfax/token", Caller: caller}); rec.Code != 200 {
		t.Errorf("after the window: %d", rec.Code)
	}
	for _, bad := range []string{"x", "3/", "-1/1m", "3/soon"} {
		hb := newHarness(t, func(env map[string]string) { env[EnvRateLimit] = bad })
		if hb.cfgErr == nil || !strings.Contains(hb.cfgErr.Error(), EnvRateLimit) {
			t.Errorf("%s=%q: %v", EnvRateLimit, bad, hb.cfgErr)
		}
	}
}

// F3: one caller opening 200 Fortis sessions at once gets FORTIS_MAX_SESSIONS.
func TestFortisSessionCap(t *testing.T) {
	h := newHarness(t, func(env map[string]string) {
		env[EnvFortisMaxSessions] = "2"
		env[EnvRateLimit] = "1000/1m" // not the limit under test
	})
	caller := MintCallerToken([]byte(h.env[EnvCallerSecret]), h.clk.Now().Add(time.Hour))
	opened := 0
	var tokens []string
	for _, rec := range h.concurrently(200, req{Method: "POST", Target: "/fortis/session", Caller: caller}) {
		switch rec.Code {
		case 200:
			opened++
			tokens = append(tokens, decode[fortisAnswer](t, rec).Token)
		case 429:
			wantError(t, rec, 429, string(CodeRate))
		default:
			t.Errorf("open: %d %s", rec.Code, rec.Body)
		}
	}
	if opened != 2 || h.up.Count("fortis open") != 2 {
		t.Fatalf("opened %d sessions (upstream %d), want 2", opened, h.up.Count("fortis open"))
	}
	// Closing one frees its slot; another caller has its own.
	if rec := h.do(req{Method: "DELETE", Target: "/fortis/session/" + tokens[0], Caller: caller}); rec.Code != 204 {
		t.Fatalf("close: %d", rec.Code)
	}
	if rec := h.do(req{Method: "POST", Target: "/fortis/session", Caller: caller}); rec.Code != 200 {
		t.Errorf("open after a close: %d %s", rec.Code, rec.Body)
	}
	wantError(t, h.do(req{Method: "POST", Target: "/fortis/session", Caller: caller}), 429, string(CodeRate))
	// A failed opening gives its slot back; a session counts for its idle
	// expiry (15 minutes) at most.
	h.clk.Advance(15 * time.Minute)
	h.up.SetScript(func(w http.ResponseWriter, r *http.Request) bool { w.WriteHeader(503); return true })
	wantError(t, h.do(req{Method: "POST", Target: "/fortis/session", Caller: caller}), 503, "E_HTTP")
	h.up.SetScript(nil)
	for i := 0; i < 2; i++ {
		if rec := h.do(req{Method: "POST", Target: "/fortis/session", Caller: caller}); rec.Code != 200 {
			t.Errorf("open %d after the expiry: %d %s", i, rec.Code, rec.Body)
		}
	}

	// Tokens with one subject are one caller: a fresh token does not bring
	// fresh slots, and closes what an earlier one opened.
	secret := []byte(h.env[EnvCallerSecret])
	first := MintCallerToken(secret, h.clk.Now().Add(time.Hour), WithSubject("user-7"))
	second := MintCallerToken(secret, h.clk.Now().Add(2*time.Hour), WithSubject("user-7"))
	var open []string
	for i := 0; i < 2; i++ {
		open = append(open, decode[fortisAnswer](t, h.do(req{Method: "POST", Target: "/fortis/session", Caller: first})).Token)
	}
	wantError(t, h.do(req{Method: "POST", Target: "/fortis/session", Caller: second}), 429, string(CodeRate))
	h.do(req{Method: "DELETE", Target: "/fortis/session/" + open[0], Caller: second})
	if rec := h.do(req{Method: "POST", Target: "/fortis/session", Caller: second}); rec.Code != 200 {
		t.Errorf("open after the same subject closed one: %d %s", rec.Code, rec.Body)
	}
}

// Issue 11: the token answer's company comes through.
func TestKeyfaxTokenCompany(t *testing.T) {
	h := newHarness(t, nil)
	if a := decode[keyfaxAnswer](t, h.do(req{Target: "/keyfax/token"})); a.Company != "Sandbox_Dev" {
		t.Errorf("company %q, want the sandbox's Sandbox_Dev", a.Company)
	}
}

// Issue 11: the assertion's exp, read at start: a status route, and a clear
// E_CONFIG once it has passed.
func TestAnsiraAssertionStatus(t *testing.T) {
	h := newHarness(t, nil)
	exp := assertionExp(t, h.creds.AnsiraAssertion)
	s := decode[ansiraStatusAnswer](t, h.do(req{Target: "/ansira/status"}))
	if s.AssertionExpiresAt == nil || *s.AssertionExpiresAt != exp.UTC().Format(time.RFC3339) || *s.SecondsLeft != int64(exp.Sub(h.clk.Now())/time.Second) {
		t.Errorf("status %+v, assertion exp %v", s, exp)
	}
	h.clk.Advance(exp.Sub(h.clk.Now()))
	e := wantError(t, h.do(req{Method: "POST", Target: "/ansira/token"}), 503, "E_CONFIG")
	if !strings.Contains(e.Message, "expired") || h.up.Count("ansira") != 0 {
		t.Errorf("expired assertion: %q, exchanges %d", e.Message, h.up.Count("ansira"))
	}
	if s := decode[ansiraStatusAnswer](t, h.do(req{Target: "/ansira/status"})); s.SecondsLeft == nil || *s.SecondsLeft != 0 {
		t.Errorf("status after expiry %+v", s)
	}
	opaque := newHarness(t, func(env map[string]string) { env["ANSIRA_ASSERTION"] = "opaque-assertion" })
	if rec := opaque.do(req{Target: "/ansira/status"}); rec.Body.String() != `{"assertionExpiresAt":null,"secondsLeft":null}` {
		t.Errorf("status of an assertion without a readable exp: %s", rec.Body)
	}
	h.outbound(testkit.InMemory{Handler: h.up}) // a start with the expired assertion says so
	if h.cfgErr == nil || !strings.Contains(h.cfgErr.Error(), "ANSIRA_ASSERTION") {
		t.Errorf("configuration error at start: %v", h.cfgErr)
	}
}

func assertionExp(t *testing.T, assertion string) time.Time {
	t.Helper()
	c, err := keyfax.ReadJWT(assertion)
	if err != nil {
		t.Fatalf("sandbox assertion: %v", err)
	}
	return c.Exp
}

// Issue 11: the Fortis token request's domain is required.
func TestFortisDomainRequired(t *testing.T) {
	h := newHarness(t, func(env map[string]string) { delete(env, "FORTIS_DOMAIN") })
	e := wantError(t, h.do(req{Method: "POST", Target: "/fortis/session"}), 503, "E_CONFIG")
	if !strings.Contains(e.Message, "FORTIS_DOMAIN") || h.cfgErr == nil {
		t.Errorf("message %q, config error %v", e.Message, h.cfgErr)
	}
}
