// Package fakeup emulates the five providers' auth endpoints for the broker's
// tests, on one http.Handler: a Keyfax token endpoint, an NFON API, Fortis
// sessions, an Ansira token endpoint and a Fonn API, each refusing what is not
// authenticated the way the provider documents.
//
// Signatures are checked twice: with the core's verifiers (keyfax.Verifier,
// nfon.Verifier) and with an independent recomputation here, written from
// shared/PROTOCOLS.md with the standard library only, so that a fault shared by
// the core's signer and verifier still fails the tests.
//
// Credentials are fresh random values; Env returns the broker environment that
// points at a server serving the Fake.
package fakeup

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/clock"
	"github.com/apisign/apisign/signers/keyfax"
	"github.com/apisign/apisign/signers/nfon"
)

// Fake is the emulated upstream. Its exported fields may be changed before it
// serves; Hook may be changed at any time under the Fake's lock (SetHook).
type Fake struct {
	Clock clock.Clock

	KeyfaxHost, KeyfaxAPIKey, KeyfaxSigningKey string
	JWTLifetime                                time.Duration
	NFONKeyID, NFONSecret                      string
	FortisDeveloperID, FortisUser, FortisPass  string
	FortisDomain                               string
	AnsiraClientID, AnsiraSecret               string
	AnsiraAssertion, AnsiraScope               string
	AnsiraExpiresIn                            int
	FonnKey, FonnToken                         string

	kfVerifier *keyfax.Verifier
	jwtKey     []byte

	mu       sync.Mutex
	hook     func(provider string, w http.ResponseWriter, r *http.Request) bool
	counts   map[string]int
	sessions map[string]bool
	failures []string
}

// New returns a Fake with random credentials and the given clock (nil: real).
func New(c clock.Clock) *Fake {
	if c == nil {
		c = clock.Real
	}
	f := &Fake{
		Clock:             c,
		KeyfaxHost:        "Dev",
		KeyfaxAPIKey:      "kfapi-" + randHex(16),
		KeyfaxSigningKey:  base64.StdEncoding.EncodeToString(randBytes(64)),
		JWTLifetime:       24 * time.Hour,
		NFONKeyID:         "nfonkey-" + randHex(12),
		NFONSecret:        "nfonsecret-" + randHex(16),
		FortisDeveloperID: "dev-" + randHex(6),
		FortisUser:        "fortisuser-" + randHex(8),
		FortisPass:        "fortispass-" + randHex(16),
		FortisDomain:      "example",
		AnsiraClientID:    "ansiraclient-" + randHex(8),
		AnsiraSecret:      "ansirasecret-" + randHex(16),
		AnsiraAssertion:   "eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJhc3NlcnQtIiwianRpIjoi" + randHex(16) + "In0.c2ln",
		AnsiraScope:       "read write",
		AnsiraExpiresIn:   3600,
		FonnKey:           "fonnkey-" + randHex(16),
		FonnToken:         "fonntoken-" + randHex(16),
		jwtKey:            randBytes(32),
		counts:            map[string]int{},
		sessions:          map[string]bool{},
	}
	keys, err := keyfax.KeysFromBase64(f.KeyfaxHost, f.KeyfaxAPIKey, f.KeyfaxSigningKey)
	if err != nil {
		panic("fakeup: " + err.Error())
	}
	f.kfVerifier = &keyfax.Verifier{Keys: keys, Clock: c}
	return f
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return b
}

func randHex(n int) string { return hex.EncodeToString(randBytes(n)) }

// Env returns the broker environment for a server at base (scheme://host:port)
// that serves the Fake, without the caller secret and origins.
func (f *Fake) Env(base string) map[string]string {
	return map[string]string{
		"KEYFAX_BASE_URL":       base + "/keyfax/Interview",
		"KEYFAX_HOST_NAME":      f.KeyfaxHost,
		"KEYFAX_API_KEY":        f.KeyfaxAPIKey,
		"KEYFAX_SIGNING_KEY":    f.KeyfaxSigningKey,
		"NFON_BASE_URL":         base + "/nfon",
		"NFON_KEY_ID":           f.NFONKeyID,
		"NFON_SECRET":           f.NFONSecret,
		"FORTIS_BASE_URL":       base + "/fortis",
		"FORTIS_DEVELOPER_ID":   f.FortisDeveloperID,
		"FORTIS_USERNAME":       f.FortisUser,
		"FORTIS_PASSWORD":       f.FortisPass,
		"FORTIS_DOMAIN":         f.FortisDomain,
		"ANSIRA_TOKEN_URL":      base + "/ansira/oauth/v2/oauth-token",
		"ANSIRA_CLIENT_ID":      f.AnsiraClientID,
		"ANSIRA_CLIENT_SECRET":  f.AnsiraSecret,
		"ANSIRA_ASSERTION":      f.AnsiraAssertion,
		"ANSIRA_SCOPE":          f.AnsiraScope,
		"FONN_BASE_URL":         base + "/fonn",
		"FONN_SUBSCRIPTION_KEY": f.FonnKey,
		"FONN_ACCESS_TOKEN":     f.FonnToken,
	}
}

// Secrets lists the values the broker must never reveal.
func (f *Fake) Secrets() []string {
	return []string{f.KeyfaxAPIKey, f.KeyfaxSigningKey, f.NFONKeyID, f.NFONSecret, f.FortisUser, f.FortisPass,
		f.AnsiraClientID, f.AnsiraSecret, f.AnsiraAssertion, f.FonnKey, f.FonnToken}
}

// SetHook installs a function that sees every request first; when it returns
// true it has answered and the emulator does nothing more.
func (f *Fake) SetHook(h func(provider string, w http.ResponseWriter, r *http.Request) bool) {
	f.mu.Lock()
	f.hook = h
	f.mu.Unlock()
}

// Count returns how many authenticated requests an endpoint served, by name:
// "keyfax get", "keyfax renew", "nfon", "fortis open", "fortis close",
// "ansira", "fonn".
func (f *Fake) Count(name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.counts[name]
}

// Failures returns what the emulator refused, with the reason, so that a test
// can show why a call failed.
func (f *Fake) Failures() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.failures...)
}

func (f *Fake) count(name string) {
	f.mu.Lock()
	f.counts[name]++
	f.mu.Unlock()
}

func (f *Fake) refuse(w http.ResponseWriter, status int, why string) {
	f.mu.Lock()
	f.failures = append(f.failures, strconv.Itoa(status)+" "+why)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": why})
}

// Echo is what the NFON and Fonn emulators answer: the request as received.
type Echo struct {
	Method       string `json:"method"`
	URI          string `json:"uri"`
	ContentType  string `json:"contentType"`
	Accept       string `json:"accept"`
	BodyMD5      string `json:"bodyMD5"`
	BodyLen      int    `json:"bodyLen"`
	Impersonated string `json:"impersonated"`
	// Headers lists the names of every header received (lower case), so a
	// test can check that nothing of the caller's leaked upstream.
	Headers []string `json:"headers"`
}

func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	uri := r.RequestURI
	if uri == "" { // a client-side request handed over in memory
		uri = r.URL.RequestURI()
	}
	provider, _, _ := strings.Cut(strings.TrimPrefix(uri, "/"), "/")
	f.mu.Lock()
	hook := f.hook
	f.mu.Unlock()
	w.Header().Set("Date", clock.FormatHTTPDate(f.Clock.Now()))
	if hook != nil && hook(provider, w, r) {
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		f.refuse(w, 400, "body unreadable")
		return
	}
	switch provider {
	case "keyfax":
		f.keyfax(w, r, uri, body)
	case "nfon":
		f.nfon(w, r, uri, body)
	case "fortis":
		f.fortis(w, r, uri, body)
	case "ansira":
		f.ansira(w, r, uri, body)
	case "fonn":
		f.fonn(w, r, uri, body)
	default:
		f.refuse(w, 404, "no such provider")
	}
}

// ---- Keyfax -----------------------------------------------------------------

func (f *Fake) keyfax(w http.ResponseWriter, r *http.Request, uri string, body []byte) {
	if uri != "/keyfax/Interview/api/v1/token" {
		f.refuse(w, 404, "keyfax: no such endpoint")
		return
	}
	auth := r.Header.Get("Authorization")
	switch r.Method {
	case "GET":
		abs := "http://" + r.Host + uri
		if _, err := f.kfVerifier.Verify(auth, r.Method, abs, body); err != nil {
			f.refuse(w, 401, "keyfax: core verifier: "+err.Error())
			return
		}
		if why := f.keyfaxIndependent(auth, r.Method, abs, body); why != "" {
			f.refuse(w, 401, "keyfax: independent check: "+why)
			return
		}
		f.count("keyfax get")
	case "POST":
		jwt, ok := strings.CutPrefix(auth, "Bearer "+f.KeyfaxHost+":")
		if !ok || !f.validJWT(jwt) {
			f.refuse(w, 401, "keyfax: renewal without a valid bearer JWT")
			return
		}
		f.count("keyfax renew")
	default:
		f.refuse(w, 405, "keyfax: method")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]string{"token": f.MintJWT(f.Clock.Now().Add(f.JWTLifetime))})
}

// keyfaxIndependent recomputes the Keyfax Basic signature from PROTOCOLS.md:
// raw = ApiKey + METHOD + UrlEncode(lower(uri)) + Timestamp + Nonce + BodyMD5.
func (f *Fake) keyfaxIndependent(auth, method, uri string, body []byte) string {
	fields := strings.Split(strings.TrimPrefix(auth, "Basic "), ":")
	if len(fields) != 5 || fields[0] != f.KeyfaxHost || fields[1] != f.KeyfaxAPIKey {
		return "header fields"
	}
	sig, nonce, ts := fields[2], fields[3], fields[4]
	var enc strings.Builder
	for _, c := range []byte(strings.ToLower(uri)) {
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', strings.IndexByte("-_.!*()", c) >= 0:
			enc.WriteByte(c)
		case c == ' ':
			enc.WriteByte('+')
		default:
			enc.WriteString("%" + hex.EncodeToString([]byte{c}))
		}
	}
	bodyMD5 := ""
	if len(body) > 0 {
		sum := md5.Sum(body)
		bodyMD5 = base64.StdEncoding.EncodeToString(sum[:])
	}
	key, _ := base64.StdEncoding.DecodeString(f.KeyfaxSigningKey)
	m := hmac.New(sha256.New, key)
	m.Write([]byte(f.KeyfaxAPIKey + strings.ToUpper(method) + enc.String() + ts + nonce + bodyMD5))
	if base64.StdEncoding.EncodeToString(m.Sum(nil)) != sig {
		return "signature"
	}
	return ""
}

// MintJWT returns an HS256 JWT that expires at exp.
func (f *Fake) MintJWT(exp time.Time) string {
	enc := base64.RawURLEncoding
	h := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	p := enc.EncodeToString([]byte(`{"sub":"fake","jti":"` + randHex(8) + `","exp":` + strconv.FormatInt(exp.Unix(), 10) + `}`))
	m := hmac.New(sha256.New, f.jwtKey)
	m.Write([]byte(h + "." + p))
	return h + "." + p + "." + enc.EncodeToString(m.Sum(nil))
}

func (f *Fake) validJWT(jwt string) bool {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return false
	}
	m := hmac.New(sha256.New, f.jwtKey)
	m.Write([]byte(parts[0] + "." + parts[1]))
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || !hmac.Equal(sig, m.Sum(nil)) {
		return false
	}
	claims, err := keyfax.ReadJWT(jwt)
	return err == nil && f.Clock.Now().Before(claims.Exp)
}

// ---- NFON -------------------------------------------------------------------

func (f *Fake) nfon(w http.ResponseWriter, r *http.Request, uri string, body []byte) {
	h := signers.Header{}
	for k := range r.Header {
		h[k] = r.Header.Get(k)
	}
	v := &nfon.Verifier{Keys: func(id string) (string, bool) { return f.NFONSecret, id == f.NFONKeyID }}
	if _, err := v.Verify(r.Method, uri, h, body, f.Clock.Now()); err != nil {
		f.refuse(w, 401, "nfon: core verifier: "+err.Error())
		return
	}
	if why := f.nfonIndependent(r, uri, body); why != "" {
		f.refuse(w, 401, "nfon: independent check: "+why)
		return
	}
	f.count("nfon")
	f.echo(w, r, uri, body)
}

// nfonIndependent recomputes the NFON-API signature from PROTOCOLS.md:
// METHOD \n [md5hex \n Content-Type \n] Date \n Resource, HMAC-SHA1, base64.
func (f *Fake) nfonIndependent(r *http.Request, uri string, body []byte) string {
	sts := r.Method + "\n"
	ct := r.Header.Get("Content-Type")
	if (r.Method == "POST" || r.Method == "PUT" || r.Method == "PATCH") && !strings.HasPrefix(strings.ToLower(ct), "audio/") {
		sum := md5.Sum(body)
		if r.Header.Get("Content-MD5") != hex.EncodeToString(sum[:]) {
			return "Content-MD5"
		}
		sts += hex.EncodeToString(sum[:]) + "\n" + ct + "\n"
	}
	sts += r.Header.Get("x-nfon-date") + "\n" + uri
	m := hmac.New(sha1.New, []byte(f.NFONSecret))
	m.Write([]byte(sts))
	if r.Header.Get("Authorization") != "NFON-API "+f.NFONKeyID+":"+base64.StdEncoding.EncodeToString(m.Sum(nil)) {
		return "signature"
	}
	return ""
}

// echo answers 200 with the request as received, an upstream cookie and an
// upstream-only header (which the broker must not pass back).
func (f *Fake) echo(w http.ResponseWriter, r *http.Request, uri string, body []byte) {
	sum := md5.Sum(body)
	e := Echo{
		Method: r.Method, URI: uri, ContentType: r.Header.Get("Content-Type"), Accept: r.Header.Get("Accept"),
		BodyMD5: hex.EncodeToString(sum[:]), BodyLen: len(body),
		Impersonated: r.Header.Get("impersonatedUserExternalId"),
	}
	for k := range r.Header {
		e.Headers = append(e.Headers, strings.ToLower(k))
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Set-Cookie", "upstream-session=1")
	w.Header().Set("X-Upstream-Only", "1")
	status := http.StatusOK
	if s := r.URL.Query().Get("status"); s != "" {
		status, _ = strconv.Atoi(s)
	}
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(e)
}

// ---- Fortis -----------------------------------------------------------------

func (f *Fake) fortis(w http.ResponseWriter, r *http.Request, uri string, body []byte) {
	if r.Header.Get("developer-id") != f.FortisDeveloperID {
		f.refuse(w, 401, "fortis: developer-id")
		return
	}
	switch {
	case r.Method == "POST" && uri == "/fortis/v2/token":
		var in struct{ Username, Password, Domain string }
		if json.Unmarshal(body, &in) != nil || in.Username != f.FortisUser || in.Password != f.FortisPass || in.Domain != f.FortisDomain {
			f.refuse(w, 401, "fortis: credentials")
			return
		}
		tok := "fts-" + randHex(12)
		f.mu.Lock()
		f.sessions[tok] = true
		f.mu.Unlock()
		f.count("fortis open")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(map[string]any{"token": map[string]any{"token": tok, "expire": 15, "user_id": "u1"}})
	case r.Method == "DELETE" && strings.HasPrefix(uri, "/fortis/v2/token/"):
		tok, err := url.PathUnescape(strings.TrimPrefix(uri, "/fortis/v2/token/"))
		if err != nil || r.Header.Get("access-token") != tok {
			f.refuse(w, 400, "fortis: close request")
			return
		}
		f.mu.Lock()
		known := f.sessions[tok]
		delete(f.sessions, tok)
		f.mu.Unlock()
		if !known {
			f.refuse(w, 404, "fortis: unknown token")
			return
		}
		f.count("fortis close")
		w.WriteHeader(http.StatusNoContent)
	default:
		f.refuse(w, 404, "fortis: no such endpoint")
	}
}

// Session reports whether a Fortis session token is open.
func (f *Fake) Session(tok string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.sessions[tok]
}

// ---- Ansira -----------------------------------------------------------------

func (f *Fake) ansira(w http.ResponseWriter, r *http.Request, uri string, body []byte) {
	if r.Method != "POST" || uri != "/ansira/oauth/v2/oauth-token" {
		f.refuse(w, 404, "ansira: no such endpoint")
		return
	}
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte(f.AnsiraClientID+":"+f.AnsiraSecret))
	if r.Header.Get("Authorization") != want {
		f.refuse(w, 401, "ansira: client credentials")
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" ||
		form.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" ||
		form.Get("assertion") != f.AnsiraAssertion || form.Get("scope") != f.AnsiraScope {
		f.refuse(w, 400, "ansira: token request form")
		return
	}
	f.count("ansira")
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"token_type": "bearer", "access_token": "ansira-at-" + randHex(12), "scope": f.AnsiraScope,
		"claims": map[string]any{"sub": "fake"}, "expires_in": f.AnsiraExpiresIn,
	})
}

// ---- Fonn -------------------------------------------------------------------

func (f *Fake) fonn(w http.ResponseWriter, r *http.Request, uri string, body []byte) {
	if r.Header.Get("Ocp-Apim-Subscription-Key") != f.FonnKey || r.Header.Get("Authorization") != f.FonnToken {
		f.refuse(w, 401, "fonn: subscription key or access token")
		return
	}
	f.count("fonn")
	f.echo(w, r, uri, body)
}

// ---- in memory ----------------------------------------------------------------

// Transport is an http.RoundTripper that hands each request to h in memory,
// as a server would receive it, without a socket, so that the tests also run
// under GOOS=js. It honours the request's context: a handler that hangs is
// abandoned when the context ends, as a real client would.
type Transport struct{ Handler http.Handler }

func (t Transport) RoundTrip(r *http.Request) (*http.Response, error) {
	sr := r.Clone(r.Context())
	sr.RequestURI = r.URL.RequestURI()
	sr.Host = r.URL.Host
	if sr.Body == nil {
		sr.Body = http.NoBody
	}
	rec := newRecorder()
	done := make(chan struct{})
	go func() {
		defer close(done)
		t.Handler.ServeHTTP(rec, sr)
	}()
	select {
	case <-done:
		return rec.result(), nil
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
}

type recorder struct {
	h      http.Header
	status int
	body   strings.Builder
}

func newRecorder() *recorder { return &recorder{h: http.Header{}} }

func (r *recorder) Header() http.Header { return r.h }

func (r *recorder) WriteHeader(s int) {
	if r.status == 0 {
		r.status = s
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	r.WriteHeader(200)
	return r.body.Write(b)
}

func (r *recorder) result() *http.Response {
	if r.status == 0 {
		r.status = 200
	}
	return &http.Response{StatusCode: r.status, Status: strconv.Itoa(r.status) + " " + http.StatusText(r.status),
		Header: r.h, Body: io.NopCloser(strings.NewReader(r.body.String())), ProtoMajor: 1, ProtoMinor: 1}
}
