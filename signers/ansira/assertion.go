package ansira

import (
	"errors"
	"time"

	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/keyfax"
)

// AssertionExpiry reads the exp claim of a client assertion (a JWT), without
// verifying it: only Ansira can, and the point is to know ahead of time when
// Ansira will stop issuing tokens for it ("Access Tokens can be generated as long
// as the Client Assertion has not expired"). The JWT is read by keyfax.ReadJWT,
// the one unverified JWT reader of apisign. An assertion that is not a JWT with a
// numeric exp is E_CONFIG; the message never contains the assertion.
func AssertionExpiry(assertion string) (time.Time, error) {
	c, err := keyfax.ReadJWT(assertion)
	if err != nil {
		msg := "client assertion is not a JWT with an exp claim"
		var e *signers.Error
		if errors.As(err, &e) {
			msg += " (" + e.Msg + ")"
		}
		return time.Time{}, signers.E(signers.CodeConfig, "ansira.AssertionExpiry", msg)
	}
	return c.Exp, nil
}

// CheckAssertion reports how long the client assertion has left at now, for a
// start-up check or a status page. An assertion that cannot be read or whose exp
// is not after now is E_CONFIG, with the expiry in the message: edit the API
// client's Assertion Expiration Date in Ansira's developer portal and download a
// new assertion (which also invalidates every token issued so far).
func CheckAssertion(assertion string, now time.Time) (time.Duration, error) {
	exp, err := AssertionExpiry(assertion)
	if err != nil {
		return 0, err
	}
	if err := assertionExpired("ansira.CheckAssertion", exp, now); err != nil {
		return 0, err
	}
	return exp.Sub(now), nil
}

// assertionExpired is the E_CONFIG of an assertion whose exp is not after now;
// nil when it is, or when exp is unknown (zero).
func assertionExpired(op string, exp, now time.Time) error {
	if exp.IsZero() || now.Before(exp) {
		return nil
	}
	return signers.E(signers.CodeConfig, op, "the client assertion expired at "+exp.UTC().Format(time.RFC3339)+
		": Ansira issues no access token for it; set a new Assertion Expiration Date in the developer portal and configure a new assertion")
}
