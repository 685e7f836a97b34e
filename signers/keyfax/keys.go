package keyfax

import (
	"bytes"
	"strings"

	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/internal/jsonv"
)

// KeyPath is the Keyfax endpoint of the Web API keys, relative to the base URL
// (docs/PROTOCOLS.md, "Keyfax"): an anonymous GET hands out a host's initial
// keys (201, once; 400 when the host has keys already); a POST signed with Basic
// draws new keys, answers only the new API key and delivers both keys to the
// host's web hook (or by e-mail). The old keys stay valid until the first
// request made with the new ones; a new signing key invalidates every JWT
// signed with the old one.
const KeyPath = "/api/v1/key"

// GetTokenRequest is GET TokenPath, to be signed with Signer.SignRequest: the
// server flow's way to a JWT (answered as TokenAnswer).
func GetTokenRequest(baseURL string) (*signers.Request, error) {
	u, err := endpoint("keyfax.GetTokenRequest", baseURL, TokenPath)
	if err != nil {
		return nil, err
	}
	return jsonRequest("GET", u, nil), nil
}

// TokenAnswer is Keyfax's answer to GET or POST TokenPath: {company, token}.
type TokenAnswer struct {
	JWT     string
	Claims  Claims
	Company string // "" when the answer names none
}

// ParseTokenAnswer reads a token answer (see ParseTokenResponse for the forms
// accepted) and, from a JSON object, its company member.
func ParseTokenAnswer(body []byte) (TokenAnswer, error) {
	jwt, claims, err := ParseTokenResponse(body)
	if err != nil {
		return TokenAnswer{}, err
	}
	a := TokenAnswer{JWT: jwt, Claims: claims}
	if doc, err := jsonv.Parse(bytes.TrimPrefix(bytes.TrimSpace(body), []byte("\xef\xbb\xbf"))); err == nil {
		a.Company, _ = doc.StringField("company")
	}
	return a, nil
}

// InitialKeyRequest is the anonymous GET KeyPath for hostName, answered in f
// (ParseInitialKey). The document names no parameter for the host ("will only
// work for the very first request for any given host name"); the one place a
// request names its host is the first field of the Basic scheme, so the
// request carries `Basic {HostName}` and no signature (there is no key to sign
// with yet).
func InitialKeyRequest(baseURL, hostName string, f Format) (*signers.Request, error) {
	const op = "keyfax.InitialKeyRequest"
	if !validID(hostName) {
		return nil, signers.E(signers.CodeInput, op, "host name must be non-empty visible ASCII without ':'")
	}
	u, err := endpoint(op, baseURL, KeyPath)
	if err != nil {
		return nil, err
	}
	req := jsonRequest("GET", u, nil)
	req.Header["Authorization"] = "Basic " + hostName
	return req, f.Apply(req)
}

// ResetKeyRequest is POST KeyPath, to be signed with Signer.SignRequest (the
// current keys), answered in f. Keyfax answers 200 {apiKey} (ParseResetKey);
// the new signing key arrives only at the web hook (ParseKeys) or by e-mail.
func ResetKeyRequest(baseURL string, f Format) (*signers.Request, error) {
	u, err := endpoint("keyfax.ResetKeyRequest", baseURL, KeyPath)
	if err != nil {
		return nil, err
	}
	req := jsonRequest("POST", u, nil)
	return req, f.Apply(req)
}

// ParseResetKey reads the answer of POST KeyPath in f: 200 with the new API key
// (E_KEY when the answer has none); any other status is E_HTTP. The API key
// tells which delivered keys (KeyRing.Deliver) are the ones this reset drew.
func ParseResetKey(status int, body []byte, f Format) (string, error) {
	const op = "keyfax.ParseResetKey"
	if _, err := f.MediaType(); err != nil {
		return "", err
	}
	if status != 200 {
		return "", signers.Answered(op, "POST "+KeyPath, status)
	}
	var k Keys
	if !keyFields(body, f, &k) || !validID(k.APIKey) {
		return "", signers.E(signers.CodeKey, op, "the answer has no API key")
	}
	return k.APIKey, nil
}

// Keys is a key pair as Keyfax hands it out: the answer of the anonymous GET
// KeyPath and the JSON it posts to a web hook after a reset.
type Keys struct {
	APIKey     string `json:"apiKey"`
	SigningKey string `json:"signingKey"`
	SchemaName string `json:"schemaName"`
	HostName   string `json:"hostName"`
}

// ParseKeys reads a key pair as the web hook receives it (the document's JSON
// {apiKey, signingKey, schemaName, hostName}) and checks it is one for
// hostName: schemaName "Basic", hostName equal, and keys NewSigner accepts.
// Anything else is E_KEY; the message never contains a key.
func ParseKeys(body []byte, hostName string) (Keys, error) {
	return parseKeys("keyfax.ParseKeys", body, hostName, JSON)
}

// keyFields reads the members of a key pair into k: from JSON as
// encoding/json reads it into Keys (an object, or null, whose members, if
// present, are strings or null), or from XML the elements of the same names
// (as the answers of KeyPath in XML hold them). ok is false when body is not
// such a document.
func keyFields(body []byte, f Format, k *Keys) bool {
	fields := [...]struct {
		name string
		to   *string
	}{{"apiKey", &k.APIKey}, {"signingKey", &k.SigningKey}, {"schemaName", &k.SchemaName}, {"hostName", &k.HostName}}
	if f == XML {
		for _, fl := range fields {
			*fl.to, _ = XMLText(body, fl.name)
		}
		return strings.HasPrefix(strings.TrimSpace(string(body)), "<")
	}
	doc, err := jsonv.Parse(body)
	ok := err == nil && doc.Struct()
	for _, fl := range fields {
		var fok bool
		*fl.to, fok = doc.StringField(fl.name)
		ok = ok && fok
	}
	return ok
}

// parseKeys is ParseKeys for a key pair in f.
func parseKeys(op string, body []byte, hostName string, f Format) (Keys, error) {
	var k Keys
	if !keyFields(body, f, &k) {
		return Keys{}, signers.E(signers.CodeKey, op, "keys are not a "+strings.ToUpper(string(f))+" document of apiKey, signingKey, schemaName and hostName")
	}
	switch {
	case k.SchemaName != "Basic":
		return Keys{}, signers.E(signers.CodeKey, op, `keys are not for the "Basic" schema`)
	case k.HostName != hostName:
		return Keys{}, signers.E(signers.CodeKey, op, "keys are for another host name")
	}
	if _, err := NewSigner(k.HostName, k.APIKey, k.SigningKey); err != nil {
		return Keys{}, err
	}
	return k, nil
}

// ParseInitialKey reads the answer of the anonymous GET KeyPath in f: 201 with
// the keys (checked as ParseKeys does); 400 means the host has keys already
// (E_CONFIG: they must be configured, or reset with POST); any other status is
// E_HTTP.
func ParseInitialKey(status int, body []byte, hostName string, f Format) (Keys, error) {
	const op = "keyfax.ParseInitialKey"
	if _, err := f.MediaType(); err != nil {
		return Keys{}, err
	}
	if f == "" {
		f = JSON
	}
	switch status {
	case 200, 201:
		return parseKeys(op, body, hostName, f)
	case 400:
		return Keys{}, &signers.Error{Code: signers.CodeConfig, Op: op, Status: status,
			Msg: "Keyfax has keys for this host name already: configure them, or reset them with POST " + KeyPath}
	}
	return Keys{}, signers.Answered(op, "GET "+KeyPath, status)
}
