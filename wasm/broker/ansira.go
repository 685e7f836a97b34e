package broker

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/ansira"
	"github.com/apisign/apisign/signers/token"
)

// ansiraState is the configured Ansira provider: the token source caches the
// access token for expires_in and exchanges again only when it is refused.
type ansiraState struct {
	scope string // the scope asked for, answered when the exchange names none
	ts    *ansira.TokenSource
}

// ansiraStoreKey is the Store key of the whole answer (token, scope) as JSON.
const ansiraStoreKey = "ansira-access-token"

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
	ts, err := ansira.NewTokenSource(ansira.Config{Params: params, Doer: signers.DoerFunc(b.send), Clock: b.clock})
	if err != nil {
		return e.invalid(p, "ANSIRA_CLIENT_ID, ANSIRA_CLIENT_SECRET or ANSIRA_ASSERTION", "is malformed ("+msgOf(err)+")")
	}
	b.ansira = &ansiraState{scope: params.Scope, ts: ts}
	return ""
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
// an access token the Ansira API refused (403: expired, or replaced). If it is
// still the cached one the broker exchanges the assertion again, once, however
// many callers report it; any other value is ignored.
type ansiraRequest struct {
	Invalidate string `json:"invalidate"`
}

// ansiraToken exchanges the configured assertion for an access token (Basic
// with the client id and secret), cached until ansira.DefaultMargin before
// expires_in runs out.
func (b *Broker) ansiraToken(w http.ResponseWriter, r *http.Request, _ string) {
	p := b.ansira
	body, ok := b.readBody(w, r)
	if !ok {
		return
	}
	var in ansiraRequest
	if len(body) > 0 && json.Unmarshal(body, &in) != nil {
		writeError(w, http.StatusBadRequest, signers.CodeInput, `body must be empty or {"invalidate": "<access token>"}`)
		return
	}
	if in.Invalidate != "" {
		p.ts.Invalidate(token.Token{Value: in.Invalidate})
	}
	now := b.clock.Now()
	if b.store != nil {
		if raw, exp, ok := b.store.Load(ansiraStoreKey); ok && now.Add(ansira.DefaultMargin).Before(exp) {
			var a ansiraAnswer
			if json.Unmarshal([]byte(raw), &a) == nil && a.AccessToken != "" && a.AccessToken != in.Invalidate {
				a.ExpiresIn = int64(exp.Sub(now) / time.Second)
				writeJSON(w, http.StatusOK, a)
				return
			}
		}
	}
	t, ok := b.token(w, r, "ansira token endpoint", p.ts)
	if !ok {
		return
	}
	a := ansiraAnswer{AccessToken: t.Value, TokenType: "Bearer", Scope: p.scope}
	if last := p.ts.Last(); last.AccessToken == t.Value && last.Scope != "" {
		a.Scope = last.Scope
	}
	if b.store != nil {
		raw, _ := json.Marshal(a)
		b.store.Save(ansiraStoreKey, string(raw), t.Expiry)
	}
	a.ExpiresIn = int64(t.Expiry.Sub(b.clock.Now()) / time.Second)
	writeJSON(w, http.StatusOK, a)
}
