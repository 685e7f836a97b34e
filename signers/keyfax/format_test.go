package keyfax

import (
	"testing"

	"github.com/apisign/apisign/signers"
)

// Keyfax speaks JSON or XML by Accept and Content-Type (docs/PROTOCOLS.md,
// "Keyfax"): the builders set both, and the readers take the XML answers the
// flows need (launch data, a renewed token).
func TestFormat(t *testing.T) {
	req, err := ExampleStartupRequest("https://h/Interview/", XML)
	if err != nil || req.Method != "GET" || req.URL != "https://h/Interview/api/v1/startup" || req.Header["Accept"] != "application/xml" || req.Body != nil || req.Header["Content-Type"] != "" {
		t.Fatalf("ExampleStartupRequest = %+v, %v", req, err)
	}
	if req, _ := ExampleStartupRequest("https://h/Interview", ""); req.Header["Accept"] != "application/json" {
		t.Errorf("default format: %v", req.Header)
	}
	if _, err := ExampleStartupRequest("https://h/Interview", "yaml"); signers.CodeOf(err) != signers.CodeInput {
		t.Errorf("unknown format: %v", err)
	}
	req, err = StartupXMLRequest("https://h/Interview", []byte("<StartUpData><company><value>C</value></company></StartUpData>"))
	if err != nil || req.Method != "POST" || req.Header["Content-Type"] != "application/xml" || req.Header["Accept"] != "application/xml" {
		t.Fatalf("StartupXMLRequest = %+v, %v", req, err)
	}
	if _, err := StartupXMLRequest("https://h/Interview", []byte(`{"a":1}`)); signers.CodeOf(err) != signers.CodeInput {
		t.Errorf("JSON as XML: %v", err)
	}
	req, err = ResultsXMLRequest("https://h/Interview", "A&B", "g-1")
	if err != nil || string(req.Body) != "<ResultsRequest><company>A&amp;B</company><guid>g-1</guid></ResultsRequest>" || req.Header["Content-Type"] != "application/xml" {
		t.Fatalf("ResultsXMLRequest = %q, %v", req.Body, err)
	}
	l, err := ParseStartup(200, []byte(`<?xml version="1.0"?><LaunchData xmlns:a="x"><guid>g-1</guid><a:launchUrl>https://h/launch?guid=g-1&amp;x=1</a:launchUrl><company>C &#38; D</company></LaunchData>`), req.Body)
	if err != nil || l != (Launch{GUID: "g-1", LaunchURL: "https://h/launch?guid=g-1&x=1", Company: "C & D"}) {
		t.Errorf("ParseStartup(XML) = %+v, %v", l, err)
	}
	for doc, want := range map[string]string{
		"<a><b>x</b></a>":              "x",
		"<a><B attr='1'> y </B></a>":   "y",
		"<a><p:b>&#x41;&lt;</p:b></a>": "A<",
	} {
		if got, ok := XMLText([]byte(doc), "b"); !ok || got != want {
			t.Errorf("XMLText(%s) = %q, %v", doc, got, ok)
		}
	}
	for _, doc := range []string{"<a><b><c>x</c></b></a>", "<a><bb>x</bb></a>", "<a><b>&bogus;</b></a>", "<a><b>x", "<a><b/></a>"} {
		if got, ok := XMLText([]byte(doc), "b"); ok {
			t.Errorf("XMLText(%s) = %q, want none", doc, got)
		}
	}
}
