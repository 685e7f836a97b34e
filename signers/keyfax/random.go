//go:build !(js && wasm && apisign_browser)

package keyfax

import "crypto/rand"

// readRandom fills b from the operating system's cryptographic random source.
// The browser module reads the page's instead (random_browser.go).
func readRandom(b []byte) error {
	_, err := rand.Read(b)
	return err
}
