package keyfax

import (
	"testing"

	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/token"
)

func TestAuthorizer(t *testing.T) {
	jwt := "eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjF9.c2ln"
	req := &signers.Request{Header: signers.Header{}}
	if err := (Authorizer{HostName: "Dev"}).Authorize(req, token.Token{Value: jwt}); err != nil {
		t.Fatal(err)
	}
	if got := req.Header.Get("Authorization"); got != "Bearer Dev:"+jwt {
		t.Fatalf("Authorization %q", got)
	}
	if err := (Authorizer{}).Authorize(req, token.Token{Value: jwt}); signers.CodeOf(err) != signers.CodeInput {
		t.Fatalf("no host name: %v", err)
	}
	a := Authorizer{}
	if !a.Refused(&signers.Response{Status: 401}) || a.Refused(&signers.Response{Status: 403}) || a.Active(&signers.Response{Status: 200}) {
		t.Fatal("Keyfax refuses a JWT with 401, and use does not extend it")
	}
}
