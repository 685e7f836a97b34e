package fonn

import (
	"testing"

	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/token"
)

func TestAuthorizer(t *testing.T) {
	req := &signers.Request{Header: signers.Header{}}
	a := Authorizer{SubscriptionKey: "sub", ImpersonatedUserExternalID: "ext"}
	if err := a.Authorize(req, token.Token{Value: "raw-token"}); err != nil {
		t.Fatal(err)
	}
	if req.Header.Get(HeaderAuthorization) != "raw-token" || req.Header.Get(HeaderSubscriptionKey) != "sub" || req.Header.Get(HeaderImpersonatedUser) != "ext" {
		t.Fatalf("sent %v", req.Header)
	}
	if err := (Authorizer{}).Authorize(req, token.Token{Value: "t"}); signers.CodeOf(err) != signers.CodeKey {
		t.Fatalf("no subscription key: %v", err)
	}
	if !a.Refused(&signers.Response{Status: 401}) || a.Refused(&signers.Response{Status: 403}) {
		t.Fatal("401 is Fonn's refusal")
	}
	keyRefused := []byte(`{"statusCode": 401, "message": "Access denied due to invalid subscription key. Make sure to provide a valid key for an active subscription."}`)
	if a.Refused(&signers.Response{Status: 401, Body: keyRefused}) {
		t.Fatal("a refused subscription key taken for a refused token")
	}
}
