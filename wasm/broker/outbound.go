package broker

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/apisign/apisign/signers"
)

// maxUpstreamBody caps what the broker reads of an upstream answer. Token
// answers are a few KB; forwarded NFON and Fonn answers are JSON documents.
const maxUpstreamBody = 32 << 20

// send is the broker's signers.Doer: it sends req through the outbound
// RoundTripper and reads the whole answer, within ctx.
//
// A body-less request goes out with a nil Body, not http.NoBody: the Worker's
// fetch transport turns any non-nil Body into a stream, and fetch refuses a
// GET or HEAD with a body. The RoundTripper is called directly, never through an
// http.Client, so redirects are not followed: an upstream cannot send the
// broker, with its credentials, to another host.
//
// The Worker's fetch transport ignores the request's context, so the wait is
// bounded here: when ctx ends first, send returns E_ABORTED at once and the
// abandoned round trip finishes on its own.
func (b *Broker) send(ctx context.Context, req *signers.Request) (*signers.Response, error) {
	const op = "broker.upstream"
	var body io.Reader
	if len(req.Body) > 0 {
		body = bytes.NewReader(req.Body)
	}
	hr, err := http.NewRequestWithContext(ctx, req.Method, req.URL, body)
	if err != nil {
		return nil, signers.E(signers.CodeInput, op, "malformed upstream request")
	}
	for k, v := range req.Header {
		hr.Header.Set(k, v)
	}
	type result struct {
		resp *signers.Response
		err  error
	}
	done := make(chan result, 1)
	go func() {
		defer func() {
			// A transport bug must not take the broker down (in the Worker a
			// panic ends the instance and the request hangs until the runtime
			// cancels it).
			if recover() != nil {
				done <- result{nil, signers.E(signers.CodeNetwork, op, "the upstream answer could not be read")}
			}
		}()
		resp, err := b.rt.RoundTrip(hr)
		if err != nil {
			done <- result{nil, signers.E(signers.CodeNetwork, op, "no answer from the upstream")}
			return
		}
		defer resp.Body.Close()
		var data []byte
		if !nullBody(req.Method, resp.StatusCode) {
			data, err = io.ReadAll(io.LimitReader(resp.Body, maxUpstreamBody+1))
		}
		switch {
		case err != nil:
			done <- result{nil, signers.E(signers.CodeNetwork, op, "the upstream answer broke off")}
		case len(data) > maxUpstreamBody:
			done <- result{nil, signers.E(signers.CodeNetwork, op, "the upstream answer is too large")}
		default:
			done <- result{&signers.Response{Status: resp.StatusCode, Header: flatten(resp.Header), Body: data}, nil}
		}
	}()
	select {
	case r := <-done:
		if r.err != nil && ctx.Err() != nil {
			r.err = signers.Wrap(signers.CodeAborted, op, ctx.Err())
		}
		if r.resp != nil {
			note(ctx, r.resp)
		}
		return r.resp, r.err
	case <-ctx.Done():
		return nil, signers.Wrap(signers.CodeAborted, op, ctx.Err())
	}
}

// nullBody reports an answer that has no body by definition (HEAD, 1xx, 204,
// 205, 304). It is not read: in the Worker, fetch gives such a Response a null
// body, which syumai/workers' reader cannot read.
func nullBody(method string, status int) bool {
	return method == http.MethodHead || status < 200 || status == 204 || status == 205 || status == 304
}

// flatten gives one value per header name, joining repeats with ",". The
// Worker's request and response conversion splits every header value at ","
// (so "Wed, 06 Aug 2025 …" arrives as two values); joining with "," restores
// the original bytes, and for headers that really were repeated "," is the
// list separator HTTP defines.
func flatten(h http.Header) signers.Header {
	out := make(signers.Header, len(h))
	for k, v := range h {
		out[k] = strings.Join(v, ",")
	}
	return out
}

// header reads one incoming header the same way.
func header(h http.Header, name string) string {
	return strings.Join(h.Values(name), ",")
}

// upstreamNote records the status and Retry-After of the last upstream answer
// a request's token fetch saw, so that a 429 or 503 from a token endpoint,
// which the core token sources turn into an error, is passed back with its
// Retry-After.
type upstreamNote struct {
	mu         sync.Mutex
	status     int
	retryAfter string
}

type noteKey struct{}

func withNote(ctx context.Context) (context.Context, *upstreamNote) {
	n := &upstreamNote{}
	return context.WithValue(ctx, noteKey{}, n), n
}

func note(ctx context.Context, resp *signers.Response) {
	if n, ok := ctx.Value(noteKey{}).(*upstreamNote); ok {
		n.mu.Lock()
		n.status, n.retryAfter = resp.Status, resp.Header.Get("Retry-After")
		n.mu.Unlock()
	}
}

func (n *upstreamNote) get() (int, string) {
	if n == nil {
		return 0, ""
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.status, n.retryAfter
}
