package nfon

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/apisign/apisign/signers"
)

func testVerifier() *Verifier {
	keys := map[string]string{vecKeyID: vecSecret, "other-key": "other-secret"}
	return &Verifier{Keys: func(id string) (string, bool) { s, ok := keys[id]; return s, ok }}
}

func TestVerifyAcceptsSigned(t *testing.T) {
	s := mustSigner(t, vecKeyID, vecSecret)
	v := testVerifier()
	reqs := []Request{
		{Method: "GET", Resource: "/api/customers/K1234/phone-books", Date: vecTime},
		{Method: "GET", Resource: "/api/customers/K1234/phone-books?search=I%20Am%20Encoded", Date: vecTime},
		{Method: "POST", Resource: "/api/customers/K1234/phone-books", Date: vecTime, Body: []byte(vecBody), ContentType: "application/json"},
		{Method: "PUT", Resource: "/api/x", Date: vecTime, Body: nil, ContentType: "text/plain"},
		{Method: "GET", Resource: "/api/customers/K1234/phone-books?search=+49", Date: vecTime},
		{Method: "PATCH", Resource: "/api/Base Device", Date: vecTime, Body: []byte{0, 1, 2, 0xff}, ContentType: "application/octet-stream"},
		{Method: "POST", Resource: "/api/announcements", Date: vecTime, Body: []byte("RIFF...."), ContentType: "audio/wav"},
		{Method: "DELETE", Resource: "/api/x/1", Date: vecTime},
	}
	for _, r := range reqs {
		signed, err := s.Sign(r)
		if err != nil {
			t.Fatal(err)
		}
		hdr := signed.Header.Clone()
		if r.ContentType != "" {
			hdr.Set("Content-Type", r.ContentType) // sent even when not signed (audio)
		}
		for _, skew := range []time.Duration{0, 15 * time.Minute, -15 * time.Minute, 3 * time.Second} {
			id, err := v.Verify(r.Method, signed.Resource, hdr, r.Body, vecTime.Add(skew))
			if err != nil || id != vecKeyID {
				t.Fatalf("%s %s skew %v: %q, %v", r.Method, r.Resource, skew, id, err)
			}
		}
		// Lower-cased header names (fetch) work too.
		lower := signers.Header{}
		for k, val := range hdr {
			lower[strings.ToLower(k)] = val
		}
		if _, err := v.Verify(strings.ToLower(r.Method), signed.Resource, lower, r.Body, vecTime); err != nil {
			t.Fatalf("lower-case names: %v", err)
		}
	}
}

// Every signed field, changed by one byte, must be rejected.
func TestVerifyRejectsOneByteChanges(t *testing.T) {
	s := mustSigner(t, vecKeyID, vecSecret)
	v := testVerifier()
	r := Request{Method: "POST", Resource: "/api/customers/K1234/phone-books?x=1", Date: vecTime,
		Body: []byte(vecBody), ContentType: "application/json"}
	signed, err := s.Sign(r)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(s string, i int) string { b := []byte(s); b[i] ^= 1; return string(b) }
	type input struct {
		method, resource string
		hdr              signers.Header
		body             []byte
	}
	base := func() input {
		return input{r.Method, signed.Resource, signed.Header.Clone(), append([]byte(nil), r.Body...)}
	}
	cases := []struct {
		name string
		mod  func(*input)
		code error
	}{
		{"method", func(in *input) { in.method = "PUT" }, signers.ErrSignature},
		{"method byte", func(in *input) { in.method = "POSU" }, signers.ErrSignature},
		{"resource", func(in *input) { in.resource = flip(in.resource, 5) }, signers.ErrSignature},
		{"resource query", func(in *input) { in.resource = flip(in.resource, len(in.resource)-1) }, signers.ErrSignature},
		{"body", func(in *input) { in.body[3] ^= 1 }, signers.ErrSignature},
		{"body extra byte", func(in *input) { in.body = append(in.body, ' ') }, signers.ErrSignature},
		{"content-md5 and body", func(in *input) {
			in.body[3] ^= 1
			in.hdr.Set("Content-MD5", md5Hex(in.body))
		}, signers.ErrSignature},
		{"content-md5 missing", func(in *input) { delete(in.hdr, "Content-MD5") }, signers.ErrSignature},
		{"content-type", func(in *input) { in.hdr.Set("Content-Type", "application/jsoo") }, signers.ErrSignature},
		{"date one second", func(in *input) { in.hdr.Set("x-nfon-date", "Wed, 06 Aug 2025 14:32:01 GMT") }, signers.ErrSignature},
		{"date weekday", func(in *input) { in.hdr.Set("x-nfon-date", "Tue, 06 Aug 2025 14:32:00 GMT") }, signers.ErrSignature},
		{"date missing", func(in *input) { delete(in.hdr, "x-nfon-date") }, signers.ErrSignature},
		{"date garbage", func(in *input) { in.hdr.Set("x-nfon-date", "2025-08-06T14:32:00Z") }, signers.ErrSignature},
		{"signature", func(in *input) {
			a := in.hdr["Authorization"]
			in.hdr["Authorization"] = flip(a, len(a)-3)
		}, signers.ErrSignature},
		{"key id", func(in *input) {
			in.hdr["Authorization"] = strings.Replace(in.hdr["Authorization"], vecKeyID, "other-key", 1)
		}, signers.ErrSignature},
		{"unknown key id", func(in *input) {
			in.hdr["Authorization"] = strings.Replace(in.hdr["Authorization"], vecKeyID, "nobody", 1)
		}, signers.ErrSignature},
		{"scheme", func(in *input) {
			in.hdr["Authorization"] = strings.Replace(in.hdr["Authorization"], "NFON-API", "NFON-APX", 1)
		}, signers.ErrSignature},
		{"no authorization", func(in *input) { delete(in.hdr, "Authorization") }, signers.ErrSignature},
		{"bad resource", func(in *input) { in.resource = "/api/%zz" }, signers.ErrInput},
		{"bad method", func(in *input) { in.method = "" }, signers.ErrInput},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := base()
			c.mod(&in)
			id, err := v.Verify(in.method, in.resource, in.hdr, in.body, vecTime)
			if !errors.Is(err, c.code) || id != "" {
				t.Fatalf("Verify = %q, %v; want %v", id, err, c.code)
			}
			for _, secret := range []string{vecSecret, "other-secret"} {
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("secret in message %q", err)
				}
			}
			if sig := signed.Header["Authorization"][len("NFON-API "+vecKeyID+":"):]; strings.Contains(err.Error(), sig) {
				t.Fatalf("signature in message %q", err)
			}
		})
	}
	// The unchanged input still verifies.
	in := base()
	if _, err := v.Verify(in.method, in.resource, in.hdr, in.body, vecTime); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyClock(t *testing.T) {
	s := mustSigner(t, vecKeyID, vecSecret)
	signed, err := s.Sign(Request{Method: "GET", Resource: "/api/x", Date: vecTime})
	if err != nil {
		t.Fatal(err)
	}
	v := testVerifier()
	for _, skew := range []time.Duration{15*time.Minute + time.Second, -15*time.Minute - time.Second, 24 * time.Hour} {
		if _, err := v.Verify("GET", "/api/x", signed.Header, nil, vecTime.Add(skew)); !errors.Is(err, signers.ErrClock) {
			t.Errorf("skew %v: %v, want E_CLOCK", skew, err)
		}
	}
	v.Window = time.Minute
	if _, err := v.Verify("GET", "/api/x", signed.Header, nil, vecTime.Add(61*time.Second)); !errors.Is(err, signers.ErrClock) {
		t.Errorf("custom window: %v", err)
	}
	if _, err := v.Verify("GET", "/api/x", signed.Header, nil, vecTime.Add(59*time.Second)); err != nil {
		t.Errorf("custom window: %v", err)
	}
	var none Verifier
	if _, err := none.Verify("GET", "/api/x", signed.Header, nil, vecTime); !errors.Is(err, signers.ErrConfig) {
		t.Errorf("no Keys: %v", err)
	}
}

func TestParseAuthorization(t *testing.T) {
	const sig = "ofdQ9hgbzJ/n5f0iL2mXVXJ14T0="
	ok := []struct{ in, id string }{
		{"NFON-API " + vecKeyID + ":" + sig, vecKeyID},
		{"nfon-api k:" + sig, "k"},
		{"NFON-API   k:" + sig, "k"},
	}
	for _, c := range ok {
		id, s, err := ParseAuthorization(c.in)
		if err != nil || id != c.id || s != sig {
			t.Errorf("ParseAuthorization(%q) = %q, %q, %v", c.in, id, s, err)
		}
	}
	bad := []string{
		"",
		"NFON-API",
		"NFON-API ",
		"NFON-APIk:" + sig,
		"Basic k:" + sig,
		"NFON-API k" + sig,
		"NFON-API :" + sig,
		"NFON-API k:",
		"NFON-API k:" + sig + "=",
		"NFON-API k:" + sig[:27],
		"NFON-API k:" + sig[:27] + "!",
		"NFON-API k:" + strings.Repeat("A", 28), // 21 bytes, no padding
		"NFON-API k:ofdQ9hgbzJ/n5f0iL2mXVXJ14T1=", // non-canonical trailing bits
		"NFON-API k:x:" + sig,
		"NFON-API k\t:" + sig,
		"NFON-API\tk:" + sig,
	}
	for _, in := range bad {
		_, _, err := ParseAuthorization(in)
		if !errors.Is(err, signers.ErrSignature) {
			t.Errorf("ParseAuthorization(%q) err = %v, want E_SIGNATURE", in, err)
		}
	}
}

// What goes on the wire must be what was signed: a raw "+" reaches the server as a
// space, so a target that is not in its normalized form is refused, even with a
// signature made over the normalized form.
func TestVerifyRejectsUnnormalizedTarget(t *testing.T) {
	s := mustSigner(t, vecKeyID, vecSecret)
	r := Request{Method: "GET", Resource: "/api/customers/K1234/phone-books?search=+49", Date: vecTime}
	signed, err := s.Sign(r)
	if err != nil {
		t.Fatal(err)
	}
	v := testVerifier()
	if _, err := v.Verify("GET", signed.Resource, signed.Header, nil, vecTime); err != nil {
		t.Fatalf("normalized target: %v", err)
	}
	for _, raw := range []string{r.Resource, "/api/customers/K1234/phone-books?search=a=b", "/api/a b"} {
		if _, err := v.Verify("GET", raw, signed.Header, nil, vecTime); !errors.Is(err, signers.ErrSignature) {
			t.Errorf("Verify(%q) = %v, want E_SIGNATURE", raw, err)
		}
	}
}

func TestVerifyContentTypeAndAudio(t *testing.T) {
	s := mustSigner(t, vecKeyID, vecSecret)
	body := []byte("RIFF....WAVEfmt ")
	r := Request{Method: "POST", Resource: "/api/customers/K1234/announcements", Date: vecTime,
		Body: body, ContentType: "multipart/form-data; boundary=x", Audio: true}
	signed, err := s.Sign(r)
	if err != nil {
		t.Fatal(err)
	}
	hdr := signed.Header.Clone()
	hdr.Set("Content-Type", r.ContentType)
	v := testVerifier()
	// Without knowing the endpoint takes audio, the server expects Content-MD5.
	if _, err := v.Verify("POST", signed.Resource, hdr, body, vecTime); !errors.Is(err, signers.ErrSignature) {
		t.Fatalf("audio upload unknown to the verifier: %v, want E_SIGNATURE", err)
	}
	v.Audio = func(method, resource string) bool {
		return method == "POST" && strings.HasSuffix(resource, "/announcements")
	}
	if id, err := v.Verify("POST", signed.Resource, hdr, body, vecTime); err != nil || id != vecKeyID {
		t.Fatalf("audio upload: %q, %v", id, err)
	}
	// A POST that is not audio and has no Content-Type cannot be described.
	hdr = signed.Header.Clone()
	if _, err := v.Verify("POST", "/api/x", hdr, body, vecTime); !errors.Is(err, signers.ErrInput) {
		t.Fatalf("POST without Content-Type: %v, want E_INPUT", err)
	}
}
