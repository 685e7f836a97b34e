package sandbox

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apisign/apisign/signers/keyfax"
)

// keyfaxEmu emulates the Keyfax Web API as docs/PROTOCOLS.md ("Keyfax") and the
// vendor's Deep Dive describe it (mounted at /keyfax; the API lives under
// /Interview, matched without regard to case as IIS does):
//
//	GET  /Interview/api/v1/key       anonymous: 201 a host's initial keys, 400 once it has keys
//	POST /Interview/api/v1/key       Basic: 200 {apiKey} only; the new keys go to the web hook (or the mailbox)
//	GET  /Interview/api/v1/token     Basic: {company, token}, a JWT for Bearer verification
//	POST /Interview/api/v1/token     Bearer: a renewed {company, token}
//	GET  /Interview/api/v1/startup   Basic or Bearer: example start-up data
//	POST /Interview/api/v1/startup   Basic or Bearer: start-up data -> {guid, launchUrl, company}
//	POST /Interview/api/v1/results   Basic or Bearer: {company, guid} -> 202 while running, 200 KeyfaxData
//	GET  /Interview/launch?guid=     the interview page (the launch URL)
//	POST /Interview/launch/complete  form: completes the session, redirects to the return URL
//	POST /Interview/launch/cancel    form: cancels it, likewise
//
// Every API answer is JSON or XML, chosen by Accept and Content-Type (see
// kfFormat). Basic headers are checked by keyfax.Verifier (signature, 5-minute
// window, replayed nonces refused). Bearer JWTs are HS256 keyed with the host's
// signing key, as Keyfax signs them, so a changed signing key invalidates every
// JWT issued before. A refused request is 401; invalid start-up data and bad
// results requests are 500 with the error in the body (the document defines no
// 400 for them).
type keyfaxEmu struct {
	s        *Sandbox
	ttl      time.Duration
	hostName string // the host whose keys Env hands to the broker
	webHook  string
	verifier *keyfax.Verifier
	hookc    *http.Client

	mu       sync.Mutex
	hosts    map[string]*kfHost // the KeyGen host names of the emulated kfServerConfig.xml
	mailbox  []KeyfaxKeys       // keys "e-mailed" for hosts without a web hook, oldest first
	sessions map[string]*kfSession
	order    []string // guids, oldest first, to bound sessions
}

// kfHost is one host name's keys. POST /api/v1/key draws pending keys; the
// current ones stay valid until the first request verified with the pending
// ones, which then become current (Keyfax: "Only once a request comes into the
// Keyfax Web API using the newly generated keys ... will the current or existing
// keys be invalidated"). A further POST before then replaces the pending keys,
// which were never used.
type kfHost struct {
	webHook          string
	current, pending *kfKey
}

type kfKey struct {
	apiKey     string
	signingKey []byte
}

// KeyfaxKeys is a key pair as Keyfax delivers it: the answer of GET
// /api/v1/key and the JSON posted to a host's web hook (or sent by e-mail).
type KeyfaxKeys struct {
	APIKey     string `json:"apiKey"`
	SigningKey string `json:"signingKey"`
	SchemaName string `json:"schemaName"`
	HostName   string `json:"hostName"`
}

// kfDefaultHost is the KeyGen host Keyfax falls back to when the host name
// supplied with a request is not configured (the kfServerConfig.xml example).
const kfDefaultHost = "Default"

// kfCompany is the company of the emulated master configuration: the default
// of start-up data and the company of token answers.
const kfCompany = "Sandbox_Dev"

// maxKeyfaxSessions bounds the sessions kept; the oldest is forgotten first.
const maxKeyfaxSessions = 1000

// Session states, as the Keyfax results Status element numbers them.
const (
	kfRunning   = 0
	kfComplete  = 1
	kfCancelled = 2
)

type kfSession struct {
	guid, company, mode, returnURL string
	userName                       string
	state                          int
	ended                          time.Time
	problem, risk, details         string
}

func newKeyfax(s *Sandbox, opts Options) *keyfaxEmu {
	ttl := opts.KeyfaxTokenTTL
	if ttl <= 0 {
		ttl = 24 * time.Hour
	}
	k := &keyfaxEmu{s: s, ttl: ttl, hostName: "Sandbox", webHook: opts.KeyfaxWebHook,
		hookc: &http.Client{Timeout: 10 * time.Second},
		hosts: map[string]*kfHost{}, sessions: map[string]*kfSession{}}
	newHosts := opts.KeyfaxNewHosts
	if newHosts == nil {
		newHosts = []string{kfDefaultHost}
	}
	for _, h := range newHosts {
		k.hosts[h] = &kfHost{}
	}
	key := newKFKey()
	k.hosts[k.hostName] = &kfHost{webHook: opts.KeyfaxWebHook, current: key}
	s.creds.KeyfaxHostName, s.creds.KeyfaxAPIKey, s.creds.KeyfaxSigningKey = k.hostName, key.apiKey, key.encoded()
	k.verifier = &keyfax.Verifier{Keys: k.lookupKey, Clock: s.clock}
	return k
}

// newKFKey draws an API key (a UUID, as Keyfax issues them) and a signing key
// (64 random bytes, base64 in transit as in the document's example).
func newKFKey() *kfKey { return &kfKey{apiKey: newUUID(), signingKey: randomBytes(64)} }

func (k *kfKey) encoded() string { return base64.StdEncoding.EncodeToString(k.signingKey) }

func (k *kfKey) delivery(host string) KeyfaxKeys {
	return KeyfaxKeys{APIKey: k.apiKey, SigningKey: k.encoded(), SchemaName: "Basic", HostName: host}
}

// lookupKey finds the signing key of a host's current or pending API key.
func (k *keyfaxEmu) lookupKey(hostName, apiKey string) ([]byte, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	h := k.hosts[hostName]
	if h == nil {
		return nil, false
	}
	for _, key := range []*kfKey{h.current, h.pending} {
		if key != nil && key.apiKey == apiKey {
			return key.signingKey, true
		}
	}
	return nil, false
}

// used records a request verified with apiKey: pending keys become current,
// which invalidates the old keys and every JWT they signed.
func (k *keyfaxEmu) used(hostName, apiKey string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if h := k.hosts[hostName]; h != nil && h.pending != nil && h.pending.apiKey == apiKey {
		h.current, h.pending = h.pending, nil
	}
}

// jwtKey is the JWT key of a host: its current signing key; false when the
// host has no keys.
func (k *keyfaxEmu) jwtKey(hostName string) (hs256, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if h := k.hosts[hostName]; h != nil && h.current != nil {
		return hs256{key: h.current.signingKey}, true
	}
	return hs256{}, false
}

// KeyfaxMailbox returns the key pairs Keyfax "e-mailed" so far: those of POST
// /api/v1/key for a host without a web hook (Keyfax's other delivery).
func (s *Sandbox) KeyfaxMailbox() []KeyfaxKeys {
	k := s.keyfax
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]KeyfaxKeys(nil), k.mailbox...)
}

func (k *keyfaxEmu) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := strings.ToLower(r.URL.Path)
	if !strings.HasPrefix(p, "/interview/") {
		kfError(w, r, http.StatusNotFound, "no such resource")
		return
	}
	route := strings.TrimSuffix(p[len("/interview"):], "/")
	method := func(allowed ...string) bool {
		for _, m := range allowed {
			if r.Method == m {
				return true
			}
		}
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		kfError(w, r, http.StatusMethodNotAllowed, "method not allowed")
		return false
	}
	switch route {
	case "/api/v1/key":
		if method("GET", "POST") {
			k.key(w, r)
		}
	case "/api/v1/token":
		if method("GET", "POST") {
			k.token(w, r)
		}
	case "/api/v1/startup":
		if method("GET", "POST") {
			k.startup(w, r)
		}
	case "/api/v1/results":
		if method("POST") {
			k.results(w, r)
		}
	case "/launch":
		if method("GET") {
			k.launchPage(w, r)
		}
	case "/launch/complete", "/launch/cancel":
		if method("POST") {
			k.finish(w, r, route == "/launch/complete")
		}
	default:
		kfError(w, r, http.StatusNotFound, "no such resource")
	}
}

// kfError answers an error with its message in the body, in the format the
// request asked for.
func kfError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	kfAnswer(w, r, status, "Error", map[string]string{"message": msg})
}

// authorize reads the body and checks the Authorization header: Basic when
// basic is true, Bearer when bearer is true. It answers 401 itself (404 for a
// Bearer of a host without keys when notFound is set, as POST /api/v1/token
// does) and returns the verified host name, or ok=false on refusal.
func (k *keyfaxEmu) authorize(w http.ResponseWriter, r *http.Request, basic, bearer, notFound bool) (body []byte, host string, ok bool) {
	body, ok = readBody(w, r)
	if !ok {
		return nil, "", false
	}
	auth := r.Header.Get("Authorization")
	scheme, _, _ := strings.Cut(auth, " ")
	switch {
	case basic && strings.EqualFold(scheme, "Basic"):
		f, err := k.verifier.Verify(auth, r.Method, requestURL(r), body)
		if err != nil {
			kfError(w, r, http.StatusUnauthorized, "Basic verification failed: "+err.Error())
			return nil, "", false
		}
		k.used(f.HostName, f.ApiKey)
		return body, f.HostName, true
	case bearer && strings.EqualFold(scheme, "Bearer"):
		host, status, reason := k.checkBearer(auth)
		if status != 0 {
			if status == http.StatusNotFound && !notFound {
				status = http.StatusUnauthorized
			}
			kfError(w, r, status, "Bearer verification failed: "+reason)
			return nil, "", false
		}
		return body, host, true
	}
	want := "Basic"
	if bearer {
		want = "Bearer"
		if basic {
			want = "Basic or Bearer"
		}
	}
	kfError(w, r, http.StatusUnauthorized, "Authorization header with "+want+" verification required")
	return nil, "", false
}

// checkBearer checks `Bearer {HostName}:{JWT}`: the JWT is signed with the
// host's current signing key, has not expired and names the same host. On
// refusal it returns the status (404: the host has no keys) and a reason that
// never holds the token.
func (k *keyfaxEmu) checkBearer(auth string) (host string, status int, reason string) {
	v := strings.TrimLeft(auth[len("Bearer"):], " ")
	host, jwt, found := strings.Cut(v, ":")
	if !found || host == "" || jwt == "" {
		return "", http.StatusUnauthorized, "expected Bearer {hostName}:{token}"
	}
	key, ok := k.jwtKey(host)
	if !ok {
		return "", http.StatusNotFound, "no active key for this host name"
	}
	claims, err := key.verify(jwt, k.s.now())
	if err != nil {
		return "", http.StatusUnauthorized, err.Error()
	}
	if claims["hostName"] != host {
		return "", http.StatusUnauthorized, "token was issued for another host name"
	}
	return host, 0, ""
}

// requestURL is the absolute URI of r as it arrived (before any StripPrefix):
// what the client signed and what a Keyfax server reads as Uri.AbsoluteUri.
func requestURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + r.RequestURI
}

func (k *keyfaxEmu) key(w http.ResponseWriter, r *http.Request) {
	if r.Method == "GET" {
		k.initialKey(w, r)
		return
	}
	_, host, ok := k.authorize(w, r, true, false, false)
	if !ok {
		return
	}
	key := newKFKey()
	k.mu.Lock()
	h := k.hosts[host]
	hook := h.webHook
	h.pending = key
	if hook == "" {
		k.mailbox = append(k.mailbox, key.delivery(host))
	}
	k.mu.Unlock()
	if hook != "" {
		if err := k.postWebHook(r, hook, key.delivery(host)); err != nil {
			k.mu.Lock()
			if h.pending == key {
				h.pending = nil
			}
			k.mu.Unlock()
			kfError(w, r, http.StatusInternalServerError, "the new keys could not be delivered to the web hook: "+err.Error())
			return
		}
	}
	// The answer holds only the API key: the signing key goes to the web hook
	// or by e-mail, never in the answer.
	kfAnswer(w, r, http.StatusOK, "WebApiKey", map[string]string{"apiKey": key.apiKey})
}

// initialKey answers the anonymous GET /api/v1/key. The document names no
// parameter for the host; the only place a request supplies a host name is the
// authorization schema ({HostName}:...), so the emulator reads it there,
// unverified, and falls back to the Default KeyGen host as kfServerConfig.xml
// does for an unknown host name.
func (k *keyfaxEmu) initialKey(w http.ResponseWriter, r *http.Request) {
	_, cred, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	host, _, _ := strings.Cut(strings.TrimSpace(cred), ":")
	k.mu.Lock()
	h := k.hosts[host]
	if h == nil {
		host, h = kfDefaultHost, k.hosts[kfDefaultHost]
	}
	var key *kfKey
	exists := h != nil && h.current != nil
	if h != nil && !exists {
		key = newKFKey()
		h.current = key
	}
	k.mu.Unlock()
	switch {
	case h == nil:
		kfError(w, r, http.StatusInternalServerError, "the host name is not defined in kfServerConfig.xml")
	case exists:
		kfError(w, r, http.StatusBadRequest, "keys already exist for this host name; POST with Basic verification to generate new keys")
	default:
		kfAnswer(w, r, http.StatusCreated, "WebApiKey", key.delivery(host))
	}
}

// postWebHook posts the new keys as JSON to the host's web hook URL, as
// Keyfax does; any answer but 2xx is a failed delivery.
func (k *keyfaxEmu) postWebHook(r *http.Request, url string, keys KeyfaxKeys) error {
	b, _ := json.Marshal(keys) // plain strings: cannot fail
	req, err := http.NewRequestWithContext(r.Context(), "POST", url, bytes.NewReader(b))
	if err != nil {
		return errors.New("web hook URL is invalid")
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := k.hookc.Do(req)
	if err != nil {
		return errors.New("web hook unreachable")
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return errors.New("web hook answered " + strconv.Itoa(resp.StatusCode))
	}
	return nil
}

// token: GET with Basic mints a JWT, POST with a valid Bearer renews it; both
// answer {company, token}. The JWT is signed with the host's current signing key.
func (k *keyfaxEmu) token(w http.ResponseWriter, r *http.Request) {
	_, host, ok := k.authorize(w, r, r.Method == "GET", r.Method == "POST", true)
	if !ok {
		return
	}
	key, ok := k.jwtKey(host)
	if !ok {
		kfError(w, r, http.StatusNotFound, "no active key for this host name")
		return
	}
	now := k.s.now()
	jwt := key.sign(map[string]any{
		"iss":      "keyfax-sandbox",
		"sub":      host,
		"hostName": host,
		"jti":      randomHex(8),
		"iat":      now.Unix(),
		"exp":      now.Add(k.ttl).Unix(),
	})
	kfAnswer(w, r, http.StatusOK, "JsonWebToken", kfObject{{"company", kfCompany}, {"token", jwt}})
}

// kfStartupMembers are the members of start-up data, in the document's order,
// with the values the emulator's example data gives them.
var kfStartupMembers = []struct{ name, value string }{
	{"originatingSystem", "apisign"}, {"guid", ""}, {"originatingGuid", ""}, {"mode", "RD"},
	{"userName", "administrator"}, {"password", ""}, {"company", kfCompany}, {"clientId", ""},
	{"scriptSet", "RD"}, {"category", ""}, {"topic", ""}, {"returnUrl", ""},
	{"callerDetails", ""}, {"tenancyDetails", ""}, {"propertyId", ""}, {"property", ""},
	{"rolDetail", ""}, {"customData", ""},
}

// exampleStartup is GET /api/v1/startup's answer: every member of the
// document's start-up data schema, in its order, as {key, id, value,
// attributes, children}.
func exampleStartup() kfObject {
	o := make(kfObject, 0, len(kfStartupMembers))
	for _, f := range kfStartupMembers {
		o = append(o, kfMember{f.name, kfObject{{"key", f.name}, {"id", ""}, {"value", f.value},
			{"attributes", []any{}}, {"children", []any{}}}})
	}
	return o
}

func (k *keyfaxEmu) startup(w http.ResponseWriter, r *http.Request) {
	body, _, ok := k.authorize(w, r, true, true, false)
	if !ok {
		return
	}
	if r.Method == "GET" {
		kfAnswer(w, r, http.StatusOK, "StartUpData", exampleStartup())
		return
	}
	data, err := kfValues(r, body)
	if err != "" {
		kfError(w, r, http.StatusInternalServerError, "invalid start-up data: "+err)
		return
	}
	sess := &kfSession{
		guid:     newUUID(),
		company:  orDefault(data["company"], kfCompany),
		mode:     orDefault(data["mode"], "RD"),
		userName: orDefault(data["username"], "administrator"),
	}
	if ret := data["returnurl"]; ret != "" {
		if !validReturnURL(ret) {
			kfError(w, r, http.StatusInternalServerError, "invalid start-up data: returnUrl must be an absolute http or https URL")
			return
		}
		sess.returnURL = ret
	}
	k.mu.Lock()
	k.sessions[sess.guid] = sess
	k.order = append(k.order, sess.guid)
	for len(k.order) > maxKeyfaxSessions {
		delete(k.sessions, k.order[0])
		k.order = k.order[1:]
	}
	k.mu.Unlock()
	kfAnswer(w, r, http.StatusOK, "LaunchData", kfObject{
		{"guid", sess.guid},
		{"launchUrl", k.s.base + "/keyfax/Interview/launch?guid=" + sess.guid},
		{"company", sess.company},
	})
}

// kfValues reads start-up data or a results request, JSON or XML by the
// Content-Type: an object whose members are {"value": "..."} items (the
// documented form) or plain strings. Keys are returned lower-cased, as .NET
// binds them without regard to case.
func kfValues(r *http.Request, body []byte) (map[string]string, string) {
	if kfIsXML(r.Header.Get("Content-Type")) {
		return xmlValues(body)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil || raw == nil {
		return nil, "the body must be a JSON object"
	}
	out := make(map[string]string, len(raw))
	for key, v := range raw {
		var s string
		if json.Unmarshal(v, &s) == nil {
			out[strings.ToLower(key)] = s
			continue
		}
		var item map[string]json.RawMessage
		if json.Unmarshal(v, &item) != nil {
			continue // arrays, numbers, nested data: kept by real Keyfax, unused here
		}
		for ik, iv := range item {
			if strings.EqualFold(ik, "value") && json.Unmarshal(iv, &s) == nil {
				out[strings.ToLower(key)] = s
			}
		}
	}
	return out, ""
}

func orDefault(s, def string) string {
	if strings.TrimSpace(s) == "" {
		return def
	}
	return s
}

func validReturnURL(s string) bool {
	// Placeholders {0}..{3} are replaced at the end of the session.
	u, err := url.Parse(strings.NewReplacer("{0}", "0", "{1}", "1", "{2}", "2", "{3}", "3").Replace(s))
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func (k *keyfaxEmu) results(w http.ResponseWriter, r *http.Request) {
	body, _, ok := k.authorize(w, r, true, true, false)
	if !ok {
		return
	}
	data, bad := kfValues(r, body)
	if bad != "" {
		kfError(w, r, http.StatusInternalServerError, "invalid results request: "+bad)
		return
	}
	company, guid := data["company"], data["guid"]
	if guid == "" {
		kfError(w, r, http.StatusInternalServerError, "invalid results request: guid is required")
		return
	}
	k.mu.Lock()
	sess, found := k.sessions[strings.ToLower(guid)]
	var snapshot kfSession
	if found {
		snapshot = *sess
	}
	k.mu.Unlock()
	if !found || (company != "" && !strings.EqualFold(company, snapshot.company)) {
		kfError(w, r, http.StatusInternalServerError, "no Keyfax session with this company and guid")
		return
	}
	if snapshot.state == kfRunning {
		w.WriteHeader(http.StatusAccepted) // the session is still running
		return
	}
	kfAnswer(w, r, http.StatusOK, "", keyfaxData(&snapshot))
}

// The interview's first question: the problem, with the repair (schedule of
// rates code, description, routine priority) it leads to.
var kfProblems = []struct {
	Value, CategoryID, Category, TopicID, Topic, SOR, Desc, Priority string
	Days                                                             int
}{
	{"Leaking tap", "24680", "Plumbing", "28761", "Taps", "PL0101", "Renew tap washer or cartridge", "R", 28},
	{"Broken window", "24681", "Glazing", "28762", "Windows", "GL0205", "Board up and reglaze window", "U", 7},
	{"No heating", "24682", "Heating", "28763", "Boiler", "HT0310", "Investigate and repair heating system", "U", 3},
}

// kfPriorities maps a priority code to its Keyfax PriorityId.
var kfPriorities = map[string]string{"E": "2101", "U": "2103", "R": "2105"}

// keyfaxData builds the results of an ended session in the shape and member
// order of the document's example: KeyfaxData with a Call (attributes as
// "@name", the script path as "#cdata-section", unset codes null, every value
// a string) holding its Repair list, then Status (1 completed, 2 cancelled)
// and GUID. A cancelled session has no category, topic or repair.
func keyfaxData(s *kfSession) kfObject {
	status := kfComplete
	var categoryID, category, topicID, topic, callText, scriptPath string
	repairs := []any{}
	if s.state == kfCancelled {
		status, callText = kfCancelled, "Session cancelled by the user"
	} else {
		p := kfProblems[0]
		for _, q := range kfProblems {
			if q.Value == s.problem {
				p = q
			}
		}
		priority, days := p.Priority, p.Days
		if s.risk == "Yes" {
			priority, days = "E", 1
		}
		categoryID, category, topicID, topic, callText = p.CategoryID, p.Category, p.TopicID, p.Topic, p.Value
		scriptPath = "html|" + kfQuestion1 + " <b>" + p.Value + "</b><br />|html|" + kfQuestion2 + " <b>" + orDefault(s.risk, "No") + "</b>|"
		repairs = append(repairs, kfObject{
			{"@name", "Repair1"},
			{"CompleteBy", s.ended.UTC().AddDate(0, 0, days).Format("02/01/2006 15:04:05")},
			{"ResponseDays", strconv.Itoa(days)},
			{"Priority", priority},
			{"PriorityId", kfPriorities[priority]},
			{"RepairCode", p.SOR},
			{"RepairCodeDesc", p.Desc},
			{"UnitOfMeasure", "NO"},
			{"UnitOfMeasureQuantity", "1"},
			{"Contractor", ""},
		})
	}
	call := kfObject{
		{"@name", "Call1"},
		{"@type", s.mode},
		{"OriginatingSystem", "apisign"},
		{"Company", s.company},
		{"CategoryId", categoryID},
		{"CategoryText", category},
		{"TopicId", topicID},
		{"TopicText", topic},
		{"CallText", callText},
		{"LogDate", s.ended.UTC().Format("02/01/2006 15:04:05")},
		{"UserCode", s.userName},
		{"ScriptPath", kfObject{{"#cdata-section", scriptPath}}},
		{"ExpenditureCode", nil},
		{"ContractCode", nil},
		{"PreAuthoriseRequired", nil},
		{"ReasonCode", ""},
		{"ReasonText", ""},
		{"Recharge", "0"},
		{"RechargeCode", ""},
		{"RechargeCost", "0.00"},
		{"ScheduleId", ""},
		{"SiteVisit", ""},
		{"AdditionalInfo", s.details},
		{"SpecialInstructions", ""},
		{"RepairCount", strconv.Itoa(len(repairs))},
		{"AdviceCount", "0"},
		{"ActionCount", "0"},
		{"SubActionCount", "0"},
		{"Repair", repairs},
	}
	return kfObject{{"KeyfaxData", kfObject{
		{"Call", call},
		{"Status", strconv.Itoa(status)},
		{"GUID", s.guid},
	}}}
}
