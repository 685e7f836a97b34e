// Package flow is the one token-authorized request flow of apisign: send the
// request with the token; when the server refuses it, drop it, get a new one and
// send the request once more, byte for byte; never a loop. Every runtime uses it
// (signers/httpauth.Transport natively and in the broker, the browser module's
// clients over fetch), so the flow is written once; each provider states its own
// rule (how the token is sent, which answers are a refusal, what keeps a token
// alive) in an Authorizer in its package. See docs/PROTOCOLS.md, "Retry".
//
// The shape follows golang.org/x/oauth2: a Source hands out tokens (a
// token.Source that can also drop one), an Authorizer sets one on a request, as
// oauth2.Token.SetAuthHeader does. The retry policy for 429/503 and the clock
// skew correction stay around the Doer (signers/retry, signers/clock), so each
// of the two sends of Do is retried on its own.
package flow

import (
	"context"
	"strconv"

	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/token"
)

// Source supplies tokens and drops one that the server refused, so that the
// next Token call gets a new one: token.Cache and every provider's token
// source are Sources.
type Source interface {
	token.Source
	// Invalidate drops t if it is still the held token. N requests refused with
	// the same token cause one fetch, not N.
	Invalidate(t token.Token)
}

// Toucher is a Source whose tokens live as long as they are used: Fortis ends a
// session after 15 idle minutes, and fortis.Session keeps that clock. Do reports
// every answer the Authorizer counts as activity.
type Toucher interface {
	TouchToken(t token.Token)
}

// Authorizer is one provider's rule for sending a token.
type Authorizer interface {
	// Authorize sets tok on req, a copy that Do owns (headers, or the query).
	Authorize(req *signers.Request, tok token.Token) error
	// Refused reports whether the answer means "this token is no longer good":
	// Do then drops it and tries once more with a new one.
	Refused(resp *signers.Response) bool
	// Active reports whether the answer keeps the token alive (see Toucher).
	Active(resp *signers.Response) bool
}

// Do sends req with a token from src, set by auth. When the answer is a
// refusal, Do drops that token (src.Invalidate; a fetcher then sees it as the
// refused one, see token.FetchFunc), gets a new one and sends req once more,
// its body unchanged. If the second answer is a refusal too, Do returns it
// together with an E_TOKEN_REFUSED error carrying its status: a fresh token
// did not help, and asking again would only repeat that. Any other answer is
// returned with a nil error, whatever its status. req itself is never changed.
func Do(ctx context.Context, doer signers.Doer, src Source, req *signers.Request, auth Authorizer) (*signers.Response, error) {
	const op = "flow.Do"
	if doer == nil || src == nil || auth == nil || req == nil {
		return nil, signers.E(signers.CodeConfig, op, "needs a Doer, a token Source, an Authorizer and a request")
	}
	for attempt := 0; ; attempt++ {
		tok, err := src.Token(ctx)
		if err != nil {
			return nil, err
		}
		c := &signers.Request{Method: req.Method, URL: req.URL, Header: req.Header.Clone(), Body: req.Body}
		if c.Header == nil {
			c.Header = signers.Header{}
		}
		if err := auth.Authorize(c, tok); err != nil {
			return nil, err
		}
		resp, err := doer.Do(ctx, c)
		if err != nil {
			return nil, err
		}
		if !auth.Refused(resp) {
			if t, ok := src.(Toucher); ok && auth.Active(resp) {
				t.TouchToken(tok)
			}
			return resp, nil
		}
		src.Invalidate(tok)
		if attempt == 1 {
			return resp, &signers.Error{Code: signers.CodeTokenRefused, Op: op, Status: resp.Status,
				Msg: "the server refused a freshly fetched token too (" + strconv.Itoa(resp.Status) + ")"}
		}
	}
}
