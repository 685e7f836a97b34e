//go:build js && wasm

package main

import (
	"context"
	"errors"
	"github.com/apisign/apisign/signers/weburl"
	"strings"
	"syscall/js"
	"unicode/utf8"

	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/clock"
)

// This file is the syscall/js side of the module, used by the client flows
// (never by the signing fast path): awaiting promises, JS errors with a code,
// AbortSignal <-> context, and a signers.Doer over the page's fetch.
//
// One rule keeps the Go runtime safe: js.Value.Get does not catch a JS
// exception (wasm_exec.js's valueGet has no try/catch, unlike valueCall), so a
// getter that throws unwinds straight through the Go runtime and leaves it
// broken. Go therefore reads properties only of values the loader made itself
// (plain configs, normalized fetch answers, token answers and failures, its
// own AbortSignals); anything that may throw, such as a cross-origin frame's
// location, is read with Reflect.get through Call, which does catch.

var (
	jsGlobal     = js.Global()
	jsObject     = jsGlobal.Get("Object")
	jsArray      = jsGlobal.Get("Array")
	jsUint8Array = jsGlobal.Get("Uint8Array")
	jsJSON       = jsGlobal.Get("JSON")
	jsAbortCtl   = jsGlobal.Get("AbortController")
	jsReflect    = jsGlobal.Get("Reflect")

	// makeError(code, message, status, data, cause) builds an ApisignError; the
	// loader hands it over at start (see main).
	makeError js.Value
)

func newObject() js.Value { return jsObject.New() }

// jsTry runs f and turns a panic (a JS exception surfaces in Go as a js.Error
// panic) into an error with code c and message msg.
func jsTry(c signers.Code, op, msg string, f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = signers.E(c, op, msg)
		}
	}()
	f()
	return nil
}

// rejection is a JS value a promise was rejected with, or that was thrown.
type rejection struct{ v js.Value }

func (r rejection) Error() string { return "rejected: " + describe(r.v) }

// describe names a thrown JS value by its name and code, never by its message
// (which is the caller's text and could hold anything).
func describe(v js.Value) (s string) {
	defer func() {
		if recover() != nil {
			s = "a JS value"
		}
	}()
	if v.Type() != js.TypeObject {
		return "a " + v.Type().String()
	}
	s = "an object"
	if n := v.Get("name"); n.Type() == js.TypeString && len(n.String()) < 64 {
		s = n.String()
	}
	if c := v.Get("code"); c.Type() == js.TypeString && strings.HasPrefix(c.String(), "E_") && len(c.String()) < 32 {
		s += " " + c.String()
	}
	return s
}

// codeOfJS returns the apisign code a JS error carries, or "" when it carries
// none; an AbortError is E_ABORTED.
func codeOfJS(v js.Value) (c signers.Code) {
	defer func() {
		if recover() != nil {
			c = ""
		}
	}()
	if v.Type() != js.TypeObject {
		return ""
	}
	if code := v.Get("code"); code.Type() == js.TypeString && strings.HasPrefix(code.String(), "E_") && len(code.String()) < 32 {
		return signers.Code(code.String())
	}
	if v.Get("name").Type() == js.TypeString && v.Get("name").String() == "AbortError" {
		return signers.CodeAborted
	}
	return ""
}

// wrapRejection makes err (possibly a rejection) an *signers.Error with code c,
// keeping the code a JS ApisignError carried and the JS value as the cause.
func wrapRejection(c signers.Code, op, msg string, err error) error {
	var r rejection
	if !errors.As(err, &r) {
		return signers.Wrap(c, op, err)
	}
	if jc := codeOfJS(r.v); jc != "" {
		c = jc
	}
	return &signers.Error{Code: c, Op: op, Msg: msg + " (" + describe(r.v) + ")", Err: r}
}

// settled is how a promise ended: its value, or (ok false) its rejection.
type settled struct {
	v  js.Value
	ok bool
}

// Promises report to one Go function that lives as long as the module: the
// loader's helpers.await(promise, id, settle) subscribes it, and it hands the
// outcome to the waiter with that id. Making and releasing two js.FuncOf per
// await cost about 10 µs each pair, and an await is on every client call.
// (Goroutines on GOOS=js never run in parallel, so the map needs no lock.)
var (
	jsAwait    js.Value // helpers.await; undefined when the loader did not start main (the Go tests)
	settleFunc js.Func
	waiters    = map[int]chan settled{}
	nextWaiter int
)

// useLoaderAwait makes await use the loader's helper.
func useLoaderAwait(helper js.Value) {
	if helper.Type() != js.TypeFunction {
		return
	}
	jsAwait = helper
	settleFunc = js.FuncOf(func(_ js.Value, a []js.Value) any {
		if len(a) < 3 || a[0].Type() != js.TypeNumber {
			return nil
		}
		id := a[0].Int()
		if ch, ok := waiters[id]; ok {
			delete(waiters, id)
			ch <- settled{a[2], a[1].Truthy()}
		}
		return nil
	})
}

// await waits until the promise v settles or ctx ends. A value that is not a
// thenable is returned as it is.
func await(ctx context.Context, v js.Value) (js.Value, error) {
	if jsAwait.Type() != js.TypeFunction {
		return awaitOwn(ctx, v)
	}
	ch := make(chan settled, 1)
	id := nextWaiter
	nextWaiter++
	waiters[id] = ch
	var subscribed bool
	if err := jsTry(signers.CodeInput, "apisign.await", "then() threw", func() { subscribed = jsAwait.Invoke(v, id, settleFunc).Truthy() }); err != nil || !subscribed {
		delete(waiters, id)
		return v, err
	}
	select {
	case s := <-ch:
		if s.ok {
			return s.v, nil
		}
		return js.Undefined(), rejection{s.v}
	case <-ctx.Done():
		// The waiter stays until the promise settles; settleFunc drops it.
		return js.Undefined(), signers.Wrap(signers.CodeAborted, "apisign", ctx.Err())
	}
}

// awaitOwn is await with functions of its own, for when there is no loader.
func awaitOwn(ctx context.Context, v js.Value) (js.Value, error) {
	if v.Type() != js.TypeObject && v.Type() != js.TypeFunction || v.Get("then").Type() != js.TypeFunction {
		return v, nil
	}
	ch := make(chan settled, 1)
	arg := func(a []js.Value) js.Value {
		if len(a) == 0 {
			return js.Undefined()
		}
		return a[0]
	}
	onOK := js.FuncOf(func(_ js.Value, a []js.Value) any { ch <- settled{arg(a), true}; return nil })
	onErr := js.FuncOf(func(_ js.Value, a []js.Value) any { ch <- settled{arg(a), false}; return nil })
	release := func() { onOK.Release(); onErr.Release() }
	if err := jsTry(signers.CodeInput, "apisign.await", "then() threw", func() { v.Call("then", onOK, onErr) }); err != nil {
		release()
		return js.Undefined(), err
	}
	select {
	case s := <-ch:
		release()
		if s.ok {
			return s.v, nil
		}
		return js.Undefined(), rejection{s.v}
	case <-ctx.Done():
		go func() { <-ch; release() }() // the functions must live until the promise settles
		return js.Undefined(), signers.Wrap(signers.CodeAborted, "apisign", ctx.Err())
	}
}

// signalContext returns a context that ends when the AbortSignal signal fires
// (a missing signal never fires) and the function that releases it.
func signalContext(signal js.Value) (context.Context, func(), error) {
	if signal.IsUndefined() || signal.IsNull() {
		// Nothing can end the operation early: a context without a Done
		// channel tells fetchDoer that no AbortController is needed.
		return context.Background(), func() {}, nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	add, ok := safeGet(signal, "addEventListener")
	aborted, ok2 := safeGet(signal, "aborted")
	if signal.Type() != js.TypeObject || !ok || !ok2 || add.Type() != js.TypeFunction {
		cancel()
		return nil, nil, signers.E(signers.CodeInput, "apisign", "signal must be an AbortSignal")
	}
	if aborted.Truthy() {
		cancel()
		return nil, nil, signers.E(signers.CodeAborted, "apisign", "aborted before it started")
	}
	onAbort := js.FuncOf(func(js.Value, []js.Value) any { cancel(); return nil })
	signal.Call("addEventListener", "abort", onAbort)
	return ctx, func() {
		signal.Call("removeEventListener", "abort", onAbort)
		onAbort.Release()
		cancel()
	}, nil
}

// safeGet reads v[name] with Reflect.get through Call, so that a throwing
// getter becomes ok=false instead of breaking the runtime.
func safeGet(v js.Value, name string) (r js.Value, ok bool) {
	err := jsTry(signers.CodeInput, "", "", func() { r = jsReflect.Call("get", v, name) })
	return r, err == nil
}

// abortSignal returns an AbortSignal that fires when ctx ends, for fetch and for
// the caller's getToken, and the function that stops watching ctx.
func abortSignal(ctx context.Context) (js.Value, func() bool) {
	ac := jsAbortCtl.New()
	stop := context.AfterFunc(ctx, func() { ac.Call("abort") })
	return ac.Get("signal"), stop
}

// jsError turns err into an ApisignError: the stable code, a secret-free
// message, the HTTP status and answer when there is one, the JS cause when the
// failure came from JS.
func jsError(err error) js.Value {
	status, data, cause := js.Undefined(), js.Undefined(), js.Undefined()
	var se *signers.Error
	if errors.As(err, &se) && se.Status != 0 {
		status = js.ValueOf(se.Status)
	}
	var re *respError
	if errors.As(err, &re) && re.resp != nil {
		data = dataValue(re.resp.Header, re.resp.Body)
	}
	var r rejection
	if errors.As(err, &r) {
		cause = r.v
	}
	return makeError.Invoke(string(signers.CodeOf(err)), message(err), status, data, cause)
}

// respError is an error about an HTTP answer; the JS error carries the answer's
// data.
type respError struct {
	err  *signers.Error
	resp *signers.Response
}

func (e *respError) Error() string { return e.err.Error() }
func (e *respError) Unwrap() error { return e.err }

// fetchDoer is a signers.Doer over the page's fetch (or the one the caller
// passed). Every answer's Date header, when readable, teaches the module clock
// the server's time; a cross-origin answer that does not expose Date changes
// nothing.
type fetchDoer struct {
	fetch js.Value
	skew  *clock.Skewed
}

// maxAnswer bounds an answer body read into Go.
const maxAnswer = 64 << 20

func (d *fetchDoer) Do(ctx context.Context, req *signers.Request) (*signers.Response, error) {
	const op = "apisign.fetch"
	if err := ctx.Err(); err != nil {
		return nil, signers.Wrap(signers.CodeAborted, op, err)
	}
	// Each syscall/js crossing costs microseconds (and each JS object Go holds
	// a finalizer), so the request goes out as a few plain values and the
	// answer comes back as { status, headers, body }, the header fields in one
	// string: safeFetch in apisign.mjs builds the fetch init and reads the
	// Response. Fields are joined by NUL, which no valid header name or value
	// holds (fetch refuses them).
	var hb strings.Builder
	for k, v := range req.Header {
		if strings.IndexByte(k, 0) >= 0 || strings.IndexByte(v, 0) >= 0 {
			return nil, signers.E(signers.CodeInput, op, "fetch refused the request (bad URL or header)")
		}
		if hb.Len() > 0 {
			hb.WriteByte(0)
		}
		hb.WriteString(k)
		hb.WriteByte(0)
		hb.WriteString(v)
	}
	body := js.Undefined()
	if len(req.Body) > 0 {
		body = bytesToJS(req.Body)
	}
	signal := js.Undefined()
	if ctx.Done() != nil { // an AbortController only when ctx can end early
		var stop func() bool
		signal, stop = abortSignal(ctx)
		defer stop()
	}
	var p js.Value
	if err := jsTry(signers.CodeInput, op, "fetch refused the request (bad URL or header)", func() {
		p = d.fetch.Invoke(req.URL, req.Method, hb.String(), body, signal)
	}); err != nil {
		return nil, err
	}
	resp, err := await(ctx, p)
	if err != nil {
		if ctx.Err() != nil {
			return nil, signers.Wrap(signers.CodeAborted, op, ctx.Err())
		}
		return nil, wrapRejection(signers.CodeNetwork, op, req.Method+" "+withoutQuery(req.URL)+" got no answer", err)
	}
	var status int
	hdr := signers.Header{}
	var data []byte
	var berr error
	err = jsTry(signers.CodeNetwork, op, "the answer could not be read", func() {
		status = resp.Get("status").Int()
		if t := resp.Get("headers").String(); t != "" {
			f := strings.Split(t, "\x00")
			for i := 0; i+1 < len(f); i += 2 {
				hdr[f[i]] = f[i+1]
			}
		}
		data, berr = bytesFromJS(resp.Get("body"))
	})
	if err == nil {
		err = berr
	}
	if err != nil {
		return nil, err
	}
	if status == 0 {
		return nil, signers.E(signers.CodeNetwork, op, "opaque answer (no-cors?)")
	}
	d.skew.Observe(hdr.Get("Date"))
	return &signers.Response{Status: status, Header: hdr, Body: data}, nil
}

// withoutQuery is an absolute URL as an error message may show it: scheme, host
// and path, with "?…" in place of a query, whose values may hold a credential
// (and no user info or fragment).
func withoutQuery(raw string) string {
	u, err := weburl.Parse(raw)
	if err != nil || u.Host == "" {
		return "(a malformed URL)"
	}
	s := u.Scheme + "://" + u.Host + u.EscapedPath()
	if u.RawQuery != "" || u.ForceQuery {
		s += "?…"
	}
	return s
}

func bytesToJS(b []byte) js.Value {
	u := jsUint8Array.New(len(b))
	js.CopyBytesToJS(u, b)
	return u
}

// bytesFromJS copies a Uint8Array into Go.
func bytesFromJS(u js.Value) ([]byte, error) {
	n := u.Get("length").Int()
	if n > maxAnswer {
		return nil, signers.E(signers.CodeNetwork, "apisign.fetch", "answer larger than 64 MiB")
	}
	b := make([]byte, n)
	js.CopyBytesToGo(b, u)
	return b, nil
}

// headersValue is h as a plain object with lower-case names.
func headersValue(h signers.Header) js.Value {
	o := newObject()
	for k, v := range h {
		o.Set(strings.ToLower(k), v)
	}
	return o
}

// dataValue is an answer body as JS sees it: parsed JSON for a JSON content
// type (or none, when the body reads as JSON), a string for text, XML and forms,
// a Uint8Array for anything else, null for an empty body.
func dataValue(h signers.Header, body []byte) js.Value {
	if len(body) == 0 {
		return js.Null()
	}
	ct := strings.ToLower(h.Get("Content-Type"))
	text := utf8.Valid(body)
	trimmed := strings.TrimSpace(string(body))
	looksJSON := trimmed != "" && (trimmed[0] == '{' || trimmed[0] == '[' || trimmed[0] == '"')
	switch {
	case text && (strings.Contains(ct, "json") || ct == "" && looksJSON):
		var v js.Value
		if jsTry(signers.CodeInput, "", "", func() { v = jsJSON.Call("parse", string(body)) }) == nil {
			return v
		}
		return js.ValueOf(string(body))
	case text && (ct == "" || strings.HasPrefix(ct, "text/") || strings.Contains(ct, "xml") ||
		strings.Contains(ct, "x-www-form-urlencoded") || strings.Contains(ct, "javascript")):
		return js.ValueOf(string(body))
	}
	return bytesToJS(body)
}

// responseValue is { status, headers, data }.
func responseValue(r *signers.Response) js.Value {
	o := newObject()
	o.Set("status", r.Status)
	o.Set("headers", headersValue(r.Header))
	o.Set("data", dataValue(r.Header, r.Body))
	return o
}
