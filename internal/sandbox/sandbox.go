// Package sandbox emulates the five providers apisign talks to (Keyfax, NFON,
// Fortis, Ansira, Fonn) closely enough that the demo page, the broker and the
// tests run end to end on localhost with no real account.
//
// Each emulator answers as the vendor's document says (docs/PROTOCOLS.md has a
// section per provider): status codes, body shapes and field names as the
// documents' examples, checked with the verifiers of apisign's own core
// (signers/keyfax, signers/nfon, signers/fortis); where a document leaves an
// answer open, the emulator's choice is said in its doc comment. Credentials
// are fresh random values drawn at New, so nothing here is a shared secret; Env
// hands them to the broker under the names of its contract.
//
// One handler serves every provider under a prefix:
//
//	/keyfax/Interview/api/v1/...   Keyfax Web API, plus the interview page at /keyfax/Interview/launch
//	/nfon/api/...                  NFON Service Portal API (phone books, announcements)
//	/fortis/v2/...                 Fortis v2 (token, contactsso, transactions, contacts), /fortis/sso/ the SSO links
//	/ansira/oauth/v2/oauth-token   Ansira token endpoint
//	/ansira/api/...                Ansira API (campaigns, with filter/order_by/paging)
//	/fonn/api/...                  Fonn API (projects)
//
// It may be mounted under a path (the dev server uses /sandbox with
// http.StripPrefix): signatures are checked against the request URI as it
// arrived, which StripPrefix leaves alone, and Options.BaseURL says where the
// handler is reachable from outside.
package sandbox

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/apisign/apisign/signers/clock"
)

// Options configures a Sandbox. Zero values give the providers' documented
// behaviour; tests shorten lifetimes and limits.
type Options struct {
	// BaseURL is where the sandbox handler is reachable, e.g.
	// http://127.0.0.1:8080/sandbox. Env and the Keyfax launch URLs are built on
	// it. Empty means http://127.0.0.1:8080/sandbox.
	BaseURL string
	// Clock is the emulators' clock (token expiry, signature windows, rate
	// windows, the Date header). Nil means clock.Real.
	Clock clock.Clock

	// KeyfaxTokenTTL is the lifetime of a Keyfax JWT; 0 means 24 hours.
	KeyfaxTokenTTL time.Duration
	// KeyfaxWebHook is the WebHookUrl of the sandbox's Keyfax host (the
	// KeyGen element of kfServerConfig.xml): POST /api/v1/key posts the new keys
	// there as JSON. Empty means e-mail delivery, read with KeyfaxMailbox.
	KeyfaxWebHook string
	// KeyfaxNewHosts are further KeyGen host names, without keys until the
	// anonymous GET /api/v1/key creates them (201, then 400). Nil means the
	// kfServerConfig.xml example's one, "Default".
	KeyfaxNewHosts []string
	// FortisIdle is the idle expiry of a Fortis session token; 0 means 15 minutes.
	FortisIdle time.Duration
	// AnsiraTokenTTL is the expires_in of an Ansira access token; 0 means 1 hour.
	AnsiraTokenTTL time.Duration
	// AnsiraRateLimit is how many calls per second one IP address may make to
	// one Ansira endpoint before 429; 0 means 5 (stage; production allows 10).
	AnsiraRateLimit int
	// FonnBurst is how many calls per FonnWindow one subscription key may make
	// before Fonn answers 429; 0 means 30.
	FonnBurst int
	// FonnWindow is the Fonn rate window; 0 means 10 seconds.
	FonnWindow time.Duration
}

// Credentials are the sandbox's fresh credentials, every provider's. The broker
// needs the ones Env lists; the Fortis user credentials (API key and HMAC hash
// key) are extra, for tests and for signing demos that run server side.
type Credentials struct {
	KeyfaxHostName, KeyfaxAPIKey, KeyfaxSigningKey string

	NFONKeyID, NFONSecret string

	FortisDeveloperID                            string
	FortisUsername, FortisPassword, FortisDomain string
	FortisUserID, FortisUserAPIKey               string
	FortisUserHashKey                            string
	FortisOAuthToken                             string // as if Fortis' OAuth process had issued it

	AnsiraClientID, AnsiraClientSecret string
	AnsiraAssertion, AnsiraScope       string

	FonnSubscriptionKey, FonnSecondarySubscriptionKey string
	FonnAccessToken, FonnWorkspaceToken               string
}

// Sandbox is the set of emulators behind one http.Handler. It is safe for
// concurrent use.
type Sandbox struct {
	base  string
	clock clock.Clock
	creds Credentials
	mux   *http.ServeMux

	keyfax *keyfaxEmu
	nfon   *nfonEmu
	fortis *fortisEmu
	ansira *ansiraEmu
	fonn   *fonnEmu
}

// New draws fresh credentials and returns the emulators, ready to serve.
func New(opts Options) *Sandbox {
	base := strings.TrimRight(opts.BaseURL, "/")
	if base == "" {
		base = "http://127.0.0.1:8080/sandbox"
	}
	c := opts.Clock
	if c == nil {
		c = clock.Real
	}
	s := &Sandbox{base: base, clock: c, mux: http.NewServeMux()}
	s.keyfax = newKeyfax(s, opts)
	s.nfon = newNFON(s)
	s.fortis = newFortis(s, opts.FortisIdle)
	s.ansira = newAnsira(s, opts)
	s.fonn = newFonn(s, opts.FonnBurst, opts.FonnWindow)

	s.mux.Handle("/keyfax/", http.StripPrefix("/keyfax", s.keyfax))
	s.mux.Handle("/nfon/", http.StripPrefix("/nfon", s.nfon))
	s.mux.Handle("/fortis/", http.StripPrefix("/fortis", s.fortis))
	s.mux.Handle("/ansira/", http.StripPrefix("/ansira", s.ansira))
	s.mux.Handle("/fonn/", http.StripPrefix("/fonn", s.fonn))
	s.mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"sandbox": "apisign provider emulators",
			"providers": []string{"keyfax", "nfon", "fortis", "ansira", "fonn"}})
	})
	return s
}

// BaseURL is where the sandbox says it is reachable (Options.BaseURL).
func (s *Sandbox) BaseURL() string { return s.base }

// Credentials returns every credential the emulators accept.
func (s *Sandbox) Credentials() Credentials { return s.creds }

// Env returns the broker's environment for these emulators: base URLs pointing
// at them and the credentials they accept, under the variable names of the
// broker contract. It holds secrets: give it to the broker, never to a page.
func (s *Sandbox) Env() map[string]string {
	c := s.creds
	return map[string]string{
		"KEYFAX_BASE_URL":    s.base + "/keyfax/Interview",
		"KEYFAX_HOST_NAME":   c.KeyfaxHostName,
		"KEYFAX_API_KEY":     c.KeyfaxAPIKey,
		"KEYFAX_SIGNING_KEY": c.KeyfaxSigningKey,

		"NFON_BASE_URL":      s.base + "/nfon",
		"NFON_KEY_ID":        c.NFONKeyID,
		"NFON_SECRET":        c.NFONSecret,
		"NFON_ALLOWED_PATHS": "/api/",

		"FORTIS_BASE_URL":     s.base + "/fortis",
		"FORTIS_DEVELOPER_ID": c.FortisDeveloperID,
		"FORTIS_USERNAME":     c.FortisUsername,
		"FORTIS_PASSWORD":     c.FortisPassword,
		"FORTIS_DOMAIN":       c.FortisDomain,
		"FORTIS_OAUTH_TOKEN":  c.FortisOAuthToken,

		"ANSIRA_TOKEN_URL":     s.base + "/ansira/oauth/v2/oauth-token",
		"ANSIRA_CLIENT_ID":     c.AnsiraClientID,
		"ANSIRA_CLIENT_SECRET": c.AnsiraClientSecret,
		"ANSIRA_ASSERTION":     c.AnsiraAssertion,
		"ANSIRA_SCOPE":         c.AnsiraScope,

		"FONN_BASE_URL":                   s.base + "/fonn",
		"FONN_SUBSCRIPTION_KEY":           c.FonnSubscriptionKey,
		"FONN_ACCESS_TOKEN":               c.FonnAccessToken,
		"FONN_SECONDARY_SUBSCRIPTION_KEY": c.FonnSecondarySubscriptionKey,
		"FONN_WORKSPACE_TOKEN":            c.FonnWorkspaceToken,
		"FONN_ALLOWED_PATHS":              "/api/",
	}
}

// The headers a browser may send to an emulator: everything apisign's module
// and the providers' documentation put on a request.
const corsAllowHeaders = "Authorization, Content-Type, Accept, Cache-Control, Content-MD5, x-nfon-date, " +
	"developer-id, access-token, user-id, user-api-key, timestamp, hash-key, " +
	"Ocp-Apim-Subscription-Key, impersonatedUserExternalId"

// maxBody bounds every request body the emulators read.
const maxBody = 1 << 20

// ServeHTTP answers CORS (echoing the Origin: the sandbox is for any local
// page), sets Date from the emulators' clock (so a page's skew correction can be
// demonstrated with a skewed sandbox clock), bounds the body and routes.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	if origin := r.Header.Get("Origin"); origin != "" {
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Expose-Headers", "Retry-After, Date")
		h.Add("Vary", "Origin")
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE, OPTIONS")
			h.Set("Access-Control-Allow-Headers", corsAllowHeaders)
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	h.Set("Date", clock.FormatHTTPDate(s.clock.Now()))
	h.Set("Cache-Control", "no-store")
	if r.Body != nil {
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	}
	s.mux.ServeHTTP(w, r)
}

func (s *Sandbox) now() time.Time { return s.clock.Now() }

// readBody reads the (bounded) body; false after answering 413 or 400.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	if r.Body == nil {
		return nil, true
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"message": "request body too large"})
		} else {
			writeJSON(w, http.StatusBadRequest, map[string]string{"message": "request body could not be read"})
		}
		return nil, false
	}
	return b, true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// randomBytes returns n bytes from crypto/rand (which never fails on the
// platforms Go supports: it aborts the program instead).
func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func randomHex(n int) string { return hex.EncodeToString(randomBytes(n)) }

func randomToken(n int) string { return base64.RawURLEncoding.EncodeToString(randomBytes(n)) }

// newUUID returns a random (version 4) UUID, the form Keyfax and NFON use for
// identifiers and keys.
func newUUID() string {
	b := randomBytes(16)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
