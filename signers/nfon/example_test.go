package nfon_test

import (
	"fmt"
	"time"

	"github.com/apisign/apisign/signers/nfon"
)

// Signing by hand with a fixed time is deterministic: this is the first NFON
// vector of docs/PROTOCOLS.md ("NFON").
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

// Query parameters given unencoded: "+49" is a phone number, so NFON's rule sends
// and signs the plus as %2B (a raw "+" would reach the server as a space). The
// request must go out with exactly signed.Resource.
func ExampleRequest_query() {
	signer, err := nfon.NewSigner("3697ad86-fa77-4b25-9373-02dce48530ff", "nfon-example-secret")
	if err != nil {
		panic(err)
	}
	signed, err := signer.Sign(nfon.Request{
		Method:   "GET",
		Resource: "/api/customers/K1234/phone-books",
		Query:    [][2]string{{"search", "+49"}},
		Date:     time.Date(2025, 8, 6, 14, 32, 0, 0, time.UTC),
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(signed.Resource)
	// Output:
	// /api/customers/K1234/phone-books?search=%2B49
}
