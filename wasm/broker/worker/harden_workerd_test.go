//go:build !js

package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/apisign/apisign/internal/testkit"
	"github.com/apisign/apisign/wasm/broker"
)

// oldFonnKey is a Fonn subscription key the portal has regenerated: the
// sandbox's gateway refuses it.
const oldFonnKey = "0ld0ld0ld0ld0ld0ld0ld0ld0ld0ld00"

// workerdRun is what TestWorkerInWorkerd hands the hardening checks.
type workerdRun struct {
	base    string
	secret  []byte
	fake    *testkit.Upstream
	logs    *testkit.SyncBuffer
	secrets []string
	call    func(method, path string, body []byte, hdr map[string]string) (*http.Response, []byte)
}

// hardening replays the attacks of issue 12 (F4, F7, F8, scoped caller
// tokens) and the Fonn rules of issue 11 against the Worker in workerd.
func hardening(t *testing.T, w workerdRun) {
	upstream := len(w.fake.Requests())
	wantCode := func(what string, resp *http.Response, data []byte, status int, code string) {
		t.Helper()
		if resp.StatusCode != status || resp.Header.Get(broker.HeaderError) != code || !strings.Contains(string(data), `"code":"`+code+`"`) {
			t.Errorf("%s: %s %s %s, want %d %s", what, resp.Status, resp.Header.Get(broker.HeaderError), data, status, code)
		}
	}
	scoped := func(opts ...broker.CallerOption) string {
		return broker.MintCallerToken(w.secret, time.Now().Add(5*time.Minute), opts...)
	}

	// F7: URLs Go's url.Parse refuses get the broker's JSON error from the
	// guard, and the log never holds the URL.
	for _, target := range []string{"/nfon/api/f7mark%zz", "/nfon/api/f7mark%", "/nfon/api/f7mark%u002e", "/nfon/api/f7mark\x7f", "/nfon/api/f7mark%2"} {
		resp, data := raw(t, w.base, "GET "+target+" HTTP/1.1")
		if resp == nil {
			continue
		}
		wantCode("malformed URL "+target, resp, data, 400, "E_INPUT")
	}
	// CONNECT and absolute-form request lines never reach the Worker's code:
	// workerd answers them itself (Cloudflare's edge does in production); they
	// must not reach an upstream either.
	for _, line := range []string{"CONNECT f7mark.example:443 HTTP/1.1", "GET http://f7mark.example/nfon/api/x HTTP/1.1"} {
		if resp, data := raw(t, w.base, line); resp != nil && resp.StatusCode < 400 {
			t.Errorf("%s: %s %s", line, resp.Status, data)
		}
	}
	time.Sleep(200 * time.Millisecond) // let workerd write its log lines
	for _, l := range strings.Split(w.logs.String(), "\n") {
		if strings.Contains(l, "f7mark") && !strings.Contains(l, "f7mark.example") {
			t.Errorf("the Worker logged a request URL: %s", l)
		}
	}

	// Scoped caller tokens: route, origin, Fonn user.
	nfonOnly := scoped(broker.WithRoutes("nfon"))
	resp, data := w.call("GET", "/keyfax/token", nil, map[string]string{broker.HeaderCaller: nfonOnly})
	wantCode("route outside the scope", resp, data, 403, string(broker.CodeScope))
	if resp, data = w.call("GET", "/nfon/api/customers/K1234/phone-books", nil, map[string]string{broker.HeaderCaller: nfonOnly}); resp.StatusCode != 200 {
		t.Errorf("route in the scope: %s %s", resp.Status, data)
	}
	resp, data = w.call("GET", "/nfon/api/customers/K1234/phone-books", nil, map[string]string{
		broker.HeaderCaller: scoped(broker.WithOrigin("https://other.example")), "Origin": "https://app.example"})
	wantCode("token of another origin", resp, data, 403, string(broker.CodeScope))
	as42 := scoped(broker.WithRoutes("fonn"), broker.WithFonnUser("ext-42"))
	resp, data = w.call("GET", "/fonn/api/v1/projects", nil, map[string]string{broker.HeaderCaller: as42, "impersonatedUserExternalId": "ext-9"})
	wantCode("Fonn user outside the scope", resp, data, 403, string(broker.CodeScope))

	// Fonn: a workspace token must impersonate; the refused primary key is
	// followed by the secondary.
	resp, data = w.call("GET", "/fonn/api/v1/projects", nil, map[string]string{broker.HeaderCaller: as42})
	wantCode("workspace token without impersonation", resp, data, 400, "E_INPUT")
	before := len(w.fake.Requests())
	resp, data = w.call("GET", "/fonn/api/v1/projects", nil, map[string]string{broker.HeaderCaller: as42, "impersonatedUserExternalId": "ext-42"})
	seen := w.fake.Requests()[before:]
	if resp.StatusCode != 200 || len(seen) != 2 || seen[0].Header.Get("Ocp-Apim-Subscription-Key") != oldFonnKey || seen[0].Status != 401 || seen[1].Status != 200 {
		t.Errorf("Fonn key rotation: %s %s; upstream saw %d requests", resp.Status, data, len(seen))
	}

	// F4: the Fortis close token is a token, never a dot segment.
	for _, tok := range []string{"%2e%2e", "%2E%2E", "a%2fb"} {
		resp, data = w.call("DELETE", "/fortis/session/"+tok, nil, nil)
		wantCode("Fortis close "+tok, resp, data, 400, "E_TOKEN")
	}
	// F8: forms that a server decoding twice or leniently would turn into dots.
	for _, p := range []string{"/nfon/api/%252e%252e;%25zz/x", "/nfon/api/..%3f/x", "/nfon/api/%c0%ae%c0%ae/x", "/nfon/api/%ef%bc%8e%ef%bc%8e/x", "/nfon/api/x%20"} {
		resp, data = w.call("GET", p, nil, nil)
		wantCode("path "+p, resp, data, 403, "E_INPUT")
	}
	if n := len(w.fake.Requests()) - upstream; n != 3 {
		t.Errorf("%d requests reached the upstream, want 3 (the allowed NFON call and the two Fonn tries)", n)
	}
}

// raw sends one request line (and a Host) as it is, bypassing Go's client,
// and reads the answer; it scans nothing (the Worker never sees a secret here).
func raw(t *testing.T, base, line string) (*http.Response, []byte) {
	t.Helper()
	host := strings.TrimPrefix(base, "http://")
	c, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	io.WriteString(c, line+"\r\nHost: "+host+"\r\nConnection: close\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Errorf("%q: no answer: %v", line, err)
		return nil, nil
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, data
}
