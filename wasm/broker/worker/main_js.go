//go:build js && wasm

// Command worker is the apisign broker as a Cloudflare Worker: the handler of
// package broker served by github.com/syumai/workers, its secrets read from the
// Worker's environment (vars and secrets, same names as natively), its upstream
// calls made with the Worker's fetch. See wrangler.jsonc and README.md in the
// parent folder; ./build.sh worker builds it into wasm/broker/build/.
package main

import (
	"log"
	"syscall/js"
	"time"

	"github.com/syumai/workers"
	"github.com/syumai/workers/cloudflare"
	"github.com/syumai/workers/cloudflare/fetch"

	"github.com/apisign/apisign/wasm/broker"
)

func main() {
	// Manual redirects: an upstream 3xx is answered as is, never followed to
	// another host with the broker's credentials.
	outbound := fetch.NewClient().HTTPClient(fetch.RedirectModeManual).Transport
	b, err := broker.New(getenv, outbound, broker.WithStore(isolateStore{}))
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

// isolateStore is a broker.Store in the isolate's JavaScript memory.
// syumai/workers instantiates a fresh Go module for every request, so Go
// memory lasts one request; a JavaScript global lasts as long as the isolate
// (what a Worker written in JavaScript keeps in a module-level variable), so a
// minted token is reused across requests until it nears expiry.
type isolateStore struct{}

const storeGlobal = "__apisignBrokerStore"

func storeMap() js.Value {
	g := js.Global()
	m := g.Get(storeGlobal)
	if m.IsUndefined() {
		m = g.Get("Map").New()
		g.Set(storeGlobal, m)
	}
	return m
}

func (isolateStore) Load(key string) (string, time.Time, bool) {
	e := storeMap().Call("get", key)
	if e.IsUndefined() {
		return "", time.Time{}, false
	}
	return e.Get("v").String(), time.UnixMilli(int64(e.Get("e").Float())), true
}

func (isolateStore) Save(key, value string, expires time.Time) {
	e := js.Global().Get("Object").New()
	e.Set("v", value)
	e.Set("e", float64(expires.UnixMilli()))
	storeMap().Call("set", key, e)
}

// isolateFirst reports whether this is the first call with key in the isolate.
func isolateFirst(key string) bool {
	m := storeMap()
	k := "once:" + key
	if m.Call("has", k).Bool() {
		return false
	}
	m.Call("set", k, true)
	return true
}
