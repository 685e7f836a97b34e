//go:build !js

package broker

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"
)

// The limits Serve puts on a native server (the dev server, `go run
// ./wasm/broker/worker`), so that slow or many clients cannot hold it (issue
// 12, F2). A Cloudflare Worker gets these from the platform.
const (
	// ServeHeaderTimeout: the request line and headers must arrive within it.
	ServeHeaderTimeout = 5 * time.Second
	// ServeReadTimeout: the whole request, body included, must arrive within
	// it (the body-read deadline: a body trickled in byte by byte fails the
	// read, and the broker answers 400). 1 MiB at 70 KB/s still fits.
	ServeReadTimeout = 15 * time.Second
	// ServeWriteTimeout bounds a request from its headers to the end of the
	// answer: longer than the default upstream timeout (30 s), which the
	// broker answers with 504 in time.
	ServeWriteTimeout = 45 * time.Second
	// ServeIdleTimeout closes a keep-alive connection with no request.
	ServeIdleTimeout = 30 * time.Second
	// ServeMaxHeaderBytes caps the request line and headers.
	ServeMaxHeaderBytes = 32 << 10
	// ServeMaxConns caps the open connections (a connection carries one
	// request at a time), and so what bodies in flight can take: with the
	// default 1 MiB body cap, about 128 MiB. More clients wait to be accepted.
	ServeMaxConns = 128
)

// serveLimits are the limits Serve applies; the tests shrink them so that the
// attacks they replay end in seconds.
var serveLimits = struct {
	header, read, write, idle time.Duration
	maxHeader, maxConns       int
}{ServeHeaderTimeout, ServeReadTimeout, ServeWriteTimeout, ServeIdleTimeout, ServeMaxHeaderBytes, ServeMaxConns}

// Serve serves h on ln with the limits above until ctx ends, then shuts down,
// letting requests in flight finish for up to 5 seconds.
func Serve(ctx context.Context, ln net.Listener, h http.Handler) error {
	l := serveLimits
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: l.header,
		ReadTimeout:       l.read,
		WriteTimeout:      l.write,
		IdleTimeout:       l.idle,
		MaxHeaderBytes:    l.maxHeader,
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(limitListener(ln, l.maxConns)) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(shutdown)
	if e := <-done; !errors.Is(e, http.ErrServerClosed) && err == nil {
		err = e
	}
	return err
}

// limitListener accepts at most n connections open at once.
func limitListener(ln net.Listener, n int) net.Listener {
	return &limited{Listener: ln, slots: make(chan struct{}, n), closed: make(chan struct{})}
}

type limited struct {
	net.Listener
	slots  chan struct{}
	closed chan struct{} // closed by Close: a full Accept stops waiting
	once   sync.Once
}

func (l *limited) Accept() (net.Conn, error) {
	select {
	case l.slots <- struct{}{}:
	case <-l.closed:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.slots
		return nil, err
	}
	return &slotConn{Conn: c, release: func() { <-l.slots }}, nil
}

func (l *limited) Close() error {
	l.once.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

// slotConn gives its slot back when closed, once.
type slotConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *slotConn) Close() error {
	c.once.Do(c.release)
	return c.Conn.Close()
}
