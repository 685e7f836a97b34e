package testkit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// RepoRoot returns the repository root: the first folder holding go.mod at or
// above the working directory.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory")
		}
		dir = parent
	}
}

// BuildWorker writes the Worker into dir the way ./build.sh worker does.
func BuildWorker(ctx context.Context, root, dir string) error {
	run := func(env []string, args ...string) error {
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	if err := run(nil, "run", "github.com/syumai/workers/cmd/workers-assets-gen", "-mode=go", "-o", dir); err != nil {
		return err
	}
	// The entry module (guard.mjs) and the Durable Object class of the
	// broker's state (state.mjs), copied as ./build.sh worker does.
	for _, f := range []string{"guard.mjs", filepath.Join("worker", "state.mjs")} {
		data, err := os.ReadFile(filepath.Join(root, "wasm", "broker", f))
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, filepath.Base(f)), data, 0o644)
		}
		if err != nil {
			return err
		}
	}
	return run([]string{"GOOS=js", "GOARCH=wasm"}, "build", "-trimpath", "-ldflags=-s -w", "-o", filepath.Join(dir, "app.wasm"), "./wasm/broker/worker")
}

// Workerd is the broker Worker running in workerd.
type Workerd struct {
	URL  string // http://127.0.0.1:port
	Logs *SyncBuffer
	cmd  *exec.Cmd
}

// StartWorkerd runs the Worker built in built (see BuildWorker) in workerd
// with the committed configuration, wasm/broker/workerd.capnp, copied into dir
// (with build/ linking to built, and the Durable Object storage do-storage/
// inside dir). env is the whole process environment, so the Worker's bindings
// are exactly env. workerd gets an already listening socket (fd 3): no port
// race, and no polling for readiness (connections wait in the backlog until it
// serves). ctx bounds its life; Stop ends it sooner.
func StartWorkerd(ctx context.Context, workerd, root, built, dir string, env map[string]string) (*Workerd, error) {
	config, err := os.ReadFile(filepath.Join(root, "wasm", "broker", "workerd.capnp"))
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "workerd.capnp"), config, 0o600); err != nil {
		return nil, err
	}
	if built, err = filepath.Abs(built); err != nil {
		return nil, err
	}
	if strings.ContainsRune(workerd, filepath.Separator) { // a path: workerd runs in dir
		if workerd, err = filepath.Abs(workerd); err != nil {
			return nil, err
		}
	}
	if link := filepath.Join(dir, "build"); link != built {
		os.Remove(link)
		if err := os.Symlink(built, link); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "do-storage"), 0o700); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	lnFile, err := ln.(*net.TCPListener).File()
	ln.Close()
	if err != nil {
		return nil, err
	}
	defer lnFile.Close()
	cmd := exec.CommandContext(ctx, workerd, "serve", "workerd.capnp", "--socket-fd=http=3")
	cmd.Dir = dir
	cmd.ExtraFiles = []*os.File{lnFile}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	w := &Workerd{URL: "http://" + ln.Addr().String(), Logs: &SyncBuffer{}, cmd: cmd}
	cmd.Stdout, cmd.Stderr = w.Logs, w.Logs
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return w, nil
}

// Stop ends workerd and waits for it.
func (w *Workerd) Stop() {
	w.cmd.Process.Kill()
	w.cmd.Wait()
}

// SyncBuffer is a bytes.Buffer safe for concurrent writes (a process's
// stdout and stderr).
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
