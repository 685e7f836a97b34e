package nfon

import (
	"crypto/md5"
	"encoding/hex"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/apisign/apisign/signers"
)

func md5Hex(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

// onlyWireBytes reports whether s holds only bytes NormalizeResource keeps, with
// every "%" starting a valid escape: no "+" anywhere, no "=" in the path, no "/"
// in the query, at most one "=" per query pair.
func onlyWireBytes(s string) bool {
	query, eq := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return false
			}
			i += 2
			continue
		case c == '?':
			query = true
		case c == '&':
			eq = false
		case c == '=':
			if !query || eq {
				return false
			}
			eq = true
		case c == '/':
			if query {
				return false
			}
		}
		if !strings.ContainsRune("/?&=:@!$'(),;*-._~", rune(c)) &&
			!('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

func FuzzNormalizeResource(f *testing.F) {
	for _, s := range []string{
		"/", "/api/customers/K1234/phone-books?search=I%20Am%20Encoded", "/api/Base Device",
		"/Müller", "/%zz", "/%4", "/a#b", "", "x", "/a?b=c&d=e+f", "/\x00\xff\r\n", "/%2f%2F",
		"/[]{}|\\^`\"<>", "/a%25b", "/x?search=+49", "/a=b?c=d=e&f/g",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := NormalizeResource(in)
		if err != nil {
			if !errors.Is(err, signers.ErrInput) {
				t.Fatalf("error code %v", err)
			}
			return
		}
		if out == "" || out[0] != '/' {
			t.Fatalf("output %q does not start with /", out)
		}
		if !onlyWireBytes(out) {
			t.Fatalf("output %q has bytes outside the wire set", out)
		}
		again, err := NormalizeResource(out)
		if err != nil || again != out {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", in, out, again, err)
		}
		// Decoding gives back the input: nothing was encoded twice or lost.
		dec, err := url.PathUnescape(out)
		din, err2 := url.PathUnescape(in)
		if err != nil || err2 != nil || dec != din {
			t.Fatalf("decoded %q (%v) != decoded input %q (%v)", dec, err, din, err2)
		}
		if onlyWireBytes(in) && out != in {
			t.Fatalf("wire-form input changed: %q -> %q", in, out)
		}
	})
}

func FuzzEncodeResource(f *testing.F) {
	f.Add("api", "Base Device", "search", "I Am Encoded")
	f.Add("Müller", "a/b", "k=", "+49 (176)")
	f.Add("", "%zz", "#", "&?")
	f.Fuzz(func(t *testing.T, s1, s2, k, v string) {
		out := EncodeResource([]string{s1, s2}, [][2]string{{k, v}, {v, k}})
		if !onlyWireBytes(out) {
			t.Fatalf("output %q has bytes outside the wire set", out)
		}
		n, err := NormalizeResource(out)
		if err != nil || n != out {
			t.Fatalf("NormalizeResource changed encoded output %q -> %q, %v", out, n, err)
		}
		// Structure: exactly the delimiters EncodeResource wrote.
		path, query, _ := strings.Cut(out, "?")
		segs := strings.Split(path, "/")
		if len(segs) != 3 || segs[0] != "" {
			t.Fatalf("path %q does not have two segments", path)
		}
		for i, want := range []string{s1, s2} {
			got, err := url.PathUnescape(segs[i+1])
			if err != nil || got != want {
				t.Fatalf("segment %d: %q -> %q, %v", i, want, got, err)
			}
		}
		pairs := strings.Split(query, "&")
		if len(pairs) != 2 {
			t.Fatalf("query %q", query)
		}
		for i, want := range [][2]string{{k, v}, {v, k}} {
			ek, ev, ok := strings.Cut(pairs[i], "=")
			gk, err1 := url.PathUnescape(ek)
			gv, err2 := url.PathUnescape(ev)
			if !ok || err1 != nil || err2 != nil || gk != want[0] || gv != want[1] {
				t.Fatalf("pair %d: %q", i, pairs[i])
			}
		}
	})
}

func FuzzParseAuthorization(f *testing.F) {
	f.Add("NFON-API 3697ad86-fa77-4b25-9373-02dce48530ff:ofdQ9hgbzJ/n5f0iL2mXVXJ14T0=")
	f.Add("nfon-api k:7HXhfWhFeAJCqkOG1cmbBAZG/Xo=")
	f.Add("NFON-API k:x:y")
	f.Add("NFON-API ")
	f.Add("")
	f.Fuzz(func(t *testing.T, in string) {
		id, sig, err := ParseAuthorization(in)
		if err != nil {
			if !errors.Is(err, signers.ErrSignature) {
				t.Fatalf("error code %v", err)
			}
			return
		}
		if checkKeyID(id) != nil || len(sig) != 28 {
			t.Fatalf("accepted key id %q, signature %q", id, sig)
		}
		id2, sig2, err := ParseAuthorization(Scheme + " " + id + ":" + sig)
		if err != nil || id2 != id || sig2 != sig {
			t.Fatalf("round trip: %q %q %v", id2, sig2, err)
		}
	})
}

func FuzzStringToSign(f *testing.F) {
	f.Add("POST", "/api/x", "", "", []byte("{}"), "application/json", false, int64(1754490720))
	f.Add("get", "/a b?c=d", "search", "+49", []byte(nil), "", false, int64(0))
	f.Add("PUT", "/%zz", "", "", []byte{0xff}, "audio/mpeg", false, int64(-1))
	f.Add("POST", "/api/announcements", "", "", []byte("RIFF"), "multipart/form-data; boundary=x", true, int64(7))
	f.Fuzz(func(t *testing.T, method, resource, qk, qv string, body []byte, ct string, audio bool, sec int64) {
		r := Request{Method: method, Resource: resource, Body: body, ContentType: ct, Audio: audio,
			Date: vecTime.Add(time.Duration(sec%1e9) * time.Second)}
		if qk != "" {
			r.Query = [][2]string{{qk, qv}}
		}
		s := mustSigner(t, "k", "secret")
		signed, err := s.Sign(r)
		if err != nil {
			if c := signers.CodeOf(err); c != signers.CodeInput {
				t.Fatalf("code %v", c)
			}
			return
		}
		if !onlyWireBytes(signed.Resource) {
			t.Fatalf("signed resource %q has bytes outside the wire set", signed.Resource)
		}
		v := &Verifier{Keys: func(string) (string, bool) { return "secret", true },
			Audio: func(string, string) bool { return audio }}
		hdr := signed.Header.Clone()
		if ct != "" {
			hdr.Set("Content-Type", ct)
		}
		if _, err := v.Verify(method, signed.Resource, hdr, body, r.Date); err != nil {
			t.Fatalf("Verify of a signed request: %v", err)
		}
	})
}
