//go:build js && wasm

// Command worker is the apisign broker as a Cloudflare Worker: the handler of
// package broker served by github.com/syumai/workers, its secrets read from the
// Worker's environment (vars and secrets, same names as natively), its upstream
// calls made with the Worker's fetch. See wrangler.jsonc and README.md in the
// parent folder; ./build.sh worker builds it into wasm/broker/build/.
package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"syscall/js"

	"github.com/syumai/workers"
	"github.com/syumai/workers/cloudflare"
	"github.com/syumai/workers/cloudflare/fetch"

	"github.com/apisign/apisign/wasm/broker"
)

func main() {
	// Manual redirects: an upstream 3xx is answered as is, never followed to
	// another host with the broker's credentials.
	outbound := fetch.NewClient().HTTPClient(fetch.RedirectModeManual).Transport
	b, err := broker.New(getenv, outbound, broker.WithState(broker.NewRemoteState(callState)))
	if err != nil && isolateFirst("config-logged") {
		log.Print(err) // names of variables only, never values
	}
	workers.Serve(b)
}

// getenv reads a text binding (a var or a secret). A missing one is "": a
// binding can be null (workerd's fromEnvironment of an unset variable, see
// ../workerd.capnp), which cloudflare.Getenv would turn into "<null>".
func getenv(name string) string {
	v := cloudflare.GetBinding(name)
	if v.Type() != js.TypeString {
		return ""
	}
	return v.String()
}

// stateBinding is the Durable Object namespace of the broker's state (class
// BrokerState, state.mjs); stateName names its one object.
const (
	stateBinding = "BROKER_STATE"
	stateName    = "broker"
)

// callState sends one State operation to the deployment's BrokerState object
// (see broker.RemoteState). syumai/workers runs a fresh Go instance per
// request, so Go memory cannot hold what the deployment shares; the object
// can, and there is one of it. The stub's fetch ignores ctx, so the wait for
// its answer ends with ctx here.
func callState(ctx context.Context, request []byte) ([]byte, error) {
	type answer struct {
		body []byte
		err  error
	}
	done := make(chan answer, 1)
	go func() {
		body, err := fetchState(request)
		done <- answer{body, err}
	}()
	select {
	case a := <-done:
		return a.body, a.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// fetchState is one request to the BrokerState object.
func fetchState(request []byte) ([]byte, error) {
	ns, err := cloudflare.NewDurableObjectNamespace(stateBinding)
	if err != nil {
		return nil, err
	}
	stub, err := ns.Get(ns.IdFromName(stateName))
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequest("POST", "https://broker-state/", bytes.NewReader(request))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := stub.Fetch(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err == nil && resp.StatusCode != http.StatusOK {
		err = errors.New("broker state answered " + resp.Status)
	}
	return body, err
}

// isolateFirst reports whether this is the first call with key in the isolate
// (a JavaScript global: Go memory lasts one request).
func isolateFirst(key string) bool {
	const global = "__apisignBrokerOnce"
	g := js.Global()
	m := g.Get(global)
	if m.IsUndefined() {
		m = g.Get("Set").New()
		g.Set(global, m)
	}
	if m.Call("has", key).Bool() {
		return false
	}
	m.Call("add", key)
	return true
}
