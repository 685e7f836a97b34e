package fonn

import (
	"errors"
	"strings"
	"testing"

	"github.com/apisign/apisign/signers"
)

const (
	key = "0123456789abcdef0123456789abcdef"
	tok = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJl"
)

func TestHeaders(t *testing.T) {
	h, err := Headers(Credentials{SubscriptionKey: key, AccessToken: tok})
	if err != nil {
		t.Fatal(err)
	}
	want := signers.Header{"Ocp-Apim-Subscription-Key": key, "Authorization": tok}
	if len(h) != len(want) || h["Ocp-Apim-Subscription-Key"] != key || h["Authorization"] != tok {
		t.Fatalf("headers %v, want %v", h, want)
	}
	h, err = Headers(Credentials{SubscriptionKey: key, AccessToken: tok, ImpersonatedUserExternalID: "ext-42"})
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 3 || h["impersonatedUserExternalId"] != "ext-42" || h.Get("IMPERSONATEDUSEREXTERNALID") != "ext-42" {
		t.Fatalf("headers %v", h)
	}
	// The token goes out as given: no scheme word added (nor removed).
	h, err = Headers(Credentials{SubscriptionKey: key, AccessToken: "opaque token/with+chars="})
	if err != nil || h["Authorization"] != "opaque token/with+chars=" {
		t.Fatalf("%v, %v", h, err)
	}
}

func TestHeadersBadInput(t *testing.T) {
	const secretKey = "SECRETKEY123"
	const secretTok = "SECRETTOKEN456"
	cases := []struct {
		name string
		c    Credentials
		code error
	}{
		{"empty key", Credentials{AccessToken: secretTok}, signers.ErrKey},
		{"key CRLF", Credentials{SubscriptionKey: secretKey + "\r\nX-Evil: 1", AccessToken: secretTok}, signers.ErrKey},
		{"key LF", Credentials{SubscriptionKey: secretKey + "\n", AccessToken: secretTok}, signers.ErrKey},
		{"key NUL", Credentials{SubscriptionKey: secretKey + "\x00", AccessToken: secretTok}, signers.ErrKey},
		{"key tab", Credentials{SubscriptionKey: "a\tb" + secretKey, AccessToken: secretTok}, signers.ErrKey},
		{"key DEL", Credentials{SubscriptionKey: secretKey + "\x7f", AccessToken: secretTok}, signers.ErrKey},
		{"key non-ASCII", Credentials{SubscriptionKey: secretKey + "ü", AccessToken: secretTok}, signers.ErrKey},
		{"key trailing blank", Credentials{SubscriptionKey: secretKey + " ", AccessToken: secretTok}, signers.ErrKey},
		{"key too long", Credentials{SubscriptionKey: secretKey + strings.Repeat("k", 9000), AccessToken: secretTok}, signers.ErrKey},
		{"empty token", Credentials{SubscriptionKey: secretKey}, signers.ErrToken},
		{"token CRLF", Credentials{SubscriptionKey: secretKey, AccessToken: secretTok + "\r\nX: y"}, signers.ErrToken},
		{"token leading blank", Credentials{SubscriptionKey: secretKey, AccessToken: " " + secretTok}, signers.ErrToken},
		{"token control", Credentials{SubscriptionKey: secretKey, AccessToken: secretTok + "\x1b"}, signers.ErrToken},
		{"id CR", Credentials{SubscriptionKey: secretKey, AccessToken: secretTok, ImpersonatedUserExternalID: "u\r1"}, signers.ErrInput},
		{"id non-ASCII", Credentials{SubscriptionKey: secretKey, AccessToken: secretTok, ImpersonatedUserExternalID: "Müller"}, signers.ErrInput},
		{"id blank", Credentials{SubscriptionKey: secretKey, AccessToken: secretTok, ImpersonatedUserExternalID: " "}, signers.ErrInput},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, err := Headers(c.c)
			if h != nil || !errors.Is(err, c.code) {
				t.Fatalf("Headers = %v, %v; want %v", h, err, c.code)
			}
			msg := err.Error()
			if strings.Contains(msg, secretKey) || strings.Contains(msg, secretTok) {
				t.Fatalf("secret in message %q", msg)
			}
		})
	}
}

func FuzzHeaders(f *testing.F) {
	f.Add(key, tok, "")
	f.Add("k", "t", "ext-1")
	f.Add("k\r\n", "t", "x")
	f.Add("", "t", "")
	f.Fuzz(func(t *testing.T, k, tk, id string) {
		h, err := Headers(Credentials{SubscriptionKey: k, AccessToken: tk, ImpersonatedUserExternalID: id})
		if err != nil {
			switch signers.CodeOf(err) {
			case signers.CodeKey, signers.CodeToken, signers.CodeInput:
			default:
				t.Fatalf("code %v", err)
			}
			return
		}
		for name, v := range h {
			for i := 0; i < len(v); i++ {
				if v[i] < 0x20 || v[i] > 0x7e {
					t.Fatalf("%s has byte %#x", name, v[i])
				}
			}
		}
		if h["Ocp-Apim-Subscription-Key"] != k || h["Authorization"] != tk {
			t.Fatalf("headers %v", h)
		}
	})
}

// Seed 000, "Workspace Access Token": "User impersonation is mandatory in
// requests made to project scoped endpoints when authorized by Workspace Access
// Token."
func TestRequireImpersonation(t *testing.T) {
	ws := Credentials{SubscriptionKey: key, AccessToken: tok, Workspace: true}
	err := RequireImpersonation(ws)
	if !errors.Is(err, signers.ErrInput) || strings.Contains(err.Error(), tok) || strings.Contains(err.Error(), key) {
		t.Fatalf("workspace token without impersonation: %v", err)
	}
	ws.ImpersonatedUserExternalID = "ext-42"
	if err := RequireImpersonation(ws); err != nil {
		t.Fatalf("workspace token with impersonation: %v", err)
	}
	// A regular token has a fixed identity: impersonation stays optional.
	if err := RequireImpersonation(Credentials{SubscriptionKey: key, AccessToken: tok}); err != nil {
		t.Fatalf("regular token: %v", err)
	}
	// The headers are the same for both kinds of token: nothing on the wire says which.
	h1, _ := Headers(ws)
	ws.Workspace = false
	h2, _ := Headers(ws)
	if len(h1) != 3 || len(h2) != 3 || h1[HeaderAuthorization] != h2[HeaderAuthorization] {
		t.Fatalf("headers differ: %v %v", h1, h2)
	}
}

// Seed 000, "Obtain Subscription Key": "two keys are for seamlessly changing
// access keys without service interruption".
func TestKeys(t *testing.T) {
	const second = "fedcba9876543210fedcba9876543210"
	k := Keys{Primary: key, Secondary: second}
	if err := k.Check(); err != nil {
		t.Fatal(err)
	}
	if err := (Keys{Primary: key}).Check(); err != nil {
		t.Fatalf("primary only: %v", err)
	}
	for name, bad := range map[string]Keys{
		"no primary":    {Secondary: second},
		"same key":      {Primary: key, Secondary: key},
		"bad secondary": {Primary: key, Secondary: "a\r\nX-Evil: 1"},
		"bad primary":   {Primary: " " + key},
	} {
		err := bad.Check()
		if !errors.Is(err, signers.ErrKey) || strings.Contains(err.Error(), key) || strings.Contains(err.Error(), second) {
			t.Errorf("%s: %v, want E_KEY without the key", name, err)
		}
	}
	if o, ok := k.Other(key); !ok || o != second {
		t.Fatalf("after primary: %q %v", o, ok)
	}
	if o, ok := k.Other(second); !ok || o != key {
		t.Fatalf("after secondary: %q %v", o, ok)
	}
	if _, ok := k.Other("unknown"); ok {
		t.Fatal("other of an unknown key")
	}
	if _, ok := (Keys{Primary: key}).Other(key); ok {
		t.Fatal("other without a secondary")
	}
}

func TestKeyRefused(t *testing.T) {
	// The gateway's answers (Azure API Management), as the sandbox emulates them.
	for _, body := range []string{
		`{"statusCode": 401, "message": "Access denied due to invalid subscription key. Make sure to provide a valid key for an active subscription."}`,
		`{"statusCode": 401, "message": "Access denied due to missing subscription key. Make sure to include subscription key when making requests to an API."}`,
	} {
		if !KeyRefused(401, []byte(body)) {
			t.Errorf("not a refused key: %s", body)
		}
	}
	for _, c := range []struct {
		status int
		body   string
	}{
		{401, `{"statusCode": 401, "message": "invalid or missing access token"}`}, // the token, not the key
		{401, ``},
		{429, `{"statusCode": 429, "message": "Rate limit is exceeded. Try again in 1 seconds."}`},
		{403, `{"message": "subscription key"}`},
		{200, `subscription key`},
	} {
		if KeyRefused(c.status, []byte(c.body)) {
			t.Errorf("KeyRefused(%d, %s) = true", c.status, c.body)
		}
	}
}
