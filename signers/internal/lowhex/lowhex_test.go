package lowhex

import (
	"encoding/hex"
	"testing"
)

func TestAsEncodingHex(t *testing.T) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	for _, b := range [][]byte{nil, {0}, {0xff, 0x10}, all} {
		if got, want := String(b), hex.EncodeToString(b); got != want {
			t.Errorf("%x: %s", b, got)
		}
		if got := string(Append([]byte("p"), b)); got != "p"+hex.EncodeToString(b) {
			t.Errorf("Append %x: %s", b, got)
		}
	}
}
