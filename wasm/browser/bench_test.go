//go:build js && wasm

package main

import (
	"crypto/hmac"
	"crypto/sha1"
	"testing"
	"time"

	"github.com/apisign/apisign/signers/nfon"
)

// Benchmarks of the Go side of the signing fast path, for the benchmark
// issue: the parts of an NFON signature, and whole calls through the exports.
// The JS side adds its own cost (see web/apisign.mjs).

func BenchmarkParts(b *testing.B) {
	t := time.UnixMilli(1754490720000)
	buf := make([]byte, 0, 256)
	b.Run("format", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			buf = t.UTC().AppendFormat(buf[:0], nfon.DateLayout)
		}
	})
	b.Run("normalize", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			nfon.NormalizeResource("/api/customers/K1234/phone-books?search=I%20Am%20Encoded")
		}
	})
	m := hmac.New(sha1.New, []byte("nfon-example-secret"))
	msg := make([]byte, 116)
	var sum [sha1.Size]byte
	b.Run("hmac-std", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			m.Reset()
			m.Write(msg)
			m.Sum(sum[:0])
		}
	})
	fast := newHMACSHA1([]byte("nfon-example-secret"))
	b.Run("hmac", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			fast.sum(msg)
		}
	})
	b.Run("sha1", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			sha1.Sum(msg)
		}
	})
	k := &nfonKey{keyID: "k", mac: newHMACSHA1([]byte("nfon-example-secret"))}
	k.signer, _ = nfon.NewSigner("k", "nfon-example-secret")
	b.Run("sign", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			nfonSign(k, "GET", "/api/customers/K1234/phone-books?search=I%20Am%20Encoded", nil, "", t)
		}
	})
	body := []byte(`{"data":[{"name":"displayName","value":"John Doe"},{"name":"displayNumber","value":"+49 (176) 12345678"}]}`)
	b.Run("sign-post", func(b *testing.B) { // the benchmark issue's NFON POST: a 117-byte string to sign
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			nfonSign(k, "POST", "/api/customers/K1234/phone-books", body, "application/json", t)
		}
	})
}

func BenchmarkKeyfaxBasic(b *testing.B) {
	setInputs(b, "Dev", "k", "c2VjcmV0")
	h := exportKey(kindKeyfax)
	setInputs(b, "POST", "https://keyfax.example.com/Interview/api/v1/startup", `{"a":1}`, "3f2504e04f8941d39a0c0305e82c3301", "")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		exportCall(fnKeyfaxBasic, h, 1700000000000)
	}
}

func BenchmarkFortisHMAC(b *testing.B) {
	setInputs(b, "d", "u", "k")
	h := exportKey(kindFortis)
	setInputs(b, "")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		exportCall(fnFortisHMAC, h, 1422283692000)
	}
}
