//go:build js && wasm

// Command browser is apisign's browser module (GOOS=js GOARCH=wasm), loaded by
// web/apisign.mjs once per page and kept alive: it holds the state of the
// client flows (tokens, the clock skew learned from server Date headers) and
// the keyed HMAC states of the signing functions between calls.
//
// It has two faces:
//
//   - the pure signing functions, //go:wasmexport functions over buffers in
//     linear memory, called synchronously from JS without syscall/js (abi.go
//     and its generated numbers abi_layout.go, keys.go, nfon_fast.go, pure.go,
//     hmacsha1.go);
//   - the client flows, one syscall/js function ("native") that JS calls with an
//     operation name; asynchronous operations settle a JS promise from a
//     goroutine, over the page's fetch (jsbridge.go, clients.go, keyfax.go,
//     launch.go).
//
// Both use the module clock (clock.go). The test hooks (debug.go) are linked
// only into a test build: go build -tags apisign_debug.
//
// No client flow needs a long-lived secret: they hold short-lived tokens that a
// broker minted, or go through the broker's forwarding routes. The module
// links neither net/http (about 1.8 MB gzip) nor fmt of its own; every failure
// is a JS Error with a stable code, and a panic is recovered into an
// E_INTERNAL error so that the module keeps answering.
package main

import (
	"context"
	"os"
	"syscall/js"

	"github.com/apisign/apisign/signers"
)

// main hands the native function to the loader and stays alive. The loader
// passes the name of a one-shot global function in argv[1] (so that nothing
// else is left on the global object); it answers with its helpers.
func main() {
	if len(os.Args) < 2 {
		println("apisign: load this module with web/apisign.mjs")
		return
	}
	slot := js.Global().Get(os.Args[1])
	if slot.Type() != js.TypeFunction {
		println("apisign: load this module with web/apisign.mjs")
		return
	}
	helpers := slot.Invoke(js.FuncOf(dispatch), version)
	makeError = helpers.Get("makeError")
	useLoaderAwait(helpers.Get("await"))
	select {}
}

// version is the module's version, reported as api.version.
const version = "1.0.0"

// syncOp answers at once with a value or an error (which JS throws).
type syncOp func(args js.Value) (any, error)

// asyncOp runs on its own goroutine; its answer settles a promise.
type asyncOp func(ctx context.Context, args js.Value) (any, error)

var syncOps = map[string]syncOp{
	"keyfax.new": newKeyfaxClient,
	"fortis.new": newFortisClient,
	"ansira.new": newAnsiraClient,
	"fonn.new":   func(a js.Value) (any, error) { return newBrokerClient(a, "/fonn") },
	"nfon.new":   func(a js.Value) (any, error) { return newBrokerClient(a, "/nfon") },
	"free":       freeClient,

	"ansira.pages":      newAnsiraPages,
	"ansira.pages.stop": ansiraPagesStop,
}

var asyncOps = map[string]asyncOp{
	"keyfax.startup":    keyfaxStartup,
	"keyfax.example":    keyfaxExample,
	"keyfax.results":    keyfaxResults,
	"keyfax.wait":       keyfaxWait,
	"keyfax.renew":      keyfaxRenew,
	"keyfax.launch":     keyfaxLaunch,
	"fortis.request":    fortisRequest,
	"fortis.close":      fortisClose,
	"fortis.sso":        fortisSSO,
	"ansira.request":    ansiraRequest,
	"ansira.pages.next": ansiraPagesNext,
	"broker.request":    brokerRequest,
}

// dispatch is the native function: native(op, args) for a synchronous
// operation, returning its value or an ApisignError object (JS throws it);
// native(op, args, signal, resolve, reject) for an asynchronous one.
func dispatch(_ js.Value, a []js.Value) (ret any) {
	defer func() {
		if r := recover(); r != nil {
			ret = jsError(signers.E(signers.CodeInternal, "apisign", "internal error (recovered panic)"))
		}
	}()
	if len(a) < 2 || a[0].Type() != js.TypeString || a[1].Type() != js.TypeObject {
		return jsError(signers.E(signers.CodeInternal, "apisign", "native called without op and args"))
	}
	op, args := a[0].String(), a[1]
	if f, ok := syncOps[op]; ok {
		v, err := f(args)
		if err != nil {
			return jsError(err)
		}
		return v
	}
	f, ok := asyncOps[op]
	if !ok || len(a) < 5 {
		return jsError(signers.E(signers.CodeInternal, "apisign", "unknown operation"))
	}
	resolve, reject := a[3], a[4]
	ctx, done, err := signalContext(a[2])
	if err != nil {
		reject.Invoke(jsError(err))
		return nil
	}
	spawn(func() {
		defer done()
		v, err := runAsync(ctx, f, args)
		if err != nil {
			reject.Invoke(jsError(err))
			return
		}
		resolve.Invoke(v)
	})
	return nil
}

// idle hands a job to a goroutine that finished its last one. The
// asynchronous operations run on goroutines that live on, so that a stack
// grows to what the flows need once: a fresh goroutine starts with a small
// stack that the flows outgrow, and each growth copies it (about 50 µs a
// call in Chromium).
var idle = make(chan func())

// spawn runs job on an idle goroutine, or on a new one when none is idle.
// There are never more goroutines than operations that ran at once.
func spawn(job func()) {
	select {
	case idle <- job:
	default:
		go func() {
			for {
				job()
				job = <-idle
			}
		}()
	}
}

// runAsync runs f, turning a panic into E_INTERNAL and a context that ended
// into E_ABORTED (whatever error the interrupted step reported).
func runAsync(ctx context.Context, f asyncOp, args js.Value) (v any, err error) {
	defer func() {
		if r := recover(); r != nil {
			v, err = nil, signers.E(signers.CodeInternal, "apisign", "internal error (recovered panic)")
		}
	}()
	v, err = f(ctx, args)
	if err != nil && ctx.Err() != nil && signers.CodeOf(err) != signers.CodeAborted {
		err = signers.Wrap(signers.CodeAborted, "apisign", ctx.Err())
	}
	return v, err
}
