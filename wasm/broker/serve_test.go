//go:build !js

package broker

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/apisign/apisign/internal/testkit"
)

// The attacks of issue 12 F2 against Serve, on 127.0.0.1, with the limits
// shrunk so that each ends in about a second. Every wait is bounded; the
// tests check what the server does (answers, closes, refuses to accept), not
// how fast.

// serveBroker serves a harness broker with Serve and shrunk limits.
func serveBroker(t *testing.T, maxConns int, header time.Duration) (*harness, string) {
	t.Helper()
	saved := serveLimits
	serveLimits.header, serveLimits.read, serveLimits.idle = header, time.Second, time.Second
	serveLimits.maxHeader, serveLimits.maxConns = 4<<10, maxConns
	t.Cleanup(func() { serveLimits = saved })
	h := newHarness(t, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	testkit.ServeUntilEnd(t, func(ctx context.Context) error { return Serve(ctx, ln, h.b) })
	return h, ln.Addr().String()
}

// dial opens a connection whose reads give up after 10 s.
func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	t.Cleanup(func() { c.Close() })
	return c
}

// answer reads one answer's status from c, or returns the read error.
func answer(c net.Conn) (int, error) {
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// closedByServer reports whether err means the server ended the connection
// (and not that the test's own 10 s bound ran out).
func closedByServer(err error) bool {
	var ne net.Error
	return err != nil && !(errors.As(err, &ne) && ne.Timeout())
}

func TestServeSlowBody(t *testing.T) {
	h, addr := serveBroker(t, 8, 500*time.Millisecond)
	c := dial(t, addr)
	io.WriteString(c, "POST /nfon/api/customers/K1234/phone-books HTTP/1.1\r\nHost: "+addr+"\r\n"+
		HeaderCaller+": "+h.caller()+"\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n")
	go func() { // one byte every 100 ms, at most 100 of them
		for i := 0; i < 100; i++ {
			if _, err := c.Write([]byte{' '}); err != nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	status, err := answer(c)
	if err != nil && !closedByServer(err) {
		t.Fatalf("a trickled body held the request: %v", err)
	}
	if err == nil && status != http.StatusBadRequest {
		t.Fatalf("status %d, want 400 (body not read in time)", status)
	}
	if n := len(h.up.Requests()); n != 0 {
		t.Errorf("%d requests reached the upstream", n)
	}
}

func TestServeSlowHeadersAndIdle(t *testing.T) {
	_, addr := serveBroker(t, 8, 500*time.Millisecond)
	c := dial(t, addr)
	io.WriteString(c, "GET /keyfax/token HTTP/1.1\r\nHost: x\r\n") // and never the end of the headers
	if _, err := answer(c); !closedByServer(err) {
		t.Errorf("slow headers: %v, want the server to close", err)
	}
	// Idle keep-alive: one answer, then the server closes the quiet connection.
	c = dial(t, addr)
	io.WriteString(c, "GET /keyfax/token HTTP/1.1\r\nHost: x\r\n\r\n")
	r := bufio.NewReader(c)
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	if _, err := r.ReadByte(); !closedByServer(err) {
		t.Errorf("idle connection: %v, want the server to close", err)
	}
}

func TestServeHeaderLimit(t *testing.T) {
	_, addr := serveBroker(t, 8, 500*time.Millisecond)
	c := dial(t, addr)
	io.WriteString(c, "GET /keyfax/token HTTP/1.1\r\nHost: x\r\nX-Big: "+strings.Repeat("a", 16<<10)+"\r\n\r\n")
	if status, err := answer(c); err != nil || status != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("status %d, %v; want 431", status, err)
	}
}

func TestServeConnectionLimit(t *testing.T) {
	h, addr := serveBroker(t, 2, 10*time.Second) // the held connections outlive the test's checks
	held := []net.Conn{dial(t, addr), dial(t, addr)}
	for _, c := range held {
		io.WriteString(c, "GET /keyfax/token HTTP/1.1\r\n") // half a request
	}
	third := dial(t, addr)
	io.WriteString(third, "GET /keyfax/token HTTP/1.1\r\nHost: x\r\n"+HeaderCaller+": "+h.caller()+"\r\n\r\n")
	third.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if _, err := answer(third); closedByServer(err) || err == nil {
		t.Fatalf("a third connection was served while two were held: %v", err)
	}
	held[0].Close()
	third.SetReadDeadline(time.Now().Add(10 * time.Second))
	if status, err := answer(third); err != nil || status != 200 {
		t.Fatalf("after a held connection closed: %d, %v", status, err)
	}
}

// TestServeRequestLines: the request lines of issue 12's F7, natively. net/http
// refuses a malformed URL itself; CONNECT and absolute-form lines get the
// broker's 403 (after the caller check). Nothing reaches an upstream.
func TestServeRequestLines(t *testing.T) {
	h, addr := serveBroker(t, 8, 5*time.Second)
	cases := []struct {
		line   string
		status int
		code   string
	}{
		{"GET /nfon/api/%zz HTTP/1.1", 400, ""},
		{"GET /nfon/api/% HTTP/1.1", 400, ""},
		{"GET /nfon/api/a\x7fb HTTP/1.1", 400, ""},
		{"CONNECT evil.example:443 HTTP/1.1", 403, "E_INPUT"},
		{"GET http://evil.example/nfon/api/x HTTP/1.1", 403, "E_INPUT"},
	}
	for _, c := range cases {
		conn := dial(t, addr)
		io.WriteString(conn, c.line+"\r\nHost: "+addr+"\r\n"+HeaderCaller+": "+h.caller()+"\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Errorf("%q: %v", c.line, err)
			continue
		}
		resp.Body.Close()
		if resp.StatusCode != c.status || resp.Header.Get(HeaderError) != c.code {
			t.Errorf("%q: %d %q, want %d %q", c.line, resp.StatusCode, resp.Header.Get(HeaderError), c.status, c.code)
		}
	}
	if n := len(h.up.Requests()); n != 0 {
		t.Errorf("%d requests reached the upstream", n)
	}
}
