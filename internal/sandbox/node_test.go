package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestNodeClient runs testdata/nodeclient.mjs against a live sandbox: requests
// signed with Node's crypto module from docs/PROTOCOLS.md, not with apisign's Go
// signers, must be accepted, and the same requests tampered with refused. It
// skips without node, except on CI (CI set), where that is a failure.
func TestNodeClient(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("node is not installed; the cross-check needs it")
		}
		t.Skip("node is not installed")
	}
	h := start(t, Options{})
	h.clk.Set(time.Now()) // the script signs with the real time
	c := h.s.Credentials()
	in, _ := json.Marshal(map[string]any{
		"env":    h.env,
		"fortis": map[string]string{"userId": c.FortisUserID, "hashKey": c.FortisUserHashKey},
	})
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "testdata/nodeclient.mjs")
	cmd.Stdin = bytes.NewReader(in)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node: %v\n%s\n%s", err, stdout.String(), stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	var problems []string
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &problems); err != nil {
		t.Fatalf("node printed no JSON result: %v\n%s\n%s", err, stdout.String(), stderr.String())
	}
	for _, p := range problems {
		t.Error(p)
	}
}
