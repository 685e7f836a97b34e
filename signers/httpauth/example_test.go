package httpauth_test

import (
	"net/http"

	"github.com/apisign/apisign/signers/clock"
	"github.com/apisign/apisign/signers/httpauth"
	"github.com/apisign/apisign/signers/nfon"
)

// The README's example: NFON signing with clock-skew correction, under the
// retry policy. Compiled with the tests, so the README cannot drift from the API.
func Example() {
	signer, err := nfon.NewSigner("3697ad86-fa77-4b25-9373-02dce48530ff", "nfon-example-secret")
	if err != nil {
		panic(err)
	}
	skewed := clock.NewSkewed(clock.Real) // learns the server's time from its Date header
	client := &http.Client{Transport: &httpauth.Retry{
		Base: &httpauth.NFON{Signer: signer, Clock: skewed, Base: &httpauth.Skew{Clock: skewed}},
	}}
	_ = client // client.Get("https://portal-api.example.com/api/customers/K1234/phone-books")
}
