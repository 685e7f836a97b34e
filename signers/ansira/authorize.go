package ansira

import (
	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/token"
)

// Authorizer is Ansira's rule for signers/flow. Every API call carries
// `Authorization: Bearer <access_token>` and `Cache-Control: no-cache`, both
// listed by Ansira as request headers of an API call.
//
// Ansira's errors section decides the refusal: 403 means "the Access Token could
// be expired, or it was not granted the scopes required", so one new token and
// one more try; 401 means "the Access Token is missing", which a new token does
// not fix, so it is not a refusal. (httpauth took 403 only, the browser module 401
// or 403; the vendor's word decides.) See docs/PROTOCOLS.md, "Ansira".
type Authorizer struct{}

// Authorize sets the Bearer and Cache-Control headers for tok (APIHeaders).
func (Authorizer) Authorize(req *signers.Request, tok token.Token) error {
	h, err := APIHeaders(tok.Value)
	if err != nil {
		return err
	}
	for k, v := range h {
		req.Header.Set(k, v)
	}
	return nil
}

// Refused: 403.
func (Authorizer) Refused(resp *signers.Response) bool { return resp.Status == 403 }

// Active: never; an access token lives until its expires_in.
func (Authorizer) Active(*signers.Response) bool { return false }
