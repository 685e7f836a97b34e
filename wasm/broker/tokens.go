package broker

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/clock"
	"github.com/apisign/apisign/signers/fortis"
	"github.com/apisign/apisign/signers/keyfax"
	"github.com/apisign/apisign/signers/retry"
)

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

// ---- Keyfax ---------------------------------------------------------------

type keyfaxProvider struct {
	hostName string
	ts       *keyfax.TokenSource
}

const keyfaxStoreKey = "keyfax-jwt"

func (b *Broker) setupKeyfax(e *env) {
	const p = "keyfax"
	v, why := e.group(p, []string{"KEYFAX_BASE_URL", "KEYFAX_HOST_NAME", "KEYFAX_API_KEY", "KEYFAX_SIGNING_KEY"})
	if why != "" {
		b.off[p] = why
		return
	}
	base, _, ok := baseURL(v["KEYFAX_BASE_URL"])
	if !ok {
		b.off[p] = e.invalid(p, "KEYFAX_BASE_URL", "is not an absolute http(s) URL without query or fragment")
		return
	}
	signer, err := keyfax.NewSigner(v["KEYFAX_HOST_NAME"], v["KEYFAX_API_KEY"], v["KEYFAX_SIGNING_KEY"])
	if err != nil {
		b.off[p] = e.invalid(p, "KEYFAX_HOST_NAME, KEYFAX_API_KEY or KEYFAX_SIGNING_KEY", "is malformed ("+msgOf(err)+")")
		return
	}
	ts, err := keyfax.NewTokenSource(keyfax.TokenConfig{
		BaseURL: base,
		Signer:  signer,
		Doer:    signers.DoerFunc(b.send),
		Clock:   clock.NewSkewed(b.clock), // Keyfax refuses a Basic timestamp minutes off
	})
	if err != nil {
		b.off[p] = e.invalid(p, "KEYFAX_BASE_URL or KEYFAX_HOST_NAME", "is malformed ("+msgOf(err)+")")
		return
	}
	b.keyfax = &keyfaxProvider{hostName: signer.HostName(), ts: ts}
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

type keyfaxAnswer struct {
	Token     string `json:"token"`
	HostName  string `json:"hostName"`
	ExpiresAt string `json:"expiresAt"`
}

// keyfaxToken answers a Keyfax JWT: GET /api/v1/token upstream with Basic, the
// JWT cached (and renewed with POST /api/v1/token) until DefaultMargin before
// its exp.
func (b *Broker) keyfaxToken(w http.ResponseWriter, r *http.Request) {
	p := b.keyfax
	if b.store != nil {
		if jwt, exp, ok := b.store.Load(keyfaxStoreKey); ok && b.clock.Now().Add(keyfax.DefaultMargin).Before(exp) {
			writeJSON(w, http.StatusOK, keyfaxAnswer{jwt, p.hostName, exp.UTC().Format(time.RFC3339)})
			return
		}
	}
	ctx, cancel := b.upstreamCtx(r)
	defer cancel()
	ctx, n := withNote(ctx)
	t, err := p.ts.Token(ctx)
	if err != nil {
		b.upstreamError(w, r, "keyfax token endpoint", err, n)
		return
	}
	if b.store != nil {
		b.store.Save(keyfaxStoreKey, t.Value, t.Expiry)
	}
	writeJSON(w, http.StatusOK, keyfaxAnswer{t.Value, p.hostName, t.Expiry.UTC().Format(time.RFC3339)})
}

// ---- Fortis ---------------------------------------------------------------

type fortisProvider struct {
	base, developerID, username, password, domain string
}

func (b *Broker) setupFortis(e *env) {
	const p = "fortis"
	v, why := e.group(p, []string{"FORTIS_BASE_URL", "FORTIS_DEVELOPER_ID", "FORTIS_USERNAME", "FORTIS_PASSWORD"}, "FORTIS_DOMAIN")
	if why != "" {
		b.off[p] = why
		return
	}
	base, _, ok := baseURL(v["FORTIS_BASE_URL"])
	if !ok {
		b.off[p] = e.invalid(p, "FORTIS_BASE_URL", "is not an absolute http(s) URL without query or fragment")
		return
	}
	f := &fortisProvider{base, v["FORTIS_DEVELOPER_ID"], v["FORTIS_USERNAME"], v["FORTIS_PASSWORD"], v["FORTIS_DOMAIN"]}
	if _, err := fortis.OpenRequest(f.base, f.developerID, f.username, f.password, f.domain); err != nil {
		b.off[p] = e.invalid(p, "FORTIS_DEVELOPER_ID, FORTIS_USERNAME or FORTIS_PASSWORD", "is malformed ("+msgOf(err)+")")
		return
	}
	b.fortis = f
}

type fortisAnswer struct {
	Token       string `json:"token"`
	ExpiresIn   int64  `json:"expiresIn"`
	DeveloperID string `json:"developerId"`
}

// fortisOpen opens a new Fortis session (POST /v2/token with the broker's user
// credentials) for the caller. Every call opens its own session: the token's
// 15-minute idle expiry then slides with that caller's own requests.
func (b *Broker) fortisOpen(w http.ResponseWriter, r *http.Request) {
	const what = "fortis token endpoint"
	f := b.fortis
	req, err := fortis.OpenRequest(f.base, f.developerID, f.username, f.password, f.domain)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, signers.CodeConfig, "fortis is not configured on this broker")
		return
	}
	req.Header.Set("Accept", "application/json")
	ctx, cancel := b.upstreamCtx(r)
	defer cancel()
	resp, err := b.send(ctx, req)
	if err != nil {
		b.upstreamError(w, r, what, err, nil)
		return
	}
	if resp.Status != http.StatusOK && resp.Status != http.StatusCreated {
		b.upstreamStatus(w, what, resp.Status, resp.Header.Get("Retry-After"))
		return
	}
	o, err := fortis.ParseOpenResponse(resp.Status, resp.Body)
	if err != nil {
		b.upstreamError(w, r, what, err, nil)
		return
	}
	writeJSON(w, http.StatusOK, fortisAnswer{o.Token, int64(o.Expire / time.Second), f.developerID})
}

// fortisClose ends a session: DELETE /v2/token/{token}. A token the server no
// longer knows (404) counts as closed.
func (b *Broker) fortisClose(w http.ResponseWriter, r *http.Request, escaped string) {
	const what = "fortis token endpoint"
	f := b.fortis
	tok, err := url.PathUnescape(escaped)
	if err != nil || tok == "" {
		writeError(w, http.StatusBadRequest, signers.CodeToken, "session token in the path is malformed")
		return
	}
	req, err := fortis.CloseRequest(f.base, f.developerID, tok)
	if err != nil {
		writeError(w, http.StatusBadRequest, signers.CodeToken, "session token in the path is malformed")
		return
	}
	ctx, cancel := b.upstreamCtx(r)
	defer cancel()
	resp, err := b.send(ctx, req)
	if err != nil {
		b.upstreamError(w, r, what, err, nil)
		return
	}
	switch resp.Status {
	case http.StatusOK, http.StatusNoContent, http.StatusNotFound:
		w.WriteHeader(http.StatusNoContent)
	default:
		b.upstreamStatus(w, what, resp.Status, resp.Header.Get("Retry-After"))
	}
}
