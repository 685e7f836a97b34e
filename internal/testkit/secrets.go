package testkit

import (
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"strings"
	"testing"
)

// PublicEnv names the broker variables that are not secret (the page may see
// them, or they are addresses); every other value of a broker environment is.
var PublicEnv = map[string]bool{
	"KEYFAX_BASE_URL": true, "KEYFAX_HOST_NAME": true, "NFON_BASE_URL": true, "NFON_ALLOWED_PATHS": true,
	"FORTIS_BASE_URL": true, "FORTIS_DEVELOPER_ID": true, "FORTIS_DOMAIN": true, "ANSIRA_TOKEN_URL": true,
	"ANSIRA_SCOPE": true, "FONN_BASE_URL": true, "FONN_ALLOWED_PATHS": true, "FONN_TOKEN_KIND": true,
	"APISIGN_ALLOWED_ORIGINS": true, "APISIGN_MAX_BODY": true, "APISIGN_UPSTREAM_TIMEOUT": true,
	"APISIGN_RATE_LIMIT": true, "FORTIS_MAX_SESSIONS": true, "ANSIRA_REEXCHANGE_INTERVAL": true,
	"KEYFAX_KEY_FILE": true,
}

// SecretValues returns every secret value of a broker environment, and the
// Ansira Basic credentials (a secret in themselves) when they are set.
func SecretValues(env map[string]string) []string {
	var s []string
	for k, v := range env {
		if !PublicEnv[k] && v != "" {
			s = append(s, v)
		}
	}
	if env["ANSIRA_CLIENT_ID"] != "" {
		s = append(s, base64.StdEncoding.EncodeToString([]byte(env["ANSIRA_CLIENT_ID"]+":"+env["ANSIRA_CLIENT_SECRET"])))
	}
	return s
}

// SecretForms lists the usual encodings a leaked secret could take.
func SecretForms(s string) []string {
	return []string{
		s,
		base64.StdEncoding.EncodeToString([]byte(s)),
		base64.RawURLEncoding.EncodeToString([]byte(s)),
		hex.EncodeToString([]byte(s)),
		url.QueryEscape(s),
		url.PathEscape(s),
		strings.TrimRight(s, "="), // a base64 key without its padding
	}
}

// Scan fails the test if text contains one of secrets in one of its forms.
// Messages name the secret by its index, never by its value.
func Scan(t testing.TB, what, text string, secrets []string) {
	t.Helper()
	for i, s := range secrets {
		if s == "" {
			continue
		}
		for j, form := range SecretForms(s) {
			if strings.Contains(text, form) {
				t.Errorf("%s: secret #%d appears in it (form #%d)", what, i, j)
			}
		}
	}
}
