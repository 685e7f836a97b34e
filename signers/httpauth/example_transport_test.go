//go:build !js

package httpauth_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"

	"github.com/apisign/apisign/internal/sandbox"
	"github.com/apisign/apisign/signers/ansira"
	"github.com/apisign/apisign/signers/fortis"
	"github.com/apisign/apisign/signers/httpauth"
	"github.com/apisign/apisign/signers/token"
)

// A token-authorized provider through the one Transport: Ansira's rule
// (Bearer, Cache-Control: no-cache; 403 = refused) with a token source. The
// server here refuses the first token; the Transport fetches one more and
// resends the request once.
func ExampleTransport() {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer token-2" {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		fmt.Fprintln(w, "hello with", r.Header.Get("Authorization"))
	}))
	defer api.Close()
	n := 0
	src := token.NewCache(func(context.Context, token.Token) (token.Token, error) {
		n++ // in real use: an *ansira.TokenSource, which asks Ansira's token endpoint
		return token.Token{Value: "token-" + strconv.Itoa(n)}, nil
	}, 0, nil)
	client := &http.Client{Transport: &httpauth.Retry{Base: &httpauth.Transport{Source: src, Authorizer: ansira.Authorizer{}}}}
	resp, err := client.Get(api.URL + "/api/campaigns")
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Print(resp.StatusCode, " ", string(body))
	// Output: 200 hello with Bearer token-2
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
