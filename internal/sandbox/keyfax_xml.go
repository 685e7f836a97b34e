package sandbox

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"mime"
	"net/http"
	"strconv"
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

// kfObject is a JSON object whose members keep their order, so that answers
// list their members as the document's examples do, in JSON and in XML.
type kfObject []kfMember

type kfMember struct {
	name  string
	value any
}

// MarshalJSON writes the members in order.
func (o kfObject) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(m.name)
		v, err := json.Marshal(m.value)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// get returns the value of the member name, nil when there is none.
func (o kfObject) get(name string) any {
	for _, m := range o {
		if m.name == name {
			return m.value
		}
	}
	return nil
}

// kfAnswer writes v as JSON or, when the request asks for XML, as XML under
// the root element root (root "" when v is an object with a single member,
// which is then the root, as KeyfaxData is).
func kfAnswer(w http.ResponseWriter, r *http.Request, status int, root string, v any) {
	if !kfWantsXML(r) {
		writeJSON(w, status, v)
		return
	}
	b, _ := json.Marshal(v) // objects, slices and plain values: cannot fail
	tree, _ := readOrdered(json.NewDecoder(bytes.NewReader(b)))
	if obj, ok := tree.(kfObject); root == "" && ok && len(obj) == 1 {
		root, tree = obj[0].name, obj[0].value
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

// readOrdered decodes one JSON value, objects as kfObject (members in the
// order written), numbers as json.Number (their text unchanged).
func readOrdered(dec *json.Decoder) (any, error) {
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch tok {
	case json.Delim('{'):
		obj := kfObject{}
		for dec.More() {
			name, err := dec.Token()
			if err != nil {
				return nil, err
			}
			v, err := readOrdered(dec)
			if err != nil {
				return nil, err
			}
			obj = append(obj, kfMember{name.(string), v})
		}
		_, err = dec.Token()
		return obj, err
	case json.Delim('['):
		list := []any{}
		for dec.More() {
			v, err := readOrdered(dec)
			if err != nil {
				return nil, err
			}
			list = append(list, v)
		}
		_, err = dec.Token()
		return list, err
	}
	return tok, nil
}

// writeXML renders one JSON value (as readOrdered returns it) as the element
// name into buf, enc's output: an array as repeated elements, an object's "@x"
// members as attributes, "#text" and "#cdata-section" as content, the other
// members as child elements in order, null as an empty element.
func writeXML(enc *xml.Encoder, buf *bytes.Buffer, name string, v any) {
	if list, ok := v.([]any); ok {
		for _, item := range list {
			writeXML(enc, buf, name, item)
		}
		return
	}
	start := xml.StartElement{Name: xml.Name{Local: name}}
	obj, isObj := v.(kfObject)
	for _, m := range obj {
		if strings.HasPrefix(m.name, "@") {
			start.Attr = append(start.Attr, xml.Attr{Name: xml.Name{Local: m.name[1:]}, Value: xmlText(m.value)})
		}
	}
	enc.EncodeToken(start)
	switch {
	case isObj:
		for _, m := range obj {
			switch {
			case m.name == "#text":
				enc.EncodeToken(xml.CharData(xmlText(m.value)))
			case m.name == "#cdata-section":
				// encoding/xml has no CDATA token: flush and write the section
				// (a "]]>" inside splits it, as XML requires).
				enc.Flush()
				buf.WriteString("<![CDATA[" + strings.ReplaceAll(xmlText(m.value), "]]>", "]]]]><![CDATA[>") + "]]>")
			case !strings.HasPrefix(m.name, "@"):
				writeXML(enc, buf, m.name, m.value)
			}
		}
	case v != nil:
		enc.EncodeToken(xml.CharData(xmlText(v)))
	}
	enc.EncodeToken(start.End())
}

// xmlText is a JSON scalar as XML text.
func xmlText(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	}
	return ""
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
