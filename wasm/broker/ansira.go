package broker

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/ansira"
)

// ansiraState is the configured Ansira provider. The access token is cached in
// the State (one exchange per deployment until ansira.DefaultMargin before
// expires_in runs out) and exchanged again early only when a caller reports
// the cached one refused, at most once per ANSIRA_REEXCHANGE_INTERVAL.
type ansiraState struct {
	params    ansira.TokenRequestParams
	assertion time.Time // the assertion's exp; zero when it cannot be read
}

// The State keys of Ansira.
const (
	ansiraTokenKey      = "ansira-token"      // flight: ansiraAnswer as JSON (expires_in 0)
	ansiraReexchangeKey = "ansira-reexchange" // slots: the forced exchanges of the interval
)

const ansiraWhat = "ansira token endpoint"

func setupAnsira(b *Broker, e *env, v map[string]string) string {
	const p = "ansira"
	params := ansira.TokenRequestParams{
		TokenURL:     v["ANSIRA_TOKEN_URL"],
		ClientID:     v["ANSIRA_CLIENT_ID"],
		ClientSecret: v["ANSIRA_CLIENT_SECRET"],
		Assertion:    v["ANSIRA_ASSERTION"],
		Scope:        v["ANSIRA_SCOPE"],
	}
	if err := ansira.CheckTokenURL(params.TokenURL); err != nil {
		return e.invalid(p, "ANSIRA_TOKEN_URL", "is not usable ("+msgOf(err)+")")
	}
	if _, err := ansira.TokenRequest(params); err != nil {
		return e.invalid(p, "ANSIRA_CLIENT_ID, ANSIRA_CLIENT_SECRET or ANSIRA_ASSERTION", "is malformed ("+msgOf(err)+")")
	}
	// Ansira issues tokens only while the client assertion has not expired
	// (docs/PROTOCOLS.md, "Ansira"): its exp, read unverified, tells ahead of
	// time. An assertion without a readable exp is left for Ansira to judge.
	exp, _ := ansira.AssertionExpiry(params.Assertion)
	b.ansira = &ansiraState{params: params, assertion: exp}
	if f := b.ansiraExpired(); f != nil {
		e.problem(f.Message) // said at start too; the status route still answers
	}
	return ""
}

// ansiraExpired is the E_CONFIG answer once the assertion has expired, nil
// before (or when its exp is unknown).
func (b *Broker) ansiraExpired() *failure {
	if b.ansira.assertion.IsZero() {
		return nil
	}
	if _, err := ansira.CheckAssertion(b.ansira.params.Assertion, b.clock.Now()); err != nil {
		return &failure{Status: http.StatusServiceUnavailable, Code: signers.CodeConfig, Message: "ansira: ANSIRA_ASSERTION: " + msgOf(err)}
	}
	return nil
}

// ansiraStatusAnswer is GET /ansira/status: when the assertion expires and
// how many seconds it has left (negative once it has expired); both null when
// its exp cannot be read.
type ansiraStatusAnswer struct {
	AssertionExpiresAt *string `json:"assertionExpiresAt"`
	SecondsLeft        *int64  `json:"secondsLeft"`
}

// ansiraStatus says how long the configured assertion has left, so that an
// operator renews it before the exchanges start to fail.
func (b *Broker) ansiraStatus(w http.ResponseWriter, r *http.Request, _ string) {
	var a ansiraStatusAnswer
	if exp := b.ansira.assertion; !exp.IsZero() {
		at := exp.UTC().Format(time.RFC3339)
		left := int64(exp.Sub(b.clock.Now()) / time.Second)
		a.AssertionExpiresAt, a.SecondsLeft = &at, &left
	}
	writeJSON(w, http.StatusOK, a)
}

// ansiraAnswer is the OAuth-shaped answer of POST /ansira/token. expires_in is
// what is left of the token's life, in whole seconds.
type ansiraAnswer struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
	Scope       string `json:"scope"`
}

// ansiraRequest is the optional body of POST /ansira/token: "invalidate" names
// an access token the Ansira API refused. Ansira's tokens overlap (an exchange
// does not end the earlier ones), so a refused token means it expired early or
// lacks a scope: the broker exchanges again only if it is still the cached
// one, once however many callers report it, and at most once per
// ANSIRA_REEXCHANGE_INTERVAL per deployment; any other value is ignored.
type ansiraRequest struct {
	Invalidate string `json:"invalidate"`
}

// ansiraToken answers the cached access token, exchanging the configured
// assertion (Basic with the client id and secret) once per deployment when
// there is none, or it is within ansira.DefaultMargin of its expiry.
func (b *Broker) ansiraToken(w http.ResponseWriter, r *http.Request, _ string) {
	body, ok := b.readBody(w, r)
	if !ok {
		return
	}
	var in ansiraRequest
	if len(body) > 0 && json.Unmarshal(body, &in) != nil {
		writeError(w, http.StatusBadRequest, signers.CodeInput, `body must be empty or {"invalidate": "<access token>"}`)
		return
	}
	fresh := b.clock.Now().Add(ansira.DefaultMargin)
	v, exp, f := b.once(r.Context(), ansiraTokenKey, fresh, "", nil, func() (string, time.Time, *failure) { return b.ansiraExchange(r, false) })
	if f == nil && v != "" && in.Invalidate != "" && ansiraCachedToken(v) == in.Invalidate {
		v, exp, f = b.once(r.Context(), ansiraTokenKey, fresh, v, nil, func() (string, time.Time, *failure) { return b.ansiraExchange(r, true) })
	}
	if f != nil {
		f.write(w)
		return
	}
	var a ansiraAnswer
	if v == "" || json.Unmarshal([]byte(v), &a) != nil {
		return // the caller has gone
	}
	a.ExpiresIn = int64(exp.Sub(b.clock.Now()) / time.Second)
	writeJSON(w, http.StatusOK, a)
}

// ansiraCachedToken is the access token of a cached answer.
func ansiraCachedToken(v string) string {
	var a ansiraAnswer
	json.Unmarshal([]byte(v), &a)
	return a.AccessToken
}

// ansiraExchange is the token request, for the flight; forced (a reported
// refusal) is allowed once per interval per deployment.
func (b *Broker) ansiraExchange(r *http.Request, forced bool) (string, time.Time, *failure) {
	if f := b.ansiraExpired(); f != nil {
		return "", time.Time{}, f
	}
	if forced {
		now := b.clock.Now()
		ok, retryAt, err := b.state.Take(r.Context(), ansiraReexchangeKey, now, "", newID(), b.limits.reexchange, 1)
		if err != nil {
			return "", time.Time{}, stateFailure(err)
		}
		if !ok {
			return "", time.Time{}, b.tooMany(retryAt, "the Ansira token was exchanged again less than "+b.limits.reexchange.String()+" ago")
		}
	}
	p := b.ansira
	req, _ := ansira.TokenRequest(p.params) // checked by setupAnsira
	resp, f, ok := b.call(r, ansiraWhat, req)
	if !ok {
		return "", time.Time{}, f
	}
	t, err := ansira.ParseTokenResponse(resp.Status, resp.Body, b.clock.Now())
	if err != nil {
		if resp.Status != http.StatusOK {
			return "", time.Time{}, b.statusFailure(ansiraWhat, resp.Status, resp.Header.Get("Retry-After"))
		}
		return "", time.Time{}, b.upstreamFailure(r, ansiraWhat, err)
	}
	scope := t.Scope
	if scope == "" {
		scope = p.params.Scope
	}
	raw, _ := json.Marshal(ansiraAnswer{AccessToken: t.AccessToken, TokenType: "Bearer", Scope: scope})
	return string(raw), t.Expiry, nil
}
