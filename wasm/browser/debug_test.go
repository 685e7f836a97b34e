//go:build js && wasm

package main

// The Go tests call the test hooks through dispatch, as the apisign_debug
// build does.
func init() { addDebugOps() }
