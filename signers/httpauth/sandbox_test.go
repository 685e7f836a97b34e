//go:build !js

package httpauth_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/apisign/apisign/internal/sandbox"
)

// emulators serves the sandbox's provider emulators (internal/sandbox, which
// answer as the vendors' documents say) on a 127.0.0.1 server and returns them
// with their base URL.
func emulators(t *testing.T, opts sandbox.Options) (*sandbox.Sandbox, string) {
	t.Helper()
	var sb *sandbox.Sandbox
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { sb.ServeHTTP(w, r) }))
	t.Cleanup(ts.Close)
	opts.BaseURL = ts.URL
	sb = sandbox.New(opts)
	return sb, ts.URL
}

// call sends a request built from method, url and body with c, within a
// bounded time, and returns the answer's status and body; a transport error
// is returned as is.
func call(t *testing.T, c *http.Client, method, url string, body io.Reader, header http.Header) (int, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b), nil
}
