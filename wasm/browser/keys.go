//go:build js && wasm

package main

import (
	"encoding/binary"
	"strings"

	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/fortis"
	"github.com/apisign/apisign/signers/keyfax"
	"github.com/apisign/apisign/signers/nfon"
)

// maxKeys (abi_layout.go) bounds the key table. When it is full the table is
// cleared and its generation moves on, so every older handle becomes stale
// (retStale) and JS registers its key again: memory stays bounded whatever the
// caller does.

// nfonKey is an NFON key pair ready to sign: the core Signer (the reference,
// used for anything unusual) and the HMAC-SHA1 keyed with the secret for the
// allocation-free path (hmacsha1.go).
type nfonKey struct {
	keyID  string
	signer *nfon.Signer
	mac    *hmacSHA1
}

// keyEntry is one registered key; exactly one of the pointers is set.
type keyEntry struct {
	nfon   *nfonKey
	keyfax *keyfax.Signer
	fortis *fortis.HMACSigner
}

var (
	keyTable []keyEntry
	keyIndex        = map[string]int32{}
	keyGen   int32  = 1
	keyBuf   []byte // lookup key under construction, reused
)

// Handles are gen<<16 | (index+1), never 0 and never negative.
func handleOf(i int) int32 { return keyGen<<16 | int32(i+1) }

// exportKey registers the key whose fields are the inputs and returns its handle.
//
//go:wasmexport apisign_key
func exportKey(kind int32) (ret int32) {
	defer recoverExport(&ret)
	n := 3
	switch kind {
	case kindNFON:
		n = 2
	case kindKeyfax, kindFortis:
	default:
		return fail(signers.E(signers.CodeInput, "apisign.key", "unknown key kind"))
	}
	f, ok := inputs(n)
	if !ok {
		return fail(signers.E(signers.CodeInternal, "apisign.key", "input lengths do not fit the buffer"))
	}
	// The lookup key is the kind and each field with its length in front, so
	// that no two different field lists give the same key. Indexing a map with
	// string(bytes) does not allocate.
	keyBuf = append(keyBuf[:0], byte(kind))
	for _, s := range f[:n] {
		keyBuf = binary.LittleEndian.AppendUint32(keyBuf, uint32(len(s)))
		keyBuf = append(keyBuf, s...)
	}
	if h, ok := keyIndex[string(keyBuf)]; ok {
		return h
	}
	// The signers keep their ids: copy the fields out of the input buffer first.
	for i := range f[:n] {
		f[i] = strings.Clone(f[i])
	}
	var e keyEntry
	switch kind {
	case kindNFON:
		s, err := nfon.NewSigner(f[0], f[1])
		if err != nil {
			return fail(err)
		}
		e.nfon = &nfonKey{keyID: s.KeyID(), signer: s, mac: newHMACSHA1([]byte(f[1]))}
	case kindKeyfax:
		s, err := keyfax.NewSigner(f[0], f[1], f[2])
		if err != nil {
			return fail(err)
		}
		e.keyfax = s
	case kindFortis:
		s, err := fortis.NewHMACSigner(f[0], f[1], f[2])
		if err != nil {
			return fail(err)
		}
		e.fortis = s
	}
	if len(keyTable) >= maxKeys {
		forgetKeys()
	}
	keyTable = append(keyTable, e)
	h := handleOf(len(keyTable) - 1)
	keyIndex[string(keyBuf)] = h
	return h
}

// exportForget drops every registered key (api.forgetKeys()).
//
//go:wasmexport apisign_forget
func exportForget() { forgetKeys() }

func forgetKeys() {
	clear(keyTable) // let the signers and their keyed states go
	keyTable = keyTable[:0]
	clear(keyIndex)
	keyGen++
	if keyGen >= 1<<15 {
		keyGen = 1
	}
}

// lookupKey returns the entry of handle h, or ok=false when h is stale or
// unknown.
func lookupKey(h int32) (keyEntry, bool) {
	i := int(h&0xffff) - 1
	if h>>16 != keyGen || i < 0 || i >= len(keyTable) {
		return keyEntry{}, false
	}
	return keyTable[i], true
}
