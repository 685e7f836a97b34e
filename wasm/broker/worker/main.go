//go:build !js

// Command worker, built natively, serves the same broker handler with net/http
// on 127.0.0.1:$PORT (default 8787, wrangler dev's port), configured from the
// process environment: for local use without workerd. It serves with
// broker.Serve's timeouts and connection limit, and stops cleanly on SIGINT or
// SIGTERM. The Worker build is main_js.go (the same split as syumai/workers'
// handler.go / handler_js.go).
package main

import (
	"context"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/apisign/apisign/wasm/broker"
)

func main() {
	b, err := broker.New(os.Getenv, http.DefaultTransport)
	if err != nil {
		log.Print(err) // names of variables only, never values
	}
	port := os.Getenv("PORT")
	if port == "" {
		port = "8787"
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", port))
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log.Printf("apisign broker on http://%s/", ln.Addr())
	if err := broker.Serve(ctx, ln, b); err != nil {
		log.Fatal(err)
	}
}
