package keyfax

import (
	"errors"
	"strings"
	"testing"

	"github.com/apisign/apisign/signers"
)

// The key pair of the Deep Dive's GET /api/v1/key example (docs/PROTOCOLS.md,
// "Keyfax"); the web hook delivery has the same shape.
const docKeys = `{
	"apiKey":"28f7d828-3f78-4482-a0ac-5f5a64edd4b4",
	"signingKey":"EI4fm9mmaLttvt5485x+YfOBNYKbb++cYG5HH/aZ8VfT2SdXLwrKHjKqCjckTsovVyoUm1x0CrMRM/wDFc1LTw==",
	"schemaName":"Basic",
	"hostName":"Dev"
}`

func TestParseKeysDocumentExample(t *testing.T) {
	k, err := ParseKeys([]byte(docKeys), "Dev")
	if err != nil || k.APIKey != "28f7d828-3f78-4482-a0ac-5f5a64edd4b4" || !strings.HasPrefix(k.SigningKey, "EI4fm9") {
		t.Fatalf("%+v %v", k, err)
	}
	for _, c := range []struct{ body, host string }{
		{docKeys, "Other"},
		{strings.Replace(docKeys, `"Basic"`, `"Bearer"`, 1), "Dev"},
		{strings.Replace(docKeys, `"EI4fm9`, `"not base64 `, 1), "Dev"},
		{strings.Replace(docKeys, `"28f7d828-3f78-4482-a0ac-5f5a64edd4b4"`, `""`, 1), "Dev"},
		{`[1]`, "Dev"},
	} {
		_, err := ParseKeys([]byte(c.body), c.host)
		if signers.CodeOf(err) != signers.CodeKey {
			t.Errorf("%.60q for %s: %v, want E_KEY", c.body, c.host, err)
		}
		if err != nil && strings.Contains(err.Error(), "EI4fm9") {
			t.Errorf("message holds the signing key: %v", err)
		}
	}
}

func TestParseInitialKey(t *testing.T) {
	if k, err := ParseInitialKey(201, []byte(docKeys), "Dev", JSON); err != nil || k.HostName != "Dev" {
		t.Errorf("201: %+v %v", k, err)
	}
	if _, err := ParseInitialKey(400, []byte(`{"message":"keys exist"}`), "Dev", JSON); signers.CodeOf(err) != signers.CodeConfig {
		t.Errorf("400: %v, want E_CONFIG (the host has keys)", err)
	}
	var se *signers.Error
	if _, err := ParseInitialKey(500, nil, "Dev", JSON); signers.CodeOf(err) != signers.CodeHTTP || !errors.As(err, &se) || se.Status != 500 {
		t.Errorf("500: %v, want E_HTTP with the status", err)
	}
}

func TestKeyRequests(t *testing.T) {
	r, err := InitialKeyRequest("https://host/Interview/", "Dev", JSON)
	if err != nil || r.Method != "GET" || r.URL != "https://host/Interview/api/v1/key" || r.Header["Authorization"] != "Basic Dev" || r.Body != nil {
		t.Errorf("initial: %+v %v", r, err)
	}
	if _, err := InitialKeyRequest("https://host/Interview", "a:b", JSON); signers.CodeOf(err) != signers.CodeInput {
		t.Errorf("host name with ':': %v", err)
	}
	r, err = ResetKeyRequest("https://host/Interview", JSON)
	if err != nil || r.Method != "POST" || r.URL != "https://host/Interview/api/v1/key" {
		t.Errorf("reset: %+v %v", r, err)
	}
	r, err = GetTokenRequest("https://host/Interview")
	if err != nil || r.Method != "GET" || r.URL != "https://host/Interview/api/v1/token" || r.Header["Accept"] != "application/json" {
		t.Errorf("token: %+v %v", r, err)
	}
	if _, err := ResetKeyRequest("https://host/Interview?x=1", JSON); signers.CodeOf(err) != signers.CodeInput {
		t.Errorf("base with a query: %v", err)
	}
}

// GET and POST /api/v1/token answer {company, token} (the Deep Dive).
func TestParseTokenAnswer(t *testing.T) {
	jwt := "eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjE3OTk5OTk5OTl9.c2ln"
	a, err := ParseTokenAnswer([]byte(`{"company": "Omfax", "token": "` + jwt + `"}`))
	if err != nil || a.JWT != jwt || a.Company != "Omfax" || a.Claims.Exp.Unix() != 1799999999 {
		t.Errorf("%+v %v", a, err)
	}
	if a, err := ParseTokenAnswer([]byte(`"` + jwt + `"`)); err != nil || a.Company != "" {
		t.Errorf("a bare JWT: %+v %v", a, err)
	}
	if _, err := ParseTokenAnswer([]byte(`{"company": "Omfax"}`)); signers.CodeOf(err) != signers.CodeToken {
		t.Errorf("no token: %v", err)
	}
}

// The key endpoints speak XML too (KEYFAX-18): the requests ask for it, the
// readers take the elements of the JSON members' names.
func TestKeyRequestsXML(t *testing.T) {
	r, err := InitialKeyRequest("https://host/Interview", "Dev", XML)
	if err != nil || r.Header["Accept"] != "application/xml" || r.Header["Content-Type"] != "" || r.Header["Authorization"] != "Basic Dev" {
		t.Errorf("initial: %+v %v", r, err)
	}
	if r, err = ResetKeyRequest("https://host/Interview", XML); err != nil || r.Header["Accept"] != "application/xml" || r.Body != nil {
		t.Errorf("reset: %+v %v", r, err)
	}
	for _, bad := range []Format{"yaml", "XML"} {
		if _, err := InitialKeyRequest("https://host/Interview", "Dev", bad); signers.CodeOf(err) != signers.CodeInput {
			t.Errorf("format %q: %v", bad, err)
		}
		if _, err := ParseInitialKey(201, []byte(docKeys), "Dev", bad); signers.CodeOf(err) != signers.CodeInput {
			t.Errorf("format %q: %v", bad, err)
		}
	}
	const docXML = `<?xml version="1.0" encoding="utf-8"?>
<WebApiKey><apiKey>28f7d828-3f78-4482-a0ac-5f5a64edd4b4</apiKey><signingKey>EI4fm9mmaLttvt5485x+YfOBNYKbb++cYG5HH/aZ8VfT2SdXLwrKHjKqCjckTsovVyoUm1x0CrMRM/wDFc1LTw==</signingKey><schemaName>Basic</schemaName><hostName>Dev</hostName></WebApiKey>`
	k, err := ParseInitialKey(201, []byte(docXML), "Dev", XML)
	if want, _ := ParseKeys([]byte(docKeys), "Dev"); err != nil || k != want {
		t.Errorf("XML keys: %+v %v", k, err)
	}
	for _, bad := range []string{docKeys, strings.Replace(docXML, "<hostName>Dev", "<hostName>Other", 1), strings.Replace(docXML, "Basic", "Bearer", 1)} {
		if _, err := ParseInitialKey(201, []byte(bad), "Dev", XML); signers.CodeOf(err) != signers.CodeKey {
			t.Errorf("%.40q: %v, want E_KEY", bad, err)
		}
	}
	if _, err := ParseInitialKey(201, []byte(docXML), "Dev", JSON); signers.CodeOf(err) != signers.CodeKey {
		t.Errorf("XML read as JSON: %v", err)
	}

	const id = "28f7d828-3f78-4482-a0ac-5f5a64edd4b4"
	for body, f := range map[string]Format{`{"apiKey":"` + id + `"}`: JSON, `<WebApiKey><apiKey>` + id + `</apiKey></WebApiKey>`: XML, `{"apiKey":"` + id + `"} `: ""} {
		if got, err := ParseResetKey(200, []byte(body), f); err != nil || got != id {
			t.Errorf("reset answer %q: %q %v", body, got, err)
		}
	}
	if _, err := ParseResetKey(200, []byte(`{"signingKey":"x"}`), JSON); signers.CodeOf(err) != signers.CodeKey {
		t.Errorf("no API key: %v", err)
	}
	var se *signers.Error
	if _, err := ParseResetKey(401, nil, XML); signers.CodeOf(err) != signers.CodeHTTP || !errors.As(err, &se) || se.Status != 401 {
		t.Errorf("401: %v", err)
	}
}
