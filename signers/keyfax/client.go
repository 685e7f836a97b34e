package keyfax

import (
	"github.com/apisign/apisign/signers/weburl"
	"strings"

	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/internal/jsonv"
)

// The Keyfax Web API endpoints of the client flow, relative to the base URL
// (the Keyfax application root, e.g. "https://host/Interview"). See
// docs/PROTOCOLS.md, "Keyfax".
const (
	StartupPath = "/api/v1/startup"
	ResultsPath = "/api/v1/results"
)

// The request builders and answer readers below are in the style of
// oauth4webapi: plain values in, plain values out, no I/O. Sending is the
// caller's (signers/flow adds the Bearer header). The rule logic takes values
// that are already parsed (ReadLaunch), so that a runtime whose JSON parser is
// elsewhere (the browser's) can use it without encoding/json; the functions
// that read JSON bytes are separate.

// endpoint joins a base URL and one of the paths above, checking the base as
// TokenSource does.
func endpoint(op, baseURL, path string) (string, error) {
	base := strings.TrimRight(baseURL, "/")
	if strings.ContainsAny(base, "?#") {
		return "", signers.E(signers.CodeInput, op, "base URL must not have a query or fragment")
	}
	if _, err := WireURI(base); err != nil {
		return "", signers.E(signers.CodeInput, op, "base URL is not an absolute http(s) URL")
	}
	return base + path, nil
}

func jsonRequest(method, u string, body []byte) *signers.Request {
	h := signers.Header{"Accept": "application/json"}
	if body != nil {
		h["Content-Type"] = "application/json"
	}
	return &signers.Request{Method: method, URL: u, Header: h, Body: body}
}

// StartupRequest is POST StartupPath with Keyfax start-up data, a JSON object
// (Keyfax answers the launch data for it). E_INPUT when startup does not start
// as a JSON object; its members are Keyfax's to judge.
func StartupRequest(baseURL string, startup []byte) (*signers.Request, error) {
	const op = "keyfax.StartupRequest"
	u, err := endpoint(op, baseURL, StartupPath)
	if err != nil {
		return nil, err
	}
	if s := strings.TrimSpace(string(startup)); len(s) < 2 || s[0] != '{' || s[len(s)-1] != '}' {
		return nil, signers.E(signers.CodeInput, op, "start-up data must be a JSON object")
	}
	return jsonRequest("POST", u, startup), nil
}

// Launch is what a start-up answer tells the host: the session's guid, the URL
// to show Keyfax at, the company, and the return URL Keyfax sends the user back
// to (from the start-up data sent; empty when none was).
type Launch struct {
	GUID, LaunchURL, Company, ReturnURL string
}

// ParseStartup reads a start-up answer: status 200 (or 201) with the launch data
// as JSON; sent is the start-up data that was sent (JSON), which supplies the
// company and return URL when the answer leaves them out. E_HTTP with the status
// for any other status, or when the answer has no guid or launch URL.
func ParseStartup(status int, body, sent []byte) (Launch, error) {
	const op = "keyfax.ParseStartup"
	if status != 200 && status != 201 {
		return Launch{}, signers.Answered(op, "POST "+StartupPath, status)
	}
	// An unreadable answer has no launch data: ReadLaunch says so.
	l, ok := ReadLaunch(decode(body), decode(sent))
	if !ok {
		return Launch{}, &signers.Error{Code: signers.CodeHTTP, Op: op, Status: status,
			Msg: "the start-up answer has no guid or launch URL"}
	}
	return l, nil
}

// ReadLaunch reads Keyfax's launch data leniently from a parsed answer (JSON
// values as encoding/json or JSON.parse make them): the members guid, launchUrl
// (or url, keyfaxUrl, launchUri) and company, matched without regard to case, at
// the top level or under data / launchData, each a string or a Keyfax item
// { value }; a bare string answer is the launch URL. A missing guid is taken from
// the launch URL's guid parameter, a missing company (and the return URL) from
// the start-up data sent. ok is false without a guid or a launch URL.
func ReadLaunch(answer, sent any) (l Launch, ok bool) {
	if s, ok := answer.(string); ok {
		answer = map[string]any{"launchUrl": s}
	}
	m, _ := answer.(map[string]any)
	for _, under := range []string{"", "data", "launchData"} {
		o := m
		if under != "" {
			o, _ = member(m, under).(map[string]any)
		}
		l.GUID = first(l.GUID, itemString(member(o, "guid")))
		l.LaunchURL = first(l.LaunchURL, itemString(member(o, "launchUrl")), itemString(member(o, "url")),
			itemString(member(o, "keyfaxUrl")), itemString(member(o, "launchUri")))
		l.Company = first(l.Company, itemString(member(o, "company")))
	}
	if l.GUID == "" {
		if u, err := weburl.Parse(l.LaunchURL); err == nil {
			l.GUID = u.Query().Get("guid")
		}
	}
	s, _ := sent.(map[string]any)
	l.Company = first(l.Company, itemString(member(s, "company")))
	l.ReturnURL = itemString(member(s, "returnUrl"))
	return l, l.GUID != "" && l.LaunchURL != ""
}

// decode reads a JSON answer as JSON.parse would, and an XML one (Keyfax
// speaks both; see Format) as an object of the members ReadLaunch reads.
func decode(b []byte) any {
	if t := strings.TrimSpace(string(b)); t == "" || t[0] != '<' {
		return jsonv.Decode(b)
	}
	m := map[string]any{}
	for _, name := range []string{"guid", "launchUrl", "url", "keyfaxUrl", "launchUri", "company", "returnUrl"} {
		if v, ok := XMLText(b, name); ok {
			m[name] = v
		}
	}
	return m
}

// member returns m[name], matched exactly first, then without regard to case.
func member(m map[string]any, name string) any {
	if v, ok := m[name]; ok {
		return v
	}
	for k, v := range m {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return nil
}

// itemString reads a string, or a Keyfax item { value: string }.
func itemString(v any) string {
	switch x := v.(type) {
	case string:
		return strings.TrimSpace(x)
	case map[string]any:
		if s, ok := member(x, "value").(string); ok {
			return strings.TrimSpace(s)
		}
	}
	return ""
}

func first(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// ResultsRequest is POST ResultsPath with the launch data that names the
// session: {"company":…,"guid":…}. E_INPUT for an empty guid.
func ResultsRequest(baseURL, company, guid string) (*signers.Request, error) {
	const op = "keyfax.ResultsRequest"
	u, err := endpoint(op, baseURL, ResultsPath)
	if err != nil {
		return nil, err
	}
	if guid == "" {
		return nil, signers.E(signers.CodeInput, op, "guid is empty")
	}
	body := `{"company":` + jsonString(company) + `,"guid":` + jsonString(guid) + `}`
	return jsonRequest("POST", u, []byte(body)), nil
}

// ParseResults reads a results answer's status, as Keyfax documents it: 202 =
// the session is launched but not completed or cancelled yet (pending), 200 =
// completed or cancelled, the results in the body (done). Any other status is
// E_HTTP with it.
func ParseResults(status int) (done bool, err error) {
	switch status {
	case 202:
		return false, nil
	case 200:
		return true, nil
	}
	return false, signers.Answered("keyfax.ParseResults", "POST "+ResultsPath, status)
}

// RenewRequest is POST TokenPath with the JWT held now, `Bearer
// {HostName}:{JWT}`: Keyfax answers a new JWT, valid 24 hours from then (read it
// with ParseTokenResponse).
func RenewRequest(baseURL, hostName, jwt string) (*signers.Request, error) {
	u, err := endpoint("keyfax.RenewRequest", baseURL, TokenPath)
	if err != nil {
		return nil, err
	}
	auth, err := Bearer(hostName, jwt)
	if err != nil {
		return nil, err
	}
	req := jsonRequest("POST", u, nil)
	req.Header["Authorization"] = auth
	return req, nil
}

// jsonString is s as a JSON string literal (RFC 8259: quote, backslash and
// control characters escaped; other text as is).
func jsonString(s string) string {
	const hex = "0123456789abcdef"
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20:
			b.WriteString(`\u00`)
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}
