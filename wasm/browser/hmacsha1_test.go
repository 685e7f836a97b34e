//go:build js && wasm

package main

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"testing"
)

// TestHMACSHA1 checks the fast path's HMAC-SHA1 against crypto/hmac over
// every message length around the block boundaries (55/56/63/64 bytes of tail
// decide between one and two padding blocks), with keys shorter than, equal
// to and longer than a block.
func TestHMACSHA1(t *testing.T) {
	data := make([]byte, 300)
	for i := range data {
		data[i] = byte(i*131 + 7)
	}
	for _, klen := range []int{0, 1, 19, 63, 64, 65, 100} {
		key := data[len(data)-klen:]
		m := newHMACSHA1(key)
		for n := 0; n <= 200; n++ {
			msg := data[:n]
			ref := hmac.New(sha1.New, key)
			ref.Write(msg)
			if got := m.sum(msg); !hmac.Equal(got[:], ref.Sum(nil)) {
				t.Fatalf("hmac-sha1, key %d bytes, message %d bytes: %x, want %x", klen, n, got, ref.Sum(nil))
			}
		}
	}
}

// The HMAC-level vector of PROTOCOLS.md (a third-party implementation's
// string to sign and signature), independent of crypto/hmac.
func TestHMACSHA1Vector(t *testing.T) {
	m := newHMACSHA1([]byte("4f5f5402-da77-410a-9aad-fd5ef74f746e"))
	sum := m.sum([]byte("GET\nd41d8cd98f00b204e9800998ecf8427e\napplication/json\nSun, 31 Dec 2023 12:00:00 GMT\n/api/customers"))
	if got := base64.StdEncoding.EncodeToString(sum[:]); got != "UpujUjJOS5jywvmHSyw9dTl0SmM=" {
		t.Errorf("signature %s, want UpujUjJOS5jywvmHSyw9dTl0SmM=", got)
	}
}

func TestHMACSHA1NoAlloc(t *testing.T) {
	m := newHMACSHA1([]byte("nfon-example-secret"))
	msg := make([]byte, 117)
	if n := testing.AllocsPerRun(100, func() { m.sum(msg) }); n != 0 {
		t.Errorf("%v allocations per call, want 0", n)
	}
}

func BenchmarkHMACSHA1(b *testing.B) {
	m := newHMACSHA1([]byte("nfon-example-secret"))
	msg := make([]byte, 117) // the NFON POST vector's string to sign
	for b.Loop() {
		m.sum(msg)
	}
}
