//go:build js && wasm

package main

import (
	"context"
	"errors"
	"syscall/js"
	"time"

	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/keyfax"
	"github.com/apisign/apisign/signers/pace"
)

// keyfaxClient runs Keyfax's client flow with the core's pieces: the JWT from
// the caller's getToken (the broker's GET /keyfax/token), renewed by POST
// /api/v1/token ahead of its exp (keyfax.TokenSource, whose Initial is
// getToken); requests and answers built and read by signers/keyfax, sent
// through flow.Do with keyfax.Authorizer (Bearer {HostName}:{JWT}; a 401 drops
// the JWT and gets a fresh one once).
type keyfaxClient struct {
	endpoint
	tokens *keyfax.TokenSource
	auth   keyfax.Authorizer
	format keyfax.Format // JSON or XML (start-up data and answers as strings)
}

func newKeyfaxClient(args js.Value) (any, error) {
	const op = "keyfax.client"
	cfg := args.Index(0)
	host, err := str(cfg, "hostName")
	if err != nil {
		return nil, err
	}
	e, err := readEndpoint(op, cfg, "baseUrl", "getToken", pace.Rate{})
	if err != nil {
		return nil, err
	}
	c := &keyfaxClient{endpoint: e}
	f, err := str(cfg, "format")
	if err != nil {
		return nil, err
	}
	c.format = keyfax.Format(f)
	c.tokens, err = keyfax.NewTokenSource(keyfax.TokenConfig{
		BaseURL:  c.base,
		HostName: host,
		Doer:     c.http,
		Clock:    skew,
		Initial:  c.initial,
		Format:   c.format,
	})
	if err != nil {
		return nil, err
	}
	c.auth = keyfax.Authorizer{HostName: c.tokens.HostName()}
	return register(c), nil
}

// initial asks the caller's getToken for a JWT: a string, or an object such as
// the broker's { token, hostName, expiresAt }, read like a Keyfax token answer.
func (c *keyfaxClient) initial(ctx context.Context, refused string) (string, error) {
	const op = "keyfax.getToken"
	v, err := callToken(ctx, op, c.tokenFn, refused)
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

// keyfaxStartup: [id, start-up data (JSON or, in XML format, XML text)] ->
// { guid, launchUrl, company, returnUrl?, data }.
func keyfaxStartup(ctx context.Context, args js.Value) (any, error) {
	const op = "keyfax.startup"
	c, err := clientOf[*keyfaxClient](args)
	if err != nil {
		return nil, err
	}
	data := args.Index(1)
	if data.Type() != js.TypeString || len(data.String()) > maxInput {
		return nil, signers.E(signers.CodeInput, op, "start-up data must be a JSON object or XML text")
	}
	body := []byte(data.String())
	var req *signers.Request
	if c.format == keyfax.XML {
		req, err = keyfax.StartupXMLRequest(c.base, body)
	} else {
		req, err = keyfax.StartupRequest(c.base, body)
	}
	if err != nil {
		return nil, err
	}
	resp, err := c.http.authorized(ctx, op, c.tokens, req, c.auth)
	if err != nil {
		return nil, err
	}
	l, err := keyfax.ParseStartup(resp.Status, resp.Body, body)
	if err != nil {
		return nil, withAnswer(err, resp)
	}
	o := newObject()
	o.Set("guid", l.GUID)
	o.Set("launchUrl", l.LaunchURL)
	o.Set("company", l.Company)
	if l.ReturnURL != "" {
		o.Set("returnUrl", l.ReturnURL)
	}
	o.Set("data", dataValue(resp.Header, resp.Body))
	return o, nil
}

// keyfaxExample: [id] -> { status, headers, data }: GET /api/v1/startup,
// Keyfax's example start-up data (a string in XML format).
func keyfaxExample(ctx context.Context, args js.Value) (any, error) {
	const op = "keyfax.exampleStartup"
	c, err := clientOf[*keyfaxClient](args)
	if err != nil {
		return nil, err
	}
	req, err := keyfax.ExampleStartupRequest(c.base, c.format)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.authorized(ctx, op, c.tokens, req, c.auth)
	if err != nil {
		return nil, err
	}
	return finish(op, req, resp)
}

// withAnswer attaches the answer resp to err, an *signers.Error about it, so
// that the JS error carries the answer's data.
func withAnswer(err error, resp *signers.Response) error {
	var se *signers.Error
	if errors.As(err, &se) {
		return &respError{err: se, resp: resp}
	}
	return err
}

// results asks once: pending or done with the data (keyfax.ParseResults).
func (c *keyfaxClient) results(ctx context.Context, company, guid string) (js.Value, bool, error) {
	const op = "keyfax.results"
	var req *signers.Request
	var err error
	if c.format == keyfax.XML {
		req, err = keyfax.ResultsXMLRequest(c.base, company, guid)
	} else {
		req, err = keyfax.ResultsRequest(c.base, company, guid)
	}
	if err != nil {
		return js.Value{}, false, err
	}
	resp, err := c.http.authorized(ctx, op, c.tokens, req, c.auth)
	if err != nil {
		return js.Value{}, false, err
	}
	done, err := keyfax.ParseResults(resp.Status)
	if err != nil {
		return js.Value{}, false, httpFailure(signers.CodeHTTP, op, req, resp)
	}
	o := newObject()
	if !done {
		o.Set("status", "pending")
		return o, false, nil
	}
	o.Set("status", "done")
	o.Set("data", dataValue(resp.Header, resp.Body))
	return o, true, nil
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
// does the caller's AbortSignal. A busy server (503 once the retry policy has
// run out) or a lost answer is waited out like a pending session, with the same
// growing interval, until that end: the user may still be answering Keyfax's
// questions, and a hiccup of the results endpoint says nothing about that.
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
		if err != nil && !passing(err) {
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

// passing reports whether err is a failure worth polling through: no answer,
// or 503 (Service Unavailable).
func passing(err error) bool {
	var se *signers.Error
	return signers.CodeOf(err) == signers.CodeNetwork || errors.As(err, &se) && se.Code == signers.CodeHTTP && se.Status == 503
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
