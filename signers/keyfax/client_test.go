package keyfax

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/apisign/apisign/signers"
)

func TestStartupRequestAndParse(t *testing.T) {
	data := []byte(`{"company":"OL3_Dev","returnUrl":"https://s/back"}`)
	req, err := StartupRequest("https://kf.example/Interview/", data)
	if err != nil || req.Method != "POST" || req.URL != "https://kf.example/Interview/api/v1/startup" ||
		string(req.Body) != string(data) || req.Header.Get("Content-Type") != "application/json" || req.Header.Get("Accept") != "application/json" {
		t.Fatalf("%+v %v", req, err)
	}
	for _, bad := range []string{"", "[]", `"x"`, "{"} {
		if _, err := StartupRequest("https://kf.example/Interview", []byte(bad)); signers.CodeOf(err) != signers.CodeInput {
			t.Errorf("start-up data %q: %v", bad, err)
		}
	}
	if _, err := StartupRequest("https://kf.example/?q", data); signers.CodeOf(err) != signers.CodeInput {
		t.Errorf("base with query: %v", err)
	}
	l, err := ParseStartup(200, []byte(`{"guid":"g","launchUrl":"https://k/l"}`), data)
	if err != nil || l != (Launch{GUID: "g", LaunchURL: "https://k/l", Company: "OL3_Dev", ReturnURL: "https://s/back"}) {
		t.Fatalf("%+v %v", l, err)
	}
	var se *signers.Error
	if _, err := ParseStartup(500, []byte(`{"guid":"g","launchUrl":"https://k/l"}`), data); signers.CodeOf(err) != signers.CodeHTTP {
		t.Errorf("500: %v", err)
	}
	if _, err := ParseStartup(200, []byte(`{"guid":"g"}`), data); !errors.As(err, &se) || se.Code != signers.CodeHTTP || se.Status != 200 {
		t.Errorf("no launch URL: %v", err)
	}
}

// Moved from wasm/browser: the lenient reading of launch data.
func TestReadLaunch(t *testing.T) {
	sent := map[string]any{"company": map[string]any{"value": "Sent_Co"}, "ReturnUrl": "https://s/back"}
	for _, c := range []struct {
		body                  string
		guid, launch, company string
		ok                    bool
	}{
		{`{"guid":"g","launchUrl":"https://k/l","company":"C"}`, "g", "https://k/l", "C", true},
		{`{"GUID":{"value":"g"},"LaunchURL":{"Value":"https://k/l"}}`, "g", "https://k/l", "Sent_Co", true},
		{`{"data":{"guid":"g","url":"https://k/l","company":{"value":"D"}}}`, "g", "https://k/l", "D", true},
		{`"https://k/launch?guid=abc"`, "abc", "https://k/launch?guid=abc", "Sent_Co", true},
		{`{"keyfaxUrl":"https://k/l?guid=x"}`, "x", "https://k/l?guid=x", "Sent_Co", true},
		{`{"guid":"g"}`, "", "", "", false},
		{`not json`, "", "", "", false},
		{`[1,2]`, "", "", "", false},
	} {
		var answer any
		json.Unmarshal([]byte(c.body), &answer)
		l, ok := ReadLaunch(answer, sent)
		if ok != c.ok || ok && (l.GUID != c.guid || l.LaunchURL != c.launch || l.Company != c.company || l.ReturnURL != "https://s/back") {
			t.Errorf("%s: %+v %v", c.body, l, ok)
		}
	}
}

func TestResultsRequestAndParse(t *testing.T) {
	company := "Co \"quoted\" \\ \x01 \u00e9 <&>"
	req, err := ResultsRequest("https://kf.example/Interview", company, "g-1")
	if err != nil || req.Method != "POST" || req.URL != "https://kf.example/Interview/api/v1/results" || req.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("%+v %v", req, err)
	}
	// The body is JSON that encoding/json reads back to the same values.
	var got struct{ Company, GUID string }
	if err := json.Unmarshal(req.Body, &got); err != nil || got.Company != company || got.GUID != "g-1" {
		t.Fatalf("body %s: %+v %v", req.Body, got, err)
	}
	if !strings.HasPrefix(string(req.Body), `{"company":`) {
		t.Errorf("body %s", req.Body)
	}
	if _, err := ResultsRequest("https://kf.example/Interview", "c", ""); signers.CodeOf(err) != signers.CodeInput {
		t.Errorf("empty guid: %v", err)
	}
	for status, want := range map[int]bool{200: true, 202: false} {
		if done, err := ParseResults(status); err != nil || done != want {
			t.Errorf("%d: %v %v", status, done, err)
		}
	}
	for _, status := range []int{201, 204, 401, 404, 500, 503} {
		if _, err := ParseResults(status); signers.CodeOf(err) != signers.CodeHTTP || err.(*signers.Error).Status != status {
			t.Errorf("%d: %v", status, err)
		}
	}
}

func TestRenewRequest(t *testing.T) {
	jwt := "eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjF9.c2ln"
	req, err := RenewRequest("https://kf.example/Interview", "Dev", jwt)
	if err != nil || req.Method != "POST" || req.URL != "https://kf.example/Interview/api/v1/token" ||
		req.Header.Get("Authorization") != "Bearer Dev:"+jwt || req.Body != nil {
		t.Fatalf("%+v %v", req, err)
	}
	if _, err := RenewRequest("https://kf.example/Interview", "Dev", "nope"); signers.CodeOf(err) != signers.CodeToken {
		t.Errorf("bad JWT: %v", err)
	}
}
