package fonn

import (
	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/token"
)

// Authorizer is Fonn's rule for signers/flow: every call carries the raw
// access token as Authorization beside Ocp-Apim-Subscription-Key (and
// impersonatedUserExternalId when set), built by Headers. The subscription key
// is a long-lived secret, so this runs on the broker or a server, never in the
// browser. Fonn's document names no status for a refused token; a 401
// (Unauthorized) is taken as one, worth one new token and one more try. See
// docs/PROTOCOLS.md, "Fonn".
type Authorizer struct {
	SubscriptionKey            string
	ImpersonatedUserExternalID string // optional
}

// Authorize sets the Fonn headers with tok as the access token.
func (a Authorizer) Authorize(req *signers.Request, tok token.Token) error {
	h, err := Headers(Credentials{SubscriptionKey: a.SubscriptionKey, AccessToken: tok.Value,
		ImpersonatedUserExternalID: a.ImpersonatedUserExternalID})
	if err != nil {
		return err
	}
	for k, v := range h {
		req.Header.Set(k, v)
	}
	return nil
}

// Refused: a 401 that is not the gateway refusing the subscription key
// (KeyRefused): a new token cannot fix a bad key.
func (Authorizer) Refused(resp *signers.Response) bool {
	return resp.Status == 401 && !KeyRefused(resp.Status, resp.Body)
}

// Active: never; a Fonn token's lifetime does not depend on its use.
func (Authorizer) Active(*signers.Response) bool { return false }
