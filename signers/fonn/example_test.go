package fonn_test

import (
	"fmt"

	"github.com/apisign/apisign/signers/fonn"
)

// A subscription's two keys: when the gateway refuses one (KeyRefused), the
// other is worth one try, so the primary can be regenerated without downtime.
func ExampleKeys_Other() {
	keys := fonn.Keys{Primary: "primary-key", Secondary: "secondary-key"}
	refused := fonn.KeyRefused(401, []byte(`{"statusCode": 401, "message": "Access denied due to invalid subscription key."}`))
	next, ok := keys.Other(keys.Primary)
	fmt.Println(refused, next, ok)
	// Output: true secondary-key true
}
