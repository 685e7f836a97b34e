//go:build js && wasm

package main

import (
	"context"
	"github.com/apisign/apisign/signers/weburl"
	"strings"
	"syscall/js"
	"time"

	"honnef.co/go/js/dom/v2"

	"github.com/apisign/apisign/signers"
)

// launchPoll is how often the launch frame or popup is looked at besides its
// load events (a popup has none that a cross-origin opener can see).
const launchPoll = 200 * time.Millisecond

// keyfaxLaunch opens the Keyfax launch URL in an iframe or a popup and answers
// when it comes back to the return URL: [id, launchUrl, returnUrl, { target,
// container, features, keepFrame }] -> { url, params }.
//
// While Keyfax shows its pages, the frame is cross-origin and its location
// cannot be read (reading throws). When Keyfax is done it sends the frame to
// the return URL, a page of the embedding site: same origin, readable. That is
// the signal. With a return URL the frame must be at its origin and path (its
// query carries Keyfax's status, company and guid); without one, any readable
// http(s) location other than the launch page counts.
func keyfaxLaunch(ctx context.Context, args js.Value) (any, error) {
	if _, err := clientOf[*keyfaxClient](args); err != nil {
		return nil, err
	}
	return launch(ctx, launchKeyfax, args.Index(1), args.Index(2), args.Index(3))
}

// launchSite names what a launch opens.
type launchSite struct {
	op, name string
	// closedOK: closing the window (a popup closed, the frame removed from the
	// page) ends the launch with { closed: true } instead of E_ABORTED.
	closedOK bool
}

var (
	launchKeyfax = launchSite{op: "keyfax.launch", name: "Keyfax"}
	// A Fortis sign-in link has no end of its own: the user works in the
	// frame or popup until the page removes it or the user closes it.
	launchFortis = launchSite{op: "fortis.sso", name: "Fortis", closedOK: true}
)

// launch opens src in an iframe or a popup (opts: { target, container,
// features, keepFrame }) and answers { url, params } when it comes back to the
// return URL (see keyfaxLaunch), or what closing it means for site.
func launch(ctx context.Context, site launchSite, launchURL, returnURL, opts js.Value) (any, error) {
	op := site.op
	if launchURL.Type() != js.TypeString || returnURL.Type() != js.TypeString || opts.Type() != js.TypeObject {
		return nil, signers.E(signers.CodeInput, op, "needs the launch URL and options")
	}
	src := launchURL.String() // opened as given: the page's URL parser reads it
	lu, err := weburl.Parse(src)
	if err != nil || (lu.Scheme != "http" && lu.Scheme != "https") || lu.Host == "" {
		return nil, signers.E(signers.CodeInput, op, "launch URL must be an absolute http(s) URL")
	}
	var ru *weburl.URL
	if r := returnURL.String(); r != "" {
		// Keyfax fills the placeholders {0}..{3} of the return URL's query.
		if i := strings.IndexAny(r, "?#{"); i >= 0 {
			r = r[:i]
		}
		if ru, err = weburl.Parse(r); err != nil || ru.Host == "" {
			return nil, signers.E(signers.CodeInput, op, "return URL must be an absolute http(s) URL")
		}
	}
	if d := jsGlobal.Get("document"); d.Type() != js.TypeObject {
		return nil, signers.E(signers.CodeConfig, op, "launch needs a browser page (no document here)")
	}
	target, err := str(opts, "target")
	if err != nil {
		return nil, err
	}
	features, err := str(opts, "features")
	if err != nil {
		return nil, err
	}
	w := &launchWindow{site: site, changed: make(chan struct{}, 1)}
	defer w.cleanup(opts.Get("keepFrame").Truthy())
	switch target {
	case "", "iframe":
		err = w.openFrame(src, opts.Get("container"))
	case "popup":
		err = w.openPopup(src, features)
	default:
		err = signers.E(signers.CodeInput, op, `target must be "iframe" or "popup"`)
	}
	if err != nil {
		return nil, err
	}
	tick := time.NewTicker(launchPoll)
	defer tick.Stop()
	for {
		if href, ok := w.location(); ok && returned(href, lu, ru) {
			return launchResult(href), nil
		}
		if w.closed() {
			if site.closedOK {
				o := newObject()
				o.Set("closed", true)
				return o, nil
			}
			return nil, signers.E(signers.CodeAborted, op, "the "+site.name+" window was closed before it returned")
		}
		select {
		case <-ctx.Done():
			return nil, signers.Wrap(signers.CodeAborted, op, ctx.Err())
		case <-w.changed:
		case <-tick.C:
		}
	}
}

// launchWindow is the frame or popup the launched site runs in.
type launchWindow struct {
	site    launchSite
	frame   *dom.HTMLIFrameElement
	onLoad  js.Func
	popup   dom.Window
	changed chan struct{} // a load event happened
}

// openFrame appends an iframe on src to container (an element, a selector of
// one, or the body). The page objects are dom/v2's concrete types, built
// around the js.Values directly: dom/v2's Document, QuerySelector,
// CreateElement and event listeners go through its wrap functions, whose type
// switches link every element and event type of the DOM into the module
// (about 300 KB of code) for the three elements the launch touches.
func (w *launchWindow) openFrame(src string, container js.Value) error {
	op := w.site.op
	doc := js.Global().Get("document")
	var parent js.Value
	switch container.Type() {
	case js.TypeUndefined, js.TypeNull:
		parent = doc.Get("body")
	case js.TypeString:
		if err := jsTry(signers.CodeInput, op, "container is not a valid CSS selector", func() { parent = doc.Call("querySelector", container.String()) }); err != nil {
			return err
		}
	case js.TypeObject: // the loader checked that it is an element
		parent = container
	}
	if parent.Type() != js.TypeObject {
		return signers.E(signers.CodeInput, op, "container must be an element or a selector of one")
	}
	frame := &dom.HTMLIFrameElement{BasicHTMLElement: htmlElement(doc.Call("createElement", "iframe"))}
	frame.SetAttribute("title", w.site.name)
	frame.SetAttribute("data-apisign", strings.ToLower(w.site.name))
	style := frame.Style()
	style.SetProperty("width", "100%", "")
	style.SetProperty("height", "100%", "")
	style.SetProperty("min-height", "480px", "")
	style.SetProperty("border", "0", "")
	w.onLoad = js.FuncOf(func(js.Value, []js.Value) any {
		select {
		case w.changed <- struct{}{}:
		default:
		}
		return nil
	})
	frame.Call("addEventListener", "load", w.onLoad)
	frame.SetSrc(src)
	htmlElement(parent).AppendChild(frame)
	w.frame = frame
	return nil
}

// htmlElement is v as dom/v2's BasicHTMLElement, without its type switch.
func htmlElement(v js.Value) *dom.BasicHTMLElement {
	return &dom.BasicHTMLElement{BasicElement: &dom.BasicElement{BasicNode: &dom.BasicNode{Value: v}}}
}

func (w *launchWindow) openPopup(src, features string) error {
	if features == "" {
		features = "popup,width=900,height=700"
	}
	p := dom.GetWindow().Open(src, "apisign-"+strings.ToLower(w.site.name), features)
	if v, ok := p.(interface{ Truthy() bool }); !ok || !v.Truthy() {
		return signers.E(signers.CodeAborted, w.site.op, "the popup was blocked (call it from a click handler)")
	}
	w.popup = p
	return nil
}

// location reads the window's href; ok is false while it is cross-origin
// (reading throws) or gone. A cross-origin Location object may be had, but its
// href throws: it is read through safeGet, never Location.Href (a js.Value.Get
// that throws would break the Go runtime; see jsbridge.go).
func (w *launchWindow) location() (href string, ok bool) {
	defer func() {
		if recover() != nil {
			href, ok = "", false
		}
	}()
	var loc *dom.Location
	switch {
	case w.frame != nil:
		loc = w.frame.ContentWindow().Location()
	case w.popup != nil:
		loc = w.popup.Location()
	default:
		return "", false
	}
	v, ok := safeGet(loc.Value, "href")
	if !ok || v.Type() != js.TypeString {
		return "", false
	}
	return v.String(), true
}

// closed reports whether the user closed the popup or the page removed the
// frame.
func (w *launchWindow) closed() (c bool) {
	defer func() {
		if recover() != nil {
			c = false
		}
	}()
	if w.frame != nil {
		return !w.frame.Get("isConnected").Truthy()
	}
	if v, ok := w.popup.(interface{ Get(string) js.Value }); ok && w.popup != nil {
		return v.Get("closed").Truthy()
	}
	return false
}

func (w *launchWindow) cleanup(keepFrame bool) {
	defer func() { recover() }() // the page may have removed the frame itself
	if w.frame != nil {
		w.frame.Call("removeEventListener", "load", w.onLoad)
		w.onLoad.Release()
		if !keepFrame {
			w.frame.Remove()
		}
	}
	if w.popup != nil {
		w.popup.Close()
	}
}

// returned reports whether href is the return page: at the return URL's origin
// and path when there is one, else any http(s) page other than the launch page.
func returned(href string, launch, ret *weburl.URL) bool {
	u, err := weburl.Parse(href)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return false // about:blank while the frame starts
	}
	if ret != nil {
		return strings.EqualFold(u.Scheme, ret.Scheme) && strings.EqualFold(u.Host, ret.Host) &&
			strings.TrimSuffix(u.EscapedPath(), "/") == strings.TrimSuffix(ret.EscapedPath(), "/")
	}
	return !(strings.EqualFold(u.Host, launch.Host) && u.EscapedPath() == launch.EscapedPath())
}

// launchResult is { url, params }: the return page's URL and its query
// parameters (Keyfax's status, company, guid, …), first value of each.
func launchResult(href string) js.Value {
	o := newObject()
	o.Set("url", href)
	params := newObject()
	if u, err := weburl.Parse(href); err == nil {
		for k, v := range u.Query() {
			if len(v) > 0 {
				params.Set(k, v[0])
			}
		}
	}
	o.Set("params", params)
	return o
}
