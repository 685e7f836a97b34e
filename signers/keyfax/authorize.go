package keyfax

import (
	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/token"
)

// Authorizer is Keyfax's client-flow rule for signers/flow: every call carries
// `Authorization: Bearer {HostName}:{JWT}`, and Keyfax answers 401 when the JWT
// fails validation or has expired (the vendor's words: "If validation fails or
// the token has expired Keyfax will typically return a 401 status code"); then
// one new JWT is worth one more try. Nothing a call answers extends a JWT: it
// lives 24 hours from issue, renewed by POST TokenPath (TokenSource does). See
// docs/PROTOCOLS.md, "Keyfax".
type Authorizer struct {
	HostName string
}

// Authorize sets the Bearer header for tok.
func (a Authorizer) Authorize(req *signers.Request, tok token.Token) error {
	auth, err := Bearer(a.HostName, tok.Value)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", auth)
	return nil
}

// Refused: 401.
func (Authorizer) Refused(resp *signers.Response) bool { return resp.Status == 401 }

// Active: never; a Keyfax JWT's lifetime does not depend on its use.
func (Authorizer) Active(*signers.Response) bool { return false }
