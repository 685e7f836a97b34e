package httpauth

import (
	"context"

	"golang.org/x/oauth2"

	"github.com/apisign/apisign/signers/token"
)

// OAuth2TokenSource adapts a token.Source (e.g. *ansira.TokenSource) to
// golang.org/x/oauth2, for code that wants an oauth2.TokenSource or
// oauth2.Transport. oauth2's Token method has no context: the adapter uses ctx
// given here (nil means context.Background()). Note that oauth2.Transport does
// not retry a 403; a Transport with an ansira.Authorizer does.
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
