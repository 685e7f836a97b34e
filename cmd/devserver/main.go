// Command devserver serves the apisign demo on one port of 127.0.0.1:
//
//	/                     the static files of web/ (the demo page, apisign.mjs, apisign.wasm)
//	/broker/              the broker (wasm/broker), configured for the sandbox
//	/sandbox/             the provider emulators (internal/sandbox)
//	GET /site/caller-token  a 10-minute scoped broker caller token, as an embedding site's backend mints it
//	GET /site/config        the public settings the demo page needs (URLs, host name; no secret)
//
// The broker is built from the sandbox's Env plus APISIGN_ALLOWED_ORIGINS (this
// server's origin) and a caller secret drawn at start, which only this process
// knows. So the demo runs end to end with no real credentials, and the page
// holds nothing long-lived, exactly as it would in production.
//
// It answers only requests whose Host is its own loopback address
// (127.0.0.1:port or localhost:port; anything else 421): a page of another
// site that points its own name at 127.0.0.1 (DNS rebinding) gets neither a
// caller token nor the broker. Slow and numerous clients are bounded by
// broker.Serve's limits.
//
// Usage: go run ./cmd/devserver [-port N] [-web DIR] [-secrets-out FILE]   (PORT
// in the environment sets the default port; -port 0 picks a free one;
// -secrets-out is for the leak-scan test, which must know every secret the
// broker holds to prove that none reaches the page). Stop it with Ctrl-C.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/apisign/apisign/internal/sandbox"
	"github.com/apisign/apisign/wasm/broker"
)

// callerTokenLifetime is how long a caller token from /site/caller-token lasts:
// short, as the broker contract asks; the page fetches a new one when needed.
const callerTokenLifetime = 10 * time.Minute

// demoFonnUser is the Fonn user the demo page acts as (web/demo.mjs): the only
// one its caller tokens allow it to impersonate.
const demoFonnUser = "site-manager-42"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "devserver:", err)
		os.Exit(1)
	}
}

// run parses the flags, listens, prints the URL once listening and serves
// until ctx ends (SIGINT/SIGTERM in main), then shuts down cleanly.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("devserver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	defPort := 8080
	if p := os.Getenv("PORT"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil {
			return errors.New("PORT is not a port number")
		}
		defPort = n
	}
	port := fs.Int("port", defPort, "port on 127.0.0.1 (0 picks a free one; default $PORT or 8080)")
	web := fs.String("web", "web", "directory of the demo page and the built module")
	secretsOut := fs.String("secrets-out", "", "write the broker's environment (every secret it holds) as JSON to this file, mode 0600, for the leak-scan test; never served")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return errors.New("unexpected arguments: " + strings.Join(fs.Args(), " "))
	}
	if *port < 0 || *port > 65535 {
		return errors.New("port must be between 0 and 65535")
	}
	if st, err := os.Stat(*web); err != nil || !st.IsDir() {
		return fmt.Errorf("web directory %q not found (run from the repository root, or pass -web)", *web)
	}
	if _, err := os.Stat(filepath.Join(*web, "apisign.wasm")); err != nil {
		fmt.Fprintf(stderr, "devserver: %s has no apisign.wasm yet: run ./build.sh build\n", *web)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(*port)))
	if err != nil {
		return err
	}
	srv := newServer("http://"+ln.Addr().String(), *web, log.New(stderr, "devserver: ", 0))
	if *secretsOut != "" {
		b, _ := json.Marshal(srv.env)
		if err := os.WriteFile(*secretsOut, b, 0o600); err != nil {
			ln.Close()
			return err
		}
	}
	fmt.Fprintf(stdout, "apisign demo: %s/\n", srv.origin)
	return broker.Serve(ctx, ln, srv.handler)
}

// server is the dev server's state: its origin, the sandbox and the caller
// secret it shares with its broker (as an embedding site's backend would).
type server struct {
	origin  string
	hosts   map[string]bool // the Host values it answers: 127.0.0.1:port, localhost:port
	sandbox *sandbox.Sandbox
	secret  []byte
	env     map[string]string // the broker's environment: secrets, never served
	handler http.Handler
}

// newServer builds the handler for a server reachable at origin
// (http://127.0.0.1:port) serving webDir. Broker configuration problems are
// logged, not fatal: the broker still serves the providers it could set up.
func newServer(origin, webDir string, logger *log.Logger) *server {
	sb := sandbox.New(sandbox.Options{BaseURL: origin + "/sandbox"})
	s := &server{origin: origin, sandbox: sb, secret: []byte(broker.NewCallerSecret())}

	env := sb.Env()
	env[broker.EnvCallerSecret] = string(s.secret)
	host := strings.TrimPrefix(origin, "http://")
	s.hosts = map[string]bool{host: true}
	origins := origin
	if _, port, err := net.SplitHostPort(host); err == nil {
		origins += ",http://localhost:" + port // the same server, as a browser may name it
		s.hosts["localhost:"+port] = true
	}
	env[broker.EnvAllowedOrigins] = origins
	s.env = env
	// The sandbox is on this host: no proxy, whatever the environment says.
	outbound := http.DefaultTransport.(*http.Transport).Clone()
	outbound.Proxy = nil
	b, err := broker.New(func(k string) string { return env[k] }, outbound, broker.WithLogger(logger.Printf))
	if err != nil {
		logger.Printf("broker configuration: %v", err)
	}

	mux := http.NewServeMux()
	mux.Handle("/broker/", http.StripPrefix("/broker", b))
	mux.Handle("/sandbox/", http.StripPrefix("/sandbox", sb))
	mux.HandleFunc("GET /site/caller-token", s.callerToken)
	mux.HandleFunc("GET /site/config", s.config)
	mux.Handle("/", static(webDir))
	s.handler = s.ownHost(mux)
	return s
}

// ownHost answers only requests for this server's own loopback names (F6):
// a DNS-rebinding page reaches 127.0.0.1 under its own name, which is refused
// with 421 Misdirected Request before any route runs.
func (s *server) ownHost(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.hosts[strings.ToLower(r.Host)] {
			http.Error(w, "this server answers only "+s.origin+" (Host "+strconv.Quote(r.Host)+" is not its own)", http.StatusMisdirectedRequest)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// callerToken plays the embedding site's backend: it mints a short-lived
// caller token for the page, scoped to what the demo uses: the five
// providers, the one Fonn user the demo acts as, and the page's origin (the
// name it was loaded under). It sends no CORS headers, so only pages of this
// origin can read it; a real site would also check its user's session here
// and name the user as the subject.
func (s *server) callerToken(w http.ResponseWriter, r *http.Request) {
	exp := time.Now().Add(callerTokenLifetime).Truncate(time.Second)
	tok := broker.MintCallerToken(s.secret, exp,
		broker.WithSubject("demo"),
		broker.WithRoutes("keyfax", "ansira", "fortis", "nfon", "fonn"),
		broker.WithFonnUser(demoFonnUser),
		broker.WithOrigin("http://"+strings.ToLower(r.Host)))
	writeJSON(w, map[string]string{"token": tok, "expiresAt": exp.UTC().Format(time.RFC3339)})
}

// config answers the public settings of the demo page: where the broker and
// the emulators are, the Keyfax host name (sent in every Bearer header anyway)
// and a sample path per provider. Never a key, secret, password or token.
func (s *server) config(w http.ResponseWriter, r *http.Request) {
	env := s.sandbox.Env()
	base := s.sandbox.BaseURL()
	writeJSON(w, map[string]any{
		"brokerUrl":  s.origin + "/broker",
		"sandboxUrl": base,
		"keyfax":     map[string]string{"baseUrl": env["KEYFAX_BASE_URL"], "hostName": env["KEYFAX_HOST_NAME"]},
		"fortis":     map[string]string{"baseUrl": env["FORTIS_BASE_URL"], "samplePath": "/v2/transactions"},
		"ansira":     map[string]string{"apiBaseUrl": base + "/ansira", "samplePath": "/api/v1/campaigns"},
		"nfon":       map[string]string{"samplePath": "/api/customers/K1234/phone-books"},
		"fonn":       map[string]string{"samplePath": "/api/v1/projects"},
	})
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(append(b, '\n'))
}
