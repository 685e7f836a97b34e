package fortis_test

import (
	"fmt"

	"github.com/apisign/apisign/signers/fortis"
)

// Fortis supports HMAC authentication on six endpoints only; SupportsHMAC
// tells them (and the paths below them) from the rest, and SignFor refuses the
// rest before a request is sent.
func ExampleSupportsHMAC() {
	for _, p := range []string{"/v2/transactions", "/v2/transactions/123?expand=x", "/v2/contacts"} {
		fmt.Println(p, fortis.SupportsHMAC(p))
	}
	// Output:
	// /v2/transactions true
	// /v2/transactions/123?expand=x true
	// /v2/contacts false
}
