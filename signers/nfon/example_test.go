package nfon_test

import (
	"fmt"
	"time"

	"github.com/apisign/apisign/signers/nfon"
)

// Signing by hand with a fixed time is deterministic: this is the first NFON
// vector of shared/PROTOCOLS.md.
func ExampleSigner_Sign() {
	signer, err := nfon.NewSigner("3697ad86-fa77-4b25-9373-02dce48530ff", "nfon-example-secret")
	if err != nil {
		panic(err)
	}
	t := time.Date(2025, 8, 6, 14, 32, 0, 0, time.UTC)
	signed, err := signer.Sign(nfon.Request{Method: "GET", Resource: "/api/customers/K1234/phone-books", Date: t})
	if err != nil {
		panic(err)
	}
	fmt.Println(signed.Header["Authorization"])
	fmt.Printf("%q\n", signed.StringToSign)
	// Output:
	// NFON-API 3697ad86-fa77-4b25-9373-02dce48530ff:ofdQ9hgbzJ/n5f0iL2mXVXJ14T0=
	// "GET\nWed, 06 Aug 2025 14:32:00 GMT\n/api/customers/K1234/phone-books"
}
