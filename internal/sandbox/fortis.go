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

// fortisEmu emulates Fortis v2 authentication (mounted at /fortis):
//
//	POST   /v2/token           {username, password, domain} -> 201 {"type":"Token","token":{"token","expire":15,...}}
//	DELETE /v2/token/{token}   204, or 404 when unknown or expired
//	GET    /v2/transactions    a sample resource
//
// developer-id (header or query) is checked on every call. The sample resource
// accepts, in this order: a session token (access-token header or query, or
// Authorization: Bearer), which every successful call keeps alive for another
// idle period; HMAC headers (user-id, timestamp, hash-key, fortis.VerifyHMAC);
// user-id + user-api-key as headers, query parameters or Basic. A refusal is 401.
type fortisEmu struct {
	s    *Sandbox
	idle time.Duration

	developerID                string
	username, password, domain string
	userID, apiKey, hashKey    string

	mu     sync.Mutex
	tokens map[string]time.Time // session token -> last successful use
}

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
		domain:      "sandbox",
		userID:      randomHex(12), // Fortis ids are 24 hex digits
		apiKey:      randomHex(16),
		hashKey:     randomToken(24),
		tokens:      map[string]time.Time{},
	}
	c := &s.creds
	c.FortisDeveloperID, c.FortisUsername, c.FortisPassword, c.FortisDomain = f.developerID, f.username, f.password, f.domain
	c.FortisUserID, c.FortisUserAPIKey, c.FortisUserHashKey = f.userID, f.apiKey, f.hashKey
	return f
}

func fortisError(w http.ResponseWriter, status int, title, detail string) {
	writeJSON(w, status, map[string]any{"type": "Error", "title": title, "statusCode": status, "detail": detail})
}

func (f *fortisEmu) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	if !equal(fortisField(r, fortis.HeaderDeveloperID), f.developerID) {
		fortisError(w, http.StatusUnauthorized, "Unauthorized", "missing or unknown developer-id")
		return
	}
	switch p := r.URL.Path; {
	case p == "/v2/token":
		if r.Method != "POST" {
			w.Header().Set("Allow", "POST")
			fortisError(w, http.StatusMethodNotAllowed, "Method Not Allowed", "use POST")
			return
		}
		f.open(w, body)
	case strings.HasPrefix(p, "/v2/token/"):
		if r.Method != "DELETE" {
			w.Header().Set("Allow", "DELETE")
			fortisError(w, http.StatusMethodNotAllowed, "Method Not Allowed", "use DELETE")
			return
		}
		f.close(w, p[len("/v2/token/"):])
	case p == "/v2/transactions":
		if r.Method != "GET" {
			w.Header().Set("Allow", "GET")
			fortisError(w, http.StatusMethodNotAllowed, "Method Not Allowed", "use GET")
			return
		}
		how, reason := f.authenticate(r)
		if how == "" {
			fortisError(w, http.StatusUnauthorized, "Unauthorized", reason)
			return
		}
		f.transactions(w, how)
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
	if !equal(req.Username, f.username) || !equal(req.Password, f.password) || (req.Domain != "" && req.Domain != f.domain) {
		fortisError(w, http.StatusUnauthorized, "Unauthorized", "invalid username, password or domain")
		return
	}
	now := f.s.now()
	tok := randomHex(20)
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
	writeJSON(w, http.StatusCreated, map[string]any{
		"type": "Token",
		"token": map[string]any{
			"token":      tok,
			"expire":     int(f.idle / time.Minute),
			"user_id":    f.userID,
			"created_ts": now.Unix(),
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

// authenticate returns how r authenticated ("token", "hmac", "api-key"), or ""
// and the reason.
func (f *fortisEmu) authenticate(r *http.Request) (how, reason string) {
	auth := r.Header.Get("Authorization")
	scheme, cred, _ := strings.Cut(auth, " ")
	tok := fortisField(r, fortis.HeaderAccessToken)
	if tok == "" && strings.EqualFold(scheme, "Bearer") {
		tok = strings.TrimSpace(cred)
	}
	if tok != "" {
		if f.touch(tok) {
			return "token", ""
		}
		return "", "access token is unknown or expired"
	}
	if r.Header.Get(fortis.HeaderHashKey) != "" {
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
		return "", "no credentials: send access-token, HMAC headers or user-id and user-api-key"
	}
	if !equal(user, f.userID) || !equal(key, f.apiKey) {
		return "", "invalid user-id or user-api-key"
	}
	return "api-key", ""
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
