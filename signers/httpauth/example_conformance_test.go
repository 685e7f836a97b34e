//go:build !js

package httpauth_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/apisign/apisign/internal/sandbox"
	"github.com/apisign/apisign/signers/ansira"
	"github.com/apisign/apisign/signers/httpauth"
	"github.com/apisign/apisign/signers/pace"
)

// NFON query parameters given unencoded: "+49" is a phone number, so it goes
// out (and is signed) as %2B49; a raw "+" would reach NFON as a space.
func ExampleNFONURL() {
	u, err := httpauth.NFONURL("https://portal-api.nfon.net:8090", "/api/customers/K1234/phone-books",
		[][2]string{{"search", "+49"}, {"name", "Base Device"}})
	if err != nil {
		panic(err)
	}
	fmt.Println(u)
	// Output: https://portal-api.nfon.net:8090/api/customers/K1234/phone-books?search=%2B49&name=Base%20Device
}

// Ansira's documented per-IP limits: one call every 200 ms on stage, every
// 100 ms on production. One Limiter per IP address, shared by every client
// there through httpauth.Pace.
func ExamplePace() {
	stage, _ := pace.New(pace.AnsiraStage, nil)
	production, _ := pace.New(pace.AnsiraProduction, nil)
	fmt.Println(stage.Interval(), production.Interval())
	client := &http.Client{Transport: &httpauth.Pace{Limiter: stage}}
	_ = client
	// Output: 200ms 100ms
}

// An Ansira listing page by page, filtered and ordered as Ansira's document
// writes it, against the sandbox's campaigns endpoint: the token source
// exchanges the client assertion, the Transport sends Bearer and
// Cache-Control: no-cache.
func ExampleAnsiraPages() {
	sb := sandbox.New(sandbox.Options{})
	api := httptest.NewServer(sb)
	defer api.Close()
	cr := sb.Credentials()
	src, err := ansira.NewTokenSource(ansira.Config{Doer: httpauth.NewDoer(nil), Params: ansira.TokenRequestParams{
		TokenURL: api.URL + "/ansira/oauth/v2/oauth-token", ClientID: cr.AnsiraClientID,
		ClientSecret: cr.AnsiraClientSecret, Assertion: cr.AnsiraAssertion, Scope: cr.AnsiraScope,
	}})
	if err != nil {
		panic(err)
	}
	client := &http.Client{Transport: &httpauth.Transport{Source: src, Authorizer: ansira.Authorizer{}}}
	type campaign struct{ Name string }
	records := func(body []byte) ([]campaign, error) {
		var page struct{ Data []campaign } // the endpoint's answer: {"data": [...], "meta": {...}}
		err := json.Unmarshal(body, &page)
		return page.Data, err
	}
	params := ansira.ListParams{
		Filter:   ansira.Filter("channel eq 'email'", ansira.Term{Op: " and ", Cond: "status eq 'completed'"}),
		OrderBy:  []string{"-name"},
		PageSize: 1,
	}
	for page, err := range httpauth.AnsiraPages(context.Background(), client, api.URL+"/ansira/api/v1/campaigns", params, records) {
		if err != nil {
			panic(err)
		}
		fmt.Println(page)
	}
	// Output:
	// [{Tenant newsletter Q2}]
	// [{Tenant newsletter Q1}]
}
