package broker

import (
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/clock"
)

// forwarder is one forwarding route: NFON (signed) or Fonn (authorized).
type forwarder struct {
	name     string
	base     string   // upstream base URL, no trailing slash
	host     *url.URL // its parsed form: every forwarded URL keeps this scheme and host
	prefixes []string // allowed upstream path prefixes (relative to base)
	// passOn lists the client request headers sent upstream, besides
	// Content-Type and Accept. Nothing else of the client's goes: not its
	// cookies, not its Authorization, not the caller token.
	passOn []string
	// authorize adds the provider's credentials to req; in is the caller's
	// request header, for a marker meant for the broker (never sent on).
	authorize func(req *signers.Request, in http.Header) error
	// check, when set, refuses a request the provider's rules or the caller's
	// scope do not allow, before anything is read or sent; false: it has
	// answered.
	check func(w http.ResponseWriter, r *http.Request) bool
	// again, when set, tells from an answer that the request is worth one more
	// try, and changes req for it (Fonn: the other subscription key).
	again func(req *signers.Request, resp *signers.Response) bool
	skew  *clock.Skewed // learns the upstream clock from Date (NFON)
}

// passBack lists the upstream answer headers the caller gets; the rest
// (cookies, caching, server details, an X-Apisign-Error of the upstream's)
// stays behind.
var passBack = []string{"Content-Type", "Content-Disposition", "Content-Language", "Retry-After", "Date"}

// newForwarder reads what every forwarding provider has, from the values v
// of its variables: <P>_BASE_URL and the path allow-list <P>_ALLOWED_PATHS
// (def when unset). It returns the forwarder without its authorize.
func newForwarder(e *env, p string, v map[string]string, def string) (*forwarder, string) {
	pre := strings.ToUpper(p)
	base, u, why := e.base(p, pre+"_BASE_URL", v)
	if why != "" {
		return nil, why
	}
	prefixes, ok := e.prefixes(pre+"_ALLOWED_PATHS", def)
	if !ok {
		return nil, e.invalid(p, pre+"_ALLOWED_PATHS", "is not a comma-separated list of absolute paths")
	}
	return &forwarder{name: p, base: base, host: u, prefixes: prefixes}, ""
}

// forwardTo is the route handler of a forwarding provider.
func forwardTo(p string) func(b *Broker, w http.ResponseWriter, r *http.Request, rest string) {
	return func(b *Broker, w http.ResponseWriter, r *http.Request, rest string) {
		b.forward(w, r, b.forwarders[p], rest)
	}
}

// forward sends the caller's request to the provider: the same method, the
// path and query as sent (after the route prefix), the same body bytes, plus
// the provider's credentials; and passes back the upstream status, body and a
// few headers. path is the escaped path after the route prefix.
func (b *Broker) forward(w http.ResponseWriter, r *http.Request, f *forwarder, path string) {
	if f.check != nil && !f.check(w, r) {
		return
	}
	if msg := checkPath(path); msg != "" {
		writeError(w, http.StatusForbidden, signers.CodeInput, msg)
		return
	}
	if !allowedPrefix(path, f.prefixes) {
		writeError(w, http.StatusForbidden, signers.CodeInput, "path is not in the "+f.name+" allow-list ("+strings.ToUpper(f.name)+"_ALLOWED_PATHS)")
		return
	}
	if !cleanQuery(r.URL.RawQuery) {
		writeError(w, http.StatusBadRequest, signers.CodeInput, "query string contains a character that must be percent-encoded")
		return
	}
	body, ok := b.readBody(w, r)
	if !ok {
		return
	}
	target := f.base + path
	if r.URL.RawQuery != "" {
		target += "?" + r.URL.RawQuery
	}
	if u, err := url.Parse(target); err != nil || u.Scheme != f.host.Scheme || u.Host != f.host.Host {
		// Cannot happen after checkPath; kept so that no future change of the
		// checks can point the broker's credentials at another host.
		writeError(w, http.StatusForbidden, signers.CodeInput, "path does not stay on the "+f.name+" host")
		return
	}
	req := &signers.Request{Method: r.Method, URL: target, Header: signers.Header{}, Body: body}
	for _, k := range append([]string{"Content-Type", "Accept"}, f.passOn...) {
		if v := header(r.Header, k); v != "" {
			req.Header.Set(k, v)
		}
	}
	if err := f.authorize(req, r.Header); err != nil {
		code := signers.CodeOf(err)
		if code != signers.CodeInput {
			// A credential the core refuses now was accepted at start: a bug.
			writeError(w, http.StatusInternalServerError, signers.CodeInternal, f.name+" credentials could not be applied")
			return
		}
		writeError(w, http.StatusBadRequest, signers.CodeInput, f.name+" request cannot be signed ("+msgOf(err)+")")
		return
	}
	ctx, cancel := b.upstreamCtx(r)
	defer cancel()
	resp, err := b.send(ctx, req)
	if err == nil && f.again != nil && f.again(req, resp) {
		b.logf("apisign broker: %s refused a credential; sent once more with the other", f.name)
		resp, err = b.send(ctx, req)
	}
	if err != nil {
		b.upstreamError(w, r, f.name, err)
		return
	}
	if f.skew != nil {
		f.skew.Observe(resp.Header.Get("Date"))
	}
	status := resp.Status
	if status < 200 || status > 599 {
		b.logf("apisign broker: %s answered an unusable status %d", f.name, status)
		writeError(w, http.StatusBadGateway, signers.CodeHTTP, f.name+" answered an unusable status "+strconv.Itoa(status))
		return
	}
	h := w.Header()
	for _, k := range passBack {
		if v := resp.Header.Get(k); v != "" {
			h.Set(k, v)
		}
	}
	if v := h.Get("Retry-After"); v != "" && !validRetryAfter(v, b.clock.Now()) {
		h.Del("Retry-After")
	}
	// The upstream's answer is served from the broker's origin: it must not
	// run there as a page, nor be sniffed into one.
	h.Set("Content-Security-Policy", "sandbox")
	h.Set("X-Content-Type-Options", "nosniff")
	if status >= 500 || status == http.StatusTooManyRequests {
		b.logf("apisign broker: %s answered %d", f.name, status)
	}
	if r.Method == http.MethodHead || status == http.StatusNoContent || status == http.StatusNotModified {
		w.WriteHeader(status)
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(resp.Body)))
	w.WriteHeader(status)
	w.Write(resp.Body)
}

// readBody reads the request body whole, at most maxBody bytes (413 beyond:
// the Worker may not know the length in advance, so the cap is enforced while
// reading, not only from Content-Length).
func (b *Broker) readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, true
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, b.maxBody+1))
	if err != nil {
		writeError(w, http.StatusBadRequest, signers.CodeInput, "request body could not be read")
		return nil, false
	}
	if int64(len(data)) > b.maxBody {
		writeError(w, http.StatusRequestEntityTooLarge, signers.CodeInput, "request body is larger than "+strconv.FormatInt(b.maxBody, 10)+" bytes")
		return nil, false
	}
	return data, true
}

// checkPath refuses a forwarded path that could leave the allow-list or the
// upstream host once some server on the way decodes or normalizes it (once,
// twice, leniently, dropping ";" parameters or trailing spaces, folding
// look-alike characters). It returns a message, or "" for a clean path.
// Refused:
//   - anything but "/" first, or an empty segment ("//host" tricks);
//   - control bytes, space, non-ASCII, '\', '#', '?' (all must be encoded);
//   - a malformed percent-escape ("%zz", "%u002e");
//   - in any step, a segment split on its raw and its decoded '/'s, as sent
//     or after decoding the segment one to three times (a malformed escape
//     met on the way is kept as it is, as lenient decoders do): a "." or ".."
//     name, also before a ";" parameter or followed by spaces ("..;x",
//     ".. "); an empty step (an encoded '/' first, last or doubled: "//host"
//     again); a trailing space; an encoded '\', '?' or '#'; an encoded
//     control byte; an encoded non-ASCII byte (overlong UTF-8 "%c0%ae" and
//     full-width "%ef%bc%8e" dots among them: the upstream APIs' paths are
//     ASCII names).
//
// An encoded '/' inside a step ("a%2Fb") passes: NFON wants a '/' that is
// data in a path step sent as %2F (docs/PROTOCOLS.md "NFON"), and however
// often a server decodes it, no step it yields is a dot name, so it cannot
// leave the allowed prefix.
func checkPath(p string) string {
	if p == "" || p[0] != '/' {
		return "path must start with /"
	}
	if len(p) > 4096 {
		return "path is too long"
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c <= ' ' || c >= 0x7f || c == '\\' || c == '#' || c == '?' {
			return "path contains a character that must be percent-encoded"
		}
	}
	if strings.Contains(p, "//") {
		return "path contains an empty segment (//)"
	}
	for _, seg := range strings.Split(p[1:], "/") {
		s := seg
		for depth := 0; ; depth++ {
			if msg := checkSteps(s); msg != "" {
				return msg
			}
			if !strings.Contains(s, "%") {
				break
			}
			if depth == 3 {
				return "path is percent-encoded too many times"
			}
			u, ok := unescapeLenient(s)
			if !ok && depth == 0 {
				return "path contains a malformed percent-escape"
			}
			if u == s {
				break // only literal '%'s left
			}
			s = u
		}
	}
	return ""
}

// checkSteps checks one segment at one decoding depth, each step between its
// (decoded) '/'s (see checkPath).
func checkSteps(s string) string {
	steps := strings.Split(s, "/")
	for _, step := range steps {
		if step == "" && len(steps) > 1 {
			return "path contains an encoded / that makes an empty step"
		}
		if msg := checkStep(step); msg != "" {
			return msg
		}
	}
	return ""
}

// checkStep checks one step (see checkPath).
func checkStep(s string) string {
	name, _, _ := strings.Cut(s, ";")
	if n := strings.TrimRight(name, " "); n == "." || n == ".." {
		return "path contains a dot segment (. or ..), possibly percent-encoded"
	}
	if strings.HasSuffix(name, " ") || strings.HasSuffix(s, " ") {
		return "path segment ends with a space"
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			return "path contains an encoded \\"
		case c == '?' || c == '#':
			return "path contains an encoded ? or #"
		case c < ' ' || c == 0x7f:
			return "path contains an encoded control character"
		case c >= 0x80:
			return "path contains an encoded non-ASCII character"
		}
	}
	return ""
}

// unescapeLenient decodes every well-formed %XX of s and keeps the rest as it
// is; ok is false when s has a malformed escape.
func unescapeLenient(s string) (string, bool) {
	var b strings.Builder
	ok := true
	for i := 0; i < len(s); i++ {
		if s[i] == '%' {
			if i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
				b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
				i += 2
				continue
			}
			ok = false
		}
		b.WriteByte(s[i])
	}
	return b.String(), ok
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

// allowedPrefix reports whether p starts with one of the prefixes at a segment
// boundary ("/api" allows "/api" and "/api/x", not "/apix").
func allowedPrefix(p string, prefixes []string) bool {
	for _, pre := range prefixes {
		if p == pre || strings.HasPrefix(p, pre) && (strings.HasSuffix(pre, "/") || p[len(pre)] == '/') {
			return true
		}
	}
	return false
}

// cleanQuery accepts a raw query of visible ASCII without '#'; it is passed on
// byte for byte (it cannot change the host the broker talks to).
func cleanQuery(q string) bool {
	for i := 0; i < len(q); i++ {
		if c := q[i]; c <= ' ' || c >= 0x7f || c == '#' {
			return false
		}
	}
	return true
}

// pathToken reads a token that a route takes as the last path segment (the
// Fortis session token of DELETE /fortis/session/{token}) from rest, "/" and
// the segment as sent. A token is 1 to 512 unreserved characters (letters,
// digits, '-', '_', '~', '.'), not all dots, and is taken as sent: no
// percent-decoding, so that "%2e%2e" or "..%2f" never reaches an upstream path
// as a dot segment or a slash. ok is false for anything else.
func pathToken(rest string) (string, bool) {
	tok, ok := strings.CutPrefix(rest, "/")
	if !ok || tok == "" || len(tok) > 512 || strings.Trim(tok, ".") == "" {
		return "", false
	}
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '-' || c == '_' || c == '~' || c == '.') {
			return "", false
		}
	}
	return tok, true
}
