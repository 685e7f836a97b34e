package testkit

import (
	"bytes"
	"context"
	"io"
	"net/http"

	"github.com/apisign/apisign/signers"
)

// Doer is a minimal signers.Doer over net/http for the tests of the provider
// packages: signers/httpauth has the real one (NewDoer), but it imports those
// packages, so their own tests cannot use it. Like it, a transport failure is
// E_ABORTED when ctx ended and E_NETWORK otherwise.
type Doer struct{ Client *http.Client }

func (d Doer) Do(ctx context.Context, req *signers.Request) (*signers.Response, error) {
	hr, err := http.NewRequestWithContext(ctx, req.Method, req.URL, bytes.NewReader(req.Body))
	if err != nil {
		return nil, err
	}
	for k, v := range req.Header {
		hr.Header.Set(k, v)
	}
	resp, err := d.Client.Do(hr)
	if err == nil {
		defer resp.Body.Close()
		var body []byte
		if body, err = io.ReadAll(resp.Body); err == nil {
			h := signers.Header{}
			for k := range resp.Header {
				h[k] = resp.Header.Get(k)
			}
			return &signers.Response{Status: resp.StatusCode, Header: h, Body: body}, nil
		}
	}
	if ctx.Err() != nil {
		return nil, signers.Wrap(signers.CodeAborted, "testkit.Doer", ctx.Err())
	}
	return nil, signers.Wrap(signers.CodeNetwork, "testkit.Doer", err)
}
