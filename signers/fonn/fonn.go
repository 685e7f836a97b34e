// Package fonn builds the authentication headers of the Fonn API. Fonn signs
// nothing: every call carries two credentials in the clear, over TLS,
//
//	Ocp-Apim-Subscription-Key: <subscription key>   (the API gateway's key)
//	Authorization: <access token>                   (the raw token, no scheme word)
//	impersonatedUserExternalId: <external id>       (optional: act as that user)
//
// and the gateway answers 429 with Retry-After (seconds) when the subscription is
// over its rate; signers/retry handles that.
//
// The subscription key is a long-lived secret: it belongs on a server (the
// broker), so browser calls to Fonn go through the broker's forwarding route.
package fonn

import "github.com/apisign/apisign/signers"

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
	ImpersonatedUserExternalID string // optional
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
	if err := check(c.SubscriptionKey, "subscription key", signers.CodeKey, true); err != nil {
		return nil, err
	}
	if err := check(c.AccessToken, "access token", signers.CodeToken, true); err != nil {
		return nil, err
	}
	if err := check(c.ImpersonatedUserExternalID, "impersonated user id", signers.CodeInput, false); err != nil {
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
func check(v, name string, code signers.Code, required bool) error {
	const op = "fonn.Headers"
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
