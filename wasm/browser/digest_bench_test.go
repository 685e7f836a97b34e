//go:build js && wasm

package main

import (
	"crypto/md5"
	"crypto/sha256"
	"strconv"
	"testing"
)

// BenchmarkDigest is the body digests inside the module's runtime, without
// the JS boundary: crypto/md5 (NFON's Content-MD5, the Keyfax body hash) and
// crypto/sha256 as this module links them, compiled for GOOS=js and run in
// Node. bench/run.mjs reports it beside Node's OpenSSL; SHA-256 has no JS
// entry point of its own, MD5 is also measured through nfon.sign.
func BenchmarkDigest(b *testing.B) {
	for _, size := range []int{1 << 10, 64 << 10, 8 << 20} {
		data := make([]byte, size)
		for i := range data {
			data[i] = byte(i * 31)
		}
		b.Run("md5/"+strconv.Itoa(size), func(b *testing.B) {
			b.SetBytes(int64(size))
			for b.Loop() {
				md5.Sum(data)
			}
		})
		b.Run("sha256/"+strconv.Itoa(size), func(b *testing.B) {
			b.SetBytes(int64(size))
			for b.Loop() {
				sha256.Sum256(data)
			}
		})
	}
}
