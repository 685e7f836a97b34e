package broker

import (
	"net/http"
	"time"

	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/fortis"
)

type fortisState struct {
	base, developerID, username, password, domain string
}

func setupFortis(b *Broker, e *env, v map[string]string) string {
	const p = "fortis"
	base, _, why := e.base(p, "FORTIS_BASE_URL", v)
	if why != "" {
		return why
	}
	f := &fortisState{base, v["FORTIS_DEVELOPER_ID"], v["FORTIS_USERNAME"], v["FORTIS_PASSWORD"], v["FORTIS_DOMAIN"]}
	if _, err := fortis.OpenRequest(f.base, f.developerID, f.username, f.password, f.domain); err != nil {
		return e.invalid(p, "FORTIS_DEVELOPER_ID, FORTIS_USERNAME or FORTIS_PASSWORD", "is malformed ("+msgOf(err)+")")
	}
	b.fortis = f
	return ""
}

type fortisAnswer struct {
	Token       string `json:"token"`
	ExpiresIn   int64  `json:"expiresIn"`
	DeveloperID string `json:"developerId"`
}

const fortisWhat = "fortis token endpoint"

// fortisOpen opens a new Fortis session (POST /v2/token with the broker's user
// credentials) for the caller. Every call opens its own session: the token's
// 15-minute idle expiry then slides with that caller's own requests.
func (b *Broker) fortisOpen(w http.ResponseWriter, r *http.Request, _ string) {
	f := b.fortis
	req, err := fortis.OpenRequest(f.base, f.developerID, f.username, f.password, f.domain)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, signers.CodeConfig, "fortis is not configured on this broker")
		return
	}
	req.Header.Set("Accept", "application/json")
	resp, ok := b.fortisCall(w, r, req)
	if !ok {
		return
	}
	if resp.Status != http.StatusOK && resp.Status != http.StatusCreated {
		b.upstreamStatus(w, fortisWhat, resp.Status, resp.Header.Get("Retry-After"))
		return
	}
	o, err := fortis.ParseOpenResponse(resp.Status, resp.Body)
	if err != nil {
		b.upstreamError(w, r, fortisWhat, err, nil)
		return
	}
	writeJSON(w, http.StatusOK, fortisAnswer{o.Token, int64(o.Expire / time.Second), f.developerID})
}

// fortisClose ends a session: DELETE /v2/token/{token}. A token the server no
// longer knows (404) counts as closed. rest is "/" and the token as sent.
func (b *Broker) fortisClose(w http.ResponseWriter, r *http.Request, rest string) {
	f := b.fortis
	tok, ok := pathToken(rest)
	if !ok {
		writeError(w, http.StatusBadRequest, signers.CodeToken, "session token in the path is malformed")
		return
	}
	req, err := fortis.CloseRequest(f.base, f.developerID, tok)
	if err != nil {
		writeError(w, http.StatusBadRequest, signers.CodeToken, "session token in the path is malformed")
		return
	}
	resp, ok := b.fortisCall(w, r, req)
	if !ok {
		return
	}
	switch resp.Status {
	case http.StatusOK, http.StatusNoContent, http.StatusNotFound:
		w.WriteHeader(http.StatusNoContent)
	default:
		b.upstreamStatus(w, fortisWhat, resp.Status, resp.Header.Get("Retry-After"))
	}
}

// fortisCall sends req within the upstream timeout; on failure it has answered.
func (b *Broker) fortisCall(w http.ResponseWriter, r *http.Request, req *signers.Request) (*signers.Response, bool) {
	ctx, cancel := b.upstreamCtx(r)
	defer cancel()
	resp, err := b.send(ctx, req)
	if err != nil {
		b.upstreamError(w, r, fortisWhat, err, nil)
		return nil, false
	}
	return resp, true
}
