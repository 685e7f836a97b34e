package keyfax

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/clock"
	"github.com/apisign/apisign/signers/internal/jsonv"
	"github.com/apisign/apisign/signers/token"
)

// TokenPath is the Keyfax endpoint that issues (GET, Basic) and renews (POST,
// Bearer) JWTs, relative to the base URL.
const TokenPath = "/api/v1/token"

// DefaultMargin is how long before a JWT's exp the TokenSource renews it by
// default. Keyfax JWTs live 24 hours, so five minutes leaves room for a slow
// renewal and some clock difference without renewing needlessly often.
const DefaultMargin = 5 * time.Minute

// TokenConfig configures a TokenSource.
type TokenConfig struct {
	// BaseURL is the Keyfax application root, e.g. "https://host/Interview";
	// TokenPath is appended to it.
	BaseURL string
	// HostName is the Keyfax host name sent in `Bearer {HostName}:{JWT}`. It may
	// be empty when Signer is set (the Signer's is used), else it is required.
	HostName string
	// Doer sends the token requests (required).
	Doer signers.Doer
	// Clock gives the time to sign with and to judge expiry by; nil means
	// clock.Real. A *clock.Skewed learns the server's time from every Date header
	// of a token response.
	Clock clock.Clock
	// Signer, when set, gets the first JWT (and a fresh one after a refused
	// renewal) from GET TokenPath signed with Keyfax Basic: the server flow.
	Signer *Signer
	// Initial, used when Signer is nil, gets the first JWT (and a fresh one after
	// a refused renewal) from elsewhere, e.g. the broker: the browser flow. What it
	// returns is read like a token response body (see ParseTokenResponse).
	// refused is the JWT the server just refused, "" when none was, so that the
	// source can be told (the browser's getToken({ refused })).
	Initial func(ctx context.Context, refused string) (string, error)
	// Margin is how long before exp the JWT is renewed; zero means DefaultMargin.
	Margin time.Duration
	// Format is what the renewal asks Keyfax to answer in (JSON when empty).
	Format Format
}

// TokenSource keeps a Keyfax JWT fresh. It implements token.Source and is safe
// for concurrent use: N callers needing a new JWT cause one request.
//
// The first JWT comes from GET TokenPath with Basic (Signer) or from Initial.
// From then on the JWT is renewed Margin ahead of its exp (read with ReadJWT) by
// POST TokenPath with `Authorization: Bearer {HostName}:{JWT}`. If the server
// refuses the renewal (401 or 403), or the held JWT has already expired, a fresh
// one is fetched the first way again. If a renewal fails otherwise while the held
// JWT is still valid, the held JWT keeps being used and the next call retries.
type TokenSource struct {
	base     string
	hostName string
	doer     signers.Doer
	clock    clock.Clock
	signer   *Signer
	initial  func(ctx context.Context, refused string) (string, error)
	cache    *token.Cache
	format   Format
}

// NewTokenSource checks cfg and returns a TokenSource holding no JWT yet.
// E_CONFIG: no Doer, neither Signer nor Initial, a negative Margin, or a
// HostName different from the Signer's. E_INPUT: BaseURL not an absolute http(s)
// URL without query or fragment, HostName malformed.
func NewTokenSource(cfg TokenConfig) (*TokenSource, error) {
	const op = "keyfax.NewTokenSource"
	if cfg.Doer == nil {
		return nil, signers.E(signers.CodeConfig, op, "no Doer")
	}
	if cfg.Signer == nil && cfg.Initial == nil {
		return nil, signers.E(signers.CodeConfig, op, "neither Signer nor Initial is set")
	}
	if cfg.Margin < 0 {
		return nil, signers.E(signers.CodeConfig, op, "Margin is negative")
	}
	host := cfg.HostName
	if cfg.Signer != nil {
		if host == "" {
			host = cfg.Signer.HostName()
		} else if host != cfg.Signer.HostName() {
			return nil, signers.E(signers.CodeConfig, op, "HostName differs from the Signer's")
		}
	}
	if !validID(host) {
		return nil, signers.E(signers.CodeInput, op, "HostName must be non-empty visible ASCII without ':'")
	}
	if _, err := endpoint(op, cfg.BaseURL, TokenPath); err != nil {
		return nil, err
	}
	if _, err := cfg.Format.MediaType(); err != nil {
		return nil, err
	}
	c := clock.Or(cfg.Clock)
	margin := cfg.Margin
	if margin == 0 {
		margin = DefaultMargin
	}
	s := &TokenSource{
		base:     cfg.BaseURL,
		hostName: host,
		doer:     cfg.Doer,
		clock:    c,
		signer:   cfg.Signer,
		initial:  cfg.Initial,
		format:   cfg.Format,
	}
	s.cache = token.NewCache(s.fetch, margin, c)
	return s, nil
}

// Token returns a JWT valid for at least Margin (or, if a renewal failed, the
// held one while it is still valid), fetching or renewing as needed.
func (s *TokenSource) Token(ctx context.Context) (token.Token, error) { return s.cache.Token(ctx) }

// Renew forces a renewal now (POST with the held JWT, or a fresh one when there
// is none or it was refused) and returns the new JWT or the error; on error the
// held JWT is kept.
func (s *TokenSource) Renew(ctx context.Context) (token.Token, error) { return s.cache.Refresh(ctx) }

// Invalidate drops t if it is still the held JWT, e.g. after an API call with it
// answered 401, so that the next Token call fetches a fresh one.
func (s *TokenSource) Invalidate(t token.Token) { s.cache.Invalidate(t) }

// Current returns the held JWT, valid or not, without fetching.
func (s *TokenSource) Current() token.Token { return s.cache.Current() }

// HostName returns the host name used in the Bearer header.
func (s *TokenSource) HostName() string { return s.hostName }

// Authorization returns `Bearer {HostName}:{JWT}` for a JWT from Token.
func (s *TokenSource) Authorization(ctx context.Context) (string, error) {
	t, err := s.Token(ctx)
	if err != nil {
		return "", err
	}
	return Bearer(s.hostName, t.Value)
}

func (s *TokenSource) fetch(ctx context.Context, current token.Token) (token.Token, error) {
	if current.ValidAt(s.clock.Now()) {
		t, status, err := s.renew(ctx, current.Value)
		if err == nil || (status != 401 && status != 403) {
			return t, err
		}
		current.Refused = true
	}
	refused := ""
	if current.Refused {
		refused = current.Value
	}
	return s.fresh(ctx, refused)
}

// renew posts the held JWT; it returns the HTTP status of a refusal.
func (s *TokenSource) renew(ctx context.Context, jwt string) (token.Token, int, error) {
	const op = "keyfax.Renew"
	req, err := RenewRequest(s.base, s.hostName, jwt)
	if err == nil {
		err = s.format.Apply(req)
	}
	if err != nil {
		return token.Token{}, 0, err
	}
	return s.do(ctx, op, req)
}

// fresh gets a new JWT the first way: GET with Basic, or Initial.
func (s *TokenSource) fresh(ctx context.Context, refused string) (token.Token, error) {
	if s.signer == nil {
		body, err := s.initial(ctx, refused)
		if err != nil {
			return token.Token{}, signers.Wrap(signers.CodeTokenExpired, "keyfax.Initial", err)
		}
		return tokenFrom([]byte(body))
	}
	u, _ := endpoint("keyfax.GetToken", s.base, TokenPath) // checked by NewTokenSource
	req := jsonRequest("GET", u, nil)
	if _, err := s.signer.SignRequest(req, s.clock.Now()); err != nil {
		return token.Token{}, err
	}
	t, _, err := s.do(ctx, "keyfax.GetToken", req)
	return t, err
}

func (s *TokenSource) do(ctx context.Context, op string, req *signers.Request) (token.Token, int, error) {
	resp, err := s.doer.Do(ctx, req)
	if err != nil {
		return token.Token{}, 0, signers.Wrap(signers.CodeNetwork, op, err)
	}
	if sk, ok := s.clock.(*clock.Skewed); ok && resp.Header != nil {
		sk.Observe(resp.Header.Get("Date"))
	}
	if resp.Status < 200 || resp.Status > 299 {
		code := signers.CodeHTTP
		if resp.Status == 401 || resp.Status == 403 {
			code = signers.CodeTokenExpired
		}
		return token.Token{}, resp.Status, &signers.Error{Code: code, Op: op, Status: resp.Status,
			Msg: req.Method + " " + TokenPath + " answered " + strconv.Itoa(resp.Status)}
	}
	t, err := tokenFrom(resp.Body)
	return t, resp.Status, err
}

func tokenFrom(body []byte) (token.Token, error) {
	jwt, claims, err := ParseTokenResponse(body)
	if err != nil {
		return token.Token{}, err
	}
	return token.Token{Value: jwt, Expiry: claims.Exp}, nil
}

// ParseTokenResponse reads the JWT out of a Keyfax token response body. Keyfax
// (ASP.NET Web API) answers the JWT in one of three forms, all accepted:
//
//   - a JSON string: "eyJ…";
//   - a JSON object with the JWT as a string in a field named token,
//     access_token or jwt (looked up in that order; an exact name first, then
//     without regard to case, as .NET serialisers may write Token);
//   - plain text: the JWT itself.
//
// Surrounding white space and a UTF-8 byte order mark are ignored. The JWT must
// then pass ReadJWT (exp required). Anything else, an XML body included (send
// Accept: application/json, as TokenSource does), is E_TOKEN; the message never
// contains the body.
func ParseTokenResponse(body []byte) (string, Claims, error) {
	const op = "keyfax.ParseTokenResponse"
	b := bytes.TrimPrefix(bytes.TrimSpace(body), []byte("\xef\xbb\xbf"))
	b = bytes.TrimSpace(b)
	var jwt string
	switch {
	case len(b) == 0:
		return "", Claims{}, signers.E(signers.CodeToken, op, "token response is empty")
	case b[0] == '"':
		v, err := jsonv.Parse(b)
		if err != nil {
			return "", Claims{}, signers.E(signers.CodeToken, op, "token response is not a valid JSON string")
		}
		jwt, _ = v.Str()
	case b[0] == '{':
		m, err := jsonv.Parse(b)
		if err != nil {
			return "", Claims{}, signers.E(signers.CodeToken, op, "token response is not valid JSON")
		}
		v, ok := tokenField(m)
		if !ok {
			return "", Claims{}, signers.E(signers.CodeToken, op, "token response has no token, access_token or jwt field")
		}
		if v.Kind != jsonv.String && v.Kind != jsonv.Null { // null leaves no JWT, which ReadJWT refuses
			return "", Claims{}, signers.E(signers.CodeToken, op, "token field is not a JSON string")
		}
		jwt, _ = v.Str()
	case b[0] == '<': // the XML form (see Format): <JsonWebToken><token>…</token></JsonWebToken>
		v, ok := XMLText(b, "token")
		if !ok {
			return "", Claims{}, signers.E(signers.CodeToken, op, "XML token response has no token element")
		}
		jwt = v
	default:
		jwt = string(b)
	}
	claims, err := ReadJWT(jwt)
	if err != nil {
		return "", Claims{}, err
	}
	return jwt, claims, nil
}

func tokenField(m jsonv.Value) (jsonv.Value, bool) {
	names := [...]string{"token", "access_token", "jwt"}
	for _, n := range names {
		if v, ok := m.Member(n); ok {
			return v, true
		}
	}
	for _, n := range names {
		best := ""
		for _, mb := range m.Members() {
			if strings.EqualFold(mb.Name, n) && (best == "" || mb.Name < best) {
				best = mb.Name // the smallest of several spellings, so the choice is stable
			}
		}
		if best != "" {
			return m.Member(best)
		}
	}
	return jsonv.Value{}, false
}
