package sandbox

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"mime"
	"net/http"
	"sort"
	"strings"
)

// Keyfax speaks JSON or XML "depending on the Accept and Content-Type headers
// sent with this request" (docs/PROTOCOLS.md, "Keyfax"). The document shows XML
// only for results, whose JSON form is Json.NET's rendering of the XML
// (attributes as "@name", CDATA as "#cdata-section", repeated elements as
// arrays). The emulator therefore builds every answer once, as JSON values, and
// renders XML from them by the same convention. Where the document shows no
// XML, the root element is the .NET DataContract-style type name the JSON
// implies (WebApiKey, JsonWebToken, StartUpData, LaunchData, Error) and the
// member elements keep the JSON field names.

// kfIsXML reports whether a media type is XML (application/xml, text/xml,
// application/*+xml).
func kfIsXML(mediaType string) bool {
	mt, _, err := mime.ParseMediaType(mediaType)
	return err == nil && (mt == "application/xml" || mt == "text/xml" || strings.HasSuffix(mt, "+xml"))
}

// kfWantsXML chooses the answer's format: Accept first (an XML type listed and
// no JSON type), else the request's own Content-Type, else JSON.
func kfWantsXML(r *http.Request) bool {
	if accept := r.Header.Get("Accept"); accept != "" {
		xmlOK, jsonOK := false, false
		for _, part := range strings.Split(accept, ",") {
			xmlOK = xmlOK || kfIsXML(strings.TrimSpace(part))
			mt, _, _ := mime.ParseMediaType(strings.TrimSpace(part))
			jsonOK = jsonOK || mt == "application/json" || strings.HasSuffix(mt, "+json")
		}
		if xmlOK || jsonOK {
			return xmlOK && !jsonOK
		}
	}
	return kfIsXML(r.Header.Get("Content-Type"))
}

// kfAnswer writes v as JSON or, when the request asks for XML, as XML under
// the root element root (root "" when v is an object with a single member,
// which is then the root, as KeyfaxData is).
func kfAnswer(w http.ResponseWriter, r *http.Request, status int, root string, v any) {
	if !kfWantsXML(r) {
		writeJSON(w, status, v)
		return
	}
	var tree any
	b, _ := json.Marshal(v) // maps and slices of plain values: cannot fail
	json.Unmarshal(b, &tree)
	if root == "" {
		for name, inner := range tree.(map[string]any) {
			root, tree = name, inner
		}
	}
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	writeXML(enc, &buf, root, tree)
	enc.Flush()
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	w.WriteHeader(status)
	w.Write(append(buf.Bytes(), '\n'))
}

// writeXML renders one JSON value as the element name into buf (enc's output): an array as repeated
// elements, an object's "@x" members as attributes, "#text" and
// "#cdata-section" as content, the other members as child elements (sorted, so
// the output is stable), null as an empty element.
func writeXML(enc *xml.Encoder, buf *bytes.Buffer, name string, v any) {
	if list, ok := v.([]any); ok {
		for _, item := range list {
			writeXML(enc, buf, name, item)
		}
		return
	}
	start := xml.StartElement{Name: xml.Name{Local: name}}
	obj, isObj := v.(map[string]any)
	var keys []string
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if strings.HasPrefix(k, "@") {
			start.Attr = append(start.Attr, xml.Attr{Name: xml.Name{Local: k[1:]}, Value: xmlText(obj[k])})
		}
	}
	enc.EncodeToken(start)
	switch {
	case isObj:
		for _, k := range keys {
			switch {
			case k == "#text":
				enc.EncodeToken(xml.CharData(xmlText(obj[k])))
			case k == "#cdata-section":
				// encoding/xml has no CDATA token: flush and write the section
				// (a "]]>" inside splits it, as XML requires).
				enc.Flush()
				buf.WriteString("<![CDATA[" + strings.ReplaceAll(xmlText(obj[k]), "]]>", "]]]]><![CDATA[>") + "]]>")
			case !strings.HasPrefix(k, "@"):
				writeXML(enc, buf, k, obj[k])
			}
		}
	case v != nil:
		enc.EncodeToken(xml.CharData(xmlText(v)))
	}
	enc.EncodeToken(start.End())
}

// xmlText is a JSON scalar as XML text.
func xmlText(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	if v == nil {
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// xmlValues reads XML start-up data or a results request: the root's child
// elements, each either text (<company>OL3_Dev</company>) or an item with a
// <value> child, as in the JSON form. Names are returned lower-cased.
func xmlValues(body []byte) (map[string]string, string) {
	var root struct {
		Members []struct {
			XMLName xml.Name
			Text    string `xml:",chardata"`
			Value   *struct {
				Text string `xml:",chardata"`
			} `xml:"value"`
		} `xml:",any"`
	}
	if err := xml.Unmarshal(body, &root); err != nil {
		return nil, "the body is not well-formed XML"
	}
	out := make(map[string]string, len(root.Members))
	for _, m := range root.Members {
		v := strings.TrimSpace(m.Text)
		if m.Value != nil {
			v = strings.TrimSpace(m.Value.Text)
		}
		out[strings.ToLower(m.XMLName.Local)] = v
	}
	return out, ""
}
