//go:build !js

// Command worker, built natively, serves the same broker handler with net/http
// on 127.0.0.1:$PORT (default 8787, wrangler dev's port), configured from the
// process environment: for local use without workerd. The Worker build is
// main_js.go (the same split as syumai/workers' handler.go / handler_js.go).
package main

import (
	"log"
	"net"
	"net/http"
	"os"
	"time"

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
	srv := &http.Server{
		Addr:              net.JoinHostPort("127.0.0.1", port),
		Handler:           b,
		ReadHeaderTimeout: 10 * time.Second,
	}
	log.Printf("apisign broker on http://%s/", srv.Addr)
	log.Fatal(srv.ListenAndServe())
}
