//go:build js && wasm

package main

import (
	"context"
	"github.com/apisign/apisign/signers/weburl"
	"math"
	"strconv"
	"strings"
	"syscall/js"
	"time"

	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/ansira"
	"github.com/apisign/apisign/signers/flow"
	"github.com/apisign/apisign/signers/fortis"
	"github.com/apisign/apisign/signers/nfon"
	"github.com/apisign/apisign/signers/pace"
	"github.com/apisign/apisign/signers/retry"
	"github.com/apisign/apisign/signers/token"
)

// The client objects of the JS API hold an id; the Go state lives here until
// client.close() (or the JS object's finalizer) frees it.
var (
	clients    = map[int]any{}
	nextClient = 1
)

func register(c any) int {
	id := nextClient
	nextClient++
	clients[id] = c
	return id
}

func freeClient(args js.Value) (any, error) {
	if id := args.Index(0); id.Type() == js.TypeNumber {
		delete(clients, id.Int())
	}
	return nil, nil
}

// clientOf returns the client args[0] names, of type T.
func clientOf[T any](args js.Value) (T, error) { return byID[T](args.Index(0)) }

// byID returns the registered state (a client, an iteration) id names.
func byID[T any](id js.Value) (T, error) {
	var zero T
	if id.Type() != js.TypeNumber {
		return zero, signers.E(signers.CodeInput, "apisign", "not a client")
	}
	c, ok := clients[id.Int()].(T)
	if !ok {
		return zero, signers.E(signers.CodeInput, "apisign", "client was closed")
	}
	return c, nil
}

// str reads an optional string member of a config object ("" when absent).
func str(o js.Value, name string) (string, error) {
	v := o.Get(name)
	switch v.Type() {
	case js.TypeUndefined, js.TypeNull:
		return "", nil
	case js.TypeString:
		return v.String(), nil
	}
	return "", signers.E(signers.CodeInput, "apisign", name+" must be a string")
}

// fn reads a required function member of a config object.
func fn(o js.Value, name string) (js.Value, error) {
	v := o.Get(name)
	if v.Type() != js.TypeFunction {
		return js.Value{}, signers.E(signers.CodeInput, "apisign", name+" must be a function")
	}
	return v, nil
}

// millis reads a duration in milliseconds; undefined means def.
func millis(v js.Value, def time.Duration) (time.Duration, error) {
	switch v.Type() {
	case js.TypeUndefined, js.TypeNull:
		return def, nil
	case js.TypeNumber:
		f := v.Float()
		if !math.IsNaN(f) && f >= 0 && f <= 24*3600*1000 {
			return time.Duration(f * float64(time.Millisecond)), nil
		}
	}
	return 0, signers.E(signers.CodeInput, "apisign", "a duration must be a number of milliseconds between 0 and 24 h")
}

// endpoint is what every client reads from its config the same way: the base
// URL (member baseName), the token function (getToken, or callerToken for the
// broker's routes) and the HTTP client (fetch, rate, retry).
type endpoint struct {
	http    httpClient
	base    string
	tokenFn js.Value
}

// readEndpoint reads an endpoint from cfg; def is the rate when cfg has none.
// It is the one place a base URL is checked, so it holds that rule itself.
func readEndpoint(op string, cfg js.Value, baseName, tokenName string, def pace.Rate) (endpoint, error) {
	var e endpoint
	raw, err := str(cfg, baseName)
	if err != nil {
		return e, err
	}
	// An absolute http(s) URL without credentials, query or fragment, kept
	// without a trailing slash: the request paths are appended to it.
	u, err := weburl.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(raw, "?# \t\r\n") {
		return e, signers.E(signers.CodeInput, op, baseName+" must be an absolute http(s) URL without query or fragment")
	}
	e.base = strings.TrimRight(raw, "/")
	if e.tokenFn, err = fn(cfg, tokenName); err != nil {
		return e, err
	}
	e.http, err = newHTTP(cfg, def)
	return e, err
}

// askToken calls the token function, telling it that current was refused
// (when it was), and reads the answer's valueField and expiresField with
// tokenAnswer; v is the answer itself, for any other member.
func (e *endpoint) askToken(ctx context.Context, op string, current token.Token, valueField, expiresField string) (t token.Token, v js.Value, err error) {
	if v, err = callToken(ctx, op, e.tokenFn, refusedValue(current)); err != nil {
		return t, v, err
	}
	return tokenAnswer(v, valueField, expiresField), v, nil
}

// send reads the request in args ([id, method, path, options]), sends it to
// the base URL through flow.Do with src and auth, and returns the answer.
func (e *endpoint) send(ctx context.Context, op string, args js.Value, src flow.Source, auth flow.Authorizer) (any, error) {
	r, err := readRequest(op, args)
	if err != nil {
		return nil, err
	}
	if r.audio {
		return nil, signers.E(signers.CodeInput, op, "audio applies to NFON requests only")
	}
	req := r.to(e.base)
	resp, err := e.http.authorized(ctx, op, src, req, auth)
	if err != nil {
		return nil, err
	}
	return finish(op, req, resp)
}

// checkPath accepts a path (with an optional query) that starts with one "/":
// appended to a base URL it can never reach another host.
func checkPath(op, p string) error {
	if p == "" || p[0] != '/' || len(p) > 8192 {
		return signers.E(signers.CodeInput, op, "path must start with / (and be at most 8 KiB)")
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c < 0x20 || c == 0x7f || c == '#' {
			return signers.E(signers.CodeInput, op, "path contains a control character or #")
		}
	}
	return nil
}

// httpClient is the Doer of the clients: fetch under the retry policy (429 /
// 503), each send paced when the client has a rate. flow.Do runs over it, so
// each send of a token flow is retried alone.
type httpClient struct {
	doer   signers.Doer
	policy retry.Policy
}

// newHTTP reads the fetch function, the rate and the retry options of a
// client config: rate, calls per second shared by all the client's calls
// (def when absent; zero def: no pacing), and retry: { retries, baseMs,
// capMs, maxAfterMs }, retries 0 meaning none.
func newHTTP(cfg js.Value, def pace.Rate) (httpClient, error) {
	f, err := fn(cfg, "fetch")
	if err != nil {
		return httpClient{}, err
	}
	var doer signers.Doer = &fetchDoer{fetch: f, skew: skew}
	switch r := cfg.Get("rate"); r.Type() {
	case js.TypeUndefined, js.TypeNull:
	case js.TypeNumber:
		n := r.Float()
		if math.IsNaN(n) || n <= 0 || n > 1000 {
			return httpClient{}, signers.E(signers.CodeInput, "apisign", "rate must be a number of calls per second, above 0 and at most 1000")
		}
		def = pace.Rate{N: 1, Per: time.Duration(float64(time.Second) / n)}
	default:
		return httpClient{}, signers.E(signers.CodeInput, "apisign", "rate must be a number of calls per second")
	}
	if def.N > 0 {
		l, err := pace.New(def, nil)
		if err != nil {
			return httpClient{}, err
		}
		doer = pacedDoer{l, doer}
	}
	p := retry.Policy{Clock: skew}
	if r := cfg.Get("retry"); r.Type() == js.TypeObject {
		if n := r.Get("retries"); n.Type() == js.TypeNumber {
			switch k := n.Float(); {
			case k == 0:
				p.Retries = -1
			case k > 0 && k <= 10 && k == math.Trunc(k):
				p.Retries = int(k)
			default:
				return httpClient{}, signers.E(signers.CodeInput, "apisign", "retry.retries must be a whole number 0..10")
			}
		}
		for _, d := range []struct {
			name string
			to   *time.Duration
		}{{"baseMs", &p.Base}, {"capMs", &p.Cap}, {"maxAfterMs", &p.MaxAfter}} {
			if *d.to, err = millis(r.Get(d.name), 0); err != nil {
				return httpClient{}, err
			}
		}
	}
	return httpClient{doer: doer, policy: p}, nil
}

// pacedDoer sends each request in the next free slot of a limiter that all
// the calls of one client share, so a burst is spread at the provider's rate
// instead of being refused with 429s (signers/pace; docs/PROTOCOLS.md
// "Ansira" and "Fonn").
type pacedDoer struct {
	limit *pace.Limiter
	next  signers.Doer
}

func (d pacedDoer) Do(ctx context.Context, req *signers.Request) (*signers.Response, error) {
	if err := d.limit.Wait(ctx); err != nil {
		return nil, err
	}
	return d.next.Do(ctx, req)
}

func (h httpClient) Do(ctx context.Context, req *signers.Request) (*signers.Response, error) {
	return retry.Do(ctx, h.policy, h.doer, req)
}

// authorized sends req through the one token flow (signers/flow) with a token
// from src, set by auth. A token refused again after one refresh is
// E_TOKEN_REFUSED, carrying the answer's status and data.
func (h httpClient) authorized(ctx context.Context, op string, src flow.Source, req *signers.Request, auth flow.Authorizer) (*signers.Response, error) {
	resp, err := flow.Do(ctx, h, src, req, auth)
	if err != nil && resp != nil {
		return nil, httpFailure(signers.CodeTokenRefused, op, req, resp)
	}
	return resp, err
}

// apiRequest is what client.request(method, path, body, options) sends.
type apiRequest struct {
	method, path string
	body         []byte
	header       signers.Header
	query        [][2]string // options.query, unencoded; to encodes them
	audio        bool        // options.audio: an NFON audio upload (only the NFON client takes it)
}

// readRequest reads [id, method, path, body, headers, contentType, query, audio]: JS
// has already turned the body into a string or a Uint8Array, the query into
// [key, value] string pairs, and checked types.
func readRequest(op string, args js.Value) (apiRequest, error) {
	var r apiRequest
	m, p := args.Index(1), args.Index(2)
	if m.Type() != js.TypeString || p.Type() != js.TypeString {
		return r, signers.E(signers.CodeInput, op, "method and path must be strings")
	}
	r.method = strings.ToUpper(m.String())
	if !httpToken(r.method) {
		return r, signers.E(signers.CodeInput, op, "method is not an HTTP method name")
	}
	r.path = p.String()
	if err := checkPath(op, r.path); err != nil {
		return r, err
	}
	switch b := args.Index(3); b.Type() {
	case js.TypeUndefined, js.TypeNull:
	case js.TypeString:
		r.body = []byte(b.String())
	case js.TypeObject:
		var err error
		if r.body, err = bytesFromJS(b); err != nil {
			return r, signers.E(signers.CodeInput, op, "body larger than 64 MiB")
		}
	default:
		return r, signers.E(signers.CodeInput, op, "body must be a string, bytes or a JSON value")
	}
	r.header = signers.Header{}
	if h := args.Index(4); h.Type() == js.TypeObject {
		keys := jsObject.Call("keys", h)
		for i, n := 0, keys.Length(); i < n; i++ {
			k := keys.Index(i).String()
			v := h.Get(k)
			if v.Type() != js.TypeString || !httpToken(k) {
				return r, signers.E(signers.CodeInput, op, "headers must map header names to strings")
			}
			r.header.Set(k, v.String())
		}
	}
	if ct := args.Index(5); ct.Type() == js.TypeString && ct.String() != "" {
		r.header.Set("Content-Type", ct.String())
	}
	r.query = pairs(args.Index(6))
	r.audio = args.Index(7).Type() == js.TypeBoolean && args.Index(7).Bool()
	return r, nil
}

// pairs reads an array of [key, value] string pairs that JS made.
func pairs(v js.Value) [][2]string {
	if v.Type() != js.TypeObject {
		return nil
	}
	n := v.Length()
	q := make([][2]string, n)
	for i := range q {
		p := v.Index(i)
		q[i] = [2]string{p.Index(0).String(), p.Index(1).String()}
	}
	return q
}

func httpToken(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// httpFailure is the E_HTTP error for an answer the flow cannot use; the JS
// error carries the status and the answer's data.
func httpFailure(code signers.Code, op string, req *signers.Request, resp *signers.Response) error {
	path := req.URL
	if u, err := weburl.Parse(req.URL); err == nil {
		path = u.Path // never the query: it may hold a credential
	}
	return &respError{err: &signers.Error{Code: code, Op: op, Status: resp.Status,
		Msg: req.Method + " " + path + " answered " + strconv.Itoa(resp.Status)}, resp: resp}
}

// finish answers { status, headers, data } for a 2xx answer, else E_HTTP.
func finish(op string, req *signers.Request, resp *signers.Response) (any, error) {
	if resp.Status < 200 || resp.Status > 299 {
		return nil, httpFailure(signers.CodeHTTP, op, req, resp)
	}
	return responseValue(resp), nil
}

// to is the request to base + path, with the query pairs appended, every
// byte outside A-Z a-z 0-9 - _ . ~ percent-encoded (a space as %20, so that no
// server reads a "+" as a space). NFON has its own rule (brokerRequest).
func (r apiRequest) to(base string) *signers.Request {
	h := r.header.Clone()
	if h.Get("Accept") == "" {
		h["Accept"] = "application/json"
	}
	var b strings.Builder
	b.WriteString(base)
	b.WriteString(r.path)
	sep := byte('?')
	if strings.IndexByte(r.path, '?') >= 0 {
		sep = '&'
	}
	for _, kv := range r.query {
		b.WriteByte(sep)
		b.WriteString(queryEscape(kv[0]))
		b.WriteByte('=')
		b.WriteString(queryEscape(kv[1]))
		sep = '&'
	}
	return &signers.Request{Method: r.method, URL: b.String(), Header: h, Body: r.body}
}

func queryEscape(s string) string { return strings.ReplaceAll(weburl.QueryEscape(s), "+", "%20") }

// callToken calls a token function of the config (getToken, callerToken) with
// an AbortSignal tied to ctx and the token the server just refused (undefined
// when none was), and waits for its answer. JS wraps the caller's function so
// that it gets them as one object, { signal, refused }, and always returns a
// promise.
func callToken(ctx context.Context, op string, f js.Value, refused string) (js.Value, error) {
	signal, stop := abortSignal(ctx)
	defer stop()
	r := js.Undefined()
	if refused != "" {
		r = js.ValueOf(refused)
	}
	var p js.Value
	if err := jsTry(signers.CodeTokenExpired, op, "the token function threw", func() { p = f.Invoke(signal, r) }); err != nil {
		return js.Value{}, err
	}
	v, err := await(ctx, p)
	if err != nil {
		if ctx.Err() != nil {
			return js.Value{}, signers.Wrap(signers.CodeAborted, op, ctx.Err())
		}
		return js.Value{}, wrapRejection(signers.CodeTokenExpired, op, "the token function failed", err)
	}
	return v, nil
}

// refusedValue is the value of current when the server refused it, else "".
func refusedValue(current token.Token) string {
	if current.Refused {
		return current.Value
	}
	return ""
}

// tokenAnswer reads what a getToken resolved to: the token string itself, or
// the broker's answer as is, with the token under valueField and its lifetime
// in seconds under expiresField (no lifetime: used until refused).
func tokenAnswer(v js.Value, valueField, expiresField string) token.Token {
	var t token.Token
	switch v.Type() {
	case js.TypeString:
		t.Value = v.String()
	case js.TypeObject:
		if tv := v.Get(valueField); tv.Type() == js.TypeString {
			t.Value = tv.String()
		}
		if d, ok := expiresIn(v, expiresField); ok {
			t.Expiry = skew.Now().Add(d)
		}
	}
	return t
}

// expiresIn reads a lifetime in seconds (a number or a string of digits) from
// member name of o; ok=false when it is absent or not usable.
func expiresIn(o js.Value, name string) (time.Duration, bool) {
	v := o.Get(name)
	var f float64
	switch v.Type() {
	case js.TypeNumber:
		f = v.Float()
	case js.TypeString:
		n, err := strconv.ParseFloat(v.String(), 64)
		if err != nil {
			return 0, false
		}
		f = n
	default:
		return 0, false
	}
	if math.IsNaN(f) || f <= 0 || f > 1e9 {
		return 0, false
	}
	return time.Duration(f * float64(time.Second)), true
}

// ---- Fortis: a session token from the broker, or an OAuth bearer token -------

// fortisClient calls the Fortis API in one of two modes (docs/PROTOCOLS.md
// "Fortis"):
//
//   - "token" (the default): a session token that the broker opened (POST
//     /fortis/session, through the caller's getToken). Fortis ends a session
//     after 15 idle minutes and every successful request restarts them: the
//     core's fortis.Session keeps that clock and reopens ahead of the expiry,
//     and fortis.Authorizer (through flow.Do) says what a refusal and
//     activity are.
//   - "oauth": an OAuth access token from getToken, sent as a bearer token
//     (fortis.OAuthSource and fortis.OAuthAuthorizer).
type fortisClient struct {
	endpoint
	auth       fortis.Authorizer // its DeveloperID: from the config or the latest getToken answer
	sess       *fortis.Session   // token mode
	oauth      *fortis.OAuthSource
	closeToken js.Value // optional: closes a session through the broker
}

func newFortisClient(args js.Value) (any, error) {
	const op = "fortis.client"
	cfg := args.Index(0)
	e, err := readEndpoint(op, cfg, "baseUrl", "getToken", pace.Rate{})
	if err != nil {
		return nil, err
	}
	c := &fortisClient{endpoint: e}
	if ct := cfg.Get("closeToken"); ct.Type() == js.TypeFunction {
		c.closeToken = ct
	}
	if c.auth.DeveloperID, err = str(cfg, "developerId"); err != nil {
		return nil, err
	}
	mode, err := str(cfg, "mode")
	if err != nil {
		return nil, err
	}
	switch mode {
	case "", "token":
		c.sess, err = fortis.NewSession(fortis.SessionConfig{Clock: skew, Open: c.open, Close: c.close})
	case "oauth":
		c.oauth, err = fortis.NewOAuthSource(fortis.OAuthConfig{Clock: skew, Fetch: c.fetchOAuth})
	default:
		err = signers.E(signers.CodeInput, op, `mode must be "token" or "oauth"`)
	}
	if err != nil {
		return nil, err
	}
	return register(c), nil
}

// open asks the caller's getToken (the broker) for a freshly opened session:
// { token, developerId, expiresIn } or the token string.
func (c *fortisClient) open(ctx context.Context, current token.Token) (token.Token, error) {
	const op = "fortis.getToken"
	t, v, err := c.askToken(ctx, op, current, "token", "expiresIn")
	if err != nil {
		return token.Token{}, err
	}
	if v.Type() == js.TypeObject {
		if d := v.Get("developerId"); d.Type() == js.TypeString && d.String() != "" {
			c.auth.DeveloperID = d.String()
		}
	}
	if t.Value == "" {
		return token.Token{}, signers.E(signers.CodeToken, op, "getToken must resolve to {token, developerId} or a token string")
	}
	return t, nil
}

// close ends a session: through the caller's closeToken when given (the
// broker's DELETE /fortis/session/{token}), else DELETE /v2/token/{token} at
// Fortis with the token itself.
func (c *fortisClient) close(ctx context.Context, t token.Token) error {
	if !c.closeToken.IsUndefined() && c.closeToken.Type() == js.TypeFunction {
		signal, stop := abortSignal(ctx)
		defer stop()
		var p js.Value
		if err := jsTry(signers.CodeNetwork, "fortis.close", "closeToken threw", func() { p = c.closeToken.Invoke(t.Value, signal) }); err != nil {
			return err
		}
		_, err := await(ctx, p)
		return err
	}
	req, err := fortis.CloseRequest(c.base, c.auth.DeveloperID, t.Value)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(ctx, req)
	if err != nil {
		return err
	}
	if resp.Status != 200 && resp.Status != 204 && resp.Status != 404 {
		return httpFailure(signers.CodeHTTP, "fortis.close", req, resp)
	}
	return nil
}

// fetchOAuth asks the caller's getToken for an OAuth access token:
// { access_token, expires_in } or the token string.
func (c *fortisClient) fetchOAuth(ctx context.Context, current token.Token) (token.Token, error) {
	const op = "fortis.getToken"
	t, _, err := c.askToken(ctx, op, current, "access_token", "expires_in")
	if err != nil {
		return token.Token{}, err
	}
	if t.Value == "" {
		return token.Token{}, signers.E(signers.CodeToken, op, "getToken must resolve to {access_token, expires_in} or a token string")
	}
	return t, nil
}

func fortisRequest(ctx context.Context, args js.Value) (any, error) {
	const op = "fortis.request"
	c, err := clientOf[*fortisClient](args)
	if err != nil {
		return nil, err
	}
	if c.oauth != nil {
		return c.send(ctx, op, args, c.oauth, fortis.OAuthAuthorizer{DeveloperID: c.auth.DeveloperID})
	}
	return c.send(ctx, op, args, c.sess, &c.auth) // &c.auth: open may change the developer id
}

func fortisClose(ctx context.Context, args js.Value) (any, error) {
	c, err := clientOf[*fortisClient](args)
	if err != nil || c.sess == nil { // a bearer token has no session to end
		return nil, err
	}
	return nil, c.sess.Close(ctx)
}

// ---- Ansira: an access token from the broker ---------------------------------

// ansiraClient calls the Ansira API with an access token that the broker got
// (POST /ansira/token, through the caller's getToken), cached until expires_in
// minus a minute; ansira.Authorizer (through flow.Do) sends it and takes a 403
// as a refusal worth one fresh token and one retry.
type ansiraClient struct {
	endpoint
	tokens *ansira.TokenSource
}

func newAnsiraClient(args js.Value) (any, error) {
	const op = "ansira.client"
	cfg := args.Index(0)
	// Ansira limits each IP address per second (docs/PROTOCOLS.md "Ansira"):
	// 5 on stage, 10 on production, the default.
	env, err := str(cfg, "environment")
	if err != nil {
		return nil, err
	}
	rate := pace.AnsiraProduction
	switch env {
	case "", "production":
	case "stage":
		rate = pace.AnsiraStage
	default:
		return nil, signers.E(signers.CodeInput, op, `environment must be "stage" or "production"`)
	}
	e, err := readEndpoint(op, cfg, "baseUrl", "getToken", rate)
	if err != nil {
		return nil, err
	}
	c := &ansiraClient{endpoint: e}
	if c.tokens, err = ansira.NewTokenSource(ansira.Config{Fetch: c.fetch, Clock: skew}); err != nil {
		return nil, err
	}
	return register(c), nil
}

// fetch reads the broker's answer { access_token, expires_in, … } (or a token
// string, which is then used until refused).
func (c *ansiraClient) fetch(ctx context.Context, current token.Token) (token.Token, error) {
	const op = "ansira.getToken"
	t, _, err := c.askToken(ctx, op, current, "access_token", "expires_in")
	if err != nil {
		return token.Token{}, err
	}
	if _, err := ansira.Bearer(t.Value); err != nil {
		return token.Token{}, signers.E(signers.CodeToken, op, "getToken must resolve to {access_token, expires_in} or a token string")
	}
	return t, nil
}

func ansiraRequest(ctx context.Context, args js.Value) (any, error) {
	const op = "ansira.request"
	c, err := clientOf[*ansiraClient](args)
	if err != nil {
		return nil, err
	}
	return c.send(ctx, op, args, c.tokens, ansira.Authorizer{})
}

// ---- Fonn and NFON: through the broker's forwarding routes -------------------

// brokerClient calls Fonn or NFON through the broker, which adds the secret
// credentials (Fonn's subscription key and token, NFON's signature): requests go
// to {brokerUrl}/fonn/… or {brokerUrl}/nfon/… with X-Apisign-Caller, the
// short-lived caller token the embedding site minted. They go through flow.Do
// like every other client: when the broker itself refuses the caller token (it
// restarted with a new key, say), one fresh caller token is asked for and the
// request sent once more.
type brokerClient struct {
	endpoint           // base: broker URL + "/fonn" or "/nfon"; tokenFn: callerToken
	impersonate string // Fonn: impersonatedUserExternalId, unless a request sets its own
	nfon        bool   // NFON: the path and query are sent in NFON's encoding
}

func newBrokerClient(args js.Value, prefix string) (any, error) {
	c, err := readBrokerClient(args.Index(0), prefix)
	if err != nil {
		return nil, err
	}
	return register(c), nil
}

// readBrokerClient reads a broker client's config: { brokerUrl, callerToken,
// fetch, retry, rate, impersonatedUserExternalId (Fonn) }.
func readBrokerClient(cfg js.Value, prefix string) (*brokerClient, error) {
	e, err := readEndpoint(prefix[1:]+".client", cfg, "brokerUrl", "callerToken", pace.Rate{})
	if err != nil {
		return nil, err
	}
	c := &brokerClient{endpoint: e, nfon: prefix == "/nfon"}
	c.base += prefix
	if prefix == "/fonn" {
		if c.impersonate, err = str(cfg, "impersonatedUserExternalId"); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func brokerRequest(ctx context.Context, args js.Value) (any, error) {
	const op = "broker.request"
	c, err := clientOf[*brokerClient](args)
	if err != nil {
		return nil, err
	}
	r, err := readRequest(op, args)
	if err != nil {
		return nil, err
	}
	req, resp, err := c.do(ctx, op, r)
	if err != nil {
		return nil, err
	}
	return finish(op, req, resp)
}

// do sends r through the broker with the caller token.
func (c *brokerClient) do(ctx context.Context, op string, r apiRequest) (*signers.Request, *signers.Response, error) {
	var err error
	if c.nfon {
		// NFON encodes "+", "/" and "=" in query data too (docs/PROTOCOLS.md
		// "NFON"): the broker signs the path as it arrives, so it must arrive
		// in NFON's form.
		if r.path, err = nfon.BuildResource(r.path, r.query); err != nil {
			return nil, nil, err
		}
		r.query = nil
	}
	if r.audio && !c.nfon {
		return nil, nil, signers.E(signers.CodeInput, op, "audio applies to NFON requests only")
	}
	req := r.to(c.base)
	if r.audio {
		req.Header.Set(nfon.BrokerAudioHeader, "1") // the broker signs it as an audio upload
	}
	if c.impersonate != "" && req.Header.Get("impersonatedUserExternalId") == "" {
		req.Header.Set("impersonatedUserExternalId", c.impersonate)
	}
	resp, err := c.http.authorized(ctx, op, &callerSource{f: c.tokenFn}, req, brokerAuthorizer{})
	return req, resp, err
}

// fortisSSO gets a one-time Fortis sign-in link through the broker (POST
// /fortis/sso, which asks v2/contactsso with the broker's credentials;
// docs/PROTOCOLS.md "Fortis") and opens it the way Keyfax's launch opens its
// page: [config, fields (JSON text), returnUrl, launch options] -> { url,
// params } when it comes back to the return URL, { closed: true } when the
// popup is closed or the page removes the frame.
func fortisSSO(ctx context.Context, args js.Value) (any, error) {
	const op = "fortis.sso"
	c, err := readBrokerClient(args.Index(0), "/fortis")
	if err != nil {
		return nil, err
	}
	fields := args.Index(1)
	if fields.Type() != js.TypeString {
		return nil, signers.E(signers.CodeInput, op, "fields must be a JSON object")
	}
	req, resp, err := c.do(ctx, op, apiRequest{method: "POST", path: "/sso", body: []byte(fields.String()), header: signers.Header{"Content-Type": "application/json"}})
	if err != nil {
		return nil, err
	}
	if resp.Status != 200 && resp.Status != 201 {
		return nil, httpFailure(signers.CodeHTTP, op, req, resp)
	}
	sso, err := fortis.ParseSSOResponse(resp.Status, resp.Body)
	if err != nil {
		return nil, err
	}
	return launch(ctx, launchFortis, js.ValueOf(sso.URL), args.Index(2), args.Index(3))
}

// callerSource is the flow.Source of one broker request: it asks the page's
// callerToken every time (the page keeps its own cache) and, after a refusal,
// tells it which token the broker refused.
type callerSource struct {
	f       js.Value
	refused string
}

func (s *callerSource) Token(ctx context.Context) (token.Token, error) {
	v, err := callToken(ctx, "broker.callerToken", s.f, s.refused)
	if err != nil {
		return token.Token{}, err
	}
	if v.Type() != js.TypeString || !printableASCII(v.String()) {
		return token.Token{}, signers.E(signers.CodeToken, "broker.callerToken", "callerToken must be (or resolve to) a non-empty ASCII string")
	}
	return token.Token{Value: v.String()}, nil
}

func (s *callerSource) Invalidate(t token.Token) { s.refused = t.Value }

// brokerAuthorizer is the broker's caller-token rule: the token goes in
// X-Apisign-Caller, and the broker refuses it with a 401 that carries its own
// X-Apisign-Error header. A 401 without that header came from the provider
// behind the broker: the provider's answer, not a caller-token refusal.
type brokerAuthorizer struct{}

func (brokerAuthorizer) Authorize(req *signers.Request, tok token.Token) error {
	req.Header.Set("X-Apisign-Caller", tok.Value)
	return nil
}

func (brokerAuthorizer) Refused(resp *signers.Response) bool {
	return resp.Status == 401 && resp.Header.Get("X-Apisign-Error") != ""
}

func (brokerAuthorizer) Active(*signers.Response) bool { return false }

func printableASCII(s string) bool {
	if s == "" || len(s) > 4096 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// ---- Ansira: listings page by page ---------------------------------------------

// ansiraPager is one client.pages() iteration: ansira.Pages (the document's
// filter, order_by and paging, and its "a short page is the last" rule) runs
// on a goroutine of its own that hands over one page per "ansira.pages.next"
// operation. (iter.Pull would do the same, for 9 KB more of module.)
type ansiraPager struct {
	want    chan struct{} // a next operation asks for a page; closed by stop
	got     chan error    // the page is in page (nil) or the error; closed after the last
	stopped bool
	// cur is the context of the operation that asked for the page being
	// fetched: each page may be aborted by its own signal, while the iteration
	// lives across operations.
	cur  context.Context
	page js.Value // the answer's data and records of the page just fetched
}

// newAnsiraPages reads [id, path, {filter, orderBy, page, pageSize}, records]:
// records is the loader's function that reads a page's data into its records
// (a plain array), so that the answer's JSON shape, each endpoint's own, stays
// the caller's choice.
func newAnsiraPages(args js.Value) (any, error) {
	const op = "ansira.pages"
	c, err := clientOf[*ansiraClient](args)
	if err != nil {
		return nil, err
	}
	path, o, records := args.Index(1), args.Index(2), args.Index(3)
	if path.Type() != js.TypeString || o.Type() != js.TypeObject || records.Type() != js.TypeFunction {
		return nil, signers.E(signers.CodeInput, op, "expects a path, options and a records function")
	}
	if err := checkPath(op, path.String()); err != nil {
		return nil, err
	}
	var p ansira.ListParams
	if p.Filter, err = str(o, "filter"); err != nil {
		return nil, err
	}
	if ob := o.Get("orderBy"); ob.Type() == js.TypeObject { // an array of strings, made by JS
		for i, n := 0, ob.Length(); i < n; i++ {
			p.OrderBy = append(p.OrderBy, ob.Index(i).String())
		}
	}
	for _, f := range []struct {
		name string
		to   *int
	}{{"page", &p.Page}, {"pageSize", &p.PageSize}} {
		if v := o.Get(f.name); v.Type() == js.TypeNumber {
			*f.to = v.Int()
		}
	}
	pg := &ansiraPager{}
	fetch := func(_ context.Context, lp ansira.ListParams) ([]js.Value, error) {
		q, err := lp.Encode()
		if err != nil {
			return nil, err
		}
		sep := "?"
		if strings.IndexByte(path.String(), '?') >= 0 {
			sep = "&"
		}
		req := apiRequest{method: "GET", path: path.String() + sep + q, header: signers.Header{}}.to(c.base)
		resp, err := c.http.authorized(pg.cur, op, c.tokens, req, ansira.Authorizer{})
		if err != nil {
			return nil, err
		}
		v, err := finish(op, req, resp)
		if err != nil {
			return nil, err
		}
		res := v.(js.Value)
		var list js.Value
		if err := jsTry(signers.CodeInput, op, "records threw", func() { list = records.Invoke(res.Get("data")) }); err != nil {
			return nil, err
		}
		if list.Type() != js.TypeObject {
			return nil, signers.E(signers.CodeInput, op, "records must return the page's records as an array")
		}
		out := make([]js.Value, list.Length())
		for i := range out {
			out[i] = list.Index(i)
		}
		res.Set("page", lp.Page)
		res.Set("records", list)
		pg.page = res
		return out, nil
	}
	pg.want, pg.got = make(chan struct{}), make(chan error)
	go func() {
		defer close(pg.got)
		if _, ok := <-pg.want; !ok {
			return
		}
		// ansira.Pages checks its own context between pages; each fetch uses
		// the asking operation's (cur), so a Background here never ends it early.
		for _, err := range ansira.Pages(context.Background(), p, fetch) {
			pg.got <- err
			if _, ok := <-pg.want; !ok {
				return
			}
		}
	}()
	return register(pg), nil
}

// ansiraPagesNext reads [client id, pager id] and answers the next page,
// { page, records, status, headers, data }, or null after the last one.
func ansiraPagesNext(ctx context.Context, args js.Value) (any, error) {
	pg, err := byID[*ansiraPager](args.Index(1))
	if err != nil {
		return nil, err
	}
	if pg.stopped {
		return js.Null(), nil
	}
	pg.cur = ctx
	pg.want <- struct{}{}
	if err, ok := <-pg.got; ok {
		return pg.page, err
	}
	pg.stop()
	return js.Null(), nil
}

// stop ends the iteration's goroutine.
func (pg *ansiraPager) stop() {
	if !pg.stopped {
		pg.stopped = true
		close(pg.want)
	}
}

// ansiraPagesStop ends an iteration (the loop's break, or its end) and frees it.
func ansiraPagesStop(args js.Value) (any, error) {
	if pg, err := byID[*ansiraPager](args.Index(1)); err == nil {
		pg.stop()
		delete(clients, args.Index(1).Int())
	}
	return nil, nil
}
