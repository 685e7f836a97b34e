package sandbox

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// fonnEmu emulates the Fonn API behind its Azure API Management gateway as
// docs/PROTOCOLS.md ("Fonn") and the vendor's Getting Started describe it
// (mounted at /fonn):
//
//	GET /api/v1/projects        the projects visible to the caller
//	GET /api/v1/projects/{id}   one project, 404 if unknown
//
// Every call needs Ocp-Apim-Subscription-Key, either of the subscription's two
// keys (primary and secondary, "for seamlessly changing access keys without
// service interruption"; 401 when missing or unknown, as the gateway answers),
// and Authorization: <access token>, the raw token (401 otherwise): the
// organization's access token or the Workspace Access Token. The gateway
// allows burst calls per window per subscription (both keys count together);
// the next ones get 429 with Retry-After (whole seconds until the window ends).
// Impersonation is optional with an access token and mandatory with the
// workspace token on these project-scoped endpoints ("User impersonation is
// mandatory in requests made to project scoped endpoints when authorized by
// Workspace Access Token"; the document gives no status: 400). An
// impersonatedUserExternalId header is echoed in every answer.
type fonnEmu struct {
	s      *Sandbox
	burst  int
	window time.Duration

	primaryKey, secondaryKey    string
	accessToken, workspaceToken string

	mu   sync.Mutex
	rate rateWindow // the subscription's current window
}

// rateWindow counts the calls of a fixed window (Fonn's gateway, Ansira's
// per-IP limit).
type rateWindow struct {
	start time.Time
	count int
}

func newFonn(s *Sandbox, burst int, window time.Duration) *fonnEmu {
	if burst <= 0 {
		burst = 30
	}
	if window <= 0 {
		window = 10 * time.Second
	}
	f := &fonnEmu{s: s, burst: burst, window: window,
		primaryKey: randomHex(16), secondaryKey: randomHex(16),
		accessToken: randomToken(32), workspaceToken: randomToken(32)}
	c := &s.creds
	c.FonnSubscriptionKey, c.FonnSecondarySubscriptionKey = f.primaryKey, f.secondaryKey
	c.FonnAccessToken, c.FonnWorkspaceToken = f.accessToken, f.workspaceToken
	return f
}

var fonnProjects = []map[string]any{
	{"id": "p-100", "name": "Riverside housing block A", "status": "active", "externalId": "RS-A"},
	{"id": "p-101", "name": "Harbour office refurbishment", "status": "active", "externalId": "HB-01"},
	{"id": "p-102", "name": "School roof replacement", "status": "completed", "externalId": "SC-R"},
}

func (f *fonnEmu) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Only a known key is rate limited: the gateway counts per subscription.
	key := r.Header.Get("Ocp-Apim-Subscription-Key")
	if !equal(key, f.primaryKey) && !equal(key, f.secondaryKey) {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"statusCode": 401,
			"message": "Access denied due to missing or invalid subscription key. Make sure to provide a valid key for an active subscription."})
		return
	}
	if wait := f.admit(); wait > 0 {
		secs := int((wait + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		writeJSON(w, http.StatusTooManyRequests, map[string]any{"statusCode": 429,
			"message": "Rate limit is exceeded. Try again in " + strconv.Itoa(secs) + " seconds."})
		return
	}
	tok := strings.TrimSpace(r.Header.Get("Authorization"))
	workspace := equal(tok, f.workspaceToken)
	if !workspace && !equal(tok, f.accessToken) {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"statusCode": 401, "message": "invalid or missing access token"})
		return
	}
	if r.Method != "GET" {
		w.Header().Set("Allow", "GET")
		writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"statusCode": 405, "message": "method not allowed"})
		return
	}
	imp := r.Header.Get("impersonatedUserExternalId")
	if workspace && imp == "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"statusCode": 400,
			"message": "impersonatedUserExternalId is required on project scoped endpoints when authorized by a Workspace Access Token"})
		return
	}
	answer := func(status int, m map[string]any) {
		m["impersonatedUserExternalId"] = imp
		writeJSON(w, status, m)
	}
	p := strings.TrimSuffix(r.URL.Path, "/")
	switch {
	case p == "/api/v1/projects":
		answer(http.StatusOK, map[string]any{"items": fonnProjects, "totalCount": len(fonnProjects)})
	case strings.HasPrefix(p, "/api/v1/projects/"):
		id := p[len("/api/v1/projects/"):]
		for _, pr := range fonnProjects {
			if pr["id"] == id {
				answer(http.StatusOK, map[string]any{"project": pr})
				return
			}
		}
		answer(http.StatusNotFound, map[string]any{"statusCode": 404, "message": "no project " + strconv.Quote(id)})
	default:
		answer(http.StatusNotFound, map[string]any{"statusCode": 404, "message": "no such resource"})
	}
}

// admit counts a call in the subscription's fixed window and returns 0 when
// it is within the burst, else how long until the window ends.
func (f *fonnEmu) admit() time.Duration {
	now := f.s.now()
	f.mu.Lock()
	defer f.mu.Unlock()
	rt := &f.rate
	if rt.start.IsZero() || now.Sub(rt.start) >= f.window || now.Before(rt.start) {
		*rt = rateWindow{start: now}
	}
	if rt.count >= f.burst {
		return rt.start.Add(f.window).Sub(now)
	}
	rt.count++
	return 0
}
