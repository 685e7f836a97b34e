// Package lowhex writes bytes as lower-case hex digits, as the signers' wire
// formats want them (NFON's Content-MD5, Fortis' hash key, Keyfax's nonce). It
// stands in for encoding/hex, which links fmt into the browser module.
package lowhex

const digits = "0123456789abcdef"

// Append appends the lower-case hex digits of b to dst. It allocates only
// when dst has no room.
func Append(dst, b []byte) []byte {
	for _, c := range b {
		dst = append(dst, digits[c>>4], digits[c&15])
	}
	return dst
}

// String returns the lower-case hex digits of b.
func String(b []byte) string { return string(Append(make([]byte, 0, 2*len(b)), b)) }
