package httpauth

import (
	"context"
	"net/http"

	"golang.org/x/oauth2"

	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/ansira"
	"github.com/apisign/apisign/signers/token"
)

// Ansira is a RoundTripper that sends `Authorization: Bearer <access_token>` with
// a token from Source. Ansira answers 403 when the token expired (or lacks the
// scope); then Ansira drops that token, fetches ONE fresh token (another request
// that got the same 403 meanwhile shares the fetch, see token.Cache.Invalidate)
// and sends the request once more, its body replayed byte for byte. A second 403
// is returned as it is: a token request invalidates every earlier token, so
// looping would only make things worse.
//
//	src, err := ansira.NewTokenSource(ansira.Config{Params: p, Doer: httpauth.NewDoer(nil)})
//	client := &http.Client{Transport: &httpauth.Ansira{Source: src}}
type Ansira struct {
	Source RefreshableSource
	Base   http.RoundTripper // nil means http.DefaultTransport
}

func (t *Ansira) RoundTrip(r *http.Request) (*http.Response, error) {
	if t.Source == nil {
		return nil, signers.E(signers.CodeConfig, "httpauth.Ansira", "no token source")
	}
	return sendWithToken(r, t.Source, http.StatusForbidden, t.Base, func(c *http.Request, tok token.Token) error {
		auth, err := ansira.Bearer(tok.Value)
		if err != nil {
			return err
		}
		c.Header.Set("Authorization", auth)
		return nil
	})
}

// OAuth2TokenSource adapts a token.Source (e.g. *ansira.TokenSource) to
// golang.org/x/oauth2, for code that wants an oauth2.TokenSource or
// oauth2.Transport. oauth2's Token method has no context: the adapter uses ctx
// given here (nil means context.Background()). Note that oauth2.Transport does
// not retry a 403; the Ansira RoundTripper does.
func OAuth2TokenSource(ctx context.Context, src token.Source) oauth2.TokenSource {
	if ctx == nil {
		ctx = context.Background()
	}
	return oauth2TokenSource{ctx, src}
}

type oauth2TokenSource struct {
	ctx context.Context
	src token.Source
}

func (s oauth2TokenSource) Token() (*oauth2.Token, error) {
	t, err := s.src.Token(s.ctx)
	if err != nil {
		return nil, err
	}
	return &oauth2.Token{AccessToken: t.Value, TokenType: "Bearer", Expiry: t.Expiry}, nil
}
