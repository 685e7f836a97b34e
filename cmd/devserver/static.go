package main

import (
	"fmt"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// contentTypes pins the types the module's loading depends on: browsers refuse
// a module script or WebAssembly.instantiateStreaming with any other type, and
// the system MIME tables (which Go's mime package reads) vary and map .ts to
// MPEG transport streams.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".mjs":  "text/javascript; charset=utf-8",
	".wasm": "application/wasm",
	".ts":   "text/plain; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".json": "application/json",
	".map":  "application/json",
	".svg":  "image/svg+xml",
}

// encodings are the precompressed copies static looks for beside a file, best
// first: ./build.sh build writes them (cmd/precompress).
var encodings = []struct{ name, ext string }{{"br", ".br"}, {"gzip", ".gz"}}

// static serves dir (GET and HEAD only) the way a CDN would serve the module:
//
//   - a precompressed copy (name.br, name.gz) when the request's Accept-Encoding
//     takes it and the copy was made from the current file (same modification
//     time), with Content-Encoding and Vary: Accept-Encoding;
//   - a strong ETag per representation (modification time, size, encoding),
//     and Cache-Control: no-cache, so that a browser keeps the module in its
//     HTTP cache (and V8 its compiled code) but revalidates it on each visit:
//     a rebuilt module is never served stale, an unchanged one costs a 304;
//   - fixed content types and no directory listings.
func static(dir string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != "GET" && r.Method != "HEAD" {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		p := path.Clean("/" + r.URL.Path)
		if strings.HasSuffix(r.URL.Path, "/") { // a directory: its index.html or nothing
			p = path.Join(p, "index.html")
		}
		name := filepath.Join(dir, filepath.FromSlash(p))
		f, err := os.Open(name)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil || st.IsDir() {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		if ct, ok := contentTypes[path.Ext(p)]; ok {
			h.Set("Content-Type", ct)
		}
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Content-Type-Options", "nosniff")
		body, size, coding := f, st.Size(), ""
		for _, e := range encodings {
			c, err := os.Open(name + e.ext)
			if err != nil {
				continue
			}
			defer c.Close()
			h.Set("Vary", "Accept-Encoding") // a variant exists, whatever this request takes
			cst, err := c.Stat()
			if err != nil || !cst.ModTime().Equal(st.ModTime()) || !accepts(r.Header.Get("Accept-Encoding"), e.name) || coding != "" {
				continue
			}
			body, size, coding = c, cst.Size(), e.name
		}
		if coding != "" {
			h.Set("Content-Encoding", coding)
		}
		h.Set("ETag", fmt.Sprintf(`"%x-%x%s"`, st.ModTime().UnixNano(), size, coding))
		http.ServeContent(w, r, p, st.ModTime(), body)
	})
}

// accepts reports whether an Accept-Encoding value takes coding: named, or
// through "*", and not with q=0 (RFC 9110, section 12.5.3).
func accepts(header, coding string) bool {
	star := false
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		name = strings.ToLower(strings.TrimSpace(name))
		refused := false
		for _, p := range strings.Split(params, ";") {
			k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
			if strings.EqualFold(strings.TrimSpace(k), "q") && strings.Trim(strings.TrimSpace(v), "0.") == "" {
				refused = true
			}
		}
		switch name {
		case coding:
			return !refused
		case "*":
			star = !refused
		}
	}
	return star
}
