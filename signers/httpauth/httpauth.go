// Package httpauth adapts the signers to net/http, in the style of
// golang.org/x/oauth2: a provider that signs each request (NFON, Keyfax Basic,
// Fortis HMAC and API key, Fonn with a fixed token) has an http.RoundTripper
// that signs it, the token-authorized providers share one Transport (a token
// source plus the provider's flow.Authorizer), and the retry policy, the
// client-side pacing (Pace) and clock-skew correction are RoundTrippers too, so
// they stack:
//
//	client := &http.Client{Transport: &httpauth.Retry{
//		Base: &httpauth.NFON{Signer: signer, Clock: skewed, Base: &httpauth.Skew{Clock: skewed}},
//	}}
//
// The signers themselves live in signers/<provider> and import no net/http, so
// that the browser module stays small; this package is for native programs, the
// broker and tests.
package httpauth

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/clock"
	"github.com/apisign/apisign/signers/retry"
)

// MaxBody is the largest request body a RoundTripper here reads into memory to
// sign or replay it.
const MaxBody = 64 << 20

// ReadBody returns the exact bytes of r's body and leaves r with a body that can
// be read again (Body and GetBody both set). A nil or http.NoBody body is nil. A
// body that cannot be read whole, or is over MaxBody, is an E_INPUT error: its
// digest could not be signed, nor the request replayed.
func ReadBody(r *http.Request) ([]byte, error) {
	const op = "httpauth.ReadBody"
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	src := r.Body
	if r.GetBody != nil { // replayable already: read a fresh copy, leave r.Body untouched
		var err error
		if src, err = r.GetBody(); err != nil {
			return nil, signers.E(signers.CodeInput, op, "request body is not replayable")
		}
	}
	b, err := io.ReadAll(io.LimitReader(src, MaxBody+1))
	src.Close()
	if err != nil {
		return nil, signers.E(signers.CodeInput, op, "request body could not be read")
	}
	if len(b) > MaxBody {
		return nil, signers.E(signers.CodeInput, op, "request body is too large to sign")
	}
	setBody(r, b)
	return b, nil
}

// setBody gives r the body b, replayable.
func setBody(r *http.Request, b []byte) {
	r.Body = io.NopCloser(bytes.NewReader(b))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	r.ContentLength = int64(len(b))
}

// Prepare clones r for a RoundTripper to change (the http.RoundTripper contract
// forbids changing the caller's request), with its body read and replayable.
func Prepare(r *http.Request) (*http.Request, []byte, error) {
	body, err := ReadBody(r)
	if err != nil {
		return nil, nil, err
	}
	c := r.Clone(r.Context())
	if body != nil {
		setBody(c, body)
	}
	return c, body, nil
}

func base(rt http.RoundTripper) http.RoundTripper {
	if rt == nil {
		return http.DefaultTransport
	}
	return rt
}

// withTarget returns a copy of u that net/http sends with exactly the wire-form
// request-target target: the signers for NFON and Keyfax sign a normalized
// target, and the request must go out as signed. (net/http keeps RawPath as
// given when it is a valid encoding of Path, which a normalized path always is.)
func withTarget(u *url.URL, target string) (*url.URL, error) {
	c := *u
	rawPath, query, hasQuery := strings.Cut(target, "?")
	p, err := url.PathUnescape(rawPath)
	if err != nil {
		return nil, err
	}
	c.Path, c.RawPath = p, rawPath
	c.RawQuery, c.ForceQuery = query, hasQuery && query == ""
	if c.RequestURI() != target {
		return nil, signers.E(signers.CodeInternal, "httpauth.withTarget", "request-target not kept")
	}
	return &c, nil
}

// FromHTTP flattens an http.Header to one value per name, joining repeated
// fields with ", " as RFC 9110 allows.
func FromHTTP(h http.Header) signers.Header {
	out := make(signers.Header, len(h))
	for k, v := range h {
		out[k] = strings.Join(v, ", ")
	}
	return out
}

// Retry is a RoundTripper that retries 429 and 503 answers as Policy says,
// replaying the request body byte for byte. The request's context bounds the
// whole, waits included.
type Retry struct {
	Policy retry.Policy
	Base   http.RoundTripper // nil means http.DefaultTransport
}

func (t *Retry) RoundTrip(r *http.Request) (*http.Response, error) {
	req, body, err := Prepare(r)
	if err != nil {
		return nil, err
	}
	clk := clock.Or(t.Policy.Clock)
	for attempt := 0; ; attempt++ {
		attemptReq := req.Clone(req.Context())
		if body != nil {
			setBody(attemptReq, body)
		}
		resp, err := base(t.Base).RoundTrip(attemptReq)
		if err != nil {
			return nil, err
		}
		wait, again := t.Policy.Wait(attempt, resp.StatusCode, resp.Header.Get("Retry-After"), clk.Now())
		if !again {
			return resp, nil
		}
		discard(resp)
		if err := clk.Sleep(req.Context(), wait); err != nil {
			return nil, err
		}
	}
}

// Skew is a RoundTripper that teaches Clock the server's time from the Date
// header of every answer, so that the next signature carries a time the server
// accepts. Put it below the signing RoundTripper that uses the same Clock.
type Skew struct {
	Clock *clock.Skewed
	Base  http.RoundTripper
}

func (t *Skew) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := base(t.Base).RoundTrip(r)
	if err == nil {
		t.Clock.Observe(resp.Header.Get("Date"))
	}
	return resp, err
}

// maxPeek bounds the part of an answer body read to tell refusals apart.
const maxPeek = 64 << 10

// peekBody returns up to maxPeek bytes of resp's body and leaves the body
// whole for the caller to read: the bytes read, then the rest of the stream.
func peekBody(resp *http.Response) []byte {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxPeek))
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(b), resp.Body), resp.Body}
	return b
}

// discard drains (a little of) an answer that is not returned and closes it,
// so that the connection can be reused.
func discard(resp *http.Response) {
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxPeek))
	resp.Body.Close()
}
