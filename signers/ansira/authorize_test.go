package ansira

import (
	"context"
	"testing"

	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/flow"
	"github.com/apisign/apisign/signers/token"
)

// Ansira's errors section: 403 = expired or lacking scope, so one new token
// and one retry; 401 = token missing, not a refresh case.
func TestAuthorizerRefreshesOn403Only(t *testing.T) {
	for _, c := range []struct {
		status         int
		sends, fetches int
	}{{403, 2, 2}, {401, 1, 1}, {200, 1, 1}} {
		fetches := 0
		src, err := NewTokenSource(Config{Fetch: func(context.Context, token.Token) (token.Token, error) {
			fetches++
			return token.Token{Value: "at-" + string(rune('0'+fetches))}, nil
		}})
		if err != nil {
			t.Fatal(err)
		}
		var sent []signers.Header
		doer := signers.DoerFunc(func(_ context.Context, r *signers.Request) (*signers.Response, error) {
			sent = append(sent, r.Header)
			st := c.status
			if len(sent) == 2 {
				st = 200
			}
			return &signers.Response{Status: st}, nil
		})
		resp, err := flow.Do(context.Background(), doer, src, &signers.Request{Method: "GET", URL: "https://api/x"}, Authorizer{})
		if err != nil || len(sent) != c.sends || fetches != c.fetches {
			t.Fatalf("%d: %v %v, %d sends %d fetches", c.status, resp, err, len(sent), fetches)
		}
		last := sent[len(sent)-1]
		if last.Get("Authorization") != "Bearer at-"+string(rune('0'+fetches)) || last.Get("Cache-Control") != "no-cache" {
			t.Fatalf("%d: sent %v", c.status, last)
		}
	}
}
