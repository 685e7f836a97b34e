//go:build js && wasm && apisign_browser

package keyfax

import (
	"errors"
	"syscall/js"
)

// readRandom fills b from the page's crypto.getRandomValues, the source
// crypto/rand reads on GOOS=js too. The browser module (built with the tag
// apisign_browser) uses it because crypto/rand links math/big and, through
// it, fmt and reflect: about 60 KB of its brotli size (BENCHMARKS.md, "Module
// size").
func readRandom(b []byte) (err error) {
	defer func() {
		if recover() != nil {
			err = errors.New("crypto.getRandomValues failed")
		}
	}()
	u := js.Global().Get("Uint8Array").New(len(b))
	js.Global().Get("crypto").Call("getRandomValues", u)
	if js.CopyBytesToGo(b, u) != len(b) {
		return errors.New("crypto.getRandomValues gave too few bytes")
	}
	return nil
}
