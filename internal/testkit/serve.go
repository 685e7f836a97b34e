package testkit

import (
	"context"
	"testing"
	"time"
)

// ServeUntilEnd runs serve (a server on its listener, such as broker.Serve)
// until the test ends; then it cancels serve's context and fails the test if
// serve does not return, or returns an error, within 10 s.
func ServeUntilEnd(t testing.TB, serve func(ctx context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("serve did not return after its context ended")
		}
	})
}
