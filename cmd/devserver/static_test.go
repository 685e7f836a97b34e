package main

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
)

// precompressedDir holds m.wasm with br and gz copies made as cmd/precompress
// makes them (same modification time), and plain.js with none.
func precompressedDir(t *testing.T) (dir string, want []byte) {
	dir = t.TempDir()
	want = bytes.Repeat([]byte("\x00asm module bytes "), 500)
	name := filepath.Join(dir, "m.wasm")
	if err := os.WriteFile(name, want, 0o644); err != nil {
		t.Fatal(err)
	}
	var br, gz bytes.Buffer
	bw := brotli.NewWriter(&br)
	bw.Write(want)
	bw.Close()
	gw := gzip.NewWriter(&gz)
	gw.Write(want)
	gw.Close()
	mtime := time.Unix(1700000000, 0)
	for path, b := range map[string][]byte{name: want, name + ".br": br.Bytes(), name + ".gz": gz.Bytes()} {
		os.WriteFile(path, b, 0o644)
		os.Chtimes(path, mtime, mtime)
	}
	os.WriteFile(filepath.Join(dir, "plain.js"), []byte("export {}"), 0o644)
	return dir, want
}

func serveStatic(h http.Handler, path string, header map[string]string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", path, nil)
	for k, v := range header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func decode(t *testing.T, coding string, b []byte) []byte {
	t.Helper()
	var r io.Reader = bytes.NewReader(b)
	switch coding {
	case "br":
		r = brotli.NewReader(r)
	case "gzip":
		zr, err := gzip.NewReader(r)
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("%s body does not decode: %v", coding, err)
	}
	return out
}

func TestStaticPrecompressed(t *testing.T) {
	dir, want := precompressedDir(t)
	h := static(dir)
	cases := []struct{ accept, coding string }{
		{"br, gzip", "br"},
		{"gzip, deflate, br;q=0.9", "br"},
		{"gzip", "gzip"},
		{"br;q=0, gzip", "gzip"},
		{"*", "br"},
		{"br;q=0, *;q=0", ""},
		{"", ""},
		{"identity", ""},
	}
	etags := map[string]string{}
	for _, c := range cases {
		w := serveStatic(h, "/m.wasm", map[string]string{"Accept-Encoding": c.accept})
		if w.Code != 200 || w.Header().Get("Content-Encoding") != c.coding {
			t.Errorf("Accept-Encoding %q: %d, Content-Encoding %q, want %q", c.accept, w.Code, w.Header().Get("Content-Encoding"), c.coding)
			continue
		}
		if got := decode(t, c.coding, w.Body.Bytes()); !bytes.Equal(got, want) {
			t.Errorf("Accept-Encoding %q: the body is not the module", c.accept)
		}
		if len(w.Header().Values("Vary")) != 1 || w.Header().Get("Vary") != "Accept-Encoding" || w.Header().Get("Content-Type") != "application/wasm" || w.Header().Get("Cache-Control") != "no-cache" {
			t.Errorf("Accept-Encoding %q: headers %v", c.accept, w.Header())
		}
		etags[c.coding] = w.Header().Get("ETag")
	}
	if len(etags) != 3 || etags["br"] == etags["gzip"] || etags["br"] == etags[""] {
		t.Errorf("each representation needs its own ETag: %v", etags)
	}
	// Revalidation: the same representation's ETag gives 304, another's does not.
	if w := serveStatic(h, "/m.wasm", map[string]string{"Accept-Encoding": "br", "If-None-Match": etags["br"]}); w.Code != 304 || w.Body.Len() != 0 {
		t.Errorf("If-None-Match with the br ETag: %d, %d bytes", w.Code, w.Body.Len())
	}
	if w := serveStatic(h, "/m.wasm", map[string]string{"Accept-Encoding": "gzip", "If-None-Match": etags["br"]}); w.Code != 200 {
		t.Errorf("If-None-Match with another representation's ETag: %d", w.Code)
	}
	// No copies: served as it is, no Vary.
	if w := serveStatic(h, "/plain.js", map[string]string{"Accept-Encoding": "br, gzip"}); w.Code != 200 || w.Header().Get("Content-Encoding") != "" || w.Header().Get("Vary") != "" || w.Body.String() != "export {}" {
		t.Errorf("plain.js: %d %v %q", w.Code, w.Header(), w.Body.String())
	}
}

// A rebuilt module whose copies were not made again must not be served from
// the stale copies.
func TestStaticStaleCopyIgnored(t *testing.T) {
	dir, _ := precompressedDir(t)
	rebuilt := []byte("\x00asm rebuilt")
	name := filepath.Join(dir, "m.wasm")
	os.WriteFile(name, rebuilt, 0o644)
	w := serveStatic(static(dir), "/m.wasm", map[string]string{"Accept-Encoding": "br, gzip"})
	if w.Header().Get("Content-Encoding") != "" || !bytes.Equal(w.Body.Bytes(), rebuilt) {
		t.Errorf("stale copy served: %q %q", w.Header().Get("Content-Encoding"), w.Body.Bytes())
	}
}

func TestStaticRefuses(t *testing.T) {
	dir, _ := precompressedDir(t)
	h := static(dir)
	for _, p := range []string{"/missing.js", "/", "/../m.wasm", "/m.wasm.br/"} {
		if w := serveStatic(h, p, nil); w.Code != 404 && !(p == "/../m.wasm" && w.Code == 200) {
			t.Errorf("GET %s: %d", p, w.Code)
		}
	}
	r := httptest.NewRequest("POST", "/m.wasm", strings.NewReader("x"))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 405 || w.Header().Get("Allow") != "GET, HEAD" {
		t.Errorf("POST: %d %v", w.Code, w.Header())
	}
}
