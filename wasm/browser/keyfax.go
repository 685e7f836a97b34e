//go:build js && wasm

package main

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"syscall/js"
	"time"

	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/keyfax"
	"github.com/apisign/apisign/signers/retry"
)

// keyfaxClient runs Keyfax's client flow: Authorization: Bearer
// {HostName}:{JWT}, with the JWT from the caller's getToken (the broker's GET
// /keyfax/token) and renewed by POST /api/v1/token ahead of its exp (the core's
// keyfax.TokenSource, whose Initial is getToken). A 401 drops the JWT and gets
// a fresh one once.
type keyfaxClient struct {
	http     httpClient
	base     string
	tokens   *keyfax.TokenSource
	getToken js.Value
}

func newKeyfaxClient(args js.Value) (any, error) {
	const op = "keyfax.client"
	cfg := args.Index(0)
	raw, err := str(cfg, "baseUrl")
	if err != nil {
		return nil, err
	}
	host, err := str(cfg, "hostName")
	if err != nil {
		return nil, err
	}
	c := &keyfaxClient{}
	if c.base, err = checkBase(op, "baseUrl", raw); err != nil {
		return nil, err
	}
	if c.getToken, err = fn(cfg, "getToken"); err != nil {
		return nil, err
	}
	if c.http, err = newHTTP(cfg); err != nil {
		return nil, err
	}
	c.tokens, err = keyfax.NewTokenSource(keyfax.TokenConfig{
		BaseURL:  c.base,
		HostName: host,
		Doer:     retry.Doer(c.http.doer, c.http.policy),
		Clock:    skew,
		Initial:  c.initial,
	})
	if err != nil {
		return nil, err
	}
	return register(c), nil
}

// initial asks the caller's getToken for a JWT: a string, or an object such as
// the broker's { token, hostName, expiresAt }, read like a Keyfax token answer.
func (c *keyfaxClient) initial(ctx context.Context) (string, error) {
	const op = "keyfax.getToken"
	v, err := callToken(ctx, op, c.getToken)
	if err != nil {
		return "", err
	}
	switch v.Type() {
	case js.TypeString:
		return v.String(), nil
	case js.TypeObject:
		var s string
		if err := jsTry(signers.CodeToken, op, "getToken's answer is not JSON", func() { s = jsJSON.Call("stringify", v).String() }); err != nil {
			return "", err
		}
		return s, nil
	}
	return "", signers.E(signers.CodeToken, op, "getToken must resolve to a JWT string or { token }")
}

// call sends one Keyfax API request with the Bearer header.
func (c *keyfaxClient) call(ctx context.Context, op, method, path string, body []byte) (*signers.Request, *signers.Response, error) {
	for attempt := 0; ; attempt++ {
		tok, err := c.tokens.Token(ctx)
		if err != nil {
			return nil, nil, err
		}
		auth, err := keyfax.Bearer(c.tokens.HostName(), tok.Value)
		if err != nil {
			return nil, nil, err
		}
		req := &signers.Request{Method: method, URL: c.base + path, Body: body,
			Header: signers.Header{"Authorization": auth, "Accept": "application/json"}}
		if body != nil {
			req.Header["Content-Type"] = "application/json"
		}
		resp, err := c.http.send(ctx, req)
		if err != nil {
			return nil, nil, err
		}
		if resp.Status == 401 {
			c.tokens.Invalidate(tok)
			if attempt == 0 {
				continue
			}
			return nil, nil, httpFailure(signers.CodeTokenExpired, op, req, resp)
		}
		return req, resp, nil
	}
}

// keyfaxStartup: [id, startupJSON] -> { guid, launchUrl, company, returnUrl?, data }.
func keyfaxStartup(ctx context.Context, args js.Value) (any, error) {
	const op = "keyfax.startup"
	c, err := clientOf[*keyfaxClient](args)
	if err != nil {
		return nil, err
	}
	data := args.Index(1)
	if data.Type() != js.TypeString || len(data.String()) > maxInput {
		return nil, signers.E(signers.CodeInput, op, "start-up data must be a JSON object")
	}
	body := []byte(data.String())
	var sent map[string]any
	if json.Unmarshal(body, &sent) != nil || sent == nil {
		return nil, signers.E(signers.CodeInput, op, "start-up data must be a JSON object")
	}
	req, resp, err := c.call(ctx, op, "POST", "/api/v1/startup", body)
	if err != nil {
		return nil, err
	}
	if resp.Status != 200 && resp.Status != 201 {
		return nil, httpFailure(signers.CodeHTTP, op, req, resp)
	}
	l, ok := readLaunch(resp.Body, sent)
	if !ok {
		return nil, &respError{err: &signers.Error{Code: signers.CodeHTTP, Op: op, Status: resp.Status,
			Msg: "the start-up answer has no guid or launch URL"}, resp: resp}
	}
	o := newObject()
	o.Set("guid", l.guid)
	o.Set("launchUrl", l.launchURL)
	o.Set("company", l.company)
	if l.returnURL != "" {
		o.Set("returnUrl", l.returnURL)
	}
	o.Set("data", dataValue(resp.Header, resp.Body))
	return o, nil
}

type launchData struct{ guid, launchURL, company, returnURL string }

// readLaunch reads Keyfax's launch data leniently: the members guid, launchUrl
// (or url, keyfaxUrl, launchUri) and company, matched without regard to case,
// at the top level or under data / launchData, each a string or a Keyfax item
// { value }. A missing guid is taken from the launch URL's guid parameter, a
// missing company (and the return URL) from the start-up data sent.
func readLaunch(body []byte, sent map[string]any) (launchData, bool) {
	var l launchData
	var answer any
	if json.Unmarshal(body, &answer) != nil {
		return l, false
	}
	if s, ok := answer.(string); ok { // a bare launch URL
		answer = map[string]any{"launchUrl": s}
	}
	m, _ := answer.(map[string]any)
	for _, under := range []string{"", "data", "launchData"} {
		o := m
		if under != "" {
			o, _ = member(m, under).(map[string]any)
		}
		l.guid = first(l.guid, itemString(member(o, "guid")))
		l.launchURL = first(l.launchURL, itemString(member(o, "launchUrl")), itemString(member(o, "url")),
			itemString(member(o, "keyfaxUrl")), itemString(member(o, "launchUri")))
		l.company = first(l.company, itemString(member(o, "company")))
	}
	if l.guid == "" {
		if u, err := url.Parse(l.launchURL); err == nil {
			l.guid = u.Query().Get("guid")
		}
	}
	l.company = first(l.company, itemString(member(sent, "company")))
	l.returnURL = itemString(member(sent, "returnUrl"))
	return l, l.guid != "" && l.launchURL != ""
}

// member returns m[name], matched exactly first, then without regard to case.
func member(m map[string]any, name string) any {
	if v, ok := m[name]; ok {
		return v
	}
	for k, v := range m {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return nil
}

// itemString reads a string, or a Keyfax item { value: string }.
func itemString(v any) string {
	switch x := v.(type) {
	case string:
		return strings.TrimSpace(x)
	case map[string]any:
		if s, ok := member(x, "value").(string); ok {
			return strings.TrimSpace(s)
		}
	}
	return ""
}

func first(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// results asks once: 202 is pending, 200 (or 204) done with the data.
func (c *keyfaxClient) results(ctx context.Context, company, guid string) (js.Value, bool, error) {
	const op = "keyfax.results"
	body, _ := json.Marshal(struct {
		Company string `json:"company"`
		GUID    string `json:"guid"`
	}{company, guid})
	req, resp, err := c.call(ctx, op, "POST", "/api/v1/results", body)
	if err != nil {
		return js.Value{}, false, err
	}
	o := newObject()
	switch resp.Status {
	case 202:
		o.Set("status", "pending")
		return o, false, nil
	case 200, 204:
		o.Set("status", "done")
		o.Set("data", dataValue(resp.Header, resp.Body))
		return o, true, nil
	}
	return js.Value{}, false, httpFailure(signers.CodeHTTP, op, req, resp)
}

// sessionArgs reads company and guid from args[1], args[2].
func sessionArgs(op string, args js.Value) (company, guid string, err error) {
	c, g := args.Index(1), args.Index(2)
	if c.Type() != js.TypeString || g.Type() != js.TypeString || g.String() == "" || len(g.String()) > 256 || len(c.String()) > 256 {
		return "", "", signers.E(signers.CodeInput, op, "needs { company, guid } as strings, guid not empty")
	}
	return c.String(), g.String(), nil
}

func keyfaxResults(ctx context.Context, args js.Value) (any, error) {
	c, err := clientOf[*keyfaxClient](args)
	if err != nil {
		return nil, err
	}
	company, guid, err := sessionArgs("keyfax.results", args)
	if err != nil {
		return nil, err
	}
	v, _, err := c.results(ctx, company, guid)
	return v, err
}

// keyfaxWait polls results until done: [id, company, guid, { intervalMs,
// maxIntervalMs, timeoutMs }]. The interval grows by half each round up to
// maxIntervalMs; timeoutMs (none by default) ends the wait with E_ABORTED, as
// does the caller's AbortSignal.
func keyfaxWait(ctx context.Context, args js.Value) (any, error) {
	const op = "keyfax.waitForResults"
	c, err := clientOf[*keyfaxClient](args)
	if err != nil {
		return nil, err
	}
	company, guid, err := sessionArgs(op, args)
	if err != nil {
		return nil, err
	}
	opts := args.Index(3)
	if opts.Type() != js.TypeObject {
		opts = newObject()
	}
	interval, err := millis(opts.Get("intervalMs"), 2*time.Second)
	if err != nil {
		return nil, err
	}
	maxInterval, err := millis(opts.Get("maxIntervalMs"), 15*time.Second)
	if err != nil {
		return nil, err
	}
	timeout, err := millis(opts.Get("timeoutMs"), 0)
	if err != nil {
		return nil, err
	}
	interval = max(interval, 10*time.Millisecond)
	maxInterval = max(maxInterval, interval)
	wait := ctx
	if timeout > 0 {
		var cancel context.CancelFunc
		wait, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	// timedOut reports the end of timeoutMs as such, whichever step it cut short.
	timedOut := func(err error) error {
		if ctx.Err() == nil && wait.Err() == context.DeadlineExceeded {
			return signers.E(signers.CodeAborted, op, "timed out while the session was still running")
		}
		return err
	}
	for {
		v, done, err := c.results(wait, company, guid)
		if err != nil {
			return nil, timedOut(err)
		}
		if done {
			return v, nil
		}
		if err := skew.Sleep(wait, interval); err != nil {
			return nil, timedOut(err)
		}
		interval = min(interval*3/2, maxInterval)
	}
}

// keyfaxRenew renews the JWT now (POST /api/v1/token with the current one) and
// answers { expiresAt } (RFC 3339). The JWT itself stays inside the module.
func keyfaxRenew(ctx context.Context, args js.Value) (any, error) {
	c, err := clientOf[*keyfaxClient](args)
	if err != nil {
		return nil, err
	}
	t, err := c.tokens.Renew(ctx)
	if err != nil {
		return nil, err
	}
	o := newObject()
	o.Set("expiresAt", t.Expiry.UTC().Format(time.RFC3339))
	return o, nil
}
