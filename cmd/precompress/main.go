// Command precompress writes a brotli (.br) and a gzip (.gz) copy beside each
// file it is given, at the highest levels, so that a static host (the dev
// server, a CDN, nginx's gzip_static / brotli_static) sends the browser module
// compressed without compressing it on every request. ./build.sh build runs it
// over web/apisign.wasm and the loader modules.
//
// Usage: go run ./cmd/precompress FILE...
package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"

	"github.com/andybalholm/brotli"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: precompress FILE...")
		os.Exit(2)
	}
	for _, name := range os.Args[1:] {
		if !fresh(name) {
			if err := compress(name); err != nil {
				fmt.Fprintln(os.Stderr, "precompress:", err)
				os.Exit(1)
			}
		}
		fmt.Printf("%s: %d bytes, %d brotli, %d gzip\n", name, size(name), size(name+".br"), size(name+".gz"))
	}
}

// fresh reports whether name.br and name.gz were made from name's current
// bytes: compressing the module at the highest brotli level takes seconds, and
// go build rewrites an unchanged module. The gzip copy is decoded and compared
// (milliseconds); the brotli copy is always written with it. Fresh copies get
// name's modification time again, which is how the dev server tells them current.
func fresh(name string) bool {
	src, err := os.ReadFile(name)
	if err != nil {
		return false
	}
	st, err := os.Stat(name)
	if err != nil {
		return false
	}
	if _, err := os.Stat(name + ".br"); err != nil {
		return false
	}
	f, err := os.Open(name + ".gz")
	if err != nil {
		return false
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return false
	}
	old, err := io.ReadAll(io.LimitReader(zr, int64(len(src))+1))
	if err != nil || !bytes.Equal(old, src) {
		return false
	}
	return os.Chtimes(name+".br", st.ModTime(), st.ModTime()) == nil && os.Chtimes(name+".gz", st.ModTime(), st.ModTime()) == nil
}

// compress writes name.br and name.gz. Each is written to a temporary file and
// renamed, so a server never serves half a file, and gets the original's
// modification time, which the dev server compares to tell a stale copy.
func compress(name string) error {
	src, err := os.ReadFile(name)
	if err != nil {
		return err
	}
	st, err := os.Stat(name)
	if err != nil {
		return err
	}
	var br, gz bytes.Buffer
	bw := brotli.NewWriterOptions(&br, brotli.WriterOptions{Quality: brotli.BestCompression, LGWin: 24})
	bw.Write(src)
	if err := bw.Close(); err != nil {
		return err
	}
	gw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	gw.Write(src)
	if err := gw.Close(); err != nil {
		return err
	}
	for ext, b := range map[string][]byte{".br": br.Bytes(), ".gz": gz.Bytes()} {
		tmp := name + ext + ".tmp"
		if err := os.WriteFile(tmp, b, 0o644); err != nil {
			return err
		}
		if err := os.Chtimes(tmp, st.ModTime(), st.ModTime()); err != nil {
			return err
		}
		if err := os.Rename(tmp, name+ext); err != nil {
			return err
		}
	}
	return nil
}

func size(name string) int64 {
	st, err := os.Stat(name)
	if err != nil {
		return -1
	}
	return st.Size()
}
