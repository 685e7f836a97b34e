// Package fonn builds the authentication headers of the Fonn API. Fonn signs
// nothing: every call carries two credentials in the clear, over TLS,
//
//	Ocp-Apim-Subscription-Key: <subscription key>   (the API gateway's key)
//	Authorization: <access token>                   (the raw token, no scheme word)
//	impersonatedUserExternalId: <external id>       (optional: act as that user)
//
// and the gateway answers 429 with Retry-After (seconds) when the subscription is
// over its rate; signers/retry handles that, and signers/pace spreads the calls
// evenly beforehand, as Fonn asks, at the subscription's rate (Fonn publishes no
// number, so the caller passes it).
//
// Two more rules of Fonn's (docs/PROTOCOLS.md, "Fonn"):
//   - A Workspace Access Token reaches several organizations, and "user
//     impersonation is mandatory in requests made to project scoped endpoints
//     when authorized by Workspace Access Token": a caller that knows its token
//     is one sets Credentials.Workspace, and RequireImpersonation refuses such a
//     request without impersonatedUserExternalId.
//   - A subscription has two keys, so that one can be regenerated without
//     downtime: Keys holds both, KeyRefused tells a refused key from a refused
//     token, and Keys.Other gives the key to try next.
//
// The subscription key is a long-lived secret: it belongs on a server (the
// broker), so browser calls to Fonn go through the broker's forwarding route.
package fonn

import (
	"bytes"

	"github.com/apisign/apisign/signers"
)

// Header names, spelled as Fonn's documentation writes them.
const (
	HeaderSubscriptionKey  = "Ocp-Apim-Subscription-Key"
	HeaderAuthorization    = "Authorization"
	HeaderImpersonatedUser = "impersonatedUserExternalId"
)

// maxValue bounds each header value: longer than any real key, token or id.
const maxValue = 8 << 10

// Credentials are what a Fonn call authenticates with.
type Credentials struct {
	SubscriptionKey            string // Ocp-Apim-Subscription-Key; required
	AccessToken                string // sent as Authorization, as is; required
	ImpersonatedUserExternalID string // optional, except with a workspace token (see RequireImpersonation)
	// Workspace says AccessToken is a Workspace Access Token (obtained from Fonn
	// support, valid across organizations). Nothing on the wire says so: the
	// holder of the token knows.
	Workspace bool
}

// RequireImpersonation enforces Fonn's workspace-token rule for a request to a
// project-scoped endpoint: with a Workspace Access Token (c.Workspace) the
// request must act as a user, so an empty ImpersonatedUserExternalID is E_INPUT.
// A regular token, whose identity is the user it was generated for, passes.
// Requests outside project scope (creating an organization, which only a
// workspace token may do) are not subject to the rule; the caller decides which
// requests it checks.
func RequireImpersonation(c Credentials) error {
	if c.Workspace && c.ImpersonatedUserExternalID == "" {
		return signers.E(signers.CodeInput, "fonn.RequireImpersonation",
			"a request authorized by a Workspace Access Token must impersonate a user (impersonatedUserExternalId)")
	}
	return nil
}

// Keys are the two subscription keys Fonn's developer portal shows for one
// subscription. Configure both: when the primary is regenerated (after a leak,
// say) the secondary keeps the service running until the new primary is
// deployed.
type Keys struct {
	Primary   string // required
	Secondary string // optional
}

// Check validates both keys as Headers would send them (E_KEY, never naming a
// value): the primary is required, the secondary optional and different.
func (k Keys) Check() error {
	const op = "fonn.Keys"
	if err := check(op, k.Primary, "primary subscription key", signers.CodeKey, true); err != nil {
		return err
	}
	if err := check(op, k.Secondary, "secondary subscription key", signers.CodeKey, false); err != nil {
		return err
	}
	if k.Secondary == k.Primary {
		return signers.E(signers.CodeKey, op, "secondary subscription key repeats the primary")
	}
	return nil
}

// Other returns the key to try after refused was refused: the secondary after
// the primary and the primary after the secondary; false when there is no other
// key (no secondary, or refused is neither).
func (k Keys) Other(refused string) (string, bool) {
	switch {
	case k.Secondary == "":
		return "", false
	case refused == k.Primary:
		return k.Secondary, true
	case refused == k.Secondary:
		return k.Primary, true
	}
	return "", false
}

// KeyRefused reports whether an answer means the API gateway refused the
// subscription key (missing, invalid, or of an inactive subscription), so that
// the other key is worth one try. Fonn's document does not spell the answer
// out; the header is Azure API Management's, whose gateway answers 401 with a
// JSON body {"statusCode": 401, "message": "Access denied due to invalid
// subscription key. ..."}. A 401 for a refused access token comes from Fonn's
// API behind the gateway and does not name the subscription key, so the status
// alone cannot tell the two apart: the message does. The body is searched, not
// parsed, so that the browser module need not link a JSON decoder for it.
func KeyRefused(status int, body []byte) bool {
	return status == 401 && bytes.Contains(bytes.ToLower(body), []byte("subscription key"))
}

// Headers returns the header fields for c: Ocp-Apim-Subscription-Key and
// Authorization, plus impersonatedUserExternalId when it is set.
//
// Each value must be printable ASCII (0x20-0x7E), at most 8 KiB, with no leading
// or trailing blank: a CR or LF would let a value inject header fields, servers
// strip surrounding blanks, and fetch refuses non-Latin-1 values. The token is
// sent as is, so a "Bearer " prefix is the caller's choice, not added or removed.
// Errors, whose messages name the field but never repeat its value:
//   - E_KEY: the subscription key is empty or not a valid header value;
//   - E_TOKEN: the access token is empty or not a valid header value (a caller
//     with a token source fetches a new one);
//   - E_INPUT: the impersonated user id is not a valid header value.
func Headers(c Credentials) (signers.Header, error) {
	const op = "fonn.Headers"
	if err := check(op, c.SubscriptionKey, "subscription key", signers.CodeKey, true); err != nil {
		return nil, err
	}
	if err := check(op, c.AccessToken, "access token", signers.CodeToken, true); err != nil {
		return nil, err
	}
	if err := check(op, c.ImpersonatedUserExternalID, "impersonated user id", signers.CodeInput, false); err != nil {
		return nil, err
	}
	h := make(signers.Header, 3)
	h[HeaderSubscriptionKey] = c.SubscriptionKey
	h[HeaderAuthorization] = c.AccessToken
	if c.ImpersonatedUserExternalID != "" {
		h[HeaderImpersonatedUser] = c.ImpersonatedUserExternalID
	}
	return h, nil
}

// check validates one header value; name is the field's name for the message.
func check(op, v, name string, code signers.Code, required bool) error {
	if v == "" {
		if required {
			return signers.E(code, op, name+" is empty")
		}
		return nil
	}
	if len(v) > maxValue {
		return signers.E(code, op, name+" is longer than 8 KiB")
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c > 0x7e {
			return signers.E(code, op, name+" contains a control or non-ASCII character")
		}
	}
	if v[0] == ' ' || v[len(v)-1] == ' ' {
		return signers.E(code, op, name+" has leading or trailing whitespace")
	}
	return nil
}
