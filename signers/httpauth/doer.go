package httpauth

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"

	"github.com/apisign/apisign/signers"
)

// DoerOption adjusts a Doer built by NewDoer or NewTransportDoer.
type DoerOption func(*doer)

// MaxAnswer caps the answer body a Doer reads (default MaxBody): a longer
// answer is an E_NETWORK error, never silently cut short.
func MaxAnswer(n int64) DoerOption { return func(d *doer) { d.maxAnswer = n } }

// JoinHeaders sets how the values of a repeated answer header are joined
// (default ", ", as RFC 9110 allows). The Worker's fetch conversion splits
// every header value at "," (so "Wed, 06 Aug 2025 …" arrives as two values):
// there "," restores the bytes as sent.
func JoinHeaders(sep string) DoerOption { return func(d *doer) { d.sep = sep } }

// NewDoer returns a signers.Doer that sends requests with c (nil means
// http.DefaultClient), which follows redirects as c's policy says.
func NewDoer(c *http.Client, opts ...DoerOption) signers.Doer {
	if c == nil {
		c = http.DefaultClient
	}
	return newDoer(c.Do, opts)
}

// NewTransportDoer returns a signers.Doer that calls rt directly, never through
// an http.Client: redirects are answered as they are, never followed (a broker
// must not let an upstream send its credentials to another host), and net/http's
// client (TLS, HTTP/2, over 1 MB in a GOOS=js build) is not linked in unless rt
// is it, which matters in a Worker, where rt is fetch.
func NewTransportDoer(rt http.RoundTripper, opts ...DoerOption) signers.Doer {
	return newDoer(rt.RoundTrip, opts)
}

type doer struct {
	send      func(*http.Request) (*http.Response, error)
	maxAnswer int64
	sep       string
}

func newDoer(send func(*http.Request) (*http.Response, error), opts []DoerOption) signers.Doer {
	d := &doer{send: send, maxAnswer: MaxBody, sep: ", "}
	for _, o := range opts {
		o(d)
	}
	return d
}

type result struct {
	resp *signers.Response
	err  error
}

// Do sends req and reads the whole answer, within ctx. The answer body is not
// read when it has none by definition (HEAD, 1xx, 204, 205, 304): fetch gives
// such a Response a null body, which syumai/workers' reader cannot read.
//
// A transport that ignores the context (the Worker's fetch does) cannot hold
// the caller: the round trip runs aside, and when ctx ends first Do returns
// E_ABORTED at once while the abandoned round trip finishes on its own. A
// panicking transport is an E_NETWORK error, not a crash. Errors never quote
// the transport's text: a *url.Error's text contains the URL, which may carry
// a query-string credential.
func (d *doer) Do(ctx context.Context, req *signers.Request) (*signers.Response, error) {
	const op = "httpauth.Do"
	var body io.Reader // nil for no body: fetch-based transports (GOOS=js) refuse a GET with a body stream
	if len(req.Body) > 0 {
		body = bytes.NewReader(req.Body)
	}
	hr, err := http.NewRequestWithContext(ctx, req.Method, req.URL, body)
	if err != nil {
		return nil, signers.E(signers.CodeInput, op, "malformed request method or URL")
	}
	for k, v := range req.Header {
		hr.Header.Set(k, v)
	}
	done := make(chan result, 1)
	go func() {
		defer func() {
			if recover() != nil {
				done <- result{nil, signers.E(signers.CodeNetwork, op, "the answer could not be read")}
			}
		}()
		done <- d.roundTrip(hr)
	}()
	select {
	case r := <-done:
		if r.err != nil && ctx.Err() != nil {
			r.err = signers.Wrap(signers.CodeAborted, op, ctx.Err())
		}
		return r.resp, r.err
	case <-ctx.Done():
		return nil, signers.Wrap(signers.CodeAborted, op, ctx.Err())
	}
}

func (d *doer) roundTrip(hr *http.Request) result {
	const op = "httpauth.Do"
	resp, err := d.send(hr)
	if err != nil {
		return result{nil, signers.E(signers.CodeNetwork, op, "no answer from the server")}
	}
	defer resp.Body.Close()
	var data []byte
	if !nullBody(hr.Method, resp.StatusCode) {
		data, err = io.ReadAll(io.LimitReader(resp.Body, d.maxAnswer+1))
	}
	switch {
	case err != nil:
		return result{nil, signers.E(signers.CodeNetwork, op, "the answer broke off")}
	case int64(len(data)) > d.maxAnswer:
		return result{nil, signers.E(signers.CodeNetwork, op, "the answer is too large")}
	}
	h := make(signers.Header, len(resp.Header))
	for k, v := range resp.Header {
		h[k] = strings.Join(v, d.sep)
	}
	return result{&signers.Response{Status: resp.StatusCode, Header: h, Body: data}, nil}
}

// nullBody reports an answer that has no body by definition.
func nullBody(method string, status int) bool {
	return method == http.MethodHead || status < 200 || status == 204 || status == 205 || status == 304
}
