package sandbox

import (
	"encoding/base64"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// ansiraEmu emulates Ansira's OAuth token endpoint and a bearer-protected
// listing as docs/PROTOCOLS.md ("Ansira") and the vendor's Getting Started
// describe them (mounted at /ansira):
//
//	POST /oauth/v2/oauth-token   Basic client auth, form grant_type=jwt-bearer, scope, assertion
//	                             -> {token_type: "bearer", access_token, scope (comma-separated), claims, expires_in}
//	GET  /api/v1/campaigns       Authorization: Bearer <access_token>, scope campaigns:read;
//	                             filter, order_by, page, page_size
//
// The assertion must be a JWT the sandbox issued for the client (HS256, its own
// key) and not expired. Access tokens overlap: each lives its TTL from creation
// and stays valid until it expires or is invalidated, which only a new
// assertion (NewAssertion), a change of the client's scopes (SetAnsiraScopes)
// or deleting the client (DeleteAnsiraClient) does. The API answers 401 when
// the token is missing, 403 when it is unknown, invalidated, expired or lacks
// the scope, and 429 past the per-IP rate limit of each endpoint.
// Token endpoint errors use RFC 6749's codes: 401 invalid_client, 403
// invalid_grant (a refused or expired assertion: "Access Tokens can be
// generated as long as the Client Assertion has not expired"), 400 for the
// rest.
type ansiraEmu struct {
	s    *Sandbox
	ttl  time.Duration
	jwt  hs256
	rate int // calls per second per IP address and endpoint

	clientID, clientSecret string

	mu      sync.Mutex
	deleted bool
	scopes  []string
	epoch   int // bumped by every invalidation of all tokens
	tokens  map[string]ansiraToken
	calls   map[string]*rateWindow // IP + " " + endpoint -> current second
}

type ansiraToken struct {
	expiry time.Time
	scopes []string
	epoch  int
}

const (
	ansiraGrant     = "urn:ietf:params:oauth:grant-type:jwt-bearer"
	ansiraReadScope = "campaigns:read"
	// maxAnsiraTokens bounds the live tokens; expired ones are swept first.
	maxAnsiraTokens = 10000
)

func newAnsira(s *Sandbox, opts Options) *ansiraEmu {
	ttl := opts.AnsiraTokenTTL
	if ttl <= 0 {
		ttl = time.Hour
	}
	rate := opts.AnsiraRateLimit
	if rate <= 0 {
		rate = 5 // the stage environment's limit; production allows 10
	}
	a := &ansiraEmu{s: s, ttl: ttl, jwt: newHS256(), rate: rate,
		clientID: "sandbox-" + randomHex(6), clientSecret: randomToken(24),
		scopes: []string{ansiraReadScope, "campaigns:write"},
		tokens: map[string]ansiraToken{}, calls: map[string]*rateWindow{}}
	c := &s.creds
	c.AnsiraClientID, c.AnsiraClientSecret, c.AnsiraScope = a.clientID, a.clientSecret, ansiraReadScope
	c.AnsiraAssertion = a.assertion(s.now().AddDate(1, 0, 0)) // the broker's configured assertion: long-lived
	return a
}

func (a *ansiraEmu) assertion(expires time.Time) string {
	now := a.s.now()
	return a.jwt.sign(map[string]any{
		"iss": a.clientID,
		"sub": "sandbox-user@example.com",
		"aud": a.s.base + "/ansira/oauth/v2/oauth-token",
		"iat": now.Unix(),
		"exp": expires.Unix(),
	})
}

// NewAnsiraAssertion generates a new client assertion expiring at expires, as
// the Developer Portal does, and so invalidates every access token issued
// before. Assertions issued earlier stay usable until they expire.
func (s *Sandbox) NewAnsiraAssertion(expires time.Time) string {
	a := s.ansira
	a.invalidateAll()
	return a.assertion(expires)
}

// SetAnsiraScopes changes the client's scopes, which invalidates every access
// token issued before.
func (s *Sandbox) SetAnsiraScopes(scopes ...string) {
	a := s.ansira
	a.invalidateAll()
	a.mu.Lock()
	a.scopes = append([]string(nil), scopes...)
	a.mu.Unlock()
}

// DeleteAnsiraClient deletes the API client: its tokens stop working and the
// token endpoint refuses its credentials.
func (s *Sandbox) DeleteAnsiraClient() {
	a := s.ansira
	a.invalidateAll()
	a.mu.Lock()
	a.deleted = true
	a.mu.Unlock()
}

func (a *ansiraEmu) invalidateAll() {
	a.mu.Lock()
	a.epoch++
	clear(a.tokens)
	a.mu.Unlock()
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="ansira"`)
	}
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

func (a *ansiraEmu) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/oauth/v2/oauth-token" && r.URL.Path != "/api/v1/campaigns" {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "no such resource"})
		return
	}
	if !a.admit(r) {
		writeJSON(w, http.StatusTooManyRequests, map[string]string{"message": "rate limit per IP address exceeded for this endpoint"})
		return
	}
	if r.URL.Path == "/oauth/v2/oauth-token" {
		if r.Method != "POST" {
			w.Header().Set("Allow", "POST")
			oauthError(w, http.StatusMethodNotAllowed, "invalid_request", "use POST")
			return
		}
		a.token(w, r)
		return
	}
	if r.Method != "GET" {
		w.Header().Set("Allow", "GET")
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"message": "use GET"})
		return
	}
	a.campaigns(w, r)
}

// admit counts a call of the caller's IP address to this endpoint in the
// current second of the emulator's clock; false past the limit.
func (a *ansiraEmu) admit(r *http.Request) bool {
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		ip = r.RemoteAddr
	}
	key := ip + " " + r.URL.Path
	now := a.s.now().Truncate(time.Second)
	a.mu.Lock()
	defer a.mu.Unlock()
	c := a.calls[key]
	if c == nil || !c.start.Equal(now) {
		if len(a.calls) > 10000 {
			clear(a.calls)
		}
		c = &rateWindow{start: now}
		a.calls[key] = c
	}
	c.count++
	return c.count <= a.rate
}

// splitScopes reads a scope list, comma- or blank-separated (the document
// names no request separator; its answer is comma-separated).
func splitScopes(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
}

func (a *ansiraEmu) token(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	scheme, cred, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
	id, secret, _ := strings.Cut(string(raw), ":")
	a.mu.Lock()
	deleted, granted, epoch := a.deleted, a.scopes, a.epoch
	a.mu.Unlock()
	if !strings.EqualFold(scheme, "Basic") || err != nil || deleted || !equal(id, a.clientID) || !equal(secret, a.clientSecret) {
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
	switch {
	case err == errJWTExpired:
		// 403, not RFC 6749's 400: signers/ansira reads it as E_TOKEN_EXPIRED.
		oauthError(w, http.StatusForbidden, "invalid_grant", "the client assertion has expired; set a new expiration date and generate a new assertion")
		return
	case err != nil || claims["iss"] != a.clientID:
		oauthError(w, http.StatusForbidden, "invalid_grant", "assertion is invalid")
		return
	}
	scopes := splitScopes(form.Get("scope"))
	if len(scopes) == 0 {
		scopes = granted
	}
	for _, sc := range scopes {
		if !contains(granted, sc) {
			oauthError(w, http.StatusBadRequest, "invalid_scope", "scope "+sc+" is not granted to this client")
			return
		}
	}
	tok := randomToken(32)
	a.mu.Lock()
	if len(a.tokens) >= maxAnsiraTokens {
		for t, at := range a.tokens {
			if !now.Before(at.expiry) {
				delete(a.tokens, t)
			}
		}
	}
	full := len(a.tokens) >= maxAnsiraTokens
	if !full && a.epoch == epoch {
		a.tokens[tok] = ansiraToken{expiry: now.Add(a.ttl), scopes: scopes, epoch: epoch}
	}
	a.mu.Unlock()
	if full {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"message": "too many live access tokens"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"token_type":   "bearer",
		"access_token": tok,
		"scope":        strings.Join(scopes, ","),
		"claims":       map[string]any{"iss": claims["iss"], "sub": claims["sub"], "client_id": a.clientID},
		"expires_in":   int(a.ttl / time.Second),
	})
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
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
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "the access token is missing"})
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
		writeJSON(w, http.StatusForbidden, map[string]string{"message": "the access token is invalid, invalidated or expired"})
		return
	}
	if !contains(t.scopes, ansiraReadScope) {
		writeJSON(w, http.StatusForbidden, map[string]string{"message": "the access token lacks scope " + ansiraReadScope})
		return
	}
	page, status, msg := listCampaigns(r.URL.Query())
	if status != http.StatusOK {
		writeJSON(w, status, map[string]string{"message": msg})
		return
	}
	writeJSON(w, http.StatusOK, page)
}
