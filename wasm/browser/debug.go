//go:build js && wasm

package main

import (
	"context"
	"syscall/js"
)

// addDebugOps adds the test hooks to the native operations: a Go panic on the
// synchronous and the asynchronous path (each must answer E_INTERNAL and leave
// the module working) and an abortable sleep (abort handling without a
// network). Only test builds call it, the Go tests and the apisign_debug build
// (debug_build.go), so the linker leaves it out of the shipped module; the
// test "the shipped module has no test hooks" checks that.
func addDebugOps() {
	syncOps["debug.panic"] = func(js.Value) (any, error) { panic("apisign: test panic") }
	asyncOps["debug.panicAsync"] = func(context.Context, js.Value) (any, error) { panic("apisign: test panic") }
	asyncOps["debug.sleep"] = debugSleep
}

// debugSleep waits args[0] milliseconds or until aborted.
func debugSleep(ctx context.Context, args js.Value) (any, error) {
	d, err := millis(args.Index(0), 0)
	if err != nil {
		return nil, err
	}
	if err := skew.Sleep(ctx, d); err != nil {
		return nil, err
	}
	return true, nil
}
