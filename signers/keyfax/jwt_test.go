package keyfax

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/apisign/apisign/signers"
)

func b64url(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// makeJWT builds an HS256-shaped JWT with the given payload; the signature is
// not real (the client never checks it).
func makeJWT(payload string) string {
	return b64url(`{"alg":"HS256","typ":"JWT"}`) + "." + b64url(payload) + "." + b64url("not-a-real-signature-32-bytes!!!")
}

func jwtWithExp(exp time.Time) string {
	return makeJWT(`{"sub":"Dev","iat":` + Timestamp(exp.Add(-24*time.Hour)) + `,"exp":` + Timestamp(exp) + `}`)
}

func TestReadJWT(t *testing.T) {
	jwt := makeJWT(`{"sub":"Dev","iat":1699913600,"exp":1700000000,"company":"OL3_Dev"}`)
	c, err := ReadJWT(jwt)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Exp.Equal(time.Unix(1700000000, 0)) || !c.IssuedAt.Equal(time.Unix(1699913600, 0)) {
		t.Errorf("exp %v iat %v", c.Exp, c.IssuedAt)
	}
	if c.Payload["company"] != "OL3_Dev" || c.Header["alg"] != "HS256" {
		t.Errorf("claims %+v", c)
	}
	if n, ok := c.Payload["exp"].(float64); !ok || n != 1700000000 {
		t.Errorf("exp kept as %T %v", c.Payload["exp"], c.Payload["exp"])
	}

	// Padding tolerated; fractional exp kept; an empty signature (alg none) read.
	parts := strings.Split(jwt, ".")
	padded := base64.URLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." +
		base64.URLEncoding.EncodeToString([]byte(`{"exp":1700000000}`)) + "." + parts[2] + "="
	if c, err := ReadJWT(padded); err != nil || c.Exp.Unix() != 1700000000 {
		t.Errorf("padded: %v %v", c.Exp, err)
	}
	if c, err := ReadJWT(makeJWT(`{"exp":1700000000.25}`)); err != nil || !c.Exp.Equal(time.Unix(1700000000, 250000000)) {
		t.Errorf("fractional exp: %v %v", c.Exp, err)
	}
	if c, err := ReadJWT(b64url(`{"alg":"none"}`) + "." + b64url(` {"exp":1} `) + "."); err != nil || c.Exp.Unix() != 1 {
		t.Errorf("unsigned: %v %v", c.Exp, err)
	}
	if c, err := ReadJWT(makeJWT(`{"exp":1,"iat":"yesterday"}`)); err != nil || !c.IssuedAt.IsZero() {
		t.Errorf("non-numeric iat: %v %v", c.IssuedAt, err)
	}
}

func TestReadJWTBad(t *testing.T) {
	good := makeJWT(`{"exp":1700000000}`)
	p := strings.Split(good, ".")
	bad := map[string]string{
		"empty":             "",
		"two parts":         p[0] + "." + p[1],
		"four parts":        good + ".x",
		"empty header":      "." + p[1] + "." + p[2],
		"empty payload":     p[0] + ".." + p[2],
		"std base64":        p[0] + "." + base64.StdEncoding.EncodeToString([]byte(`{"exp":1700000000,"x":"??>>"}`)) + "." + p[2],
		"bad base64":        p[0] + "." + p[1] + "a" + "." + p[2],
		"bad sig base64":    p[0] + "." + p[1] + ".a",
		"space":             p[0] + " ." + p[1] + "." + p[2],
		"no exp":            makeJWT(`{"sub":"x"}`),
		"exp string":        makeJWT(`{"exp":"1700000000"}`),
		"exp null":          makeJWT(`{"exp":null}`),
		"exp negative":      makeJWT(`{"exp":-1}`),
		"exp huge":          makeJWT(`{"exp":1e300}`),
		"exp bool":          makeJWT(`{"exp":true}`),
		"payload array":     makeJWT(`[{"exp":1}]`),
		"payload null":      makeJWT(`null`),
		"payload string":    makeJWT(`"exp"`),
		"bad JSON":          makeJWT(`{"exp":1700000000`),
		"trailing JSON":     makeJWT(`{"exp":1700000000}{}`),
		"trailing brace":    makeJWT(`{"exp":1700000000}}`),
		"header not JSON":   b64url("hello") + "." + p[1] + "." + p[2],
		"header array":      b64url("[]") + "." + p[1] + "." + p[2],
		"too long":          p[0] + "." + b64url(`{"exp":1,"x":"`+strings.Repeat("a", maxJWT)+`"}`) + "." + p[2],
		"unicode":           p[0] + "." + p[1] + "é." + p[2],
		"bearer prefix":     "Bearer " + good,
		"trailing newline":  good + "\n",
		"padding in middle": p[0] + "=." + "=" + p[1] + "." + p[2],
	}
	for name, jwt := range bad {
		_, err := ReadJWT(jwt)
		if !errors.Is(err, signers.ErrToken) {
			t.Errorf("%s: err = %v, want E_TOKEN", name, err)
			continue
		}
		if len(p[1]) > 8 && strings.Contains(err.Error(), p[1]) {
			t.Errorf("%s: message echoes the token: %v", name, err)
		}
	}
}

func TestBearer(t *testing.T) {
	jwt := makeJWT(`{"exp":1700000000}`)
	got, err := Bearer("Dev", jwt)
	if err != nil || got != "Bearer Dev:"+jwt {
		t.Errorf("Bearer = %q, %v", got, err)
	}
	for _, h := range []string{"", "a:b", "a b", "é"} {
		if _, err := Bearer(h, jwt); !errors.Is(err, signers.ErrInput) {
			t.Errorf("host %q: %v", h, err)
		}
	}
	for _, j := range []string{"", "abc", "a.b", "a b.c.d", jwt + "\r\nX-Evil: 1"} {
		_, err := Bearer("Dev", j)
		if !errors.Is(err, signers.ErrToken) {
			t.Errorf("jwt %q: %v", j, err)
		} else if j != "" && strings.Contains(err.Error(), j) {
			t.Errorf("message echoes the token: %v", err)
		}
	}
}

func TestParseTokenResponse(t *testing.T) {
	jwt := makeJWT(`{"exp":1700000000}`)
	good := map[string]string{
		"plain":             jwt,
		"plain newline":     jwt + "\r\n",
		"json string":       `"` + jwt + `"`,
		"json string ws":    " \n\"" + jwt + "\" ",
		"bom":               "\xef\xbb\xbf\"" + jwt + "\"",
		"token":             `{"token":"` + jwt + `"}`,
		"access_token":      `{"access_token":"` + jwt + `","token_type":"Bearer","expires_in":86400}`,
		"jwt":               `{"jwt":"` + jwt + `"}`,
		"Token":             `{"Token":"` + jwt + `","Expires":"2023-11-14T22:13:20Z"}`,
		"priority":          `{"jwt":"x","token":"` + jwt + `"}`,
		"escaped solidus":   `"` + strings.Replace(jwt, "_", `\u005f`, -1) + `"`,
		"exact over folded": `{"TOKEN":"x","token":"` + jwt + `"}`,
		// The XML form, asked for with Accept: application/xml (see Format).
		"xml token":    `<?xml version="1.0"?><JsonWebToken><company>C</company><token>` + jwt + `</token></JsonWebToken>`,
		"xml prefixed": `<a:JsonWebToken xmlns:a="x"><a:Token> ` + jwt + ` </a:Token></a:JsonWebToken>`,
	}
	for name, body := range good {
		got, c, err := ParseTokenResponse([]byte(body))
		if err != nil || got != jwt || c.Exp.Unix() != 1700000000 {
			t.Errorf("%s: %q %v %v", name, got, c.Exp, err)
		}
	}
	bad := map[string]string{
		"empty":           "",
		"spaces":          "   ",
		"xml":             `<string xmlns="http://schemas.microsoft.com/2003/10/Serialization/">` + jwt + `</string>`,
		"no field":        `{"id_token":"` + jwt + `"}`,
		"field number":    `{"token":12}`,
		"field null":      `{"token":null}`,
		"field object":    `{"token":{"value":"` + jwt + `"}}`,
		"bad json":        `{"token":"` + jwt + `"`,
		"bad json str":    `"` + jwt,
		"array":           `["` + jwt + `"]`,
		"not a jwt":       `"hello"`,
		"jwt without exp": makeJWT(`{"sub":"x"}`),
		"two tokens":      jwt + " " + jwt,
		"html":            "<html><body>Error</body></html>",
		"xml nested":      `<JsonWebToken><token><value>` + jwt + `</value></token></JsonWebToken>`,
	}
	for name, body := range bad {
		_, _, err := ParseTokenResponse([]byte(body))
		if !errors.Is(err, signers.ErrToken) {
			t.Errorf("%s: %v, want E_TOKEN", name, err)
		} else if strings.Contains(err.Error(), jwt[:20]) {
			t.Errorf("%s: message echoes the token: %v", name, err)
		}
	}
}
