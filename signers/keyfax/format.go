package keyfax

import (
	"strconv"
	"strings"

	"github.com/apisign/apisign/signers"
)

// Format is how the Keyfax Web API represents request data and answers: every
// endpoint speaks JSON or XML "depending on the Accept and Content-Type
// headers sent with this request" (docs/PROTOCOLS.md, "Keyfax").
type Format string

const (
	JSON Format = "json" // application/json, the default
	XML  Format = "xml"  // application/xml
)

// MediaType is the Accept and Content-Type value of f; E_INPUT for a format
// other than JSON, XML or "" (JSON).
func (f Format) MediaType() (string, error) {
	switch f {
	case "", JSON:
		return "application/json", nil
	case XML:
		return "application/xml", nil
	}
	return "", signers.E(signers.CodeInput, "keyfax.Format", `format must be "json" or "xml"`)
}

// Apply asks for answers in f (Accept) and, when req has a body, says that it
// is in f (Content-Type).
func (f Format) Apply(req *signers.Request) error {
	mt, err := f.MediaType()
	if err != nil {
		return err
	}
	req.Header["Accept"] = mt
	if req.Body != nil {
		req.Header["Content-Type"] = mt
	}
	return nil
}

// ExampleStartupRequest is GET StartupPath: Keyfax answers example start-up
// data for the master configuration of its kfServerConfig.xml, which a host may
// fill in and POST (StartupRequest).
func ExampleStartupRequest(baseURL string, f Format) (*signers.Request, error) {
	u, err := endpoint("keyfax.ExampleStartupRequest", baseURL, StartupPath)
	if err != nil {
		return nil, err
	}
	req := jsonRequest("GET", u, nil)
	return req, f.Apply(req)
}

// StartupXMLRequest is StartupRequest with start-up data as an XML document
// (Keyfax's start-up schema), sent and answered as XML. E_INPUT when startup is
// not an element.
func StartupXMLRequest(baseURL string, startup []byte) (*signers.Request, error) {
	const op = "keyfax.StartupXMLRequest"
	u, err := endpoint(op, baseURL, StartupPath)
	if err != nil {
		return nil, err
	}
	if s := strings.TrimSpace(string(startup)); len(s) < 3 || s[0] != '<' || s[len(s)-1] != '>' {
		return nil, signers.E(signers.CodeInput, op, "start-up data must be an XML document")
	}
	req := jsonRequest("POST", u, startup)
	return req, XML.Apply(req)
}

// ResultsXMLRequest is ResultsRequest in XML: <ResultsRequest> with company and
// guid elements, answered in XML.
func ResultsXMLRequest(baseURL, company, guid string) (*signers.Request, error) {
	req, err := ResultsRequest(baseURL, company, guid)
	if err != nil {
		return nil, err
	}
	req.Body = []byte("<ResultsRequest><company>" + xmlEscape(company) + "</company><guid>" + xmlEscape(guid) + "</guid></ResultsRequest>")
	return req, XML.Apply(req)
}

// xmlEscape escapes text for an XML element's content. (A loop, not
// strings.NewReplacer, which costs the browser module kilobytes.)
func xmlEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// XMLText returns the text of the first element named name (its local name,
// matched without regard to case, as .NET binds members) in an XML answer, with
// the predefined and numeric character references resolved; ok is false when
// there is none or it holds other elements. It reads what the flows need
// (launch data, a renewed token) without an XML parser, which the browser
// module does not link.
func XMLText(doc []byte, name string) (string, bool) {
	s := string(doc)
	for i := 0; ; {
		j := strings.IndexByte(s[i:], '<')
		if j < 0 {
			return "", false
		}
		i += j + 1
		end := strings.IndexByte(s[i:], '>')
		if end < 0 {
			return "", false
		}
		tag := s[i : i+end]
		i += end + 1
		if tag == "" || strings.ContainsAny(tag[:1], "/?!") || strings.HasSuffix(tag, "/") {
			continue
		}
		local := tag
		if k := strings.IndexAny(local, " \t\r\n"); k >= 0 {
			local = local[:k]
		}
		if k := strings.IndexByte(local, ':'); k >= 0 {
			local = local[k+1:]
		}
		if !strings.EqualFold(local, name) {
			continue
		}
		text := s[i:]
		k := strings.IndexByte(text, '<')
		if k < 0 || !strings.HasPrefix(text[k:], "</") {
			return "", false
		}
		return xmlUnescape(strings.TrimSpace(text[:k]))
	}
}

// xmlUnescape resolves &amp; &lt; &gt; &quot; &apos; and &#N; / &#xN;.
func xmlUnescape(s string) (string, bool) {
	if !strings.Contains(s, "&") {
		return s, true
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '&')
		if i < 0 {
			b.WriteString(s)
			return b.String(), true
		}
		b.WriteString(s[:i])
		j := strings.IndexByte(s[i:], ';')
		if j < 0 {
			return "", false
		}
		ref := s[i+1 : i+j]
		s = s[i+j+1:]
		switch ref {
		case "amp":
			b.WriteByte('&')
		case "lt":
			b.WriteByte('<')
		case "gt":
			b.WriteByte('>')
		case "quot":
			b.WriteByte('"')
		case "apos":
			b.WriteByte('\'')
		default:
			n, err := uint64(0), error(nil)
			switch {
			case strings.HasPrefix(ref, "#x"):
				n, err = strconv.ParseUint(ref[2:], 16, 32)
			case strings.HasPrefix(ref, "#"):
				n, err = strconv.ParseUint(ref[1:], 10, 32)
			default:
				return "", false
			}
			if err != nil || n == 0 || n > 0x10ffff {
				return "", false
			}
			b.WriteRune(rune(n))
		}
	}
}
