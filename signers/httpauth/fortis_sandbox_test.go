//go:build !js

package httpauth_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/apisign/apisign/internal/sandbox"
	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/fortis"
	"github.com/apisign/apisign/signers/httpauth"
	"github.com/apisign/apisign/signers/token"
)

// Fortis: HMAC works on v2/accountform, accountvaults, payform,
// routeraccountvault, salestax and transactions only. Without Strict a request
// elsewhere is signed, sent and refused by the emulator; with Strict it is
// E_INPUT and never sent. Root places the endpoints below the emulator's path.
func TestFortisHMACStrictAgainstEmulator(t *testing.T) {
	sb, base := emulators(t, sandbox.Options{})
	cr := sb.Credentials()
	signer, err := fortis.NewHMACSigner(cr.FortisDeveloperID, cr.FortisUserID, cr.FortisUserHashKey)
	if err != nil {
		t.Fatal(err)
	}
	var sent atomic.Int32
	counted := countingTransport{&sent}
	loose := &http.Client{Transport: &httpauth.FortisHMAC{Signer: signer, Base: counted}}
	strict := &http.Client{Transport: &httpauth.FortisHMAC{Signer: signer, Strict: true, Root: "/fortis", Base: counted}}

	if status, body, err := call(t, loose, "GET", base+"/fortis/v2/contacts", nil, nil); err != nil || status != 401 {
		t.Fatalf("loose, contacts: %d %s %v", status, body, err)
	}
	if sent.Load() != 1 {
		t.Fatalf("%d requests sent", sent.Load())
	}
	for _, path := range []string{"/fortis/v2/contacts", "/fortis/v2/transactionsX", "/v2/transactions", "/fortis"} {
		_, _, err := call(t, strict, "GET", base+path, nil, nil)
		if !errors.Is(err, signers.ErrInput) || !strings.Contains(err.Error(), "v2/transactions") {
			t.Errorf("strict, %s: %v, want E_INPUT naming the endpoints", path, err)
		}
		if err != nil && strings.Contains(err.Error(), cr.FortisUserHashKey) {
			t.Errorf("secret in %q", err)
		}
	}
	if sent.Load() != 1 {
		t.Fatalf("strict mode sent %d requests", sent.Load()-1)
	}
	for _, c := range []*http.Client{loose, strict} {
		if status, body, err := call(t, c, "GET", base+"/fortis/v2/transactions", nil, nil); err != nil || status != 200 {
			t.Fatalf("transactions: %d %s %v", status, body, err)
		}
	}
}

// countingTransport counts the requests that reach the network.
type countingTransport struct{ n *atomic.Int32 }

func (c countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}

// Fortis OAuth as a mode of the one Transport: a token refused with 401 is
// replaced once from the OAuthSource, and the request sent again.
func TestFortisOAuthTransportAgainstEmulator(t *testing.T) {
	sb, base := emulators(t, sandbox.Options{})
	var fetches atomic.Int32
	src, err := fortis.NewOAuthSource(fortis.OAuthConfig{Fetch: func(_ context.Context, refused token.Token) (token.Token, error) {
		if fetches.Add(1) == 1 {
			return token.Token{Value: "revoked-by-fortis"}, nil
		}
		return token.Token{Value: sb.IssueFortisOAuthToken()}, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Transport: &httpauth.Transport{Source: src,
		Authorizer: fortis.OAuthAuthorizer{DeveloperID: sb.Credentials().FortisDeveloperID}}}
	status, body, err := call(t, c, "GET", base+"/fortis/v2/transactions", nil, nil)
	if err != nil || status != 200 || fetches.Load() != 2 {
		t.Fatalf("%d %s %v, %d fetches", status, body, err, fetches.Load())
	}
	if status, _, err := call(t, c, "GET", base+"/fortis/v2/contacts", nil, nil); err != nil || status != 200 || fetches.Load() != 2 {
		t.Fatalf("second call: %d %v, %d fetches", status, err, fetches.Load())
	}
}

// Fortis OAuth: `Authorization: Bearer <access token>` with developer-id,
// through the one Transport. The OAuth process itself (grant, endpoints) is on
// a page outside Fortis' document, so Fetch is yours: here the emulator issues
// the token.
func ExampleTransport_fortisOAuth() {
	sb := sandbox.New(sandbox.Options{})
	api := httptest.NewServer(sb)
	defer api.Close()

	src, err := fortis.NewOAuthSource(fortis.OAuthConfig{
		Fetch: func(ctx context.Context, refused token.Token) (token.Token, error) {
			return token.Token{Value: sb.IssueFortisOAuthToken()}, nil // your OAuth client here
		},
	})
	if err != nil {
		panic(err)
	}
	client := &http.Client{Transport: &httpauth.Retry{Base: &httpauth.Transport{
		Source:     src,
		Authorizer: fortis.OAuthAuthorizer{DeveloperID: sb.Credentials().FortisDeveloperID},
	}}}
	resp, err := client.Get(api.URL + "/fortis/v2/transactions")
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	fmt.Println(resp.StatusCode)
	// Output: 200
}
