package sandbox

import (
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/keyfax"
)

// The Keyfax document's own examples (docs/PROTOCOLS.md, "Keyfax"), quoted.
const (
	// GET /api/v1/key, "Response Body", and the web hook's request body.
	kfDocKeys = `{
	"apiKey":"28f7d828-3f78-4482-a0ac-5f5a64edd4b4",
	"signingKey":"EI4fm9mmaLttvt5485x+YfOBNYKbb++cYG5HH/aZ8VfT2SdXLwrKHjKqCjckTsovVyoUm1x0CrMRM/wDFc1LTw==",
	"schemaName":"Basic",
	"hostName":"Dev"
}`
	// POST /api/v1/key, "Response Body".
	kfDocNewKey = `{
    "apiKey": "string"
}`
	// GET and POST /api/v1/token, "Response Body".
	kfDocToken = `{
  "company": "string",
  "token": "string"
}`
	// POST /api/v1/startup, "Response Body".
	kfDocLaunch = `{
  "guid": "55079032-6082-4fd3-af59-4cf3a1f701cb",
  "launchUrl": "https://keyfaxurl.com/InterView/OL3/Main.aspx?co=OL3_Dev&guid=55079032-6082-4fd3-af59-4cf3a1f701cb",
  "company": "RDFL_Dev"
}`
	// POST /api/v1/results, "Response Body" (the Call's members; the second
	// Repair and the ScriptPath text shortened).
	kfDocResults = `{
  "KeyfaxData": {
    "Call": {
      "@name": "Call1",
      "@type": "ROL",
      "OriginatingSystem": "TemplateLogin",
      "Company": "OL3_Dev",
      "CategoryId": "24684",
      "CategoryText": "Baths, Basins, Sinks",
      "TopicId": "28769",
      "TopicText": "Basin",
      "CallText": "Basin",
      "LogDate": "24/03/2021 16:20:39",
      "UserCode": "administrator",
      "ScriptPath": {
        "#cdata-section": "html|Example System Start Up Script Set a system priority\\n|"
      },
      "ExpenditureCode": null,
      "ContractCode": null,
      "PreAuthoriseRequired": null,
      "ReasonCode": "",
      "ReasonText": "",
      "Recharge": "0",
      "RechargeCode": "RREP",
      "RechargeCost": "102.44",
      "ScheduleId": "administrator\\10",
      "SiteVisit": "test",
      "AdditionalInfo": "test",
      "SpecialInstructions": "",
      "RepairCount": "2",
      "AdviceCount": "0",
      "ActionCount": "0",
      "SubActionCount": "0",
      "Repair": [
        {
          "@name": "Repair1",
          "CompleteBy": "24/03/2021 16:20:39",
          "ResponseDays": "0",
          "Priority": "ISUR1",
          "PriorityId": "40770",
          "RepairCode": "SYSS1",
          "RepairCodeDesc": "Sys Priority Service",
          "UnitOfMeasure": "IT",
          "UnitOfMeasureQuantity": "1",
          "Contractor": ""
        }
      ]
    },   
    "Status": "1",
    "GUID": "55079032-6082-4fd3-af59-4cf3a1f701cb"
  }
}`
)

// sameShape fails unless got has exactly the members of the document's
// example doc, recursively, with the same JSON kinds (string, null, object,
// array); arrays compare their first elements.
func sameShape(t *testing.T, what string, got []byte, doc string) {
	t.Helper()
	var g, d any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: not JSON: %s", what, got)
	}
	if err := json.Unmarshal([]byte(doc), &d); err != nil {
		t.Fatalf("%s: the document's example is not JSON: %v", what, err)
	}
	if p := shapeDiff("", g, d); p != "" {
		t.Errorf("%s: differs from the document's example at %s: %s", what, p, got)
	}
}

func shapeDiff(at string, g, d any) string {
	if reflect.TypeOf(g) != reflect.TypeOf(d) {
		return at + " (kind)"
	}
	switch d := d.(type) {
	case map[string]any:
		gm := g.(map[string]any)
		if !reflect.DeepEqual(sortedKeys(gm), sortedKeys(d)) {
			return at + " (members " + strings.Join(sortedKeys(gm), ",") + ")"
		}
		for k := range d {
			if p := shapeDiff(at+"."+k, gm[k], d[k]); p != "" {
				return p
			}
		}
	case []any:
		if gl := g.([]any); len(gl) > 0 && len(d) > 0 {
			return shapeDiff(at+"[0]", gl[0], d[0])
		}
	}
	return ""
}

func sortedKeys(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// webHook records what Keyfax posts to a host's web hook URL.
type webHook struct {
	mu     sync.Mutex
	got    []KeyfaxKeys
	ctype  string
	status int
}

func (wh *webHook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	var k KeyfaxKeys
	json.Unmarshal(b, &k)
	wh.mu.Lock()
	defer wh.mu.Unlock()
	if r.Method == "POST" {
		wh.got = append(wh.got, k)
		wh.ctype = r.Header.Get("Content-Type")
	}
	if wh.status != 0 {
		w.WriteHeader(wh.status)
	}
}

func (wh *webHook) last(t *testing.T) KeyfaxKeys {
	t.Helper()
	wh.mu.Lock()
	defer wh.mu.Unlock()
	if len(wh.got) == 0 {
		t.Fatal("the web hook received nothing")
	}
	return wh.got[len(wh.got)-1]
}

func TestKeyfaxInitialKey(t *testing.T) {
	h := start(t, Options{KeyfaxNewHosts: []string{"Default", "Dev"}})
	key := h.env["KEYFAX_BASE_URL"] + "/api/v1/key"

	// Anonymous, no host name supplied: the Default host's first keys.
	r := h.call("GET", key, nil, "")
	wantStatus(t, "first GET key", r, 201)
	sameShape(t, "GET key", r.Body, kfDocKeys)
	m := decode(t, r.Body)
	if m["hostName"] != "Default" || m["schemaName"] != "Basic" {
		t.Errorf("GET key: %s", r.Body)
	}
	wantStatus(t, "second GET key", h.call("GET", key, nil, ""), 400)

	// The host name as the authorization schema supplies it.
	r = h.call("GET", key, signers.Header{"Authorization": "Basic Dev"}, "")
	wantStatus(t, "GET key for Dev", r, 201)
	dev := decode(t, r.Body)
	if dev["hostName"] != "Dev" {
		t.Errorf("GET key for Dev: %s", r.Body)
	}
	wantStatus(t, "GET key for Dev again", h.call("GET", key, signers.Header{"Authorization": "Basic Dev"}, ""), 400)
	wantStatus(t, "GET key for the sandbox host (keys exist)", h.call("GET", key, signers.Header{"Authorization": "Basic Sandbox"}, ""), 400)

	// The new keys work.
	s, err := keyfax.NewSigner("Dev", dev["apiKey"].(string), dev["signingKey"].(string))
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "token with Dev's first keys", h.keyfaxBasic(s, "GET", "/api/v1/token", "", h.clk.Now()), 200)

	// Without a Default host, an unknown host name cannot get keys: 500.
	none := start(t, Options{KeyfaxNewHosts: []string{}})
	r = none.call("GET", none.env["KEYFAX_BASE_URL"]+"/api/v1/key", nil, "")
	wantStatus(t, "GET key, no such host", r, 500)
}

func TestKeyfaxKeyResetWebHook(t *testing.T) {
	wh := &webHook{}
	hook := httptest.NewServer(wh)
	t.Cleanup(hook.Close)
	h := start(t, Options{KeyfaxWebHook: hook.URL + "/KeyfaxApiWebHook.aspx"})
	old := h.keyfaxSigner()
	oldJWT := h.keyfaxJWT()
	startup := h.env["KEYFAX_BASE_URL"] + "/api/v1/startup"

	wantStatus(t, "POST key without auth", h.call("POST", h.env["KEYFAX_BASE_URL"]+"/api/v1/key", nil, ""), 401)
	bad, _ := keyfax.NewSigner("Sandbox", h.env["KEYFAX_API_KEY"], "c2FuZGJveC13cm9uZy1rZXk=")
	wantStatus(t, "POST key, bad Basic", h.keyfaxBasic(bad, "POST", "/api/v1/key", "", h.clk.Now()), 401)

	r := h.keyfaxBasic(old, "POST", "/api/v1/key", "", h.clk.Now())
	wantStatus(t, "POST key", r, 200)
	sameShape(t, "POST key", r.Body, kfDocNewKey) // only the API key
	answered := decode(t, r.Body)["apiKey"]

	// The new keys went to the web hook, as the document's JSON.
	got := wh.last(t)
	b, _ := json.Marshal(got)
	sameShape(t, "web hook body", b, kfDocKeys)
	if got.APIKey != answered || got.HostName != "Sandbox" || got.SchemaName != "Basic" || got.APIKey == h.env["KEYFAX_API_KEY"] {
		t.Errorf("web hook got %+v, answer %v", got, answered)
	}
	if !strings.HasPrefix(wh.ctype, "application/json") {
		t.Errorf("web hook Content-Type %q", wh.ctype)
	}
	if len(h.s.KeyfaxMailbox()) != 0 {
		t.Error("keys e-mailed although a web hook is configured")
	}

	// The old keys and their JWTs keep working until the new keys are used ...
	wantStatus(t, "old keys before the new are used", h.keyfaxBasic(old, "GET", "/api/v1/token", "", h.clk.Now()), 200)
	wantStatus(t, "old JWT before the new keys are used", h.call("GET", startup, h.bearer(oldJWT), ""), 200)
	fresh, err := keyfax.NewSigner(got.HostName, got.APIKey, got.SigningKey)
	if err != nil {
		t.Fatal(err)
	}
	r = h.keyfaxBasic(fresh, "GET", "/api/v1/token", "", h.clk.Now())
	wantStatus(t, "first request with the new keys", r, 200)
	newJWT, _, err := keyfax.ParseTokenResponse(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	// ... then only the new ones work, and a changed signing key voids every
	// JWT issued before.
	wantStatus(t, "old keys after the new are used", h.keyfaxBasic(old, "GET", "/api/v1/token", "", h.clk.Now()), 401)
	wantStatus(t, "old JWT after the key change", h.call("GET", startup, h.bearer(oldJWT), ""), 401)
	wantStatus(t, "renew with the old JWT", h.call("POST", h.env["KEYFAX_BASE_URL"]+"/api/v1/token", h.bearer(oldJWT), ""), 401)
	wantStatus(t, "new JWT", h.call("GET", startup, h.bearer(newJWT), ""), 200)
	wantStatus(t, "new keys again", h.keyfaxBasic(fresh, "GET", "/api/v1/token", "", h.clk.Now()), 200)

	// A web hook that fails: 500, and the keys are not changed.
	wh.mu.Lock()
	wh.status = http.StatusServiceUnavailable
	wh.mu.Unlock()
	r = h.keyfaxBasic(fresh, "POST", "/api/v1/key", "", h.clk.Now())
	wantStatus(t, "POST key, web hook fails", r, 500)
	if decode(t, r.Body)["message"] == "" {
		t.Errorf("no error in the body: %s", r.Body)
	}
	if failed := wh.last(t); failed.APIKey != got.APIKey {
		if _, ok := h.s.keyfax.lookupKey("Sandbox", failed.APIKey); ok {
			t.Error("keys that could not be delivered are accepted")
		}
	}
}

func TestKeyfaxKeyResetMail(t *testing.T) {
	h := start(t, Options{})
	r := h.keyfaxBasic(h.keyfaxSigner(), "POST", "/api/v1/key", "", h.clk.Now())
	wantStatus(t, "POST key", r, 200)
	sameShape(t, "POST key", r.Body, kfDocNewKey)
	mail := h.s.KeyfaxMailbox()
	if len(mail) != 1 || mail[0].APIKey != decode(t, r.Body)["apiKey"] || mail[0].SigningKey == "" {
		t.Fatalf("mailbox %+v", mail)
	}
	s, err := keyfax.NewSigner(mail[0].HostName, mail[0].APIKey, mail[0].SigningKey)
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "token with the mailed keys", h.keyfaxBasic(s, "GET", "/api/v1/token", "", h.clk.Now()), 200)
	wantStatus(t, "token with the first keys", h.keyfaxBasic(h.keyfaxSigner(), "GET", "/api/v1/token", "", h.clk.Now()), 401)
}

func TestKeyfaxTokenAnswer(t *testing.T) {
	h := start(t, Options{})
	r := h.keyfaxBasic(h.keyfaxSigner(), "GET", "/api/v1/token", "", h.clk.Now())
	wantStatus(t, "GET token", r, 200)
	sameShape(t, "GET token", r.Body, kfDocToken)
	m := decode(t, r.Body)
	if m["company"] != kfCompany {
		t.Errorf("company %v", m["company"])
	}
	r = h.call("POST", h.env["KEYFAX_BASE_URL"]+"/api/v1/token", h.bearer(m["token"].(string)), "")
	wantStatus(t, "POST token", r, 200)
	sameShape(t, "POST token", r.Body, kfDocToken)
	// A Bearer for a host without active keys: 404.
	none := h.call("POST", h.env["KEYFAX_BASE_URL"]+"/api/v1/token", signers.Header{"Authorization": "Bearer Default:" + m["token"].(string)}, "")
	wantStatus(t, "POST token, host without keys", none, 404)
}

func TestKeyfaxExampleStartup(t *testing.T) {
	h := start(t, Options{})
	auth := h.bearer(h.keyfaxJWT())
	r := h.call("GET", h.env["KEYFAX_BASE_URL"]+"/api/v1/startup", auth, "")
	wantStatus(t, "GET startup", r, 200)
	m := decode(t, r.Body)
	// The document's schema: these members, each {key, id, value, attributes, children}.
	members := []string{"originatingSystem", "guid", "originatingGuid", "mode", "userName", "password", "company",
		"clientId", "scriptSet", "category", "topic", "returnUrl", "callerDetails", "tenancyDetails", "propertyId",
		"property", "rolDetail", "customData"}
	if len(m) != len(members) {
		t.Errorf("%d members, want %d", len(m), len(members))
	}
	item := `{"key": "string", "id": "string", "value": "string", "attributes": [{}], "children": [{}]}`
	for _, name := range members {
		b, _ := json.Marshal(m[name])
		sameShape(t, "startup member "+name, b, item)
	}
	if path(m, "mode", "value") != "RD" || path(m, "company", "value") != kfCompany {
		t.Errorf("example values: %s", r.Body)
	}
	// The example data posted back launches a session.
	r = h.call("POST", h.env["KEYFAX_BASE_URL"]+"/api/v1/startup", auth, string(r.Body))
	wantStatus(t, "POST the example start-up data", r, 200)
	sameShape(t, "launch data", r.Body, kfDocLaunch)
}

func TestKeyfaxResultsShape(t *testing.T) {
	h := start(t, Options{})
	auth := h.bearer(h.keyfaxJWT())
	l := h.keyfaxStartup(auth, startupBody("OL3_Dev", ""))
	h.interview(l, "complete", map[string][]string{"problem": {"Leaking tap"}})
	r := h.keyfaxResults(auth, l)
	wantStatus(t, "results", r, 200)
	sameShape(t, "results", r.Body, kfDocResults)
	// The members come in the document's order too.
	order := func(b []byte) []string {
		tree, err := readOrdered(json.NewDecoder(strings.NewReader(string(b))))
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, m := range tree.(kfObject).get("KeyfaxData").(kfObject).get("Call").(kfObject) {
			names = append(names, m.name)
		}
		return names
	}
	if got, want := order(r.Body), order([]byte(kfDocResults)); !reflect.DeepEqual(got, want) {
		t.Errorf("Call members\n %v\nwant\n %v", got, want)
	}
}

// xmlDoc is a generic XML element, to read the emulator's XML independently
// of how it writes it.
type xmlDoc struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Text    string     `xml:",chardata"`
	Kids    []xmlDoc   `xml:",any"`
}

func (d xmlDoc) kid(name string) *xmlDoc {
	for i := range d.Kids {
		if d.Kids[i].XMLName.Local == name {
			return &d.Kids[i]
		}
	}
	return nil
}

func readXML(t *testing.T, r *signers.Response) xmlDoc {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/xml") {
		t.Fatalf("Content-Type %q, want XML: %s", ct, r.Body)
	}
	var d xmlDoc
	if err := xml.Unmarshal(r.Body, &d); err != nil {
		t.Fatalf("not XML: %v: %s", err, r.Body)
	}
	return d
}

func TestKeyfaxXML(t *testing.T) {
	h := start(t, Options{})
	s := h.keyfaxSigner()
	base := h.env["KEYFAX_BASE_URL"]
	xmlAccept := signers.Header{"Accept": "application/xml"}

	// token, by Accept.
	req := &signers.Request{Method: "GET", URL: base + "/api/v1/token", Header: xmlAccept.Clone()}
	if _, err := s.SignRequest(req, h.clk.Now()); err != nil {
		t.Fatal(err)
	}
	r := h.send(req)
	wantStatus(t, "GET token as XML", r, 200)
	tok := readXML(t, r)
	if tok.XMLName.Local != "JsonWebToken" || tok.kid("company") == nil || tok.kid("company").Text != kfCompany || tok.kid("token") == nil {
		t.Fatalf("token XML: %s", r.Body)
	}
	auth := h.bearer(tok.kid("token").Text)

	// startup: XML start-up data in, XML launch data out (by Content-Type).
	auth.Set("Content-Type", "application/xml")
	r = h.call("POST", base+"/api/v1/startup", auth,
		`<StartUpData><mode><value>RD</value></mode><userName><value>advisor1</value></userName><company><value>OL3_Dev</value></company></StartUpData>`)
	wantStatus(t, "POST startup as XML", r, 200)
	launchXML := readXML(t, r)
	if launchXML.XMLName.Local != "LaunchData" || launchXML.kid("company").Text != "OL3_Dev" || launchXML.kid("guid") == nil {
		t.Fatalf("launch XML: %s", r.Body)
	}
	l := launch{GUID: launchXML.kid("guid").Text, Company: "OL3_Dev", LaunchURL: launchXML.kid("launchUrl").Text}
	wantStatus(t, "bad XML start-up data", h.call("POST", base+"/api/v1/startup", auth, "<StartUpData><mode>"), 500)
	if e := readXML(t, h.call("POST", base+"/api/v1/startup", auth, "<x")); e.XMLName.Local != "Error" || e.kid("message") == nil {
		t.Errorf("XML error: %+v", e)
	}

	// results: the document's JSON is this XML's Json.NET rendering.
	h.interview(l, "complete", map[string][]string{"problem": {"Broken window"}})
	r = h.call("POST", base+"/api/v1/results", auth, `<ResultsRequest><company>OL3_Dev</company><guid>`+l.GUID+`</guid></ResultsRequest>`)
	wantStatus(t, "results as XML", r, 200)
	kd := readXML(t, r)
	call := kd.kid("Call")
	if kd.XMLName.Local != "KeyfaxData" || call == nil || kd.kid("GUID").Text != l.GUID || kd.kid("Status").Text != "1" {
		t.Fatalf("results XML: %s", r.Body)
	}
	attrs := map[string]string{}
	for _, a := range call.Attrs {
		attrs[a.Name.Local] = a.Value
	}
	if attrs["name"] != "Call1" || attrs["type"] != "RD" || call.kid("Repair") == nil || call.kid("Repair").kid("RepairCode").Text != "GL0205" ||
		call.Kids[0].XMLName.Local != "OriginatingSystem" || kd.Kids[0].XMLName.Local != "Call" {
		t.Errorf("Call XML: %s", r.Body)
	}
	if !strings.Contains(string(r.Body), "<ScriptPath><![CDATA[html|") {
		t.Errorf("ScriptPath is not a CDATA section: %s", r.Body)
	}

	// key: the example's members as elements; JSON asked for by Accept wins.
	r = h.call("GET", base+"/api/v1/key", xmlAccept, "")
	wantStatus(t, "GET key as XML", r, 201)
	k := readXML(t, r)
	for _, name := range []string{"apiKey", "signingKey", "schemaName", "hostName"} {
		if k.kid(name) == nil {
			t.Errorf("key XML lacks %s: %s", name, r.Body)
		}
	}
	r = h.call("GET", base+"/api/v1/key", signers.Header{"Accept": "application/json", "Content-Type": "application/xml"}, "")
	wantStatus(t, "GET key again", r, 400)
	decode(t, r.Body)
}
