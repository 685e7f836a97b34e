package httpauth

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/apisign/apisign/signers"
)

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func answer(status int, h http.Header, body string) *http.Response {
	return &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(strings.NewReader(body))}
}

// A transport Doer answers a redirect as it is, joins repeated headers as told
// and sends a body-less request with a nil Body.
func TestTransportDoer(t *testing.T) {
	var sawBody bool
	d := NewTransportDoer(roundTripFunc(func(r *http.Request) (*http.Response, error) {
		sawBody = r.Body != nil
		return answer(302, http.Header{"Location": {"https://evil.example/"}, "Date": {"Wed", " 06 Aug 2025 14:32:00 GMT"}}, "moved"), nil
	}), JoinHeaders(","))
	resp, err := d.Do(context.Background(), &signers.Request{Method: "GET", URL: "http://127.0.0.1/x"})
	if err != nil || resp.Status != 302 || string(resp.Body) != "moved" || resp.Header.Get("Date") != "Wed, 06 Aug 2025 14:32:00 GMT" {
		t.Fatalf("%+v %v", resp, err)
	}
	if sawBody {
		t.Error("a GET went out with a body")
	}
}

// Answers without a body by definition are not read; a longer answer than
// MaxAnswer is an error, not a cut-off body.
func TestTransportDoerBodies(t *testing.T) {
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.Method == "HEAD" || r.URL.Path == "/204" {
			status := 200
			if r.URL.Path == "/204" {
				status = 204
			}
			return &http.Response{StatusCode: status, Header: http.Header{}, Body: failingBody{}}, nil
		}
		return answer(200, http.Header{}, "0123456789"), nil
	})
	d := NewTransportDoer(rt, MaxAnswer(9))
	for _, r := range []*signers.Request{{Method: "HEAD", URL: "http://h/"}, {Method: "GET", URL: "http://h/204"}} {
		if resp, err := d.Do(context.Background(), r); err != nil || len(resp.Body) != 0 {
			t.Errorf("%s %s: %+v %v", r.Method, r.URL, resp, err)
		}
	}
	if _, err := d.Do(context.Background(), &signers.Request{Method: "GET", URL: "http://h/"}); !errors.Is(err, signers.ErrNetwork) {
		t.Errorf("oversized answer: %v", err)
	}
	if resp, err := NewTransportDoer(rt, MaxAnswer(10)).Do(context.Background(), &signers.Request{Method: "GET", URL: "http://h/"}); err != nil || string(resp.Body) != "0123456789" {
		t.Errorf("answer of exactly MaxAnswer: %+v %v", resp, err)
	}
}

type failingBody struct{}

func (failingBody) Read([]byte) (int, error) { return 0, errors.New("null body read") }
func (failingBody) Close() error             { return nil }

// A transport that ignores the context (the Worker's fetch) does not hold the
// caller past its context; a panicking one is an error.
func TestTransportDoerBounds(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	d := NewTransportDoer(roundTripFunc(func(*http.Request) (*http.Response, error) {
		<-release
		return nil, errors.New("never")
	}))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := d.Do(ctx, &signers.Request{Method: "GET", URL: "http://h/"}); !errors.Is(err, signers.ErrAborted) {
		t.Errorf("context-blind transport: %v", err)
	}
	d = NewTransportDoer(roundTripFunc(func(*http.Request) (*http.Response, error) { panic("transport bug") }))
	if _, err := d.Do(context.Background(), &signers.Request{Method: "GET", URL: "http://h/"}); !errors.Is(err, signers.ErrNetwork) {
		t.Errorf("panicking transport: %v", err)
	}
}
