package broker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"time"

	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/fortis"
	"github.com/apisign/apisign/signers/token"
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
		return e.invalid(p, "FORTIS_DEVELOPER_ID, FORTIS_USERNAME, FORTIS_PASSWORD or FORTIS_DOMAIN", "is malformed ("+msgOf(err)+")")
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

// fortisSessionsKey is the State key of a caller's open sessions.
func fortisSessionsKey(r *http.Request) string { return "fortis-sessions " + callerKey(r) }

// fortisSlot names a session in the State without holding its token.
func fortisSlot(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(sum[:16])
}

// fortisOpen opens a new Fortis session (POST /v2/token with the broker's user
// credentials) for the caller. Every call opens its own session: the token's
// 15-minute idle expiry then slides with that caller's own requests. A caller
// holds at most FORTIS_MAX_SESSIONS sessions: one is counted from its opening
// until it is closed here or 15 minutes (its idle expiry) have passed since;
// the broker does not see the page's own use of it. A slot is taken before
// the upstream call, so that concurrent requests cannot all pass the count.
func (b *Broker) fortisOpen(w http.ResponseWriter, r *http.Request, _ string) {
	key, opening, now := fortisSessionsKey(r), newID(), b.clock.Now()
	ok, retryAt, err := b.state.Take(r.Context(), key, now, "", opening, b.timeout+leaseSlack, b.limits.fortisSessions)
	if err != nil {
		stateFailure(err).write(w)
		return
	}
	if !ok {
		b.tooMany(retryAt, "this caller has "+strconv.Itoa(b.limits.fortisSessions)+" Fortis sessions open; close one (DELETE /fortis/session/{token})").write(w)
		return
	}
	session := ""
	var ttl time.Duration
	defer func() {
		// The opening's slot becomes the session's, or is given back.
		if _, _, err := b.state.Take(context.WithoutCancel(r.Context()), key, b.clock.Now(), opening, session, ttl, 0); err != nil {
			b.logf("apisign broker: state: fortis sessions not updated (%s)", signers.CodeOf(err))
		}
	}()
	o, ok := b.fortisSession(w, r)
	if !ok {
		return
	}
	session, ttl = fortisSlot(o.Token), o.Expire
	writeJSON(w, http.StatusOK, fortisAnswer{o.Token, int64(o.Expire / time.Second), b.fortis.developerID})
}

// fortisSession opens a Fortis session with the broker's user credentials
// (POST /v2/token); when it cannot, it has answered w.
func (b *Broker) fortisSession(w http.ResponseWriter, r *http.Request) (fortis.Opened, bool) {
	f := b.fortis
	req, err := fortis.OpenRequest(f.base, f.developerID, f.username, f.password, f.domain)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, signers.CodeConfig, "fortis is not configured on this broker")
		return fortis.Opened{}, false
	}
	req.Header.Set("Accept", "application/json")
	resp, fail, ok := b.call(r, fortisWhat, req)
	if !ok {
		fail.write(w)
		return fortis.Opened{}, false
	}
	if resp.Status != http.StatusOK && resp.Status != http.StatusCreated {
		b.upstreamStatus(w, fortisWhat, resp.Status, resp.Header.Get("Retry-After"))
		return fortis.Opened{}, false
	}
	o, err := fortis.ParseOpenResponse(resp.Status, resp.Body)
	if err != nil {
		b.upstreamError(w, r, fortisWhat, err)
		return fortis.Opened{}, false
	}
	return o, true
}

// fortisClose ends a session: DELETE /v2/token/{token}. A token the server no
// longer knows (404) counts as closed; either way the caller's count drops.
// rest is "/" and the token as sent.
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
	resp, fail, ok := b.call(r, fortisWhat, req)
	if !ok {
		fail.write(w)
		return
	}
	switch resp.Status {
	case http.StatusOK, http.StatusNoContent, http.StatusNotFound:
		if _, _, err := b.state.Take(r.Context(), fortisSessionsKey(r), b.clock.Now(), fortisSlot(tok), "", 0, 0); err != nil {
			b.logf("apisign broker: state: fortis sessions not updated (%s)", signers.CodeOf(err))
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		b.upstreamStatus(w, fortisWhat, resp.Status, resp.Header.Get("Retry-After"))
	}
}

// fortisSSO asks Fortis for a one-time sign-in link (POST /v2/contactsso,
// docs/PROTOCOLS.md "Fortis", SSO) with the broker's credentials: a session
// opened for this one call and closed after it, so that the page never holds
// a credential beyond the link itself. The request body is the page's JSON
// object of contactsso fields (say, contact_id), sent as given; the answer is
// Fortis' own, {"contactsso": {..., "url"}}, which the browser module reads
// with the same reader (fortis.ParseSSOResponse).
func (b *Broker) fortisSSO(w http.ResponseWriter, r *http.Request, _ string) {
	const what = "fortis contactsso endpoint"
	f := b.fortis
	fields, ok := b.readBody(w, r)
	if !ok {
		return
	}
	if len(fields) == 0 {
		fields = []byte("{}")
	}
	req, err := fortis.SSORequest(f.base, fortis.Auth{}, fields)
	if err != nil {
		writeError(w, http.StatusBadRequest, signers.CodeInput, "the body must be a JSON object of contactsso fields")
		return
	}
	o, ok := b.fortisSession(w, r)
	if !ok {
		return
	}
	defer func() {
		// The session served this one call: end it, whatever the answer.
		if c, err := fortis.CloseRequest(f.base, f.developerID, o.Token); err == nil {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), b.timeout)
			defer cancel()
			if _, err := b.send(ctx, c); err != nil {
				b.logf("apisign broker: fortis sso: session not closed (%s)", signers.CodeOf(err))
			}
		}
	}()
	if err := (fortis.Authorizer{DeveloperID: f.developerID}).Authorize(req, token.Token{Value: o.Token}); err != nil {
		b.upstreamError(w, r, fortisWhat, err)
		return
	}
	resp, fail, ok := b.call(r, what, req)
	if !ok {
		fail.write(w)
		return
	}
	if resp.Status != http.StatusOK && resp.Status != http.StatusCreated {
		b.upstreamStatus(w, what, resp.Status, resp.Header.Get("Retry-After"))
		return
	}
	sso, err := fortis.ParseSSOResponse(resp.Status, resp.Body)
	if err != nil {
		b.upstreamError(w, r, what, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store") // the link is a credential
	w.WriteHeader(http.StatusOK)
	w.Write([]byte(`{"contactsso":`))
	w.Write(sso.Record)
	w.Write([]byte(`}`))
}
