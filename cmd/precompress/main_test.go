package main

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
)

func TestCompressAndFresh(t *testing.T) {
	name := filepath.Join(t.TempDir(), "m.wasm")
	src := bytes.Repeat([]byte("module bytes "), 1000)
	os.WriteFile(name, src, 0o644)
	if fresh(name) {
		t.Fatal("fresh before any copy exists")
	}
	if err := compress(name); err != nil {
		t.Fatal(err)
	}
	for ext, open := range map[string]func(io.Reader) (io.Reader, error){
		".br": func(r io.Reader) (io.Reader, error) { return brotli.NewReader(r), nil },
		".gz": func(r io.Reader) (io.Reader, error) { return gzip.NewReader(r) },
	} {
		f, _ := os.Open(name + ext)
		r, err := open(f)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		f.Close()
		if err != nil || !bytes.Equal(got, src) {
			t.Errorf("%s does not decode to the file: %v", ext, err)
		}
		if size(name+ext) >= int64(len(src)) {
			t.Errorf("%s is not smaller", ext)
		}
	}
	// The same bytes written again (as go build does): fresh, and the copies
	// take the new modification time.
	later := time.Now().Add(time.Hour).Truncate(time.Second)
	os.WriteFile(name, src, 0o644)
	os.Chtimes(name, later, later)
	if !fresh(name) {
		t.Error("unchanged bytes are not fresh")
	}
	if st, _ := os.Stat(name + ".br"); !st.ModTime().Equal(later) {
		t.Errorf("copy keeps modification time %v", st.ModTime())
	}
	// Other bytes: stale.
	os.WriteFile(name, append(src, 'x'), 0o644)
	if fresh(name) {
		t.Error("changed bytes are fresh")
	}
}
