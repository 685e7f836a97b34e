// Package ansira implements Ansira's (SproutLoud's) OAuth flow as Ansira
// documents it (docs/PROTOCOLS.md, "Ansira"): the client exchanges a JWT
// assertion for an access token at the token URL, authenticating with HTTP Basic
// (client id and secret), then sends `Authorization: Bearer <access_token>` and
// `Cache-Control: no-cache` on every API call (APIHeaders) until the token's
// expires_in runs out.
//
// The rules of Ansira's that shape the code:
//   - Tokens overlap: every exchange returns a new token and the earlier ones stay
//     valid until their own TTL ends. Only a new Assertion generated in the
//     developer portal, a change of the client's scopes or deleting the client
//     invalidates every token. So a second TokenSource for the same client costs
//     an exchange but breaks nothing; one per client and process is still the
//     thrifty choice (token.Cache's single flight: N concurrent callers cause one
//     request).
//   - Tokens can only be generated while the client assertion has not expired.
//     The assertion is a JWT; its exp is read, unverified, at configuration
//     (AssertionExpiry, CheckAssertion), so that an expired one is a clear
//     E_CONFIG instead of a refused exchange.
//   - 401 means the token is missing; 403 means it expired or lacks the scope:
//     fetch a new token once and retry once, never in a loop (Authorizer,
//     signers/flow).
//   - 429 means over the per-IP limit (5 requests per second on stage, 10 on
//     production): pace the calls (signers/pace), then honour Retry-After.
//   - Listings take filter, order_by, page and page_size (ListParams, Pages).
//
// The client secret belongs on the broker. The browser gets its access token
// from the broker (Config.Fetch) and never sees the secret.
//
// The package links into the browser module, so it imports neither net/http nor
// fmt.
package ansira

import (
	"context"
	"encoding/base64"
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

// Ansira's token endpoints.
const (
	StageTokenURL      = "https://auth-stage.sproutloud.com/oauth/v2/oauth-token"
	ProductionTokenURL = "https://auth.sproutloud.com/oauth/v2/oauth-token"
)

// GrantType is the OAuth grant of the token request (RFC 7523, JWT bearer).
const GrantType = "urn:ietf:params:oauth:grant-type:jwt-bearer"

// DefaultMargin is how long before expires_in runs out a TokenSource stops using
// a token and fetches the next one.
const DefaultMargin = 60 * time.Second

// TokenRequestParams are the inputs of the token request. ClientSecret is a
// long-lived secret: broker or native program only.
type TokenRequestParams struct {
	TokenURL     string // StageTokenURL, ProductionTokenURL, or a local sandbox (http allowed only for localhost/127.0.0.1/::1)
	ClientID     string
	ClientSecret string
	Assertion    string // the JWT to exchange; sent as given
	Scope        string // space-separated scopes; omitted from the body when empty
}

// FormBody is the token request body, in exactly this order:
//
//	grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&scope=<scope>&assertion=<assertion>
//
// Each value is encoded with weburl.QueryEscape, the
// application/x-www-form-urlencoded rules as Go writes them: A-Z a-z 0-9 - _ . ~
// stay, a space becomes "+", every other byte of the UTF-8 text becomes %XX
// (upper-case hex; so "*" is %2A). Any form decoder (URLSearchParams included)
// reads back the same values. The scope pair is left out when scope is empty.
func FormBody(scope, assertion string) string {
	var b strings.Builder
	b.WriteString("grant_type=")
	b.WriteString(weburl.QueryEscape(GrantType))
	if scope != "" {
		b.WriteString("&scope=")
		b.WriteString(weburl.QueryEscape(scope))
	}
	b.WriteString("&assertion=")
	b.WriteString(weburl.QueryEscape(assertion))
	return b.String()
}

// BasicAuth is the Authorization value of the token request:
// "Basic " + base64(clientID + ":" + clientSecret), the UTF-8 bytes as given
// (Ansira's rule; not form-encoded first as RFC 6749 2.3.1 would have it). A
// client id must not contain a colon, which would move the split.
func BasicAuth(clientID, clientSecret string) (string, error) {
	const op = "ansira.BasicAuth"
	if clientID == "" || clientSecret == "" {
		return "", signers.E(signers.CodeKey, op, "client id or client secret is empty")
	}
	if strings.IndexByte(clientID, ':') >= 0 {
		return "", signers.E(signers.CodeKey, op, "client id contains a colon")
	}
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(clientID+":"+clientSecret)), nil
}

// CheckTokenURL accepts an absolute https URL, or http for a local sandbox
// (localhost, 127.0.0.1, ::1), without credentials or fragment. Anything else is
// E_INPUT: the request carries the client secret.
func CheckTokenURL(raw string) error {
	const op = "ansira.TokenURL"
	u, err := weburl.Parse(raw)
	if err != nil || u.Host == "" || u.Hostname() == "" || u.User != nil || u.Fragment != "" ||
		u.Opaque != "" || strings.ContainsAny(raw, "# \t\r\n") {
		return signers.E(signers.CodeInput, op, "token URL is not an absolute URL")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		switch u.Hostname() {
		case "localhost", "127.0.0.1", "::1":
			return nil
		}
		return signers.E(signers.CodeInput, op, "token URL must be https (http only for localhost)")
	}
	return signers.E(signers.CodeInput, op, "token URL must be https")
}

// TokenRequest builds the token request: POST to p.TokenURL with
//
//	Authorization: Basic base64(clientId:clientSecret)
//	Content-Type: application/x-www-form-urlencoded
//	Accept: application/json
//	Cache-Control: no-cache
//
// and FormBody(p.Scope, p.Assertion) as the body. A bad URL is E_INPUT, an empty
// client id or secret E_KEY, an empty assertion E_INPUT.
func TokenRequest(p TokenRequestParams) (*signers.Request, error) {
	const op = "ansira.TokenRequest"
	if err := CheckTokenURL(p.TokenURL); err != nil {
		return nil, err
	}
	auth, err := BasicAuth(p.ClientID, p.ClientSecret)
	if err != nil {
		return nil, err
	}
	if p.Assertion == "" {
		return nil, signers.E(signers.CodeInput, op, "assertion is empty")
	}
	return &signers.Request{
		Method: "POST",
		URL:    p.TokenURL,
		Header: signers.Header{
			HeaderAuthorization: auth,
			"Content-Type":      "application/x-www-form-urlencoded",
			"Accept":            "application/json",
			HeaderCacheControl:  NoCache,
		},
		Body: []byte(FormBody(p.Scope, p.Assertion)),
	}, nil
}

// Token is Ansira's answer to the token request.
type Token struct {
	AccessToken string
	TokenType   string    // "bearer" as Ansira sends it (checked, without regard to case, when present)
	Scope       string    // the scopes granted, comma-separated as Ansira sends them
	Claims      []byte    // as sent, JSON (nil when absent or null)
	ExpiresIn   int64     // seconds, as sent
	Expiry      time.Time // now + ExpiresIn
}

// ParseTokenResponse reads the token answer
// {token_type, access_token, scope, claims, expires_in}, strictly.
//
// Status: 200 is read; 403 is E_TOKEN_EXPIRED (assertion expired or refused);
// 429 (over the per-IP rate) and every other status are E_HTTP; all carry the
// status in Error.Status, and the OAuth "error" code when the body has one.
//
// Body: not JSON, access_token missing or empty (or not usable in a header),
// expires_in missing, not a whole number, zero or negative, or token_type other
// than bearer: E_TOKEN. expires_in may be a JSON number or a string of digits
// (some OAuth servers quote it); the value rules are the same.
func ParseTokenResponse(status int, body []byte, now time.Time) (Token, error) {
	const op = "ansira.ParseTokenResponse"
	if status != 200 {
		code := signers.CodeHTTP
		if status == 403 {
			code = signers.CodeTokenExpired
		}
		msg := "token endpoint answered " + strconv.Itoa(status)
		if e := oauthError(body); e != "" {
			msg += " (" + e + ")"
		}
		return Token{}, &signers.Error{Code: code, Op: op, Msg: msg, Status: status}
	}
	// Read as encoding/json reads it into string fields (members matched
	// without regard to case, absent or null leaves them unset) and raw ones.
	doc, err := jsonv.Parse(body)
	accessToken, ok1 := doc.StringField("access_token")
	tokenType, _ := doc.Field("token_type")
	tt, typed := tokenType.Str()
	ok2 := typed || tokenType.Kind == jsonv.Null
	sc, ok3 := doc.StringField("scope")
	claimsV, hasClaims := doc.Field("claims")
	expires, _ := doc.Field("expires_in")
	if err != nil || !doc.Struct() || !ok1 || !ok2 || !ok3 {
		return Token{}, signers.E(signers.CodeToken, op, "answer is not the expected JSON")
	}
	if accessToken == "" {
		return Token{}, signers.E(signers.CodeToken, op, "answer lacks access_token")
	}
	for i := 0; i < len(accessToken); i++ {
		if c := accessToken[i]; c <= ' ' || c >= 0x7f {
			return Token{}, signers.E(signers.CodeToken, op, "access_token contains a space, control or non-ASCII character")
		}
	}
	if typed && !strings.EqualFold(tt, "bearer") {
		return Token{}, signers.E(signers.CodeToken, op, "token_type is not bearer")
	}
	raw := string(expires.Raw)
	if len(raw) >= 2 && raw[0] == '"' && raw[len(raw)-1] == '"' {
		raw = raw[1 : len(raw)-1]
	}
	n, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || n <= 0 || n > 1e9 || raw[0] == '+' {
		return Token{}, signers.E(signers.CodeToken, op, "expires_in is missing or not a positive whole number of seconds")
	}
	if !typed {
		tt = "Bearer"
	}
	var claims []byte
	if hasClaims && claimsV.Kind != jsonv.Null {
		claims = append([]byte(nil), claimsV.Raw...)
	}
	return Token{
		AccessToken: accessToken,
		TokenType:   tt,
		Scope:       sc,
		Claims:      claims,
		ExpiresIn:   n,
		Expiry:      now.Add(time.Duration(n) * time.Second),
	}, nil
}

// oauthError returns the RFC 6749 "error" code of an error body if it is a
// plain code (lower-case letters and underscores): safe to show, unlike the
// rest of the body, which might echo what was sent.
func oauthError(body []byte) string {
	doc, err := jsonv.Parse(body)
	code, ok := doc.StringField("error")
	if err != nil || !doc.Struct() || !ok || code == "" || len(code) > 40 {
		return ""
	}
	for i := 0; i < len(code); i++ {
		if c := code[i]; (c < 'a' || c > 'z') && c != '_' {
			return ""
		}
	}
	return code
}

// Header names and values of an Ansira API call.
const (
	HeaderAuthorization = "Authorization"
	HeaderCacheControl  = "Cache-Control"
	// NoCache is the Cache-Control value Ansira lists for every API call (and the
	// token request).
	NoCache = "no-cache"
)

// APIHeaders returns the headers of an Ansira API call made with accessToken:
// Authorization: Bearer <access_token> and Cache-Control: no-cache. Errors are
// those of Bearer.
func APIHeaders(accessToken string) (signers.Header, error) {
	auth, err := Bearer(accessToken)
	if err != nil {
		return nil, err
	}
	return signers.Header{HeaderAuthorization: auth, HeaderCacheControl: NoCache}, nil
}

// Bearer returns the Authorization value for an access token.
func Bearer(accessToken string) (string, error) {
	if accessToken == "" {
		return "", signers.E(signers.CodeToken, "ansira.Bearer", "access token is empty")
	}
	for i := 0; i < len(accessToken); i++ {
		if c := accessToken[i]; c <= ' ' || c >= 0x7f {
			return "", signers.E(signers.CodeToken, "ansira.Bearer", "access token contains a space, control or non-ASCII character")
		}
	}
	return "Bearer " + accessToken, nil
}

// Config configures a TokenSource.
type Config struct {
	// Params are the token request's inputs; used when Fetch is nil.
	Params TokenRequestParams
	// Fetch, when set, replaces the token request: the browser sets it to get
	// the access token from the broker (which holds the client secret). The
	// returned token.Token's Expiry should be the token's expiry.
	Fetch token.FetchFunc
	Doer  signers.Doer // sends the token request; needed when Fetch is nil. Wrap it with retry.Doer for 429/503.
	Clock clock.Clock  // nil means clock.Real
	// Margin: stop using a token this long before its expiry; 0 means
	// DefaultMargin (60 s). Keep it well under expires_in, or every call fetches.
	Margin time.Duration
}

// TokenSource hands out Ansira access tokens, cached until expires_in minus
// Margin (token.Cache: one fetch for N concurrent callers; a refresh that fails
// ahead of expiry keeps the old token in use). It implements token.Source.
// Earlier tokens stay valid after a fetch (Ansira's tokens overlap), so a token
// handed out just before a refresh can still be used until its own expiry.
type TokenSource struct {
	cfg       Config
	clock     clock.Clock
	cache     *token.Cache
	assertion time.Time // the assertion's exp; zero when it could not be read

	mu   sync.Mutex
	last Token
}

// NewTokenSource checks cfg and returns a TokenSource with no token yet. When it
// sends the token request itself (Fetch nil), an assertion whose exp has passed
// is E_CONFIG here and on every later fetch; an assertion whose exp cannot be
// read is left for Ansira to judge.
func NewTokenSource(cfg Config) (*TokenSource, error) {
	const op = "ansira.NewTokenSource"
	if cfg.Margin <= 0 {
		cfg.Margin = DefaultMargin
	}
	s := &TokenSource{cfg: cfg, clock: clock.Or(cfg.Clock)}
	if cfg.Fetch == nil {
		if _, err := TokenRequest(cfg.Params); err != nil {
			return nil, err
		}
		if cfg.Doer == nil {
			return nil, signers.E(signers.CodeConfig, op, "no Doer to send the token request")
		}
		s.assertion, _ = AssertionExpiry(cfg.Params.Assertion)
		if err := assertionExpired(op, s.assertion, s.clock.Now()); err != nil {
			return nil, err
		}
	}
	fetch := cfg.Fetch
	if fetch == nil {
		fetch = s.request
	}
	s.cache = token.NewCache(fetch, cfg.Margin, s.clock)
	return s, nil
}

// AssertionExpiry returns the exp of the configured assertion, the zero time
// when the source does not send the token request itself or could not read it.
func (s *TokenSource) AssertionExpiry() time.Time { return s.assertion }

// request sends the token request and reads the answer.
func (s *TokenSource) request(ctx context.Context, _ token.Token) (token.Token, error) {
	if err := assertionExpired("ansira.Token", s.assertion, s.clock.Now()); err != nil {
		return token.Token{}, err
	}
	req, err := TokenRequest(s.cfg.Params)
	if err != nil {
		return token.Token{}, err
	}
	resp, err := s.cfg.Doer.Do(ctx, req)
	if err != nil {
		return token.Token{}, signers.Wrap(signers.CodeNetwork, "ansira.Token", err)
	}
	t, err := ParseTokenResponse(resp.Status, resp.Body, s.clock.Now())
	if err != nil {
		return token.Token{}, err
	}
	s.mu.Lock()
	s.last = t
	s.mu.Unlock()
	return token.Token{Value: t.AccessToken, Expiry: t.Expiry}, nil
}

// Token returns a token valid for at least Margin, fetching one if needed.
func (s *TokenSource) Token(ctx context.Context) (token.Token, error) { return s.cache.Token(ctx) }

// Refresh fetches a new token now (joining a fetch under way); on failure the
// held token stays.
func (s *TokenSource) Refresh(ctx context.Context) (token.Token, error) { return s.cache.Refresh(ctx) }

// Invalidate drops t if it is still the held token (the API answered 403), so
// that the next Token call fetches exactly one new token.
func (s *TokenSource) Invalidate(t token.Token) { s.cache.Invalidate(t) }

// Current returns the held token, valid or not.
func (s *TokenSource) Current() token.Token { return s.cache.Current() }

// Last returns the full answer (scope, claims, expires_in) of the held token
// when this source fetched it itself, else the zero Token.
func (s *TokenSource) Last() Token {
	cur := s.cache.Current()
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur.Value == "" || cur.Value != s.last.AccessToken {
		return Token{}
	}
	return s.last
}
