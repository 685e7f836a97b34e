//go:build js && wasm

package main

import "github.com/apisign/apisign/signers/clock"

// skew is the module clock, shared by both faces: the local clock corrected by
// the offset learned from the last readable server Date header. The signing
// functions use it when no time is given; the client flows judge token expiry
// by it and feed it the Date headers they read. api.clock reads and feeds it
// through the two exports below.
var skew = clock.NewSkewed(clock.Real)

// exportSkew returns the module clock's correction in milliseconds: what the
// server Date headers seen so far say the local clock is behind.
//
//go:wasmexport apisign_skew
func exportSkew() float64 { return float64(skew.Offset().Milliseconds()) }

// exportObserve feeds the module clock one Date header value (input field 0)
// and returns 1 if it was readable, else 0.
//
//go:wasmexport apisign_observe
func exportObserve() (ret int32) {
	defer recoverExport(&ret)
	f, ok := inputs(1)
	if ok && skew.Observe(f[0]) {
		return 1
	}
	return 0
}
