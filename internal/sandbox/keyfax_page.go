package sandbox

import (
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// The interview: a stand-in for a Keyfax script, two questions and a note.
const (
	kfQuestion1 = "What is the problem?"
	kfQuestion2 = "Is anyone's safety at risk?"
)

// The launch page is plain HTML with no script, so that it works in a frame or a
// new window and in any test browser. The buttons post to launch/complete and
// launch/cancel (relative to launch), which end the session and redirect to
// the return URL.
var kfPage = template.Must(template.New("interview").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Keyfax interview (sandbox)</title>
<style>
body { font: 16px/1.5 system-ui, sans-serif; margin: 0; padding: 1.5rem; color: #1d2733; background: #f4f7fa; }
main { max-width: 34rem; margin: auto; background: #fff; padding: 1.5rem; border-radius: 8px; box-shadow: 0 1px 4px #0002; }
h1 { font-size: 1.25rem; margin-top: 0; }
fieldset { border: 1px solid #ccd5df; border-radius: 6px; margin: 0 0 1rem; }
label { display: block; }
textarea { width: 100%; box-sizing: border-box; }
.buttons { display: flex; gap: .75rem; }
button { font: inherit; padding: .5rem 1.25rem; border-radius: 6px; border: 1px solid #2d5d8a; cursor: pointer; }
#complete { background: #2d5d8a; color: #fff; }
#cancel { background: #fff; color: #2d5d8a; }
.meta { color: #5b6773; font-size: .85rem; }
</style>
</head>
<body>
<main>
{{if .Ended}}
<h1>Keyfax interview</h1>
<p id="ended">This session has ended ({{.Ended}}). You may close this window.</p>
{{else}}
<h1>Report a repair</h1>
<p class="meta">Keyfax sandbox &middot; company {{.Company}} &middot; session {{.GUID}}</p>
<form method="post" action="launch/complete">
<input type="hidden" name="guid" value="{{.GUID}}">
<fieldset>
<legend>{{.Q1}}</legend>
{{range $i, $p := .Problems}}<label><input type="radio" name="problem" value="{{$p}}"{{if eq $i 0}} checked{{end}}> {{$p}}</label>
{{end}}</fieldset>
<fieldset>
<legend>{{.Q2}}</legend>
<label><input type="radio" name="risk" value="No" checked> No</label>
<label><input type="radio" name="risk" value="Yes"> Yes</label>
</fieldset>
<p><label for="details">Anything else we should know?</label>
<textarea id="details" name="details" rows="3" maxlength="500"></textarea></p>
<div class="buttons">
<button id="complete" type="submit" formaction="launch/complete">Complete</button>
<button id="cancel" type="submit" formaction="launch/cancel" formnovalidate>Cancel</button>
</div>
</form>
{{end}}
</main>
</body>
</html>
`))

func (k *keyfaxEmu) launchPage(w http.ResponseWriter, r *http.Request) {
	guid := strings.ToLower(r.URL.Query().Get("guid"))
	k.mu.Lock()
	sess, found := k.sessions[guid]
	var snap kfSession
	if found {
		snap = *sess
	}
	k.mu.Unlock()
	if !found {
		writeHTMLMessage(w, http.StatusNotFound, "No Keyfax session with this guid.")
		return
	}
	problems := make([]string, len(kfProblems))
	for i, p := range kfProblems {
		problems[i] = p.Value
	}
	ended := ""
	switch snap.state {
	case kfComplete:
		ended = "completed"
	case kfCancelled:
		ended = "cancelled"
	}
	setPageHeaders(w)
	w.WriteHeader(http.StatusOK)
	kfPage.Execute(w, map[string]any{
		"GUID": snap.guid, "Company": snap.company, "Ended": ended,
		"Q1": kfQuestion1, "Q2": kfQuestion2, "Problems": problems,
	})
}

// finish ends a running session (complete or cancel) with the answers posted
// by the interview page and redirects (303) to the session's return URL, or
// shows a closing page when there is none. Ending a session that has already
// ended changes nothing.
func (k *keyfaxEmu) finish(w http.ResponseWriter, r *http.Request, complete bool) {
	if err := r.ParseForm(); err != nil {
		writeHTMLMessage(w, http.StatusBadRequest, "The form could not be read.")
		return
	}
	guid := strings.ToLower(r.PostForm.Get("guid"))
	k.mu.Lock()
	sess, found := k.sessions[guid]
	var snap kfSession
	if found {
		if sess.state == kfRunning {
			sess.state = kfCancelled
			if complete {
				sess.state = kfComplete
				sess.problem = r.PostForm.Get("problem")
				sess.risk = r.PostForm.Get("risk")
				if sess.risk != "Yes" {
					sess.risk = "No"
				}
			}
			sess.details = truncate(strings.TrimSpace(r.PostForm.Get("details")), 500)
			sess.ended = k.s.now()
		}
		snap = *sess
	}
	k.mu.Unlock()
	if !found {
		writeHTMLMessage(w, http.StatusNotFound, "No Keyfax session with this guid.")
		return
	}
	if snap.returnURL == "" {
		word := "completed"
		if snap.state == kfCancelled {
			word = "cancelled"
		}
		writeHTMLMessage(w, http.StatusOK, "The Keyfax session was "+word+". You may close this window.")
		return
	}
	http.Redirect(w, r, returnURL(&snap), http.StatusSeeOther)
}

// returnURL fills the return URL's placeholders as Keyfax does: {0} the result
// status, {1} the company, {2} the guid, {3} the user; with none of them, it
// appends status and guid as query parameters.
func returnURL(s *kfSession) string {
	status := strconv.Itoa(s.state)
	ret := s.returnURL
	if strings.Contains(ret, "{0}") || strings.Contains(ret, "{1}") || strings.Contains(ret, "{2}") || strings.Contains(ret, "{3}") {
		return strings.NewReplacer(
			"{0}", url.QueryEscape(status),
			"{1}", url.QueryEscape(s.company),
			"{2}", url.QueryEscape(s.guid),
			"{3}", url.QueryEscape(s.userName),
		).Replace(ret)
	}
	frag := ""
	if i := strings.IndexByte(ret, '#'); i >= 0 {
		ret, frag = ret[:i], ret[i:]
	}
	sep := "?"
	if strings.Contains(ret, "?") {
		sep = "&"
	}
	return ret + sep + "status=" + status + "&guid=" + url.QueryEscape(s.guid) + frag
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

// setPageHeaders: no script, no subresources; framing allowed (the launch URL
// may be shown in a frame of the embedding page).
func setPageHeaders(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
}

var kfMessagePage = template.Must(template.New("message").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>apisign sandbox</title>
<style>body { font: 16px/1.5 system-ui, sans-serif; padding: 1.5rem; }</style></head>
<body><p id="message">{{.}}</p></body></html>
`))

func writeHTMLMessage(w http.ResponseWriter, status int, msg string) {
	setPageHeaders(w)
	w.WriteHeader(status)
	kfMessagePage.Execute(w, msg)
}
