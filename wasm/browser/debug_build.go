//go:build js && wasm && apisign_debug

package main

// The test build of the module (go build -tags apisign_debug): the test hooks
// of debug.go, and a Go panic on the path of the signing exports. The loader
// offers them as api._debug when the module has apisign_debug_panic.

func init() { addDebugOps() }

//go:wasmexport apisign_debug_panic
func exportDebugPanic() (ret int32) {
	defer recoverExport(&ret)
	panic("apisign: test panic")
}
