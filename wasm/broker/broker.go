// Package broker is apisign's broker: an http.Handler that holds every
// long-lived secret (signing keys, API secrets, client secrets, passwords,
// subscription keys) and offers a page a few narrow routes instead:
//
//	GET    /keyfax/token           a Keyfax JWT (minted with Basic, cached until near expiry)
//	POST   /ansira/token           an Ansira access token (assertion exchanged, cached for expires_in)
//	GET    /ansira/status          how long the Ansira assertion has left
//	POST   /fortis/session         a new Fortis session token
//	DELETE /fortis/session/{token} close it
//	POST   /fortis/sso             a one-time Fortis sign-in link (v2/contactsso)
//	ANY    /nfon/<path>?<query>    forwarded to NFON, signed with NFON-API
//	ANY    /fonn/<path>?<query>    forwarded to Fonn, with the Fonn headers
//
// and, with their own credentials instead of a caller token, the Keyfax key
// routes: POST /keyfax/keys/reset (admin) and POST /keyfax/webhook/{secret}
// (Keyfax delivering new keys).
//
// It is not an open proxy: CORS only for the allowed origins, forwarding only to
// the configured upstream host and to allow-listed path prefixes, request
// bodies capped, every caller route behind a caller token that the embedding
// site's backend mints (MintCallerToken), and per-caller limits. What must be
// one per deployment (Keyfax keys, single flights, limits) is in a State: a
// Durable Object in the Worker. Secrets never appear in a response, a
// header sent back, an error or a log line: messages are written here from
// names and statuses, never from values or upstream error texts.
//
// The same handler runs natively under net/http (the dev server) and as a
// Cloudflare Worker (wasm/broker/worker, through github.com/syumai/workers), so
// the package uses no syscall/js: configuration comes from a getter
// (os.Getenv, or the Worker's bindings) and outbound calls through an injected
// http.RoundTripper (net/http's, or the Worker's fetch).
package broker

import (
	"encoding/json"
	"log"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/clock"
	"github.com/apisign/apisign/signers/httpauth"
)

// Broker is the broker handler. Build it with New; it is safe for concurrent use.
type Broker struct {
	doer    signers.Doer
	clock   clock.Clock
	state   State
	logf    func(format string, args ...any)
	maxBody int64
	timeout time.Duration

	callerSecret []byte
	callerOff    string // why no caller can be accepted ("" when the secret is set)
	origins      map[string]bool
	adminSecret  []byte // APISIGN_ADMIN_SECRET; nil: the admin routes answer 503
	limits       limits

	keyfax     *keyfaxState
	ansira     *ansiraState
	fortis     *fortisState
	forwarders map[string]*forwarder // by provider (nfon, fonn)
	off        map[string]string     // provider -> why its routes answer 503
}

// provider is one row of the provider table.
type provider struct {
	name string
	// required and optional name its variables. With none of them set the
	// provider is off; with only some of the required ones, misconfigured.
	// (NFON_ALLOWED_PATHS is neither: it has a default, and a deployment that
	// keeps it set without using NFON is not misconfigured.)
	required, optional []string
	// setup wires the provider into b from the values v of its variables;
	// it returns why the provider is unusable, or "".
	setup  func(b *Broker, e *env, v map[string]string) string
	routes []route
}

// route is one broker route.
type route struct {
	// path is the exact path, or, ending in "/", a prefix: the handler then
	// gets the escaped rest of the path, from that "/" on.
	path    string
	methods string // as in an Allow header
	serve   func(b *Broker, w http.ResponseWriter, r *http.Request, rest string)
}

// providers is the provider table, and its routes the broker's route table.
// Each provider's file (keyfax.go, …) holds its setup and handlers.
var providers = []provider{{
	name:     "keyfax",
	required: []string{"KEYFAX_BASE_URL", "KEYFAX_HOST_NAME"},
	// Without keys the broker asks Keyfax for the host's initial ones (GET
	// /api/v1/key); once the state holds keys, those win over these.
	optional: []string{"KEYFAX_API_KEY", "KEYFAX_SIGNING_KEY", EnvKeyfaxWebhookSecret},
	setup:    setupKeyfax,
	routes:   []route{{"/keyfax/token", "GET", (*Broker).keyfaxToken}},
}, {
	name:     "ansira",
	required: []string{"ANSIRA_TOKEN_URL", "ANSIRA_CLIENT_ID", "ANSIRA_CLIENT_SECRET", "ANSIRA_ASSERTION"},
	optional: []string{"ANSIRA_SCOPE"},
	setup:    setupAnsira,
	routes: []route{
		{"/ansira/token", "POST", (*Broker).ansiraToken},
		{"/ansira/status", "GET", (*Broker).ansiraStatus},
	},
}, {
	name: "fortis",
	// The token request's domain is required (docs/PROTOCOLS.md, "Fortis").
	required: []string{"FORTIS_BASE_URL", "FORTIS_DEVELOPER_ID", "FORTIS_USERNAME", "FORTIS_PASSWORD", "FORTIS_DOMAIN"},
	setup:    setupFortis,
	routes: []route{
		{"/fortis/session", "POST", (*Broker).fortisOpen},
		{"/fortis/session/", "DELETE", (*Broker).fortisClose},
		{"/fortis/sso", "POST", (*Broker).fortisSSO},
	},
}, {
	name:     "nfon",
	required: []string{"NFON_BASE_URL", "NFON_KEY_ID", "NFON_SECRET"},
	setup:    setupNFON,
	routes:   []route{{"/nfon/", allowMethods, forwardTo("nfon")}},
}, {
	name: "fonn",
	// No default allow-list: the access token reaches every path of the
	// API, so the deployment must say which the pages may use.
	required: []string{"FONN_BASE_URL", "FONN_SUBSCRIPTION_KEY", "FONN_ACCESS_TOKEN", "FONN_ALLOWED_PATHS"},
	optional: []string{EnvFonnSecondaryKey, EnvFonnTokenKind},
	setup:    setupFonn,
	routes:   []route{{"/fonn/", allowMethods, forwardTo("fonn")}},
}}

// findRoute returns the route of an escaped path, its provider and the rest.
func findRoute(path string) (*provider, *route, string) {
	for i := range providers {
		p := &providers[i]
		for j := range p.routes {
			rt := &p.routes[j]
			if path == rt.path {
				return p, rt, ""
			}
			if strings.HasSuffix(rt.path, "/") && strings.HasPrefix(path, rt.path) {
				return p, rt, path[len(rt.path)-1:]
			}
		}
	}
	return nil, nil, ""
}

// Option adjusts a Broker built by New.
type Option func(*Broker)

// WithClock sets the clock the broker judges caller tokens and token expiry
// by (default clock.Real); for tests.
func WithClock(c clock.Clock) Option { return func(b *Broker) { b.clock = c } }

// WithLogger sets where the broker logs upstream failures (default log.Printf).
// Lines carry the route, a code and a status, never a value.
func WithLogger(logf func(format string, args ...any)) Option {
	return func(b *Broker) { b.logf = logf }
}

// New builds the broker from the environment read through getenv (os.Getenv
// natively, the Worker's bindings in the Worker), sending upstream calls through
// outbound: http.DefaultTransport natively, the fetch transport in the Worker.
//
// It always returns a usable Broker. A provider whose variables are all unset
// is disabled; its routes answer 503 E_CONFIG saying which variables to set.
// When some configuration is wrong (a provider only partly configured, a
// malformed value, no caller secret) the error, a *ConfigError, lists the
// problems by variable name, and the affected routes answer 503 E_CONFIG with
// the same words. Nothing panics on bad configuration.
func New(getenv func(string) string, outbound http.RoundTripper, opts ...Option) (*Broker, error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	b := &Broker{clock: clock.Real, logf: log.Printf, off: map[string]string{}, forwarders: map[string]*forwarder{}}
	for _, o := range opts {
		o(b)
	}
	e := &env{get: getenv}
	if outbound == nil {
		// No default to http.DefaultTransport: referring to it links net/http's
		// whole client (TLS, HTTP/2), over 1 MB gzip, into the Worker, which
		// calls out through fetch instead.
		outbound = noTransport{}
		e.problem("no outbound transport: every upstream call fails (natively, pass http.DefaultTransport)")
	}
	// No client: an upstream redirect is answered as it is, never followed
	// to another host with the broker's credentials. "," rejoins the header
	// values the Worker's fetch conversion splits at commas.
	b.doer = httpauth.NewTransportDoer(outbound, httpauth.MaxAnswer(maxUpstreamBody), httpauth.JoinHeaders(","))
	b.maxBody = e.positive(EnvMaxBody, DefaultMaxBody)
	b.timeout = e.duration(EnvUpstreamTimeout, DefaultUpstreamTimeout)
	b.origins = e.origins()
	b.limits = e.limits()
	if b.state == nil {
		b.state = e.localState()
	}
	if s := e.get(EnvAdminSecret); s != "" {
		if len(s) < MinCallerSecret {
			e.problem(EnvAdminSecret + " is shorter than 32 bytes: the admin routes are off")
		} else {
			b.adminSecret = []byte(s)
		}
	}
	switch s := e.get(EnvCallerSecret); {
	case s == "":
		b.callerOff = EnvCallerSecret + " is not set: the broker accepts no caller"
		e.problem(b.callerOff)
	case len(s) < MinCallerSecret:
		b.callerOff = EnvCallerSecret + " is shorter than 32 bytes: the broker accepts no caller"
		e.problem(b.callerOff)
	default:
		b.callerSecret = []byte(s)
	}
	for _, p := range providers {
		v, why := e.group(p.name, p.required, p.optional...)
		if why == "" {
			why = p.setup(b, e, v)
		}
		if why != "" {
			b.off[p.name] = why
		}
	}
	if len(e.problems) > 0 {
		return b, &ConfigError{Problems: e.problems}
	}
	return b, nil
}

// Enabled reports whether a provider ("keyfax", "ansira", "fortis", "nfon",
// "fonn") is configured, and if not, why.
func (b *Broker) Enabled(provider string) (bool, string) {
	if why, off := b.off[provider]; off {
		return false, why
	}
	for _, p := range providers {
		if p.name == provider {
			return true, ""
		}
	}
	return false, "unknown provider"
}

// HeaderError carries the code of every error answer the broker produces
// itself (E_TOKEN, E_CONFIG, E_NETWORK, …), and of none it forwards: it tells
// an upstream refusal (a forwarded 401, 403, 429) from the broker's own.
const HeaderError = "X-Apisign-Error"

// The CORS answer: what the browser module sends and may read.
const (
	allowHeaders  = "X-Apisign-Caller, Content-Type, impersonatedUserExternalId, " + HeaderNFONAudio
	exposeHeaders = "Retry-After, Date, " + HeaderError
	allowMethods  = "GET, HEAD, POST, PUT, PATCH, DELETE"
)

// ServeHTTP checks, in this order: the origin (403), a CORS preflight (answered
// here, 204), the admin and web hook routes (their own credentials), the
// caller token (401) and its origin (403 E_SCOPE), the route (404, 405) and
// whether the token allows it (403 E_SCOPE), the provider's configuration
// (503), the body size (413), the caller's rate on the route (429), then hands
// over to the route, which checks the path (403) before calling upstream.
func (b *Broker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Add("Vary", "Origin")
	if origin := header(r.Header, "Origin"); origin != "" {
		if !b.origins[strings.ToLower(origin)] {
			writeError(w, http.StatusForbidden, signers.CodeInput, "origin is not allowed by this broker (APISIGN_ALLOWED_ORIGINS)")
			return
		}
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Expose-Headers", exposeHeaders)
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			// A preflight carries no credentials by design; it only learns what
			// the real request, which needs the caller token, may send.
			h.Set("Access-Control-Allow-Methods", allowMethods)
			h.Set("Access-Control-Allow-Headers", allowHeaders)
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	if b.serveOwnAuth(w, r) {
		return // the admin and web hook routes: not for callers, their own credentials
	}
	if b.callerOff != "" {
		writeError(w, http.StatusServiceUnavailable, signers.CodeConfig, b.callerOff)
		return
	}
	scope, err := VerifyCallerToken(b.callerSecret, header(r.Header, HeaderCaller), b.clock.Now())
	if err != nil {
		e := err.(*signers.Error)
		writeError(w, http.StatusUnauthorized, e.Code, e.Msg)
		return
	}
	if !scope.allowsOrigin(header(r.Header, "Origin")) {
		writeError(w, http.StatusForbidden, CodeScope, "caller token is bound to another origin")
		return
	}
	r = withScope(r, scope) // from here on, scopeOf(r) and callerKey(r) know the caller
	if r.RequestURI != "" && !strings.HasPrefix(r.RequestURI, "/") {
		// An absolute-form request line ("GET http://other/…") names a host; the
		// broker only ever talks to its configured ones.
		writeError(w, http.StatusForbidden, signers.CodeInput, "absolute request URLs are not accepted")
		return
	}
	p, rt, rest := findRoute(r.URL.EscapedPath())
	if rt == nil {
		writeError(w, http.StatusNotFound, signers.CodeInput, "no such broker route")
		return
	}
	if !methodAllowed(w, rt.methods, r.Method) {
		return
	}
	if !scope.allows(p.name, r.URL.EscapedPath()) {
		writeError(w, http.StatusForbidden, CodeScope, "caller token does not allow this route")
		return
	}
	if why, off := b.off[p.name]; off {
		writeError(w, http.StatusServiceUnavailable, signers.CodeConfig, why)
		return
	}
	if r.ContentLength > b.maxBody {
		writeError(w, http.StatusRequestEntityTooLarge, signers.CodeInput, "request body is larger than "+strconv.FormatInt(b.maxBody, 10)+" bytes")
		return
	}
	if !b.allow(w, r, rt.path) {
		return
	}
	rt.serve(b, w, r, rest)
}

// methodAllowed answers 405 for a method the route does not take.
func methodAllowed(w http.ResponseWriter, allow, method string) bool {
	for _, m := range strings.Split(allow, ", ") {
		if m == method {
			return true
		}
	}
	w.Header().Set("Allow", allow)
	writeError(w, http.StatusMethodNotAllowed, signers.CodeInput, "method not allowed on this route (allowed: "+allow+")")
	return false
}

// errorBody is the JSON of every error answer.
type errorBody struct {
	Code    signers.Code `json:"code"`
	Message string       `json:"message"`
}

// writeError answers {"code", "message"}. msg is always composed by the broker
// from names and numbers, never from a configuration value or an upstream text.
func writeError(w http.ResponseWriter, status int, code signers.Code, msg string) {
	w.Header().Set(HeaderError, string(code))
	writeJSON(w, status, errorBody{Code: code, Message: msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		status, data = http.StatusInternalServerError, []byte(`{"code":"E_INTERNAL","message":"answer could not be encoded"}`)
		w.Header().Set(HeaderError, string(signers.CodeInternal))
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(status)
	w.Write(data)
}

// noTransport is the outbound of a Broker built without one.
type noTransport struct{}

func (noTransport) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, signers.E(signers.CodeConfig, "broker.upstream", "no outbound transport")
}
