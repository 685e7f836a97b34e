package fortis

import (
	"context"
	"github.com/apisign/apisign/signers/weburl"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/clock"
	"github.com/apisign/apisign/signers/internal/jsonv"
	"github.com/apisign/apisign/signers/token"
)

// Idle is how long a Fortis session token lives without a successful request.
const Idle = 15 * time.Minute

// DefaultMargin is how long before the idle expiry a Session stops using a token
// and opens a new session: a request that leaves a few seconds before the expiry
// may arrive after it.
const DefaultMargin = 30 * time.Second

// TokenPath is the path of Fortis' token endpoint, relative to the API base URL.
const TokenPath = "/v2/token"

// OpenRequest builds `POST {baseURL}/v2/token` with the JSON body
// {"username", "password", "domain"} and the developer-id header. The broker and
// Session both use it. Fortis marks all three fields //REQUIRED: an empty
// username or password is E_KEY, an empty domain E_INPUT.
func OpenRequest(baseURL, developerID, username, password, domain string) (*signers.Request, error) {
	const op = "fortis.OpenRequest"
	base, err := checkBaseURL(op, baseURL)
	if err != nil {
		return nil, err
	}
	if err := checkHeaderValue(op, "developer id", developerID); err != nil {
		return nil, err
	}
	if username == "" || password == "" {
		return nil, signers.E(signers.CodeKey, op, "username or password is empty")
	}
	if domain == "" {
		return nil, signers.E(signers.CodeInput, op, "domain is empty (Fortis requires it in the token request)")
	}
	body := jsonv.AppendString([]byte(`{"username":`), username)
	body = append(body, `,"password":`...)
	body = jsonv.AppendString(body, password)
	body = append(body, `,"domain":`...)
	body = append(jsonv.AppendString(body, domain), '}')
	return &signers.Request{
		Method: "POST",
		URL:    base + TokenPath,
		Header: signers.Header{
			HeaderDeveloperID: developerID,
			"Content-Type":    "application/json",
			"Accept":          "application/json",
		},
		Body: body,
	}, nil
}

// Opened is a session token read from the answer to POST /v2/token.
type Opened struct {
	Token  string
	Expire time.Duration // idle lifetime the server announced ("expire", minutes)
}

// ParseOpenResponse reads the answer to POST /v2/token:
// {"token": {"token": "...", "expire": 15, ...}}. A status other than 200 or 201
// is E_HTTP (with Status); a body that is not JSON, or lacks token.token (a
// non-empty string usable in a header) or token.expire (a positive whole number
// of minutes), is E_TOKEN. Other fields are ignored.
func ParseOpenResponse(status int, body []byte) (Opened, error) {
	const op = "fortis.ParseOpenResponse"
	if status != 200 && status != 201 {
		return Opened{}, signers.Answered(op, "token endpoint", status)
	}
	// Read as encoding/json reads {"token": {"token": string, "expire": any}}
	// into pointers: an absent or null member is missing, a member of another
	// type makes the answer unreadable.
	doc, err := jsonv.Parse(body)
	outer, _ := doc.Field("token")
	tok, _ := outer.Field("token")
	exp, _ := outer.Field("expire")
	if err != nil || !doc.Struct() || !outer.Struct() || tok.Kind != jsonv.String && tok.Kind != jsonv.Null {
		return Opened{}, signers.E(signers.CodeToken, op, "answer is not the expected JSON")
	}
	if tok.Kind == jsonv.Null || exp.Kind == jsonv.Null {
		return Opened{}, signers.E(signers.CodeToken, op, "answer lacks token.token or token.expire")
	}
	t, _ := tok.Str()
	if err := checkToken(op, t); err != nil {
		return Opened{}, err
	}
	n, err := strconv.ParseInt(string(exp.Raw), 10, 64)
	if err != nil || n <= 0 || n > 1e6 {
		return Opened{}, signers.E(signers.CodeToken, op, "token.expire is not a positive whole number of minutes")
	}
	return Opened{Token: t, Expire: time.Duration(n) * time.Minute}, nil
}

// CloseRequest builds `DELETE {baseURL}/v2/token/{token}` (the token
// path-escaped), with developer-id (when given) and access-token headers.
func CloseRequest(baseURL, developerID, tok string) (*signers.Request, error) {
	const op = "fortis.CloseRequest"
	base, err := checkBaseURL(op, baseURL)
	if err != nil {
		return nil, err
	}
	if err := checkToken(op, tok); err != nil {
		return nil, err
	}
	h := signers.Header{HeaderAccessToken: tok}
	if developerID != "" {
		if err := checkHeaderValue(op, "developer id", developerID); err != nil {
			return nil, err
		}
		h[HeaderDeveloperID] = developerID
	}
	return &signers.Request{Method: "DELETE", URL: base + TokenPath + "/" + weburl.PathEscape(tok), Header: h}, nil
}

// checkBaseURL accepts an absolute http(s) URL without query or fragment and
// returns it without a trailing slash.
func checkBaseURL(op, raw string) (string, error) {
	u, err := weburl.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil ||
		u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(raw, "?# \t\r\n") {
		return "", signers.E(signers.CodeInput, op, "base URL must be an absolute http(s) URL without query or fragment")
	}
	return strings.TrimRight(raw, "/"), nil
}

// SessionConfig configures a Session.
type SessionConfig struct {
	// BaseURL is the API root, e.g. "https://api.example.com"; TokenPath is
	// appended. Needed unless both Open and Close are set.
	BaseURL     string
	DeveloperID string // sent as developer-id on the open and close requests and by AuthHeader
	// Username, Password, Domain: the credentials of POST /v2/token, all three
	// required unless Open is set. Username and Password are secrets: broker or
	// native program only.
	Username, Password, Domain string
	Doer                       signers.Doer  // sends open and close requests; needed unless Open and Close are set
	Clock                      clock.Clock   // nil means clock.Real
	Idle                       time.Duration // idle lifetime; 0 means Idle (15 minutes); a shorter server "expire" wins
	Margin                     time.Duration // reopen this long before the idle expiry; 0 means DefaultMargin

	// Open, when set, replaces POST /v2/token. The browser sets it to ask the
	// broker, which holds the password, for a freshly opened session token. The
	// returned Expiry, when set and sooner than now + Idle, is the end of the
	// token's first idle period.
	Open token.FetchFunc
	// Close, when set, replaces DELETE /v2/token/{token} (e.g. a broker route).
	Close func(ctx context.Context, t token.Token) error
}

// Session holds one Fortis session token and keeps it usable: the token dies
// after Idle without a successful request, so the caller reports every successful
// request with TouchToken (signers/flow does, per fortis.Authorizer), and Token opens a new
// session once the idle expiry is within Margin. It is built on token.Cache:
// concurrent callers that find the token stale cause one open request, and a
// failed reopen leaves the held token and its expiry as they were (Token still
// returns it while it has not expired). Safe for concurrent use.
type Session struct {
	cfg   SessionConfig
	base  string
	clock clock.Clock
	cache *token.Cache
	sem   chan struct{} // one reopen decision at a time

	mu   sync.Mutex
	val  string        // token value the fields below describe
	exp  time.Time     // its idle expiry
	life time.Duration // its idle lifetime (what Touch restarts)
}

// NewSession checks cfg and returns a Session with no token yet; the first Token
// call opens the session.
func NewSession(cfg SessionConfig) (*Session, error) {
	const op = "fortis.NewSession"
	s := &Session{cfg: cfg, clock: clock.Or(cfg.Clock), sem: make(chan struct{}, 1)}
	if s.cfg.Idle <= 0 {
		s.cfg.Idle = Idle
	}
	if s.cfg.Margin <= 0 {
		s.cfg.Margin = DefaultMargin
	}
	if s.cfg.Margin >= s.cfg.Idle {
		return nil, signers.E(signers.CodeInput, op, "margin must be shorter than the idle lifetime")
	}
	if cfg.BaseURL != "" {
		b, err := checkBaseURL(op, cfg.BaseURL)
		if err != nil {
			return nil, err
		}
		s.base = b
	}
	if cfg.DeveloperID != "" {
		if err := checkHeaderValue(op, "developer id", cfg.DeveloperID); err != nil {
			return nil, err
		}
	}
	if cfg.Open == nil {
		if s.base == "" {
			return nil, signers.E(signers.CodeInput, op, "base URL is empty")
		}
		if cfg.DeveloperID == "" {
			return nil, signers.E(signers.CodeInput, op, "developer id is empty")
		}
		if cfg.Username == "" || cfg.Password == "" {
			return nil, signers.E(signers.CodeKey, op, "username or password is empty")
		}
		if cfg.Domain == "" {
			return nil, signers.E(signers.CodeInput, op, "domain is empty (Fortis requires it in the token request)")
		}
		if cfg.Doer == nil {
			return nil, signers.E(signers.CodeConfig, op, "no Doer to send the token request")
		}
	}
	s.cache = token.NewCache(s.fetch, 0, s.clock)
	return s, nil
}

// fetch opens a session (through cfg.Open or POST /v2/token) and records its
// idle expiry. The cache stores the token without expiry: the Session, not the
// cache, decides when it is stale, because Touch moves the expiry.
func (s *Session) fetch(ctx context.Context, current token.Token) (token.Token, error) {
	const op = "fortis.Open"
	life := s.cfg.Idle
	var val string
	var exp time.Time
	if s.cfg.Open != nil {
		t, err := s.cfg.Open(ctx, current)
		if err != nil {
			return token.Token{}, signers.Wrap(signers.CodeTokenExpired, op, err)
		}
		if err := checkToken(op, t.Value); err != nil {
			return token.Token{}, err
		}
		val, exp = t.Value, t.Expiry
	} else {
		req, err := OpenRequest(s.base, s.cfg.DeveloperID, s.cfg.Username, s.cfg.Password, s.cfg.Domain)
		if err != nil {
			return token.Token{}, err
		}
		resp, err := s.cfg.Doer.Do(ctx, req)
		if err != nil {
			return token.Token{}, signers.Wrap(signers.CodeNetwork, op, err)
		}
		o, err := ParseOpenResponse(resp.Status, resp.Body)
		if err != nil {
			return token.Token{}, err
		}
		val = o.Token
		if o.Expire < life {
			life = o.Expire
		}
	}
	now := s.clock.Now()
	if exp.IsZero() || exp.After(now.Add(life)) {
		exp = now.Add(life)
	}
	s.mu.Lock()
	s.val, s.exp, s.life = val, exp, life
	s.mu.Unlock()
	return token.Token{Value: val}, nil
}

// fresh returns the held token with its idle expiry if it is usable for at
// least Margin more.
func (s *Session) fresh() (token.Token, bool) {
	t := s.Current()
	return t, t.ValidAt(s.clock.Now().Add(s.cfg.Margin))
}

// Current returns the held token with its idle expiry (zero Token if none),
// whether or not it is still valid.
func (s *Session) Current() token.Token {
	cur := s.cache.Current()
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur.Value == "" || cur.Value != s.val {
		return token.Token{}
	}
	return token.Token{Value: cur.Value, Expiry: s.exp}
}

// Token returns a session token usable for at least Margin, opening a new
// session if there is none or the held one is (nearly) idle-expired. If that
// reopen fails while the held token has not yet expired, Token returns the held
// token; otherwise the error (the held state is kept either way).
func (s *Session) Token(ctx context.Context) (token.Token, error) {
	if t, ok := s.fresh(); ok {
		return t, nil
	}
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return token.Token{}, signers.Wrap(signers.CodeAborted, "fortis.Token", ctx.Err())
	}
	defer func() { <-s.sem }()
	if t, ok := s.fresh(); ok { // another caller reopened while we waited
		return t, nil
	}
	old := s.Current()
	if _, err := s.cache.Refresh(ctx); err != nil {
		if old.ValidAt(s.clock.Now()) && ctx.Err() == nil {
			return old, nil
		}
		return token.Token{}, err
	}
	if t := s.Current(); t.Value != "" {
		return t, nil
	}
	return token.Token{}, signers.E(signers.CodeTokenExpired, "fortis.Token", "session was closed while opening")
}

// Touch records a successful request with the held token: Fortis restarts its
// idle period, and so does the Session.
func (s *Session) Touch() { s.touch("", false) }

// TouchToken is Touch for the request that used t: it does nothing if t is no
// longer the held token (a late answer must not extend a newer session).
func (s *Session) TouchToken(t token.Token) { s.touch(t.Value, true) }

func (s *Session) touch(val string, check bool) {
	cur := s.cache.Current()
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur.Value == "" || cur.Value != s.val || (check && val != cur.Value) {
		return
	}
	s.exp = s.clock.Now().Add(s.life)
}

// Invalidate drops t if it is still the held token (the server answered 401), so
// that the next Token call opens a new session.
func (s *Session) Invalidate(t token.Token) { s.cache.Invalidate(t) }

// Close ends the session: it forgets the held token and sends DELETE
// /v2/token/{token} (or calls cfg.Close). 204 and 200 are success; 404 means the
// server already forgot it, also fine. The token is forgotten even when the
// request fails (the server drops it after Idle anyway). Without a held token,
// or with neither Close nor BaseURL and Doer configured, Close only forgets.
func (s *Session) Close(ctx context.Context) error {
	const op = "fortis.Close"
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return signers.Wrap(signers.CodeAborted, op, ctx.Err())
	}
	cur := s.Current()
	s.cache.Set(token.Token{}) // closed, not refused: the next open is not told of it
	s.mu.Lock()
	s.val, s.exp = "", time.Time{}
	s.mu.Unlock()
	<-s.sem
	if cur.Value == "" {
		return nil
	}
	if s.cfg.Close != nil {
		return signers.Wrap(signers.CodeNetwork, op, s.cfg.Close(ctx, cur))
	}
	if s.base == "" || s.cfg.Doer == nil {
		return nil
	}
	req, err := CloseRequest(s.base, s.cfg.DeveloperID, cur.Value)
	if err != nil {
		return err
	}
	resp, err := s.cfg.Doer.Do(ctx, req)
	if err != nil {
		return signers.Wrap(signers.CodeNetwork, op, err)
	}
	switch resp.Status {
	case 200, 204, 404:
		return nil
	}
	return signers.Answered(op, "token endpoint", resp.Status)
}

// AuthHeader returns the headers that authenticate a request with t:
// access-token, and developer-id when the Session has one.
func (s *Session) AuthHeader(t token.Token) (signers.Header, error) {
	if err := checkToken("fortis.AuthHeader", t.Value); err != nil {
		return nil, err
	}
	h := signers.Header{HeaderAccessToken: t.Value}
	if s.cfg.DeveloperID != "" {
		h[HeaderDeveloperID] = s.cfg.DeveloperID
	}
	return h, nil
}

// AuthQuery is AuthHeader as query parameters (developer-id first, when set).
func (s *Session) AuthQuery(t token.Token) ([][2]string, error) {
	if err := checkToken("fortis.AuthQuery", t.Value); err != nil {
		return nil, err
	}
	var q [][2]string
	if s.cfg.DeveloperID != "" {
		q = append(q, [2]string{HeaderDeveloperID, s.cfg.DeveloperID})
	}
	return append(q, [2]string{HeaderAccessToken, t.Value}), nil
}

// SSOPath is the endpoint of Fortis' single sign-on method: it generates a URL
// that signs a user in by just clicking it.
const SSOPath = "/v2/contactsso"

// SSORequest builds `POST {baseURL}/v2/contactsso` with auth applied (API-key
// credentials, or a session's access-token header; developer-id included) and
// fields as the JSON body. Fortis' document names the endpoint and the method
// but not the request's fields, so fields is the caller's JSON object (say, the
// contact the link is for), sent as given. The URL the answer carries is itself a
// sign-in credential: the broker generates it and hands it to the one page that
// opens it. Errors (E_INPUT): a bad base URL; fields that are not a JSON object.
func SSORequest(baseURL string, auth Auth, fields []byte) (*signers.Request, error) {
	const op = "fortis.SSORequest"
	base, err := checkBaseURL(op, baseURL)
	if err != nil {
		return nil, err
	}
	if obj, err := jsonv.Parse(fields); err != nil || obj.Kind != jsonv.Object {
		return nil, signers.E(signers.CodeInput, op, "fields must be a JSON object")
	}
	req := &signers.Request{
		Method: "POST",
		URL:    base + SSOPath,
		Header: signers.Header{"Content-Type": "application/json", "Accept": "application/json"},
		Body:   append([]byte(nil), fields...),
	}
	if err := auth.ApplyTo(req); err != nil {
		return nil, err
	}
	return req, nil
}

// SSO is the answer to SSORequest.
type SSO struct {
	URL    string // the generated sign-in URL
	Record []byte // the whole contactsso record, as sent (JSON)
}

// ParseSSOResponse reads the answer to SSORequest. Fortis wraps each answer in an
// object named after its resource (POST /v2/token answers {"token": {...}}), so
// the answer is read as {"contactsso": {"url": "...", ...}}; the document calls it
// only "a generated url", and this function is the one place that names the
// fields. A status other than 200 or 201 is E_HTTP (with Status); a body without
// contactsso.url, or a URL that is not absolute https (http only for a local
// sandbox: localhost, 127.0.0.1, ::1), is E_TOKEN, since a page is going to open
// it. The message never contains the URL.
func ParseSSOResponse(status int, body []byte) (SSO, error) {
	const op = "fortis.ParseSSOResponse"
	if status != 200 && status != 201 {
		return SSO{}, signers.Answered(op, "contactsso", status)
	}
	// Member names match without regard to case, as encoding/json matches
	// struct fields.
	doc, err := jsonv.Parse(body)
	record, _ := doc.Field("contactsso")
	link, _ := record.Field("url")
	rawURL, _ := link.Str()
	if err != nil || record.Kind != jsonv.Object || rawURL == "" {
		return SSO{}, signers.E(signers.CodeToken, op, "answer lacks contactsso.url")
	}
	u, err := weburl.Parse(rawURL)
	local := err == nil && u.Scheme == "http" && (u.Hostname() == "localhost" || u.Hostname() == "127.0.0.1" || u.Hostname() == "::1")
	if err != nil || (u.Scheme != "https" && !local) || u.Host == "" || u.User != nil || strings.ContainsAny(rawURL, " \t\r\n") {
		return SSO{}, signers.E(signers.CodeToken, op, "contactsso.url is not an absolute https URL")
	}
	return SSO{URL: rawURL, Record: append([]byte(nil), record.Raw...)}, nil
}

// OAuthConfig configures an OAuthSource.
type OAuthConfig struct {
	// Fetch runs Fortis' OAuth authorization process and returns an access
	// token with its expiry (zero: unknown). Fortis' document defers the process
	// (grant and endpoints) to a page outside apisign's documents, so this
	// package builds none of its requests: Fetch is the caller's (a broker route
	// in the browser, the holder of the OAuth client credentials on a server).
	// Required.
	Fetch  token.FetchFunc
	Clock  clock.Clock   // nil means clock.Real
	Margin time.Duration // renew this long before the token's expiry; 0 means DefaultMargin
}

// OAuthSource holds a Fortis OAuth access token and renews it Margin ahead of
// its expiry (token.Cache: one fetch for N concurrent callers; a failed early
// renewal keeps the old token). It is a signers/flow Source: with
// OAuthAuthorizer, flow.Do sends a request with the bearer token and, when it is
// refused, one more time with a new one.
type OAuthSource struct {
	cache *token.Cache
}

// NewOAuthSource checks cfg: Fetch is required (E_CONFIG).
func NewOAuthSource(cfg OAuthConfig) (*OAuthSource, error) {
	if cfg.Fetch == nil {
		return nil, signers.E(signers.CodeConfig, "fortis.NewOAuthSource", "no Fetch to obtain an OAuth access token")
	}
	if cfg.Margin <= 0 {
		cfg.Margin = DefaultMargin
	}
	fetch := func(ctx context.Context, current token.Token) (token.Token, error) {
		t, err := cfg.Fetch(ctx, current)
		if err != nil {
			return token.Token{}, err
		}
		if err := checkToken("fortis.OAuth", t.Value); err != nil {
			return token.Token{}, err
		}
		return t, nil
	}
	return &OAuthSource{cache: token.NewCache(fetch, cfg.Margin, cfg.Clock)}, nil
}

// Token returns an access token valid for at least Margin, fetching one if needed.
func (s *OAuthSource) Token(ctx context.Context) (token.Token, error) { return s.cache.Token(ctx) }

// Invalidate drops t if it is still the held token (the server refused it).
func (s *OAuthSource) Invalidate(t token.Token) { s.cache.Invalidate(t) }

// Current returns the held token, valid or not.
func (s *OAuthSource) Current() token.Token { return s.cache.Current() }

// OAuthAuthorizer is Fortis' OAuth rule for signers/flow: every call carries
// `Authorization: Bearer <access token>` with `developer-id` beside it (Fortis'
// OAuth example). Fortis' document names no status for a refused bearer token;
// 401 is the one RFC 6750 gives an invalid or expired token, so a 401 is worth
// one new token and one more try. A bearer token's lifetime does not depend on
// its use.
type OAuthAuthorizer struct {
	// DeveloperID is sent as developer-id; empty sends none (the broker adds it).
	DeveloperID string
}

// Authorize sets Authorization (and developer-id) for tok.
func (a OAuthAuthorizer) Authorize(req *signers.Request, tok token.Token) error {
	const op = "fortis.OAuthAuthorize"
	auth, err := Bearer(tok.Value)
	if err != nil {
		return err
	}
	if a.DeveloperID != "" {
		if err := checkHeaderValue(op, "developer id", a.DeveloperID); err != nil {
			return err
		}
		req.Header.Set(HeaderDeveloperID, a.DeveloperID)
	}
	req.Header.Set("Authorization", auth)
	return nil
}

// Refused: 401.
func (OAuthAuthorizer) Refused(resp *signers.Response) bool { return resp.Status == 401 }

// Active: never.
func (OAuthAuthorizer) Active(*signers.Response) bool { return false }
