package broker

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/apisign/apisign/internal/sandbox"
	"github.com/apisign/apisign/internal/testkit"
)

// BenchmarkHandler is the broker's own cost per request, in memory: no
// sockets, the upstream the dev server's sandbox served in memory (which
// verifies every signature). bench/broker measures the same routes over TCP under
// load; the difference is the HTTP stack's.
func BenchmarkHandler(b *testing.B) {
	sb := sandbox.New(sandbox.Options{BaseURL: upstreamBase})
	env := sb.Env()
	env[EnvCallerSecret] = "bench-caller-secret-0123456789abcdef"
	env[EnvRateLimit] = "0/1m" // one caller sends every request: the handler's cost, not the limit's answer
	br, err := New(func(k string) string { return env[k] }, testkit.InMemory{Handler: sb}, WithLogger(func(string, ...any) {}))
	if err != nil {
		b.Fatal(err)
	}
	caller := MintCallerToken([]byte(env[EnvCallerSecret]), time.Now().Add(time.Hour))
	body := []byte(`{"data":[{"name":"displayName","value":"John Doe"},{"name":"displayNumber","value":"+49 (176) 12345678"}]}`)
	for _, c := range []struct {
		name, method, target string
		body                 []byte
		status               int
	}{
		{"keyfax-token-cached", "GET", "/keyfax/token", nil, http.StatusOK},
		{"nfon-get", "GET", "/nfon/api/customers/K1234/phone-books", nil, http.StatusOK},
		// To an entry, which the sandbox answers 405 after checking the
		// signature (403 if wrong): its phone book does not grow with b.N.
		{"nfon-post", "POST", "/nfon/api/customers/K1234/phone-books/1", body, http.StatusMethodNotAllowed},
	} {
		b.Run(c.name, func(b *testing.B) {
			serve := func() {
				r := httptest.NewRequest(c.method, c.target, bytes.NewReader(c.body))
				r.Header.Set(HeaderCaller, caller)
				if c.body != nil {
					r.Header.Set("Content-Type", "application/json")
				}
				w := httptest.NewRecorder()
				br.ServeHTTP(w, r)
				if w.Code != c.status {
					b.Fatalf("%s %s: %d %s", c.method, c.target, w.Code, w.Body)
				}
			}
			serve() // the token route mints here; later calls are cached
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				serve()
			}
		})
	}
}
