package sandbox

import (
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/fortis"
)

// fortisEmu emulates Fortis v2 authentication as docs/PROTOCOLS.md ("Fortis")
// and the vendor's Authentication page describe it (mounted at /fortis):
//
//	POST   /v2/token           {username, password, domain}, all three required -> 201 {"token": {...}}
//	DELETE /v2/token/{token}   204, or 404 when unknown or expired
//	POST   /v2/contactsso      a JSON object -> 201 {"contactsso": {id, url, contact_id, ...}}
//	GET    /sso/{code}         the generated URL: signs the user in by a click (once)
//	GET    /v2/transactions    a sample resource that supports HMAC
//	GET    /v2/contacts[/{id}] a sample resource that does not
//
// developer-id (header or query) is checked on every API call. The resources
// accept, in this order: a session token (the access-token header or query
// parameter only), which every successful call keeps alive for another idle
// period; an OAuth access token (Authorization: Bearer, the separate OAuth
// method; the document leaves the authorization process to a page outside it,
// so the sandbox issues such tokens directly: IssueFortisOAuthToken); HMAC
// headers (user-id, timestamp, hash-key, fortis.VerifyHMAC) on the six
// endpoints the document lists only; user-id + user-api-key as headers, query
// parameters or Basic. A refusal is 401 in Fortis' error shape.
type fortisEmu struct {
	s    *Sandbox
	idle time.Duration

	developerID                string
	username, password, domain string
	userID, apiKey, hashKey    string

	mu     sync.Mutex
	tokens map[string]time.Time // session token -> last successful use
	oauth  map[string]bool      // OAuth access tokens
	sso    map[string]string    // unused SSO code -> contact id
}

// fortisHMACEndpoints are the endpoints Fortis' document lists as the only
// ones that support HMAC authentication.
var fortisHMACEndpoints = []string{"/v2/accountform", "/v2/accountvaults", "/v2/payform",
	"/v2/routeraccountvault", "/v2/salestax", "/v2/transactions"}

// maxFortisTokens bounds the open sessions; expired ones are swept first.
const maxFortisTokens = 10000

func newFortis(s *Sandbox, idle time.Duration) *fortisEmu {
	if idle <= 0 {
		idle = fortis.Idle
	}
	f := &fortisEmu{
		s: s, idle: idle,
		developerID: "dev" + randomHex(8),
		username:    "sandbox-user",
		password:    randomToken(18),
		domain:      "sandbox.fortis.test",
		userID:      randomHex(12), // Fortis ids are 24 hex digits
		apiKey:      randomHex(16),
		hashKey:     randomToken(24),
		tokens:      map[string]time.Time{},
		oauth:       map[string]bool{},
		sso:         map[string]string{},
	}
	c := &s.creds
	c.FortisDeveloperID, c.FortisUsername, c.FortisPassword, c.FortisDomain = f.developerID, f.username, f.password, f.domain
	c.FortisUserID, c.FortisUserAPIKey, c.FortisUserHashKey = f.userID, f.apiKey, f.hashKey
	c.FortisOAuthToken = randomToken(24)
	f.oauth[c.FortisOAuthToken] = true
	return f
}

// fortisError answers a refusal. The document shows no error body, only
// statuses (204/404 for DELETE /v2/token), so the shape is the sandbox's own,
// the same for every refusal: {type: "Error", title, statusCode, detail}.
func fortisError(w http.ResponseWriter, status int, title, detail string) {
	writeJSON(w, status, map[string]any{"type": "Error", "title": title, "statusCode": status, "detail": detail})
}

func (f *fortisEmu) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	p := r.URL.Path
	if strings.HasPrefix(p, "/sso/") && r.Method == "GET" {
		f.signIn(w, p[len("/sso/"):])
		return
	}
	if !equal(fortisField(r, fortis.HeaderDeveloperID), f.developerID) {
		fortisError(w, http.StatusUnauthorized, "Unauthorized", "missing or unknown developer-id")
		return
	}
	allow := func(m string) bool {
		if r.Method == m {
			return true
		}
		w.Header().Set("Allow", m)
		fortisError(w, http.StatusMethodNotAllowed, "Method Not Allowed", "use "+m)
		return false
	}
	switch {
	case p == "/v2/token":
		if allow("POST") {
			f.open(w, body)
		}
	case strings.HasPrefix(p, "/v2/token/"):
		if allow("DELETE") {
			f.close(w, p[len("/v2/token/"):])
		}
	case p == "/v2/contactsso", p == "/v2/transactions", p == "/v2/contacts", strings.HasPrefix(p, "/v2/contacts/"):
		method := "GET"
		if p == "/v2/contactsso" {
			method = "POST"
		}
		if !allow(method) {
			return
		}
		how, reason := f.authenticate(r)
		if how == "" {
			fortisError(w, http.StatusUnauthorized, "Unauthorized", reason)
			return
		}
		switch {
		case p == "/v2/contactsso":
			f.contactSSO(w, body)
		case p == "/v2/transactions":
			f.transactions(w, how)
		default:
			f.contacts(w, strings.TrimPrefix(strings.TrimPrefix(p, "/v2/contacts"), "/"), how)
		}
	default:
		fortisError(w, http.StatusNotFound, "Not Found", "no such resource")
	}
}

// fortisField reads a Fortis authentication field from the header or, failing
// that, the query (Fortis accepts both).
func fortisField(r *http.Request, name string) string {
	if v := r.Header.Get(name); v != "" {
		return v
	}
	return r.URL.Query().Get(name)
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

func (f *fortisEmu) open(w http.ResponseWriter, body []byte) {
	var req struct{ Username, Password, Domain string }
	if err := json.Unmarshal(body, &req); err != nil {
		fortisError(w, http.StatusBadRequest, "Bad Request", "body must be JSON {username, password, domain}")
		return
	}
	// All three are //REQUIRED in the document's request.
	for _, f := range []struct{ name, v string }{{"username", req.Username}, {"password", req.Password}, {"domain", req.Domain}} {
		if f.v == "" {
			fortisError(w, http.StatusBadRequest, "Bad Request", f.name+" is required")
			return
		}
	}
	if !equal(req.Username, f.username) || !equal(req.Password, f.password) || req.Domain != f.domain {
		fortisError(w, http.StatusUnauthorized, "Unauthorized", "invalid username, password or domain")
		return
	}
	now := f.s.now()
	tok := randomHex(8) // 16 characters, as the document's tokens
	f.mu.Lock()
	if len(f.tokens) >= maxFortisTokens {
		f.sweep(now)
	}
	full := len(f.tokens) >= maxFortisTokens
	if !full {
		f.tokens[tok] = now
	}
	f.mu.Unlock()
	if full {
		fortisError(w, http.StatusServiceUnavailable, "Service Unavailable", "too many open sessions")
		return
	}
	// The document's response, member for member.
	writeJSON(w, http.StatusCreated, map[string]any{
		"token": map[string]any{
			"id":                  randomHex(12),
			"expire":              int(f.idle / time.Minute),
			"first_name":          "Sandbox",
			"last_name":           "User",
			"password_expire_ts":  now.AddDate(0, 6, 0).Unix(),
			"time":                now.Unix(),
			"token":               tok,
			"username":            f.username,
			"primary_location_id": "11e95f8ec39de8fbdb0a4f1a",
			"timezone":            "America/New_York",
			"user_type_id":        200,
		},
	})
}

// sweep drops idle-expired tokens. Call with f.mu held.
func (f *fortisEmu) sweep(now time.Time) {
	for t, last := range f.tokens {
		if now.Sub(last) >= f.idle {
			delete(f.tokens, t)
		}
	}
}

// touch reports whether tok is an open session and, if so, restarts its idle
// period. An idle-expired token is forgotten.
func (f *fortisEmu) touch(tok string) bool {
	now := f.s.now()
	f.mu.Lock()
	defer f.mu.Unlock()
	last, ok := f.tokens[tok]
	if !ok {
		return false
	}
	if now.Sub(last) >= f.idle {
		delete(f.tokens, tok)
		return false
	}
	f.tokens[tok] = now
	return true
}

func (f *fortisEmu) close(w http.ResponseWriter, tok string) {
	now := f.s.now()
	f.mu.Lock()
	last, ok := f.tokens[tok]
	delete(f.tokens, tok)
	f.mu.Unlock()
	if !ok || now.Sub(last) >= f.idle {
		fortisError(w, http.StatusNotFound, "Not Found", "no such token")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// IssueFortisOAuthToken returns a new OAuth access token, as Fortis' OAuth
// authorization process would end; it is accepted as Authorization: Bearer.
func (s *Sandbox) IssueFortisOAuthToken() string {
	f := s.fortis
	tok := randomToken(24)
	f.mu.Lock()
	f.oauth[tok] = true
	f.mu.Unlock()
	return tok
}

// authenticate returns how r authenticated ("token", "oauth", "hmac",
// "api-key"), or "" and the reason.
func (f *fortisEmu) authenticate(r *http.Request) (how, reason string) {
	auth := r.Header.Get("Authorization")
	scheme, cred, _ := strings.Cut(auth, " ")
	if tok := fortisField(r, fortis.HeaderAccessToken); tok != "" {
		if f.touch(tok) {
			return "token", ""
		}
		return "", "access token is unknown or expired"
	}
	if strings.EqualFold(scheme, "Bearer") {
		f.mu.Lock()
		ok := f.oauth[strings.TrimSpace(cred)]
		f.mu.Unlock()
		if !ok {
			return "", "OAuth bearer token is unknown (a session token goes in access-token)"
		}
		return "oauth", ""
	}
	if r.Header.Get(fortis.HeaderHashKey) != "" {
		if !contains(fortisHMACEndpoints, r.URL.Path) {
			return "", "HMAC authentication is not supported on this endpoint"
		}
		h := signers.Header{
			fortis.HeaderUserID:    r.Header.Get(fortis.HeaderUserID),
			fortis.HeaderTimestamp: r.Header.Get(fortis.HeaderTimestamp),
			fortis.HeaderHashKey:   r.Header.Get(fortis.HeaderHashKey),
		}
		lookup := func(id string) (string, bool) { return f.hashKey, id == f.userID }
		if err := fortis.VerifyHMAC(h, lookup, f.s.now(), 0); err != nil {
			return "", "HMAC verification failed: " + err.Error()
		}
		return "hmac", ""
	}
	user, key := fortisField(r, fortis.HeaderUserID), fortisField(r, fortis.HeaderUserAPIKey)
	if strings.EqualFold(scheme, "Basic") {
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
		if err != nil {
			return "", "Basic credentials are not base64"
		}
		user, key, _ = strings.Cut(string(raw), ":")
	}
	if user == "" && key == "" {
		return "", "no credentials: send access-token, an OAuth bearer token, HMAC headers or user-id and user-api-key"
	}
	if !equal(user, f.userID) || !equal(key, f.apiKey) {
		return "", "invalid user-id or user-api-key"
	}
	return "api-key", ""
}

// contactSSO generates a sign-in URL. The document names the endpoint and
// "a generated url" but no fields, so any JSON object is accepted (its
// contact_id is echoed) and the answer is wrapped in an object named after the
// resource, as Fortis wraps every answer ({"token": {...}}).
func (f *fortisEmu) contactSSO(w http.ResponseWriter, body []byte) {
	var req map[string]any
	if json.Unmarshal(body, &req) != nil || req == nil {
		fortisError(w, http.StatusBadRequest, "Bad Request", "body must be a JSON object")
		return
	}
	contact, _ := req["contact_id"].(string)
	code := randomToken(24)
	f.mu.Lock()
	if len(f.sso) >= maxFortisTokens {
		clear(f.sso)
	}
	f.sso[code] = contact
	f.mu.Unlock()
	writeJSON(w, http.StatusCreated, map[string]any{"contactsso": map[string]any{
		"id":         randomHex(12),
		"contact_id": contact,
		"url":        f.s.base + "/fortis/sso/" + code,
		"created_ts": f.s.now().Unix(),
	}})
}

// signIn is the generated URL: the first click signs the contact in; the URL
// is a credential, so a second click is refused.
func (f *fortisEmu) signIn(w http.ResponseWriter, code string) {
	f.mu.Lock()
	contact, ok := f.sso[code]
	delete(f.sso, code)
	f.mu.Unlock()
	if !ok {
		writeHTMLMessage(w, http.StatusNotFound, "This sign-in link is unknown or has been used.")
		return
	}
	writeHTMLMessage(w, http.StatusOK, "Signed in to Fortis (sandbox) as contact "+orDefault(contact, "(none given)")+".")
}

func (f *fortisEmu) contacts(w http.ResponseWriter, id, how string) {
	contacts := []map[string]any{
		{"id": "11e95f8ec39de8fbdb0a4f1a", "first_name": "Jane", "last_name": "Tenant", "email": "jane@example.com"},
		{"id": "11e95f8ec39de8fbdb0a4f1b", "first_name": "John", "last_name": "Doe", "email": "john@example.com"},
	}
	if id == "" {
		writeJSON(w, http.StatusOK, map[string]any{"list": contacts, "meta": map[string]any{"authenticatedBy": how}})
		return
	}
	for _, c := range contacts {
		if c["id"] == id {
			writeJSON(w, http.StatusOK, map[string]any{"contact": c, "meta": map[string]any{"authenticatedBy": how}})
			return
		}
	}
	fortisError(w, http.StatusNotFound, "Not Found", "no such contact")
}

func (f *fortisEmu) transactions(w http.ResponseWriter, how string) {
	now := f.s.now().UTC()
	list := []map[string]any{}
	for i, amount := range []int{1250, 4999, 120} {
		list = append(list, map[string]any{
			"id":                 "11ed" + randomHex(10),
			"transaction_amount": amount,
			"status_id":          101,
			"payment_method":     "cc",
			"description":        []string{"Boiler service", "Window repair", "Key cutting"}[i],
			"created_ts":         now.Add(-time.Duration(i+1) * time.Hour).Unix(),
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"type":       "TransactionsCollection",
		"list":       list,
		"pagination": map[string]any{"type": "Pagination", "total_count": len(list), "page_count": 1, "page_number": 1, "page_size": 10},
		"meta":       map[string]any{"authenticatedBy": how},
	})
}
