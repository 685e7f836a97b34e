//go:build js && wasm

package main

import (
	"encoding/base64"
	"encoding/json"
	"github.com/apisign/apisign/signers/weburl"
	"strconv"
	"strings"
	"sync"
	"syscall/js"
	"testing"
	"time"
)

// These tests run the client flows through dispatch, as apisign.mjs calls
// them, over a fake fetch answered by Go functions. (The Node tests run the
// same flows against real HTTP servers written in JS.)

func init() {
	makeError = jsGlobal.Get("Function").New("code", "message", "status", "data", "cause",
		`const e = new Error(message); e.code = code; if (status !== undefined) e.status = status; e.data = data; return e;`)
}

// fakeRequest is one request the fake fetch received.
type fakeRequest struct {
	method, url string
	header      map[string]string
	body        string
}

// fakeServer answers fetch calls with handle.
type fakeServer struct {
	mu     sync.Mutex
	seen   []fakeRequest
	handle func(r fakeRequest) (status int, header map[string]string, body string)
	fetch  js.Func
}

func newFakeServer(t *testing.T, handle func(r fakeRequest) (int, map[string]string, string)) *fakeServer {
	s := &fakeServer{handle: handle}
	s.fetch = js.FuncOf(func(_ js.Value, a []js.Value) any {
		// What Go hands the loader's safeFetch: url, method, the header
		// fields joined by NUL, body (or undefined), signal (or undefined).
		r := fakeRequest{method: a[1].String(), url: a[0].String(), header: map[string]string{}}
		if f := a[2].String(); f != "" {
			kv := strings.Split(f, "\x00")
			for i := 0; i+1 < len(kv); i += 2 {
				r.header[strings.ToLower(kv[i])] = kv[i+1]
			}
		}
		if b := a[3]; !b.IsUndefined() {
			buf := make([]byte, b.Length())
			js.CopyBytesToGo(buf, b)
			r.body = string(buf)
		}
		s.mu.Lock()
		s.seen = append(s.seen, r)
		s.mu.Unlock()
		status, hdr, body := s.handle(r)
		if status == 0 { // no answer: fetch rejects, as it does when the network fails
			return jsGlobal.Get("Promise").Call("reject", jsGlobal.Get("TypeError").New("Failed to fetch"))
		}
		// What the loader's safeFetch answers: { status, headers: the header
		// fields joined by NUL, body }.
		var fields []string
		for k, v := range hdr {
			fields = append(fields, strings.ToLower(k), v)
		}
		o := newObject()
		o.Set("status", status)
		o.Set("headers", strings.Join(fields, "\x00"))
		o.Set("body", bytesToJS([]byte(body)))
		return jsGlobal.Get("Promise").Call("resolve", o)
	})
	t.Cleanup(s.fetch.Release)
	return s
}

func (s *fakeServer) requests() []fakeRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]fakeRequest(nil), s.seen...)
}

// tokenFunc is a getToken that answers values in turn (the last one again
// when they run out), counts its calls and records the refused token each call
// was given ("" for undefined). It is called as the loader's wrapper is:
// (signal, refused).
type tokenFunc struct {
	mu      sync.Mutex
	calls   int
	refused []string
	fn      js.Func
}

func newTokenFunc(t *testing.T, values ...any) *tokenFunc {
	tf := &tokenFunc{}
	tf.fn = js.FuncOf(func(_ js.Value, a []js.Value) any {
		tf.mu.Lock()
		i := min(tf.calls, len(values)-1)
		tf.calls++
		refused := ""
		if len(a) > 1 && a[1].Type() == js.TypeString {
			refused = a[1].String()
		}
		tf.refused = append(tf.refused, refused)
		tf.mu.Unlock()
		return jsGlobal.Get("Promise").Call("resolve", js.ValueOf(values[i]))
	})
	t.Cleanup(tf.fn.Release)
	return tf
}

func (tf *tokenFunc) count() int {
	tf.mu.Lock()
	defer tf.mu.Unlock()
	return tf.calls
}

// jwt makes an unsigned-looking JWT with exp; the client never verifies it.
func jwt(exp time.Time, id string) string {
	enc := base64.RawURLEncoding.EncodeToString
	p, _ := json.Marshal(map[string]any{"exp": exp.Unix(), "jti": id})
	return enc([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + enc(p) + "." + enc([]byte("sig-"+id))
}

// array builds a JS array from Go values.
func array(v ...any) js.Value { return js.ValueOf(v) }

// syncCall runs a synchronous op and returns its value, or the error's code.
func syncCall(op string, args ...any) (js.Value, string) {
	v := js.ValueOf(dispatch(js.Undefined(), []js.Value{js.ValueOf(op), array(args...)}))
	if v.Type() == js.TypeObject && v.Get("code").Type() == js.TypeString {
		return js.Undefined(), v.Get("code").String()
	}
	return v, ""
}

// asyncCall runs an asynchronous op and waits for it: the value, or the error.
func asyncCall(t *testing.T, signal js.Value, op string, args ...any) (js.Value, js.Value) {
	t.Helper()
	type result struct{ v, err js.Value }
	ch := make(chan result, 1)
	res := js.FuncOf(func(_ js.Value, a []js.Value) any { ch <- result{v: a[0]}; return nil })
	rej := js.FuncOf(func(_ js.Value, a []js.Value) any { ch <- result{err: a[0]}; return nil })
	defer res.Release()
	defer rej.Release()
	dispatch(js.Undefined(), []js.Value{js.ValueOf(op), array(args...), signal, res.Value, rej.Value})
	select {
	case r := <-ch:
		return r.v, r.err
	case <-time.After(10 * time.Second):
		t.Fatalf("%s did not settle", op)
	}
	return js.Value{}, js.Value{}
}

func code(err js.Value) string {
	if err.IsUndefined() {
		return ""
	}
	return err.Get("code").String()
}

func config(fetch js.Func, m map[string]any) js.Value {
	o := newObject()
	o.Set("fetch", fetch)
	o.Set("retry", map[string]any{"baseMs": 1, "capMs": 5})
	for k, v := range m {
		o.Set(k, v)
	}
	return o
}

func TestKeyfaxClientFlow(t *testing.T) {
	good := jwt(time.Now().Add(24*time.Hour), "good")
	stale := jwt(time.Now().Add(24*time.Hour), "stale")
	results := 0
	srv := newFakeServer(t, func(r fakeRequest) (int, map[string]string, string) {
		if r.header["authorization"] != "Bearer Dev:"+good {
			return 401, map[string]string{"Content-Type": "application/json"}, `{"message":"bad token"}`
		}
		switch {
		case strings.HasSuffix(r.url, "/api/v1/startup"):
			return 200, map[string]string{"Content-Type": "application/json"}, `{"Guid":{"value":"g-1"},"LaunchUrl":"https://kf.example/launch?guid=g-1"}`
		case strings.HasSuffix(r.url, "/api/v1/results"):
			if results++; results < 3 {
				return 202, nil, ""
			}
			return 200, map[string]string{"Content-Type": "application/json"}, `{"KeyfaxData":{"Status":"1"}}`
		}
		return 404, nil, ""
	})
	tokens := newTokenFunc(t, stale, map[string]any{"token": good, "hostName": "Dev"})
	id, c := syncCall("keyfax.new", config(srv.fetch, map[string]any{"baseUrl": "https://kf.example/Interview/", "hostName": "Dev", "getToken": tokens.fn}))
	if c != "" {
		t.Fatalf("keyfax.new: %s", c)
	}
	v, err := asyncCall(t, js.Undefined(), "keyfax.startup", id, `{"company":{"value":"OL3_Dev"},"returnUrl":{"value":"https://site.example/back?s={0}"}}`)
	if code(err) != "" {
		t.Fatalf("startup: %s %s", code(err), err.Get("message").String())
	}
	if v.Get("guid").String() != "g-1" || v.Get("launchUrl").String() != "https://kf.example/launch?guid=g-1" ||
		v.Get("company").String() != "OL3_Dev" || v.Get("returnUrl").String() != "https://site.example/back?s={0}" {
		t.Errorf("startup answer: %s", jsJSON.Call("stringify", v).String())
	}
	if tokens.count() != 2 {
		t.Errorf("getToken called %d times, want 2 (the 401 fetches a fresh JWT once)", tokens.count())
	}
	if r := tokens.refused; len(r) != 2 || r[0] != "" || r[1] != stale {
		t.Errorf("getToken was told refused = %q, want none, then the stale JWT", r)
	}
	reqs := srv.requests()
	if last := reqs[len(reqs)-1]; last.method != "POST" || last.url != "https://kf.example/Interview/api/v1/startup" || last.header["content-type"] != "application/json" {
		t.Errorf("startup request: %+v", last)
	}
	v, err = asyncCall(t, js.Undefined(), "keyfax.results", id, "OL3_Dev", "g-1")
	if code(err) != "" || v.Get("status").String() != "pending" {
		t.Errorf("results: %v %s", err, jsJSON.Call("stringify", v).String())
	}
	if body := srv.requests()[len(srv.requests())-1].body; body != `{"company":"OL3_Dev","guid":"g-1"}` {
		t.Errorf("results body %s", body)
	}
	v, err = asyncCall(t, js.Undefined(), "keyfax.wait", id, "OL3_Dev", "g-1", map[string]any{"intervalMs": 10})
	if code(err) != "" || v.Get("status").String() != "done" || v.Get("data").Get("KeyfaxData").Get("Status").String() != "1" {
		t.Errorf("wait: %v %s", code(err), jsJSON.Call("stringify", v).String())
	}
	// After close, the client is gone.
	syncCall("free", id)
	if _, err := asyncCall(t, js.Undefined(), "keyfax.results", id, "OL3_Dev", "g-1"); code(err) != "E_INPUT" {
		t.Errorf("closed client: %s", code(err))
	}
}

func TestKeyfaxRefusedTwice(t *testing.T) {
	srv := newFakeServer(t, func(fakeRequest) (int, map[string]string, string) { return 401, nil, "" })
	tokens := newTokenFunc(t, jwt(time.Now().Add(time.Hour), "x"))
	id, _ := syncCall("keyfax.new", config(srv.fetch, map[string]any{"baseUrl": "https://kf.example/Interview", "hostName": "Dev", "getToken": tokens.fn}))
	_, err := asyncCall(t, js.Undefined(), "keyfax.results", id, "c", "g")
	if code(err) != "E_TOKEN_REFUSED" || err.Get("status").Int() != 401 {
		t.Errorf("401 twice: %s", code(err))
	}
	if n := len(srv.requests()); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
}

func TestKeyfaxWaitAborts(t *testing.T) {
	srv := newFakeServer(t, func(fakeRequest) (int, map[string]string, string) { return 202, nil, "" })
	tokens := newTokenFunc(t, jwt(time.Now().Add(time.Hour), "x"))
	id, _ := syncCall("keyfax.new", config(srv.fetch, map[string]any{"baseUrl": "https://kf.example/Interview", "hostName": "Dev", "getToken": tokens.fn}))
	ac := jsAbortCtl.New()
	time.AfterFunc(50*time.Millisecond, func() { ac.Call("abort") })
	_, err := asyncCall(t, ac.Get("signal"), "keyfax.wait", id, "c", "g", map[string]any{"intervalMs": 10})
	if code(err) != "E_ABORTED" {
		t.Errorf("aborted wait: %s", code(err))
	}
	// An already aborted signal refuses at once, and a timeout ends the wait too.
	if _, err := asyncCall(t, ac.Get("signal"), "keyfax.results", id, "c", "g"); code(err) != "E_ABORTED" {
		t.Errorf("pre-aborted: %s", code(err))
	}
	if _, err := asyncCall(t, js.Undefined(), "keyfax.wait", id, "c", "g", map[string]any{"intervalMs": 10, "timeoutMs": 60}); code(err) != "E_ABORTED" {
		t.Errorf("timeout: %s", code(err))
	}
}

func TestFortisClient(t *testing.T) {
	calls := 0
	srv := newFakeServer(t, func(r fakeRequest) (int, map[string]string, string) {
		calls++
		if r.header["access-token"] != "tok-2" || r.header["developer-id"] != "dev-1" {
			return 401, nil, ""
		}
		return 200, map[string]string{"Content-Type": "application/json"}, `{"ok":true}`
	})
	tokens := newTokenFunc(t, map[string]any{"token": "tok-1", "developerId": "dev-1", "expiresIn": 900},
		map[string]any{"token": "tok-2", "developerId": "dev-1", "expiresIn": 900})
	id, c := syncCall("fortis.new", config(srv.fetch, map[string]any{"baseUrl": "https://fortis.example", "getToken": tokens.fn}))
	if c != "" {
		t.Fatal(c)
	}
	v, err := asyncCall(t, js.Undefined(), "fortis.request", id, "get", "/v2/transactions?x=1", nil, nil, nil)
	if code(err) != "" || v.Get("status").Int() != 200 || !v.Get("data").Get("ok").Bool() {
		t.Fatalf("request: %s", code(err))
	}
	if calls != 2 || tokens.count() != 2 {
		t.Errorf("%d calls, %d tokens; want one retry with one fresh session", calls, tokens.count())
	}
	r := srv.requests()[1]
	if r.method != "GET" || r.url != "https://fortis.example/v2/transactions?x=1" {
		t.Errorf("request %+v", r)
	}
	// close sends DELETE /v2/token/{token} with the token.
	if _, err := asyncCall(t, js.Undefined(), "fortis.close", id); code(err) != "" {
		t.Errorf("close: %s", code(err))
	}
	last := srv.requests()[len(srv.requests())-1]
	if last.method != "DELETE" || last.url != "https://fortis.example/v2/token/tok-2" {
		t.Errorf("close request %+v", last)
	}
}

func TestAnsiraClientRetriesOnce(t *testing.T) {
	srv := newFakeServer(t, func(fakeRequest) (int, map[string]string, string) {
		return 403, map[string]string{"Content-Type": "application/json"}, `{"error":"insufficient_scope"}`
	})
	tokens := newTokenFunc(t, map[string]any{"access_token": "a1", "expires_in": 3600}, map[string]any{"access_token": "a2", "expires_in": 3600})
	id, _ := syncCall("ansira.new", config(srv.fetch, map[string]any{"baseUrl": "https://api.example", "getToken": tokens.fn}))
	_, err := asyncCall(t, js.Undefined(), "ansira.request", id, "GET", "/api/x", nil, nil, nil)
	if code(err) != "E_TOKEN_REFUSED" || err.Get("status").Int() != 403 || err.Get("data").Get("error").String() != "insufficient_scope" {
		t.Errorf("403 twice: %s", code(err))
	}
	reqs := srv.requests()
	if len(reqs) != 2 || reqs[0].header["authorization"] != "Bearer a1" || reqs[1].header["authorization"] != "Bearer a2" ||
		reqs[1].header["cache-control"] != "no-cache" {
		t.Errorf("requests %+v", reqs)
	}
	if r := tokens.refused; len(r) != 2 || r[0] != "" || r[1] != "a1" {
		t.Errorf("getToken was told refused = %q", r)
	}
}

// Ansira's 401 means the token is missing, which a new token does not fix: it
// is the answer, without a refresh.
func TestAnsiraClient401IsNotRefreshed(t *testing.T) {
	srv := newFakeServer(t, func(fakeRequest) (int, map[string]string, string) { return 401, nil, "" })
	tokens := newTokenFunc(t, map[string]any{"access_token": "a1", "expires_in": 3600})
	id, _ := syncCall("ansira.new", config(srv.fetch, map[string]any{"baseUrl": "https://api.example", "getToken": tokens.fn}))
	_, err := asyncCall(t, js.Undefined(), "ansira.request", id, "GET", "/api/x", nil, nil, nil)
	if code(err) != "E_HTTP" || err.Get("status").Int() != 401 || len(srv.requests()) != 1 || tokens.count() != 1 {
		t.Errorf("401: %s, %d requests, %d tokens", code(err), len(srv.requests()), tokens.count())
	}
}

// Fortis: only a 2xx answer restarts the 15 idle minutes.
func TestFortisClientActivityIs2xx(t *testing.T) {
	status := 200
	srv := newFakeServer(t, func(fakeRequest) (int, map[string]string, string) { return status, nil, "" })
	tokens := newTokenFunc(t, map[string]any{"token": "tok-1", "expiresIn": 900}, map[string]any{"token": "tok-2", "expiresIn": 900})
	id, _ := syncCall("fortis.new", config(srv.fetch, map[string]any{"baseUrl": "https://fortis.example", "getToken": tokens.fn}))
	c, _ := clientOf[*fortisClient](array(id))
	request := func() {
		t.Helper()
		asyncCall(t, js.Undefined(), "fortis.request", id, "GET", "/v2/x", nil, nil, nil)
	}
	request()
	first := c.sess.Current().Expiry
	time.Sleep(20 * time.Millisecond) // the module clock is the real one; the expiry moves only with time
	status = 302
	request()
	if got := c.sess.Current().Expiry; !got.Equal(first) {
		t.Errorf("a 302 moved the idle expiry from %v to %v", first, got)
	}
	status = 204
	request()
	if got := c.sess.Current().Expiry; !got.After(first) {
		t.Errorf("a 204 did not restart the idle period (%v, was %v)", got, first)
	}
}

func TestBrokerClientRetries429(t *testing.T) {
	n := 0
	srv := newFakeServer(t, func(r fakeRequest) (int, map[string]string, string) {
		if n++; n == 1 {
			return 429, map[string]string{"Retry-After": "0"}, ""
		}
		return 200, map[string]string{"Content-Type": "text/plain"}, "hello"
	})
	caller := newTokenFunc(t, "123.abc")
	id, c := syncCall("fonn.new", config(srv.fetch, map[string]any{"brokerUrl": "https://site.example/broker", "callerToken": caller.fn, "impersonatedUserExternalId": "u-7"}))
	if c != "" {
		t.Fatal(c)
	}
	v, err := asyncCall(t, js.Undefined(), "broker.request", id, "POST", "/v1/projects", `{"a":1}`, map[string]any{"X-Extra": "1"}, "application/json")
	if code(err) != "" || v.Get("data").String() != "hello" {
		t.Fatalf("request: %s", code(err))
	}
	reqs := srv.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2 (one retry after 429)", len(reqs))
	}
	r := reqs[1]
	if r.url != "https://site.example/broker/fonn/v1/projects" || r.header["x-apisign-caller"] != "123.abc" ||
		r.header["impersonateduserexternalid"] != "u-7" || r.header["x-extra"] != "1" || r.body != `{"a":1}` || r.header["content-type"] != "application/json" {
		t.Errorf("request %+v", r)
	}
}

// The broker refusing the caller token (401 with its own X-Apisign-Error) gets
// one fresh caller token, and callerToken is told which one was refused; a 401
// without that header is the provider's answer, passed on.
func TestBrokerClientRefusedCallerToken(t *testing.T) {
	fromBroker := true
	srv := newFakeServer(t, func(r fakeRequest) (int, map[string]string, string) {
		if r.header["x-apisign-caller"] != "fresh" {
			h := map[string]string{"Content-Type": "application/json"}
			if fromBroker {
				h["X-Apisign-Error"] = "E_TOKEN_EXPIRED"
			}
			return 401, h, `{"code":"E_TOKEN_EXPIRED"}`
		}
		return 200, nil, "ok"
	})
	caller := newTokenFunc(t, "old", "fresh")
	id, _ := syncCall("nfon.new", config(srv.fetch, map[string]any{"brokerUrl": "https://h/broker", "callerToken": caller.fn}))
	if _, err := asyncCall(t, js.Undefined(), "broker.request", id, "GET", "/api/x", nil, nil, nil); code(err) != "" {
		t.Fatalf("request: %s", code(err))
	}
	if r := caller.refused; len(r) != 2 || r[0] != "" || r[1] != "old" || len(srv.requests()) != 2 {
		t.Errorf("callerToken told %q, %d requests", r, len(srv.requests()))
	}
	// Refused again with the fresh one: E_TOKEN_REFUSED, no third try.
	stuck := newTokenFunc(t, "old")
	id2, _ := syncCall("nfon.new", config(srv.fetch, map[string]any{"brokerUrl": "https://h/broker", "callerToken": stuck.fn}))
	before := len(srv.requests())
	if _, err := asyncCall(t, js.Undefined(), "broker.request", id2, "GET", "/api/x", nil, nil, nil); code(err) != "E_TOKEN_REFUSED" || err.Get("status").Int() != 401 {
		t.Errorf("refused twice: %s", code(err))
	}
	if n := len(srv.requests()) - before; n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
	// A provider's 401 (no X-Apisign-Error): passed on, no new caller token.
	fromBroker = false
	before = len(srv.requests())
	if _, err := asyncCall(t, js.Undefined(), "broker.request", id2, "GET", "/api/x", nil, nil, nil); code(err) != "E_HTTP" || len(srv.requests())-before != 1 {
		t.Errorf("provider 401: %s, %d requests", code(err), len(srv.requests())-before)
	}
}

// waitForResults rides out 503s and lost answers with its backoff; only its
// own end stops it.
func TestKeyfaxWaitRidesOut503(t *testing.T) {
	polls := 0
	srv := newFakeServer(t, func(r fakeRequest) (int, map[string]string, string) {
		polls++
		switch {
		case polls <= 6: // more 503s than the retry policy takes
			return 503, nil, ""
		case polls == 7:
			return 0, nil, "" // no answer
		case polls == 8:
			return 202, nil, ""
		}
		return 200, map[string]string{"Content-Type": "application/json"}, `{"done":1}`
	})
	tokens := newTokenFunc(t, jwt(time.Now().Add(time.Hour), "x"))
	id, _ := syncCall("keyfax.new", config(srv.fetch, map[string]any{"baseUrl": "https://kf.example/Interview", "hostName": "Dev", "getToken": tokens.fn}))
	v, err := asyncCall(t, js.Undefined(), "keyfax.wait", id, "c", "g", map[string]any{"intervalMs": 10, "maxIntervalMs": 20})
	if code(err) != "" || v.Get("status").String() != "done" || polls != 9 {
		t.Fatalf("wait: %s after %d polls", code(err), polls)
	}
	// A single results call still reports the 503.
	polls = 0
	if _, err := asyncCall(t, js.Undefined(), "keyfax.results", id, "c", "g"); code(err) != "E_HTTP" || err.Get("status").Int() != 503 {
		t.Errorf("results: %s", code(err))
	}
	// Ridden out until timeoutMs, then E_ABORTED.
	srv.handle = func(fakeRequest) (int, map[string]string, string) { return 503, nil, "" }
	if _, err := asyncCall(t, js.Undefined(), "keyfax.wait", id, "c", "g", map[string]any{"intervalMs": 10, "timeoutMs": 200}); code(err) != "E_ABORTED" {
		t.Errorf("timeout: %s", code(err))
	}
}

// E_NETWORK names the method and the URL, never a query value.
func TestNetworkErrorNamesTheRequest(t *testing.T) {
	srv := newFakeServer(t, func(fakeRequest) (int, map[string]string, string) { return 0, nil, "" })
	caller := newTokenFunc(t, "tok")
	id, _ := syncCall("nfon.new", config(srv.fetch, map[string]any{"brokerUrl": "https://h.example/broker", "callerToken": caller.fn}))
	_, err := asyncCall(t, js.Undefined(), "broker.request", id, "GET", "/api/x?key=s3cret", nil, nil, nil)
	msg := err.Get("message").String()
	if code(err) != "E_NETWORK" || !strings.Contains(msg, "GET https://h.example/broker/nfon/api/x?… got no answer") || strings.Contains(msg, "s3cret") {
		t.Errorf("%s: %q", code(err), msg)
	}
}

func TestSyncOpErrors(t *testing.T) {
	srv := newFakeServer(t, func(fakeRequest) (int, map[string]string, string) { return 200, nil, "" })
	for _, c := range []struct {
		name, op string
		cfg      map[string]any
		want     string
	}{
		{"no getToken", "keyfax.new", map[string]any{"baseUrl": "https://h/Interview", "hostName": "Dev"}, "E_INPUT"},
		{"bad host name", "keyfax.new", map[string]any{"baseUrl": "https://h/Interview", "hostName": "a:b", "getToken": srv.fetch}, "E_INPUT"},
		{"relative base", "fortis.new", map[string]any{"baseUrl": "/v2", "getToken": srv.fetch}, "E_INPUT"},
		{"base with query", "ansira.new", map[string]any{"baseUrl": "https://h/?a=1", "getToken": srv.fetch}, "E_INPUT"},
		{"no caller token", "nfon.new", map[string]any{"brokerUrl": "https://h/broker"}, "E_INPUT"},
		{"bad retry", "nfon.new", map[string]any{"brokerUrl": "https://h/broker", "callerToken": srv.fetch, "retry": map[string]any{"retries": 1.5}}, "E_INPUT"},
	} {
		if _, got := syncCall(c.op, config(srv.fetch, c.cfg)); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
	if _, got := syncCall("no.such.op"); got != "E_INTERNAL" {
		t.Errorf("unknown op: %s", got)
	}
	if _, got := syncCall("debug.panic"); got != "E_INTERNAL" {
		t.Errorf("panic: %s", got)
	}
	if _, err := asyncCall(t, js.Undefined(), "debug.panicAsync"); code(err) != "E_INTERNAL" {
		t.Errorf("async panic: %s", code(err))
	}
	if _, err := asyncCall(t, js.ValueOf("not a signal"), "debug.sleep", 1); code(err) != "E_INPUT" {
		t.Errorf("bad signal: %s", code(err))
	}
}

func TestRequestChecks(t *testing.T) {
	srv := newFakeServer(t, func(fakeRequest) (int, map[string]string, string) { return 200, nil, "" })
	caller := newTokenFunc(t, "tok")
	id, _ := syncCall("nfon.new", config(srv.fetch, map[string]any{"brokerUrl": "https://h/broker", "callerToken": caller.fn}))
	for _, c := range []struct {
		name         string
		method, path any
	}{
		{"absolute URL as path", "GET", "https://evil.example/x"},
		{"no leading slash", "GET", "api/x"},
		{"fragment", "GET", "/api/x#y"},
		{"CRLF in path", "GET", "/api/x\r\nHost: evil"},
		{"bad method", "GE T", "/api/x"},
		{"method not a string", 42, "/api/x"},
	} {
		if _, err := asyncCall(t, js.Undefined(), "broker.request", id, c.method, c.path, nil, nil, nil); code(err) != "E_INPUT" {
			t.Errorf("%s: %s", c.name, code(err))
		}
	}
	if len(srv.requests()) != 0 {
		t.Errorf("a refused request went out: %+v", srv.requests())
	}
	bad := newTokenFunc(t, "has space")
	id2, _ := syncCall("nfon.new", config(srv.fetch, map[string]any{"brokerUrl": "https://h/broker", "callerToken": bad.fn}))
	if _, err := asyncCall(t, js.Undefined(), "broker.request", id2, "GET", "/api/x", nil, nil, nil); code(err) != "E_TOKEN" {
		t.Errorf("bad caller token: %s", code(err))
	}
}

func TestReturned(t *testing.T) {
	launch, _ := weburl.Parse("https://kf.example/Interview/launch?guid=1")
	ret, _ := weburl.Parse("https://site.example/keyfax-return")
	for _, c := range []struct {
		href string
		ret  *weburl.URL
		want bool
	}{
		{"about:blank", ret, false},
		{"https://site.example/keyfax-return?status=1&guid=1", ret, true},
		{"https://SITE.example/keyfax-return/", ret, true},
		{"https://site.example/other", ret, false},
		{"https://kf.example/Interview/launch?guid=1", nil, false},
		{"https://site.example/anything", nil, true},
		{"about:blank", nil, false},
	} {
		if got := returned(c.href, launch, c.ret); got != c.want {
			t.Errorf("returned(%s, %v) = %v", c.href, c.ret, got)
		}
	}
	r := launchResult("https://site.example/back?status=1&guid=abc&guid=def")
	if r.Get("params").Get("status").String() != "1" || r.Get("params").Get("guid").String() != "abc" {
		t.Errorf("launchResult: %s", jsJSON.Call("stringify", r).String())
	}
}

func TestLaunchNeedsDocument(t *testing.T) {
	srv := newFakeServer(t, func(fakeRequest) (int, map[string]string, string) { return 200, nil, "" })
	tokens := newTokenFunc(t, jwt(time.Now().Add(time.Hour), "x"))
	id, _ := syncCall("keyfax.new", config(srv.fetch, map[string]any{"baseUrl": "https://kf.example/Interview", "hostName": "Dev", "getToken": tokens.fn}))
	_, err := asyncCall(t, js.Undefined(), "keyfax.launch", id, "https://kf.example/launch", "", map[string]any{})
	if code(err) != "E_CONFIG" {
		t.Errorf("launch in Node: %s", code(err))
	}
	_, err = asyncCall(t, js.Undefined(), "keyfax.launch", id, "javascript:alert(1)", "", map[string]any{})
	if code(err) != "E_INPUT" {
		t.Errorf("javascript: URL: %s", code(err))
	}
}

func TestDataValue(t *testing.T) {
	for _, c := range []struct {
		ct, body, want string
	}{
		{"application/json", `{"a":1}`, "object"},
		{"application/problem+json", `{"a":1}`, "object"},
		{"", `[1]`, "object"},
		{"application/json", `{bad`, "string"},
		{"text/plain", "hi", "string"},
		{"application/xml", "<a/>", "string"},
		{"audio/mpeg", "\xff\xfb", "object"}, // Uint8Array
		{"", "\xff\xfe", "object"},
	} {
		v := dataValue(map[string]string{"Content-Type": c.ct}, []byte(c.body))
		if v.Type().String() != c.want {
			t.Errorf("%s %q: %s", c.ct, c.body, v.Type())
		}
	}
	if !dataValue(nil, nil).IsNull() {
		t.Error("empty body is not null")
	}
	if v := dataValue(map[string]string{"Content-Type": "audio/mpeg"}, []byte{1, 2, 3}); v.Get("length").Int() != 3 || !v.InstanceOf(jsUint8Array) {
		t.Error("binary body is not a Uint8Array of its bytes: " + strconv.Itoa(v.Get("length").Int()))
	}
}
