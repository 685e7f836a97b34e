package broker

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/retry"
)

// maxUpstreamBody caps what the broker reads of an upstream answer. Token
// answers are a few KB; forwarded NFON and Fonn answers are JSON documents.
const maxUpstreamBody = 32 << 20

// send is the broker's signers.Doer: the core's (httpauth.NewTransportDoer,
// see New).
func (b *Broker) send(ctx context.Context, req *signers.Request) (*signers.Response, error) {
	return b.doer.Do(ctx, req)
}

// call sends req within the upstream timeout. On failure it returns what to
// answer (nil when the caller has gone: nobody reads an answer).
func (b *Broker) call(r *http.Request, what string, req *signers.Request) (*signers.Response, *failure, bool) {
	ctx, cancel := b.upstreamCtx(r)
	defer cancel()
	resp, err := b.send(ctx, req)
	if err != nil {
		return nil, b.upstreamFailure(r, what, err), false
	}
	return resp, nil, true
}

// header reads one incoming header, joining repeats with "," as the Doer joins
// answer headers (the Worker's request conversion splits values at commas).
func header(h http.Header, name string) string {
	return strings.Join(h.Values(name), ",")
}

// upstreamCtx bounds one route's upstream work by the request and the timeout.
func (b *Broker) upstreamCtx(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), b.timeout)
}

// upstreamError answers a failed upstream exchange (see upstreamFailure).
func (b *Broker) upstreamError(w http.ResponseWriter, r *http.Request, what string, err error) {
	b.upstreamFailure(r, what, err).write(w)
}

// upstreamFailure is the answer to a failed upstream exchange, nil when the
// caller has gone. what names the upstream endpoint for the message ("keyfax
// token endpoint"). Only the error's code and status are used, never its text.
func (b *Broker) upstreamFailure(r *http.Request, what string, err error) *failure {
	code := signers.CodeOf(err)
	var se *signers.Error
	errors.As(err, &se)
	switch {
	case code == signers.CodeAborted:
		if r.Context().Err() != nil {
			return nil
		}
		b.logf("apisign broker: %s: timeout after %s", what, b.timeout)
		return &failure{Status: http.StatusGatewayTimeout, Code: signers.CodeNetwork, Message: what + " did not answer within " + b.timeout.String()}
	case code == signers.CodeNetwork:
		b.logf("apisign broker: %s: unreachable", what)
		return &failure{Status: http.StatusBadGateway, Code: signers.CodeNetwork, Message: what + " is unreachable"}
	case se != nil && se.Status != 0:
		return b.statusFailure(what, se.Status, "")
	case code == signers.CodeToken:
		b.logf("apisign broker: %s: unreadable token answer", what)
		return &failure{Status: http.StatusBadGateway, Code: signers.CodeToken, Message: what + " answered something that is not a usable token"}
	}
	b.logf("apisign broker: %s: %s", what, code)
	return &failure{Status: http.StatusBadGateway, Code: code, Message: what + " could not be used (" + string(code) + ")"}
}

// upstreamStatus answers a token endpoint's refusal (see statusFailure).
func (b *Broker) upstreamStatus(w http.ResponseWriter, what string, status int, retryAfter string) {
	b.statusFailure(what, status, retryAfter).write(w)
}

// statusFailure is the answer to a token endpoint's refusal. 429 and 5xx pass
// through with their Retry-After, so the browser module's retry policy
// applies; any other refusal (400, 401, 403: the broker's own credentials or
// request were refused) is a 502, so that it is not mistaken for a refusal of
// the caller.
func (b *Broker) statusFailure(what string, status int, retryAfter string) *failure {
	b.logf("apisign broker: %s answered %d", what, status)
	msg := what + " answered " + strconv.Itoa(status)
	if status == http.StatusTooManyRequests || (status >= 500 && status <= 599) {
		if !validRetryAfter(retryAfter, b.clock.Now()) {
			retryAfter = ""
		}
		return &failure{Status: status, Code: signers.CodeHTTP, Message: msg, RetryAfter: retryAfter}
	}
	return &failure{Status: http.StatusBadGateway, Code: signers.CodeHTTP, Message: msg}
}

func validRetryAfter(v string, now time.Time) bool {
	if v == "" {
		return false
	}
	_, err := retry.ParseRetryAfter(v, now)
	return err == nil
}

// msgOf returns the message of a core error: the core's messages name fields,
// never values.
func msgOf(err error) string {
	var se *signers.Error
	if errors.As(err, &se) && se.Msg != "" {
		return se.Msg
	}
	return string(signers.CodeOf(err))
}
