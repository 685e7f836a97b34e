package fortis

import (
	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/token"
)

// Authorizer is Fortis' token-method rule for signers/flow: every call carries
// the session token as `access-token` (a header, or a query parameter when Query
// is set) with `developer-id` beside it. A 401 means the token died (15 idle
// minutes passed, or it was closed): one new session is worth one more try.
//
// Activity is a 2xx answer, and only that: Fortis says "every successful request
// will refresh your expire time back to 15", and a 3xx or 4xx answer is not a
// successful request. (The browser module counted 2xx, httpauth 2xx-3xx; the
// vendor's word decides.) See docs/PROTOCOLS.md, "Fortis".
type Authorizer struct {
	// DeveloperID is sent as developer-id; empty sends none (the broker adds it).
	DeveloperID string
	Query       bool // send the fields as query parameters instead of headers
}

// Authorize sets access-token (and developer-id) for tok.
func (a Authorizer) Authorize(req *signers.Request, tok token.Token) error {
	const op = "fortis.Authorize"
	if err := checkToken(op, tok.Value); err != nil {
		return err
	}
	fields := [][2]string{{HeaderAccessToken, tok.Value}}
	if a.DeveloperID != "" {
		fields = [][2]string{{HeaderDeveloperID, a.DeveloperID}, fields[0]}
	}
	if !a.Query {
		for _, f := range fields {
			if err := checkHeaderValue(op, f[0], f[1]); err != nil {
				return err
			}
			req.Header.Set(f[0], f[1])
		}
		return nil
	}
	u, err := AppendQuery(req.URL, fields)
	if err != nil {
		return err
	}
	req.URL = u
	return nil
}

// Refused: 401.
func (Authorizer) Refused(resp *signers.Response) bool { return resp.Status == 401 }

// Active: a successful (2xx) answer restarts the session's idle period.
func (Authorizer) Active(resp *signers.Response) bool {
	return resp.Status >= 200 && resp.Status <= 299
}
