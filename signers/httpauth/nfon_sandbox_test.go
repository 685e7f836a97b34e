//go:build !js

package httpauth_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/apisign/apisign/internal/sandbox"
	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/httpauth"
	"github.com/apisign/apisign/signers/nfon"
)

func nfonEmulator(t *testing.T) (*http.Client, string) {
	t.Helper()
	sb, base := emulators(t, sandbox.Options{})
	signer, err := nfon.NewSigner(sb.Credentials().NFONKeyID, sb.Credentials().NFONSecret)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Transport: &httpauth.NFON{Signer: signer}}, base + "/nfon"
}

// NFON: "Special characters must be URL-encoded (+, /, =)". "+49" is a phone
// number: given as a query pair (NFONURL) or raw in the URL, it goes out as
// %2B49 and the emulator, which reads a raw "+" as a space like any server,
// finds the two numbers; " 49" (a space) finds none.
func TestNFONPlusReachesTheServerAsAPlus(t *testing.T) {
	c, base := nfonEmulator(t)
	const books = "/api/customers/K1234/phone-books"
	viaPairs, err := httpauth.NFONURL(base, books, [][2]string{{"search", "+49"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := base + books + "?search=%2B49"; viaPairs != want {
		t.Fatalf("NFONURL = %q, want %q", viaPairs, want)
	}
	for _, tc := range []struct {
		url   string
		total int
	}{
		{viaPairs, 2},
		{base + books + "?search=+49", 2}, // raw "+" in the caller's URL: sent as %2B
		{base + books + "?search=%2049", 0},
	} {
		status, body, err := call(t, c, "GET", tc.url, nil, nil)
		if err != nil || status != 200 {
			t.Fatalf("%s: %d %s %v", tc.url, status, body, err)
		}
		var list struct{ Total int }
		if err := json.Unmarshal([]byte(body), &list); err != nil || list.Total != tc.total {
			t.Fatalf("%s: total %d (%v), want %d: %s", tc.url, list.Total, err, tc.total, body)
		}
	}
}

func TestNFONURL(t *testing.T) {
	for _, tc := range []struct {
		base, path string
		query      [][2]string
		want       string
	}{
		{"https://portal-api.nfon.net:8090", "/api/customers/K1234/phone-books", nil,
			"https://portal-api.nfon.net:8090/api/customers/K1234/phone-books"},
		{"https://portal-api.nfon.net:8090/", "/api/x", [][2]string{{"search", "I Am Encoded"}},
			"https://portal-api.nfon.net:8090/api/x?search=I%20Am%20Encoded"},
		{"http://127.0.0.1:1/sandbox/nfon", "/api/x?a=1", [][2]string{{"q", "a=b/c"}, {"n", "+49"}},
			"http://127.0.0.1:1/sandbox/nfon/api/x?a=1&q=a%3Db%2Fc&n=%2B49"},
	} {
		got, err := httpauth.NFONURL(tc.base, tc.path, tc.query)
		if err != nil || got != tc.want {
			t.Errorf("NFONURL(%q, %q, %q) = %q, %v; want %q", tc.base, tc.path, tc.query, got, err, tc.want)
		}
	}
	for _, tc := range []struct{ base, path string }{
		{"portal-api.nfon.net", "/api"},
		{"ftp://h", "/api"},
		{"https://h?x=1", "/api"},
		{"https://h#f", "/api"},
		{"https://h", "api"},
		{"https://h", "/api?q=%zz"},
	} {
		if got, err := httpauth.NFONURL(tc.base, tc.path, nil); !errors.Is(err, signers.ErrInput) {
			t.Errorf("NFONURL(%q, %q) = %q, %v; want E_INPUT", tc.base, tc.path, got, err)
		}
	}
}

// NFON: Content-Type is "Required for POST and PUT requests". A POST without
// one is E_INPUT and never sent; with one, the emulator takes it.
func TestNFONPostNeedsContentType(t *testing.T) {
	c, base := nfonEmulator(t)
	url := base + "/api/customers/K1234/phone-books"
	body := `{"data":[{"name":"displayName","value":"Night line"},{"name":"displayNumber","value":"+49 89 45300 999"}]}`
	if _, _, err := call(t, c, "POST", url, strings.NewReader(body), nil); !errors.Is(err, signers.ErrInput) {
		t.Fatalf("POST without Content-Type: %v, want E_INPUT", err)
	}
	status, answer, err := call(t, c, "POST", url, strings.NewReader(body), http.Header{"Content-Type": {"application/json"}})
	if err != nil || status != 201 {
		t.Fatalf("POST with Content-Type: %d %s %v", status, answer, err)
	}
	// The listing now has it, found by its number.
	u, _ := httpauth.NFONURL(base, "/api/customers/K1234/phone-books", [][2]string{{"search", "+49 89 45300 999"}})
	if status, answer, err := call(t, c, "GET", u, nil, nil); err != nil || status != 200 || !strings.Contains(answer, `"total": 1`) {
		t.Fatalf("search: %d %s %v", status, answer, err)
	}
	// An audio upload is the exception: audio/* needs no flag.
	status, answer, err = call(t, c, "PUT", base+"/api/customers/K1234/announcements/welcome",
		strings.NewReader("RIFF\x00\x01"), http.Header{"Content-Type": {"audio/wav"}})
	if err != nil || status != 204 {
		t.Fatalf("audio PUT: %d %s %v", status, answer, err)
	}
}
