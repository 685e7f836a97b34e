package keyfax

import (
	"encoding/base64"
	"encoding/hex"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/internal/nodecheck"
)

// xcase is one cross-check case: the inputs, and what Go computed from them.
// testdata/crosscheck.mjs recomputes everything from the inputs with its own
// UrlEncode and URI rules, Node's crypto (MD5, HMAC-SHA256) and crypto-js
// (HMAC-SHA256), written from PROTOCOLS.md and the StringToSign documentation.
type xcase struct {
	Kind string `json:"kind"` // "sign" or "urlencode"

	// urlencode
	Input   string `json:"input,omitempty"`
	Encoded string `json:"encoded,omitempty"`

	// sign
	HostName  string `json:"hostName,omitempty"`
	APIKey    string `json:"apiKey,omitempty"`
	Key       string `json:"key,omitempty"` // standard base64 signing key
	Method    string `json:"method,omitempty"`
	URI       string `json:"uri,omitempty"`
	Body      []byte `json:"body,omitempty"` // base64 in JSON
	Timestamp string `json:"timestamp,omitempty"`
	Nonce     string `json:"nonce,omitempty"`

	// Go's results
	Raw           string `json:"raw,omitempty"`
	Signature     string `json:"signature,omitempty"`
	Authorization string `json:"authorization,omitempty"`
	Error         string `json:"error,omitempty"` // the code when Go refused
}

var (
	xMethods = []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "get", "post", "Patch", "PROPFIND", "m-search"}
	xSchemes = []string{"http", "https", "HTTP", "Https"}
	xHosts   = []string{"keyfax.example.com", "Keyfax.Example.COM", "localhost", "127.0.0.1", "[::1]", "[2001:DB8::1]", "h", "svc-01.internal"}
	xPorts   = []string{"", "", "", ":80", ":443", ":8080", ":043326", ":", ":65535"}
	xPieces  = []string{"Interview", "api", "v1", "startup", "token", "results", "A B", "a b", "+49", "1+1", "a=b",
		"%20", "%C3%A9", "100%", "Müller", "日本", "😀", "~", "!*()", "'", "-_.", ":", "@", ";", ",", "$", "&",
		"\"q\"", "<tag>", "{x}", "a|b", "^", "`", "\\", "[0]", "tab\t", "ÉCOLE", "İ", "ß", "Σ", "x\u00a0y", "GUID-ABC"}
	xBad = []string{"", "/api/v1/token", "keyfax.example.com/x", "ftp://h/", "mailto:a@b", "http:///x", "http://?q",
		"http://u@h/", "http://u:p@h:8080/", "http://h:99999/", "http://h:8o/", "http://h h/", "http://hé/", "http://[::1/x",
		"http://[::1]x/", "http://a:b:c/", "https:/h/x", "http//h/x"}
	xBadMethods = []string{"", "GE T", "GET\n", "GÉT", "POST:", "(GET)", strings.Repeat("A", 33)}
)

func randPiece(r *rand.Rand) string { return xPieces[r.IntN(len(xPieces))] }

func randURI(r *rand.Rand) string {
	var b strings.Builder
	b.WriteString(xSchemes[r.IntN(len(xSchemes))] + "://" + xHosts[r.IntN(len(xHosts))] + xPorts[r.IntN(len(xPorts))])
	for i, n := 0, r.IntN(5); i < n; i++ {
		b.WriteString("/" + randPiece(r))
	}
	if r.IntN(6) == 0 {
		b.WriteString("/")
	}
	if r.IntN(2) == 0 {
		b.WriteString("?")
		for i, n := 0, 1+r.IntN(3); i < n; i++ {
			if i > 0 {
				b.WriteString("&")
			}
			b.WriteString(randPiece(r) + "=" + randPiece(r))
		}
	}
	if r.IntN(8) == 0 {
		b.WriteString("#" + randPiece(r))
	}
	return b.String()
}

func randBody(r *rand.Rand) []byte {
	switch r.IntN(5) {
	case 0:
		return nil
	case 1:
		return []byte{}
	case 2:
		return []byte(`{"mode":{"value":"ROL"},"company":{"value":"` + randPiece(r) + `"}}`)
	default:
		b := make([]byte, r.IntN(2048))
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	}
}

func randString(r *rand.Rand) string {
	var b strings.Builder
	for i, n := 0, r.IntN(8); i < n; i++ {
		if r.IntN(3) == 0 {
			b.WriteByte(byte(0x20 + r.IntN(0x5f)))
		} else {
			b.WriteString(randPiece(r))
		}
	}
	return b.String()
}

func TestCrossCheckNode(t *testing.T) {
	r := rand.New(rand.NewPCG(20231114, 2213))
	var cases []xcase
	for i := 0; i < 150; i++ {
		s := randString(r)
		cases = append(cases, xcase{Kind: "urlencode", Input: s, Encoded: UrlEncode(s)})
	}
	for i := 0; i < 400; i++ {
		key := make([]byte, 1+r.IntN(64))
		for j := range key {
			key[j] = byte(r.Uint32())
		}
		nonce := make([]byte, 16)
		for j := range nonce {
			nonce[j] = byte(r.Uint32())
		}
		c := xcase{
			Kind:      "sign",
			HostName:  []string{"Dev", "OL3_Dev", "Prod-01"}[r.IntN(3)],
			APIKey:    hex.EncodeToString(key[:min(len(key), 16)]) + []string{"", "-A", "~x"}[r.IntN(3)],
			Key:       base64.StdEncoding.EncodeToString(key),
			Method:    xMethods[r.IntN(len(xMethods))],
			URI:       randURI(r),
			Body:      randBody(r),
			Timestamp: strconv.FormatInt(1e9+r.Int64N(2e9), 10),
			Nonce:     hex.EncodeToString(nonce),
		}
		switch r.IntN(20) {
		case 0:
			c.URI = xBad[r.IntN(len(xBad))]
		case 1:
			c.Method = xBadMethods[r.IntN(len(xBadMethods))]
		}
		s, err := NewSigner(c.HostName, c.APIKey, c.Key)
		if err != nil {
			t.Fatal(err)
		}
		signed, err := s.Basic(c.Method, c.URI, c.Body, c.Timestamp, c.Nonce)
		if err != nil {
			c.Error = string(signers.CodeOf(err))
		} else {
			c.Raw, c.Signature, c.Authorization = signed.StringToSign, signed.Signature, signed.Header["Authorization"]
		}
		cases = append(cases, c)
	}
	refused := 0
	for _, c := range cases {
		if c.Error != "" {
			refused++
		}
	}
	t.Logf("%d cases, %d refused by Go", len(cases), refused)
	nodecheck.Run(t, "testdata/crosscheck.mjs", cases)
}
