package nfon

import (
	"crypto/hmac"
	"crypto/sha1"
	"testing"
)

// The builders against the docs/PROTOCOLS.md ("NFON") vectors, written out
// here as literals, and without allocating when the buffer has room (the
// browser module's fast path relies on that).
func TestAppendStringToSign(t *testing.T) {
	const res = "/api/customers/K1234/phone-books"
	for _, c := range []struct{ method, md5, ct, want, auth string }{
		{"GET", "", "ignored", "GET\n" + vecDate + "\n" + res, "NFON-API " + vecKeyID + ":ofdQ9hgbzJ/n5f0iL2mXVXJ14T0="},
		{"POST", vecMD5, "application/json", "POST\n" + vecMD5 + "\napplication/json\n" + vecDate + "\n" + res, "NFON-API " + vecKeyID + ":1OPtkwRjA5ElFXJhVQ7I4uqKdwI="},
	} {
		buf := make([]byte, 0, 256)
		sts := AppendStringToSign(buf, c.method, c.md5, c.ct, vecDate, res)
		m := hmac.New(sha1.New, []byte(vecSecret))
		m.Write(sts)
		sum := m.Sum(nil)
		auth := AppendAuthorization(buf[len(sts):len(sts)], vecKeyID, sum)
		allocs := testing.AllocsPerRun(10, func() {
			AppendAuthorization(AppendStringToSign(buf[:0], c.method, c.md5, c.ct, vecDate, res), vecKeyID, sum)
		})
		if string(sts) != c.want {
			t.Errorf("%s: string to sign %q, want %q", c.method, sts, c.want)
		}
		if string(auth) != c.auth {
			t.Errorf("%s: Authorization %q, want %q", c.method, auth, c.auth)
		}
		s, err := mustSigner(t, vecKeyID, vecSecret).Sign(Request{Method: c.method, Resource: res, Body: []byte(vecBody), ContentType: c.ct, Date: vecTime})
		if err != nil || s.StringToSign != c.want || s.Header[HeaderAuthorization] != c.auth {
			t.Errorf("%s: Sign gives %q, %q, %v", c.method, s.StringToSign, s.Header[HeaderAuthorization], err)
		}
		if allocs != 0 {
			t.Errorf("%s: %v allocations", c.method, allocs)
		}
	}
}
