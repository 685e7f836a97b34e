package httpauth

import (
	"context"
	"errors"
	"io"
	"iter"
	"net/http"
	"strconv"
	"strings"

	"golang.org/x/oauth2"

	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/ansira"
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

// AnsiraPages iterates over an Ansira listing at listURL through c (nil means
// http.DefaultClient), whose Transport authorizes the calls (a Transport with
// ansira.Authorizer, paced with Pace): page after page, each GET carrying
// p's filter and order_by and its page and page_size (ansira.ListParams,
// encoded by its Encode, after any query listURL has), until a short page, as
// ansira.Pages says. records reads one answer's body (the 200's JSON, shaped
// as the endpoint's Specifications say) into its records.
//
// An answer other than 200 is yielded as an E_HTTP error with its status and
// ends the iteration; so does a transport error, without its text (a
// *url.Error repeats the URL).
//
//	for page, err := range httpauth.AnsiraPages(ctx, client, base+"/api/v1/campaigns",
//		ansira.ListParams{Filter: "status eq 'active'", PageSize: 50}, readCampaigns) {
func AnsiraPages[T any](ctx context.Context, c *http.Client, listURL string, p ansira.ListParams,
	records func(body []byte) ([]T, error)) iter.Seq2[[]T, error] {
	const op = "httpauth.AnsiraPages"
	if c == nil {
		c = http.DefaultClient
	}
	return ansira.Pages(ctx, p, func(ctx context.Context, p ansira.ListParams) ([]T, error) {
		q, err := p.Encode()
		if err != nil {
			return nil, err
		}
		sep := "?"
		if strings.Contains(listURL, "?") {
			sep = "&"
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, listURL+sep+q, nil)
		if err != nil {
			return nil, signers.E(signers.CodeInput, op, "list URL does not parse")
		}
		resp, err := c.Do(req)
		if err != nil {
			var se *signers.Error
			if errors.As(err, &se) {
				return nil, se
			}
			if ctx.Err() != nil {
				return nil, signers.Wrap(signers.CodeAborted, op, ctx.Err())
			}
			return nil, signers.E(signers.CodeNetwork, op, "no answer from the server")
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, MaxBody+1))
		switch {
		case err != nil:
			return nil, signers.E(signers.CodeNetwork, op, "the answer broke off")
		case len(body) > MaxBody:
			return nil, signers.E(signers.CodeNetwork, op, "the answer is too large")
		case resp.StatusCode != http.StatusOK:
			return nil, signers.Answered(op, "listing page "+strconv.Itoa(p.Page), resp.StatusCode)
		}
		return records(body)
	})
}
