// Package nodecheck runs a Node script over test cases so that the Go signers are
// compared byte for byte with an implementation this project did not write
// (Node's crypto module, crypto-js).
//
// The protocol is one JSON document each way: the cases go to the script's
// standard input as a JSON array; the script prints a JSON array of mismatch
// descriptions (empty when every case agrees) as its last line of output.
package nodecheck

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Run sends cases to `node script` and fails t for every mismatch it reports.
// It skips under GOOS=js (no subprocesses there; the same cases run natively),
// and skips when node is not installed unless CI is set, where it fails: on CI
// a missing Node must not turn the cross-check into a test that cannot fail.
func Run(t *testing.T, script string, cases any) {
	t.Helper()
	if runtime.GOOS == "js" {
		t.Skip("cross-check runs natively, not under GOOS=js")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("node is not installed; the cross-check needs it")
		}
		t.Skip("node is not installed")
	}
	in, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, script)
	cmd.Stdin = bytes.NewReader(in)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("node %s did not finish in 60s", script)
	}
	if err != nil {
		t.Fatalf("node %s: %v\n%s", script, err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	var mismatches []string
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &mismatches); err != nil {
		t.Fatalf("node %s printed no JSON result: %v\n%s\n%s", script, err, stdout.String(), stderr.String())
	}
	for _, m := range mismatches {
		t.Error(m)
	}
	if len(mismatches) == 0 {
		t.Logf("node %s agreed on every case", script)
	}
}
