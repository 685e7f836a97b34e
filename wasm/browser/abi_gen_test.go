//go:build !(js && wasm)

package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// The numbers of the memory interface are generated for Go and JS by
// abi_gen.go: both files must be what it writes now.
func TestABIGenerated(t *testing.T) {
	dir := t.TempDir()
	goOut, jsOut := filepath.Join(dir, "abi_layout.go"), filepath.Join(dir, "abi.mjs")
	cmd := exec.Command("go", "run", "abi_gen.go", "-go", goOut, "-js", jsOut)
	cmd.Env = append(os.Environ(), "GOOS=", "GOARCH=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go run abi_gen.go: %v\n%s", err, out)
	}
	for _, f := range []struct{ fresh, committed string }{
		{goOut, "abi_layout.go"},
		{jsOut, "../../web/apisign/abi.mjs"},
	} {
		want, err := os.ReadFile(f.fresh)
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(f.committed)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale: run go generate ./wasm/browser", f.committed)
		}
	}
}
