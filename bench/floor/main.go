//go:build js && wasm

// Command floor is the Go floor of the start-up benchmark: a GOOS=js module
// that registers one function and does nothing else. What a page pays to
// start it (fetch, compile, Go runtime start) is what any Go module pays;
// apisign's start-up is reported as a ratio to it, measured in the same run.
package main

import "syscall/js"

func main() {
	js.Global().Set("floorSign", js.FuncOf(func(js.Value, []js.Value) any { return "ok" }))
	select {}
}
