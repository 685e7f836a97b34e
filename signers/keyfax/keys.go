package keyfax

import (
	"bytes"
	"strconv"

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

// InitialKeyRequest is the anonymous GET KeyPath for hostName. The document
// names no parameter for the host ("will only work for the very first request
// for any given host name"); the one place a request names its host is the
// first field of the Basic scheme, so the request carries `Basic {HostName}`
// and no signature (there is no key to sign with yet).
func InitialKeyRequest(baseURL, hostName string) (*signers.Request, error) {
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
	return req, nil
}

// ResetKeyRequest is POST KeyPath, to be signed with Signer.SignRequest (the
// current keys). Keyfax answers 200 {apiKey}; the new signing key arrives only
// at the web hook (ParseKeys) or by e-mail.
func ResetKeyRequest(baseURL string) (*signers.Request, error) {
	u, err := endpoint("keyfax.ResetKeyRequest", baseURL, KeyPath)
	if err != nil {
		return nil, err
	}
	return jsonRequest("POST", u, nil), nil
}

// Keys is a key pair as Keyfax hands it out: the answer of the anonymous GET
// KeyPath and the JSON it posts to a web hook after a reset.
type Keys struct {
	APIKey     string `json:"apiKey"`
	SigningKey string `json:"signingKey"`
	SchemaName string `json:"schemaName"`
	HostName   string `json:"hostName"`
}

// ParseKeys reads a key pair (the document's {apiKey, signingKey, schemaName,
// hostName}) and checks it is one for hostName: schemaName "Basic", hostName
// equal, and keys NewSigner accepts. Anything else is E_KEY; the message
// never contains a key.
func ParseKeys(body []byte, hostName string) (Keys, error) {
	const op = "keyfax.ParseKeys"
	// Read as encoding/json reads it into Keys: an object (or null) whose four
	// members, if present, are strings (or null).
	doc, err := jsonv.Parse(body)
	ok := err == nil && doc.Struct()
	var k Keys
	for _, f := range [...]struct {
		name string
		to   *string
	}{{"apiKey", &k.APIKey}, {"signingKey", &k.SigningKey}, {"schemaName", &k.SchemaName}, {"hostName", &k.HostName}} {
		var fok bool
		*f.to, fok = doc.StringField(f.name)
		ok = ok && fok
	}
	if !ok {
		return Keys{}, signers.E(signers.CodeKey, op, "keys are not a JSON object {apiKey, signingKey, schemaName, hostName}")
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

// ParseInitialKey reads the answer of the anonymous GET KeyPath: 201 with the
// keys (ParseKeys); 400 means the host has keys already (E_CONFIG: they must
// be configured, or reset with POST); any other status is E_HTTP.
func ParseInitialKey(status int, body []byte, hostName string) (Keys, error) {
	const op = "keyfax.ParseInitialKey"
	switch status {
	case 200, 201:
		return ParseKeys(body, hostName)
	case 400:
		return Keys{}, &signers.Error{Code: signers.CodeConfig, Op: op, Status: status,
			Msg: "Keyfax has keys for this host name already: configure them, or reset them with POST " + KeyPath}
	}
	return Keys{}, &signers.Error{Code: signers.CodeHTTP, Op: op, Status: status,
		Msg: "GET " + KeyPath + " answered " + strconv.Itoa(status)}
}
