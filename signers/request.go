package signers

import (
	"context"
	"strings"
)

// Header is a set of HTTP header fields, one value each. Lookups ignore case
// (fetch lower-cases names, net/http canonicalises them); a signer sets names the
// way its provider's documentation writes them.
type Header map[string]string

// Get returns the value of name, matched without regard to case.
func (h Header) Get(name string) string {
	if v, ok := h[name]; ok {
		return v
	}
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// Set replaces any field called name (in any case) with value.
func (h Header) Set(name, value string) {
	for k := range h {
		if strings.EqualFold(k, name) {
			delete(h, k)
		}
	}
	h[name] = value
}

// Clone returns a copy that can be changed without touching h.
func (h Header) Clone() Header {
	c := make(Header, len(h))
	for k, v := range h {
		c[k] = v
	}
	return c
}

// Request is an HTTP request as plain values. Body is the exact bytes sent, so a
// retried request is the same request, byte for byte.
type Request struct {
	Method string
	URL    string // absolute URL
	Header Header
	Body   []byte
}

// Response is an HTTP answer as plain values.
type Response struct {
	Status int
	Header Header
	Body   []byte
}

// Doer sends one request and returns the answer, whatever its status. A transport
// failure is an error (CodeNetwork, or CodeAborted when ctx ended). The browser
// module implements it over fetch, signers/httpauth over net/http.
type Doer interface {
	Do(ctx context.Context, req *Request) (*Response, error)
}

// DoerFunc adapts a function to Doer.
type DoerFunc func(ctx context.Context, req *Request) (*Response, error)

func (f DoerFunc) Do(ctx context.Context, req *Request) (*Response, error) { return f(ctx, req) }
