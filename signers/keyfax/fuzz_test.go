package keyfax

import (
	"strings"
	"testing"

	"github.com/apisign/apisign/signers"
)

func FuzzParseBasic(f *testing.F) {
	f.Add("Basic Dev:28f7d828-3f78-4482-a0ac-5f5a64edd4b4:6yeZnOkqs/b/MrzpPDX0HkmVV2LcMU92A30vzj8zxwY=:3f2504e04f8941d39a0c0305e82c3301:1700000000")
	f.Add("basic  a:b:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=:00000000000000000000000000000000:0 ")
	f.Add("Basic a:b:c:d:e")
	f.Add("Basic ::::")
	f.Add("Bearer Dev:eyJ.eyJ.x")
	f.Add("Basic RGV2OmtleTpzaWc6bm9uY2U6MTcwMDAwMDAwMA==")
	f.Add("")
	f.Fuzz(func(t *testing.T, header string) {
		bf, err := ParseBasic(header)
		if err != nil {
			if signers.CodeOf(err) != signers.CodeInput {
				t.Fatalf("code %s", signers.CodeOf(err))
			}
			return
		}
		if !validID(bf.HostName) || !validID(bf.ApiKey) || !validNonce(bf.Nonce) || !validTimestamp(bf.Timestamp) || len(bf.Signature) != 44 {
			t.Fatalf("accepted invalid fields %+v", bf)
		}
		again, err := ParseBasic("Basic " + bf.HostName + ":" + bf.ApiKey + ":" + bf.Signature + ":" + bf.Nonce + ":" + bf.Timestamp)
		if err != nil || again != bf {
			t.Fatalf("round trip: %+v %v", again, err)
		}
	})
}

func FuzzReadJWT(f *testing.F) {
	f.Add(makeJWT(`{"exp":1700000000}`))
	f.Add(makeJWT(`{"exp":1700000000.5,"iat":1}`))
	f.Add(makeJWT(`{"exp":"1700000000"}`))
	f.Add(makeJWT(`{}`))
	f.Add(makeJWT(`[]`))
	f.Add(b64url(`{"alg":"none"}`) + "." + b64url(`{"exp":1}`) + ".")
	f.Add("a.b")
	f.Add("..")
	f.Add("eyJ=.eyJ=.=")
	f.Fuzz(func(t *testing.T, jwt string) {
		c, err := ReadJWT(jwt)
		if err != nil {
			if signers.CodeOf(err) != signers.CodeToken {
				t.Fatalf("code %s", signers.CodeOf(err))
			}
			if len(jwt) > 16 && strings.Contains(err.Error(), jwt) {
				t.Fatal("message echoes the token")
			}
			return
		}
		if c.Payload == nil || c.Header == nil {
			t.Fatalf("accepted without claims: %+v", c)
		}
		if _, err := Bearer("Dev", jwt); err != nil {
			t.Fatalf("ReadJWT accepts what Bearer refuses: %v", err)
		}
		if got, _, err := ParseTokenResponse([]byte(jwt)); err != nil || got != jwt {
			t.Fatalf("ParseTokenResponse(plain) = %q, %v", got, err)
		}
	})
}

func FuzzParseTokenResponse(f *testing.F) {
	jwt := makeJWT(`{"exp":1700000000}`)
	f.Add([]byte(jwt))
	f.Add([]byte(`"` + jwt + `"`))
	f.Add([]byte(`{"token":"` + jwt + `"}`))
	f.Add([]byte(`{"Access_Token":"` + jwt + `"}`))
	f.Add([]byte(`{"token":1}`))
	f.Add([]byte("\xef\xbb\xbf"))
	f.Fuzz(func(t *testing.T, body []byte) {
		got, c, err := ParseTokenResponse(body)
		if err != nil {
			if signers.CodeOf(err) != signers.CodeToken {
				t.Fatalf("code %s", signers.CodeOf(err))
			}
			return
		}
		if c2, err := ReadJWT(got); err != nil || !c2.Exp.Equal(c.Exp) {
			t.Fatalf("returned JWT does not read: %v", err)
		}
	})
}

// urlDecode inverts UrlEncode for the check below.
func urlDecode(t *testing.T, s string) string {
	var b []byte
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '+':
			b = append(b, ' ')
		case c == '%':
			if i+2 >= len(s) {
				t.Fatalf("truncated escape in %q", s)
			}
			h, l := strings.IndexByte(hexLower, s[i+1]), strings.IndexByte(hexLower, s[i+2])
			if h < 0 || l < 0 {
				t.Fatalf("escape not lower-case hex in %q", s)
			}
			b = append(b, byte(h<<4|l))
			i += 2
		case urlSafe(c):
			b = append(b, c)
		default:
			t.Fatalf("unescaped byte %q in %q", c, s)
		}
	}
	return string(b)
}

func FuzzUrlEncode(f *testing.F) {
	for _, s := range []string{"", "a b+c", "~!*()'", "é€😀", "\xff\x00", "https://Keyfax.example.com/A B?x=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got := urlDecode(t, UrlEncode(s)); got != s {
			t.Fatalf("round trip %q -> %q", s, got)
		}
	})
}

func FuzzStringToSign(f *testing.F) {
	f.Add("POST", "https://keyfax.example.com/Interview/api/v1/startup", []byte("{}"))
	f.Add("get", "HTTP://H:80?q=a b#x", []byte(nil))
	f.Add("PATCH", "http://[::1]:8080/é/\"<>", []byte{0xff})
	f.Add("GET", "http://u@h/", []byte(nil))
	f.Fuzz(func(t *testing.T, method, uri string, body []byte) {
		raw, err := StringToSign("k", method, uri, vTS, vNonce, body)
		if err != nil {
			if signers.CodeOf(err) != signers.CodeInput {
				t.Fatalf("code %s", signers.CodeOf(err))
			}
			return
		}
		w, err := WireURI(uri)
		if err != nil {
			t.Fatalf("StringToSign accepted what WireURI refuses: %v", err)
		}
		// The wire form signs the same and is a fixed point; it is visible ASCII.
		if again, err := WireURI(w); err != nil || again != w {
			t.Fatalf("WireURI not idempotent: %q -> %q (%v)", w, again, err)
		}
		for i := 0; i < len(w); i++ {
			if w[i] <= ' ' || w[i] >= 0x7f {
				t.Fatalf("wire form %q has byte %#x", w, w[i])
			}
		}
		raw2, err := StringToSign("k", strings.ToLower(method), w, vTS, vNonce, body)
		if err != nil || raw2 != raw {
			t.Fatalf("wire form signs differently: %q %q %v", raw, raw2, err)
		}
	})
}
