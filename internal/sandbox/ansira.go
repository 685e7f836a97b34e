package sandbox

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// ansiraEmu emulates Ansira's OAuth token endpoint and a bearer-protected
// resource (mounted at /ansira):
//
//	POST /oauth/v2/oauth-token   Basic client auth, form grant_type=jwt-bearer, scope, assertion
//	                             -> {token_type, access_token, scope, claims, expires_in}
//	GET  /api/v1/campaigns       Authorization: Bearer <access_token>, scope campaigns:read
//
// The assertion must be the JWT the sandbox issued (HS256, its own key). Every
// successful exchange invalidates the client's earlier access tokens, as
// Ansira documents. The resource answers 401 without a bearer token and 403
// for an unknown, superseded or expired token or one without the scope.
// Token endpoint errors use RFC 6749's codes: 401 invalid_client, 403
// invalid_grant (a refused or expired assertion, as Ansira answers), 400 for the
// rest.
type ansiraEmu struct {
	s   *Sandbox
	ttl time.Duration
	jwt hs256

	clientID, clientSecret string
	scopes                 []string

	mu sync.Mutex
	// tokens holds the live access tokens: only those of the latest exchange,
	// since every exchange voids the earlier ones.
	tokens map[string]ansiraToken
}

type ansiraToken struct {
	expiry time.Time
	scope  string
}

const (
	ansiraGrant     = "urn:ietf:params:oauth:grant-type:jwt-bearer"
	ansiraReadScope = "campaigns:read"
)

func newAnsira(s *Sandbox, ttl time.Duration) *ansiraEmu {
	if ttl <= 0 {
		ttl = time.Hour
	}
	a := &ansiraEmu{s: s, ttl: ttl, jwt: newHS256(),
		clientID: "sandbox-" + randomHex(6), clientSecret: randomToken(24),
		scopes: []string{ansiraReadScope, "campaigns:write"},
		tokens: map[string]ansiraToken{}}
	now := s.now()
	assertion := a.jwt.sign(map[string]any{
		"iss": a.clientID,
		"sub": "sandbox-user@example.com",
		"aud": s.base + "/ansira/oauth/v2/oauth-token",
		"iat": now.Unix(),
		"exp": now.AddDate(1, 0, 0).Unix(), // the broker's configured assertion: long-lived
	})
	c := &s.creds
	c.AnsiraClientID, c.AnsiraClientSecret, c.AnsiraAssertion, c.AnsiraScope = a.clientID, a.clientSecret, assertion, ansiraReadScope
	return a
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="ansira"`)
	}
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

func (a *ansiraEmu) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/oauth/v2/oauth-token":
		if r.Method != "POST" {
			w.Header().Set("Allow", "POST")
			oauthError(w, http.StatusMethodNotAllowed, "invalid_request", "use POST")
			return
		}
		a.token(w, r)
	case "/api/v1/campaigns":
		if r.Method != "GET" {
			w.Header().Set("Allow", "GET")
			writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"message": "use GET"})
			return
		}
		a.campaigns(w, r)
	default:
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "no such resource"})
	}
}

func (a *ansiraEmu) token(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	scheme, cred, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
	id, secret, _ := strings.Cut(string(raw), ":")
	if !strings.EqualFold(scheme, "Basic") || err != nil || !equal(id, a.clientID) || !equal(secret, a.clientSecret) {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "body must be application/x-www-form-urlencoded")
		return
	}
	if form.Get("grant_type") != ansiraGrant {
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "grant_type must be "+ansiraGrant)
		return
	}
	now := a.s.now()
	claims, err := a.jwt.verify(form.Get("assertion"), now)
	if err != nil || claims["iss"] != a.clientID {
		// 403, not RFC 6749's 400: Ansira answers 403 for a refused or expired
		// assertion, and signers/ansira reads it as E_TOKEN_EXPIRED.
		oauthError(w, http.StatusForbidden, "invalid_grant", "assertion is invalid or expired")
		return
	}
	scope := strings.Join(strings.Fields(form.Get("scope")), " ")
	if scope == "" {
		scope = strings.Join(a.scopes, " ")
	}
	for _, sc := range strings.Fields(scope) {
		if !a.allowed(sc) {
			oauthError(w, http.StatusBadRequest, "invalid_scope", "scope "+sc+" is not granted to this client")
			return
		}
	}
	tok := randomToken(32)
	a.mu.Lock()
	clear(a.tokens) // a new assertion exchange voids every earlier token
	a.tokens[tok] = ansiraToken{expiry: now.Add(a.ttl), scope: scope}
	a.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"token_type":   "Bearer",
		"access_token": tok,
		"scope":        scope,
		"claims":       map[string]any{"iss": claims["iss"], "sub": claims["sub"], "client_id": a.clientID},
		"expires_in":   int(a.ttl / time.Second),
	})
}

func (a *ansiraEmu) allowed(scope string) bool {
	for _, s := range a.scopes {
		if s == scope {
			return true
		}
	}
	return false
}

func (a *ansiraEmu) campaigns(w http.ResponseWriter, r *http.Request) {
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	tok = strings.TrimSpace(tok)
	if !strings.EqualFold(scheme, "Bearer") || tok == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="ansira"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "bearer token required"})
		return
	}
	now := a.s.now()
	a.mu.Lock()
	t, ok := a.tokens[tok]
	valid := ok && now.Before(t.expiry)
	if ok && !valid {
		delete(a.tokens, tok)
	}
	a.mu.Unlock()
	if !valid {
		writeJSON(w, http.StatusForbidden, map[string]string{"message": "access token is invalid, superseded or expired"})
		return
	}
	if !strings.Contains(" "+t.scope+" ", " "+ansiraReadScope+" ") {
		writeJSON(w, http.StatusForbidden, map[string]string{"message": "access token lacks scope " + ansiraReadScope})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"data": []map[string]any{
			{"id": "cmp-1001", "name": "Spring maintenance mailer", "status": "active", "channel": "email"},
			{"id": "cmp-1002", "name": "Local radio: boiler checks", "status": "draft", "channel": "radio"},
		},
		"meta": map[string]any{"total": 2},
	})
}
