package nfon

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/internal/nodecheck"
)

// xcase is one cross-check case: the inputs, and what Go computed from them.
// testdata/crosscheck.mjs recomputes everything from the inputs with its own
// encoder, Node's crypto and crypto-js, written from docs/PROTOCOLS.md ("NFON").
type xcase struct {
	Method      string      `json:"method"`
	Segments    []string    `json:"segments,omitempty"` // unencoded parts, when RawPath is ""
	Query       [][2]string `json:"query,omitempty"`    // unencoded pairs: EncodeResource's, or Request.Query with RawPath
	RawPath     string      `json:"rawPath,omitempty"`  // a wire-form path given as Request.Resource
	Audio       bool        `json:"audio,omitempty"`    // Request.Audio
	Body        []byte      `json:"body"`               // base64 in JSON
	ContentType string      `json:"contentType"`
	DateMs      int64       `json:"dateMs"`
	KeyID       string      `json:"keyId"`
	Secret      string      `json:"secret"`

	// Go's results.
	Encoded      string         `json:"encoded,omitempty"` // EncodeResource(Segments, Query)
	Resource     string         `json:"resource"`          // Signed.Resource
	StringToSign string         `json:"stringToSign"`
	Header       signers.Header `json:"headers"`
	Error        string         `json:"error"` // the code when Sign refused
}

var (
	xMethods      = []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "get", "post", "Put", "patch"}
	xContentTypes = []string{"application/json", "text/plain; charset=utf-8", "audio/mpeg", "Audio/WAV; rate=8000",
		"application/octet-stream", "", "multipart/form-data; boundary=x", "audio/", "application/audio", "AUDIO/x-wav"}
	xPieces = []string{"api", "customers", "K1234", "phone-books", "Base Device", "a b", "+49", "1+1", "a=b", "a/b",
		"q?x", "&", "#", "%", "100%", "Müller", "日本", "😀", "~", "-", ".", "_", "!", "*", "'", "(", ")", ":", "@",
		",", ";", "$", "\"", "<>", "[]", "{}", "|", "\\", "^", "`", "\t", "x"}
	xRawPieces = []string{"api", "/", "/", "customers", "K1234", "%20", "%2f", "%2F", "%C3%BC", " ", "ü", "日本", "😀",
		"\"", "[", "]", "?", "&", "=", "+", ":", "@", "!", "$", "'", "(", ")", "*", ",", ";", "~", "{", "|", "^",
		"\t", "\r\n", "x", "Base Device", "%41", "%7e"}
	xBadRawPieces = []string{"%zz", "%4", "#", "%", "#frag"}
	xSecretChars  = []rune("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_+/=!: äöüß€😀")
)

func xPick[T any](r *rand.Rand, s []T) T { return s[r.IntN(len(s))] }

func xString(r *rand.Rand, pieces []string, max int) string {
	var b strings.Builder
	for n := r.IntN(max + 1); n > 0; n-- {
		b.WriteString(xPick(r, pieces))
	}
	return b.String()
}

func xCases(n int) []xcase {
	r := rand.New(rand.NewPCG(20250806, 1432))
	cases := make([]xcase, 0, n)
	for i := 0; i < n; i++ {
		c := xcase{
			Method:      xPick(r, xMethods),
			ContentType: xPick(r, xContentTypes),
			// 2000-01-01 .. 2099-12-31, with milliseconds (dropped when formatted).
			DateMs: 946684800000 + r.Int64N(3155673600000),
		}
		var id strings.Builder
		for j := 0; j < 32; j++ {
			id.WriteByte("0123456789abcdef"[r.IntN(16)])
			if j == 7 || j == 11 || j == 15 || j == 19 {
				id.WriteByte('-')
			}
		}
		c.KeyID = id.String()
		secret := make([]rune, 1+r.IntN(80))
		for j := range secret {
			secret[j] = xPick(r, xSecretChars)
		}
		c.Secret = string(secret)
		switch r.IntN(5) {
		case 0:
			c.Body = nil
		case 1:
			c.Body = []byte{}
		case 2:
			c.Body = make([]byte, r.IntN(300))
			for j := range c.Body {
				c.Body[j] = byte(r.UintN(256))
			}
		default:
			c.Body = []byte(`{"name":"` + xString(r, xPieces, 6) + `","n":` + time.Duration(r.Int64N(1e6)).String() + `}`)
		}
		c.Audio = r.IntN(10) == 0
		if r.IntN(3) == 0 {
			c.RawPath = "/" + xString(r, xRawPieces, 12)
			if r.IntN(8) == 0 {
				c.RawPath += xPick(r, xBadRawPieces) + xString(r, xRawPieces, 3)
			}
			for j := r.IntN(6) - 3; j > 0; j-- {
				c.Query = append(c.Query, [2]string{xString(r, xPieces, 2), xString(r, xPieces, 3)})
			}
		} else {
			for j := r.IntN(5); j >= 0; j-- {
				c.Segments = append(c.Segments, xString(r, xPieces, 3))
			}
			for j := r.IntN(4); j > 0; j-- {
				c.Query = append(c.Query, [2]string{xString(r, xPieces, 2), xString(r, xPieces, 3)})
			}
		}
		cases = append(cases, c)
	}
	return cases
}

func TestNodeCrossCheck(t *testing.T) {
	cases := xCases(400)
	bad := 0
	for i := range cases {
		c := &cases[i]
		resource, query := c.RawPath, c.Query
		if resource == "" {
			c.Encoded = EncodeResource(c.Segments, c.Query)
			resource, query = c.Encoded, nil
		}
		s, err := NewSigner(c.KeyID, c.Secret)
		if err != nil {
			t.Fatal(err)
		}
		signed, err := s.Sign(Request{
			Method:      c.Method,
			Resource:    resource,
			Query:       query,
			Audio:       c.Audio,
			Body:        c.Body,
			ContentType: c.ContentType,
			Date:        time.UnixMilli(c.DateMs),
		})
		if err != nil {
			c.Error = string(signers.CodeOf(err))
			bad++
			continue
		}
		c.Resource, c.StringToSign, c.Header = signed.Resource, signed.StringToSign, signed.Header
	}
	if bad == 0 || bad > len(cases)/4 {
		t.Fatalf("%d of %d cases refused; the generator should make a few bad ones", bad, len(cases))
	}
	nodecheck.Run(t, "testdata/crosscheck.mjs", cases)
}
