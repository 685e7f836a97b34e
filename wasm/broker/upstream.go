package broker

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/retry"
	"github.com/apisign/apisign/signers/token"
)

// maxUpstreamBody caps what the broker reads of an upstream answer. Token
// answers are a few KB; forwarded NFON and Fonn answers are JSON documents.
const maxUpstreamBody = 32 << 20

// send is the broker's signers.Doer: the core's (httpauth.NewTransportDoer,
// see New), noting each answer's status and Retry-After for upstreamError.
func (b *Broker) send(ctx context.Context, req *signers.Request) (*signers.Response, error) {
	resp, err := b.doer.Do(ctx, req)
	if resp != nil {
		note(ctx, resp)
	}
	return resp, err
}

// token gets a token from src within the upstream timeout. On failure it has
// answered; what names the endpoint for the message.
func (b *Broker) token(w http.ResponseWriter, r *http.Request, what string, src token.Source) (token.Token, bool) {
	ctx, cancel := b.upstreamCtx(r)
	defer cancel()
	ctx, n := withNote(ctx)
	t, err := src.Token(ctx)
	if err != nil {
		b.upstreamError(w, r, what, err, n)
		return t, false
	}
	return t, true
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

// upstreamError answers a failed upstream exchange. what names the upstream
// endpoint for the message ("keyfax token endpoint"). Only the error's code and
// status are used, never its text.
func (b *Broker) upstreamError(w http.ResponseWriter, r *http.Request, what string, err error, n *upstreamNote) {
	code := signers.CodeOf(err)
	var se *signers.Error
	errors.As(err, &se)
	switch {
	case code == signers.CodeAborted:
		if r.Context().Err() != nil {
			return // the caller went away: nobody reads an answer
		}
		b.logf("apisign broker: %s: timeout after %s", what, b.timeout)
		writeError(w, http.StatusGatewayTimeout, signers.CodeNetwork, what+" did not answer within "+b.timeout.String())
	case code == signers.CodeNetwork:
		b.logf("apisign broker: %s: unreachable", what)
		writeError(w, http.StatusBadGateway, signers.CodeNetwork, what+" is unreachable")
	case se != nil && se.Status != 0:
		status, retryAfter := n.get()
		if status != se.Status {
			retryAfter = ""
		}
		b.upstreamStatus(w, what, se.Status, retryAfter)
	case code == signers.CodeToken:
		b.logf("apisign broker: %s: unreadable token answer", what)
		writeError(w, http.StatusBadGateway, signers.CodeToken, what+" answered something that is not a usable token")
	default:
		b.logf("apisign broker: %s: %s", what, code)
		writeError(w, http.StatusBadGateway, code, what+" could not be used ("+string(code)+")")
	}
}

// upstreamStatus answers a token endpoint's refusal. 429 and 5xx pass through
// with their Retry-After, so the browser module's retry policy applies; any
// other refusal (400, 401, 403: the broker's own credentials or request were
// refused) is a 502, so that it is not mistaken for a refusal of the caller.
func (b *Broker) upstreamStatus(w http.ResponseWriter, what string, status int, retryAfter string) {
	b.logf("apisign broker: %s answered %d", what, status)
	msg := what + " answered " + strconv.Itoa(status)
	if status == http.StatusTooManyRequests || (status >= 500 && status <= 599) {
		if validRetryAfter(retryAfter, b.clock.Now()) {
			w.Header().Set("Retry-After", retryAfter)
		}
		writeError(w, status, signers.CodeHTTP, msg)
		return
	}
	writeError(w, http.StatusBadGateway, signers.CodeHTTP, msg)
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

// upstreamNote records the status and Retry-After of the last upstream answer
// a request's token fetch saw, so that a 429 or 503 from a token endpoint,
// which the core token sources turn into an error, is passed back with its
// Retry-After.
type upstreamNote struct {
	mu         sync.Mutex
	status     int
	retryAfter string
}

type noteKey struct{}

func withNote(ctx context.Context) (context.Context, *upstreamNote) {
	n := &upstreamNote{}
	return context.WithValue(ctx, noteKey{}, n), n
}

func note(ctx context.Context, resp *signers.Response) {
	if n, ok := ctx.Value(noteKey{}).(*upstreamNote); ok {
		n.mu.Lock()
		n.status, n.retryAfter = resp.Status, resp.Header.Get("Retry-After")
		n.mu.Unlock()
	}
}

func (n *upstreamNote) get() (int, string) {
	if n == nil {
		return 0, ""
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.status, n.retryAfter
}
