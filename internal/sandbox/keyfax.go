package sandbox

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apisign/apisign/signers/keyfax"
)

// keyfaxEmu emulates the Keyfax Web API (mounted at /keyfax; the API lives under
// /Interview, matched without regard to case as IIS does):
//
//	GET  /Interview/api/v1/key?hostName=   anonymous initial keys: 400, they exist already
//	POST /Interview/api/v1/key             Basic: a further key pair, accepted from then on
//	GET  /Interview/api/v1/token           Basic: a JWT for Bearer verification
//	POST /Interview/api/v1/token           Bearer: a renewed JWT
//	GET  /Interview/api/v1/startup         Basic or Bearer: example start-up data
//	POST /Interview/api/v1/startup         Basic or Bearer: start-up data -> {guid, launchUrl, company}
//	POST /Interview/api/v1/results         Basic or Bearer: {company, guid} -> 202 while running, 200 KeyfaxData
//	GET  /Interview/launch?guid=           the interview page (the launch URL)
//	POST /Interview/launch/complete        form: completes the session, redirects to the return URL
//	POST /Interview/launch/cancel          form: cancels it, likewise
//
// Basic headers are checked by keyfax.Verifier (signature, 5-minute window,
// replayed nonces refused); Bearer JWTs are HS256 with a key drawn at start,
// carry the host name, and live ttl. A refused request is 401.
type keyfaxEmu struct {
	s        *Sandbox
	ttl      time.Duration
	jwt      hs256
	hostName string
	verifier *keyfax.Verifier

	mu       sync.Mutex
	keys     map[string][]byte // API key -> decoded signing key
	sessions map[string]*kfSession
	order    []string // guids, oldest first, to bound sessions
}

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
	userName, propertyID, callerID string
	state                          int
	ended                          time.Time
	problem, risk, details         string
}

func newKeyfax(s *Sandbox, ttl time.Duration) *keyfaxEmu {
	if ttl <= 0 {
		ttl = 24 * time.Hour
	}
	k := &keyfaxEmu{s: s, ttl: ttl, jwt: newHS256(), hostName: "Sandbox",
		keys: map[string][]byte{}, sessions: map[string]*kfSession{}}
	apiKey, signingKey := k.newKeyPair()
	s.creds.KeyfaxHostName, s.creds.KeyfaxAPIKey, s.creds.KeyfaxSigningKey = k.hostName, apiKey, signingKey
	k.verifier = &keyfax.Verifier{Keys: k.lookupKey, Clock: s.clock}
	return k
}

// newKeyPair draws an API key (a UUID, as Keyfax issues them) and a signing key
// (base64 of 64 random bytes) and accepts them from now on.
func (k *keyfaxEmu) newKeyPair() (apiKey, signingKey string) {
	raw := randomBytes(64)
	apiKey = newUUID()
	k.mu.Lock()
	k.keys[apiKey] = raw
	k.mu.Unlock()
	return apiKey, base64.StdEncoding.EncodeToString(raw)
}

func (k *keyfaxEmu) lookupKey(hostName, apiKey string) ([]byte, bool) {
	if hostName != k.hostName {
		return nil, false
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	key, ok := k.keys[apiKey]
	return key, ok
}

func (k *keyfaxEmu) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := strings.ToLower(r.URL.Path)
	if !strings.HasPrefix(p, "/interview/") {
		writeJSON(w, http.StatusNotFound, kfMessage("no such resource"))
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
		writeJSON(w, http.StatusMethodNotAllowed, kfMessage("method not allowed"))
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
		writeJSON(w, http.StatusNotFound, kfMessage("no such resource"))
	}
}

func kfMessage(msg string) map[string]string { return map[string]string{"message": msg} }

// authorize reads the body and checks the Authorization header: Basic when
// basic is true, Bearer when bearer is true. It answers 401 itself and returns
// ok=false on refusal.
func (k *keyfaxEmu) authorize(w http.ResponseWriter, r *http.Request, basic, bearer bool) (body []byte, ok bool) {
	body, ok = readBody(w, r)
	if !ok {
		return nil, false
	}
	auth := r.Header.Get("Authorization")
	scheme, _, _ := strings.Cut(auth, " ")
	switch {
	case basic && strings.EqualFold(scheme, "Basic"):
		if _, err := k.verifier.Verify(auth, r.Method, requestURL(r), body); err != nil {
			writeJSON(w, http.StatusUnauthorized, kfMessage("Basic verification failed: "+err.Error()))
			return nil, false
		}
		return body, true
	case bearer && strings.EqualFold(scheme, "Bearer"):
		if err := k.checkBearer(auth); err != "" {
			writeJSON(w, http.StatusUnauthorized, kfMessage("Bearer verification failed: "+err))
			return nil, false
		}
		return body, true
	}
	want := "Basic"
	if bearer {
		want = "Bearer"
		if basic {
			want = "Basic or Bearer"
		}
	}
	writeJSON(w, http.StatusUnauthorized, kfMessage("Authorization header with "+want+" verification required"))
	return nil, false
}

// checkBearer checks `Bearer {HostName}:{JWT}`: the host name is ours, the JWT
// is one we signed, has not expired and names the same host. It returns a
// reason on refusal ("" when valid); the reason never holds the token.
func (k *keyfaxEmu) checkBearer(auth string) string {
	v := strings.TrimLeft(auth[len("Bearer"):], " ")
	host, jwt, found := strings.Cut(v, ":")
	if !found || host == "" || jwt == "" {
		return "expected Bearer {hostName}:{token}"
	}
	if host != k.hostName {
		return "unknown host name"
	}
	claims, err := k.jwt.verify(jwt, k.s.now())
	if err != nil {
		return err.Error()
	}
	if claims["hostName"] != host {
		return "token was issued for another host name"
	}
	return ""
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
		// Anonymous: Keyfax hands out initial keys only while the host has none;
		// the sandbox drew them at start, so this is the "keys exist" answer.
		host := r.URL.Query().Get("hostName")
		if host != k.hostName {
			writeJSON(w, http.StatusBadRequest, kfMessage("host name is not configured for key generation"))
			return
		}
		writeJSON(w, http.StatusBadRequest, kfMessage("keys already exist for this host name; POST with Basic verification to generate more"))
		return
	}
	if _, ok := k.authorize(w, r, true, false); !ok {
		return
	}
	apiKey, signingKey := k.newKeyPair()
	writeJSON(w, http.StatusOK, map[string]string{"hostName": k.hostName, "apiKey": apiKey, "signingKey": signingKey})
}

// token: GET with Basic mints a JWT, POST with a valid Bearer renews it.
func (k *keyfaxEmu) token(w http.ResponseWriter, r *http.Request) {
	if _, ok := k.authorize(w, r, r.Method == "GET", r.Method == "POST"); !ok {
		return
	}
	now := k.s.now()
	jwt := k.jwt.sign(map[string]any{
		"iss":      "keyfax-sandbox",
		"sub":      k.hostName,
		"hostName": k.hostName,
		"jti":      randomHex(8),
		"iat":      now.Unix(),
		"exp":      now.Add(k.ttl).Unix(),
	})
	writeJSON(w, http.StatusOK, map[string]string{"token": jwt})
}

func (k *keyfaxEmu) startup(w http.ResponseWriter, r *http.Request) {
	body, ok := k.authorize(w, r, true, true)
	if !ok {
		return
	}
	if r.Method == "GET" {
		writeJSON(w, http.StatusOK, map[string]any{
			"mode":              map[string]string{"value": "RD"},
			"userName":          map[string]string{"value": "administrator"},
			"company":           map[string]string{"value": "Sandbox_Dev"},
			"scriptSet":         map[string]string{"value": "RD"},
			"originatingSystem": map[string]string{"value": "apisign"},
			"returnUrl":         map[string]string{"value": ""},
		})
		return
	}
	data, err := startupValues(body)
	if err != "" {
		writeJSON(w, http.StatusBadRequest, kfMessage(err))
		return
	}
	sess := &kfSession{
		guid:       newUUID(),
		company:    orDefault(data["company"], "Sandbox_Dev"),
		mode:       orDefault(data["mode"], "RD"),
		userName:   orDefault(data["username"], "administrator"),
		propertyID: data["propertyid"],
		callerID:   data["callerid"],
	}
	if ret := data["returnurl"]; ret != "" {
		if !validReturnURL(ret) {
			writeJSON(w, http.StatusBadRequest, kfMessage("returnUrl must be an absolute http or https URL"))
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
	writeJSON(w, http.StatusOK, map[string]string{
		"guid":      sess.guid,
		"launchUrl": k.s.base + "/keyfax/Interview/launch?guid=" + sess.guid,
		"company":   sess.company,
	})
}

// startupValues reads Keyfax start-up data in JSON: an object whose members are
// either {"value": "..."} items (the documented form) or plain strings. Keys
// are returned lower-cased, as .NET binds them without regard to case.
func startupValues(body []byte) (map[string]string, string) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil || raw == nil {
		return nil, "start-up data must be a JSON object"
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
	body, ok := k.authorize(w, r, true, true)
	if !ok {
		return
	}
	var company, guid string
	if len(strings.TrimSpace(string(body))) > 0 {
		data, err := startupValues(body)
		if err != "" {
			writeJSON(w, http.StatusBadRequest, kfMessage("results request must be a JSON object {company, guid}"))
			return
		}
		company, guid = data["company"], data["guid"]
	}
	if guid == "" {
		guid = r.URL.Query().Get("guid")
	}
	if guid == "" {
		writeJSON(w, http.StatusBadRequest, kfMessage("guid is required"))
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
		writeJSON(w, http.StatusNotFound, kfMessage("no Keyfax session with this company and guid"))
		return
	}
	if snapshot.state == kfRunning {
		w.WriteHeader(http.StatusAccepted) // the session is still running
		return
	}
	writeJSON(w, http.StatusOK, keyfaxData(&snapshot))
}

// The interview's first question: the problem, with the repair (schedule of
// rates code, description, routine priority) it leads to.
var kfProblems = []struct {
	Value, Category, Topic, SOR, Desc, Priority string
	Days                                        int
}{
	{"Leaking tap", "Plumbing", "Taps", "PL0101", "Renew tap washer or cartridge", "R", 28},
	{"Broken window", "Glazing", "Windows", "GL0205", "Board up and reglaze window", "U", 7},
	{"No heating", "Heating", "Boiler", "HT0310", "Investigate and repair heating system", "U", 3},
}

// priorities maps a priority code to its Keyfax PriorityId and name.
var kfPriorities = map[string][2]string{
	"E": {"2101", "Emergency"},
	"U": {"2103", "Urgent"},
	"R": {"2105", "Routine"},
}

// keyfaxData builds the results of an ended session in the shape Keyfax's JSON
// results take (KeyfaxData with a Fault and its Repair when completed, a Call
// when cancelled; Status 1 completed, 2 cancelled; every value a string).
func keyfaxData(s *kfSession) map[string]any {
	logDate := s.ended.UTC().Format("02/01/2006 15:04:05")
	if s.state == kfCancelled {
		return map[string]any{"KeyfaxData": map[string]any{
			"Call": map[string]any{
				"@type":          s.mode,
				"CallText":       "Session cancelled by the user",
				"LogDate":        logDate,
				"PropertyID":     s.propertyID,
				"CallerID":       s.callerID,
				"AdditionalInfo": s.details,
				"UserCode":       s.userName,
			},
			"GUID":   s.guid,
			"Status": strconv.Itoa(kfCancelled),
		}}
	}
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
	faultText := p.Category + ": " + p.Value + "; safety risk: " + strings.ToLower(orDefault(s.risk, "No"))
	if s.details != "" {
		faultText += "; " + s.details
	}
	return map[string]any{"KeyfaxData": map[string]any{
		"Fault": map[string]any{
			"@name":                "Fault1",
			"@type":                s.mode,
			"IsDeleted":            "False",
			"IsDirty":              "False",
			"IsNew":                "True",
			"Fault_Dialog":         "11315",
			"Fault_Category":       "10766",
			"CompanyCode":          s.company,
			"ScriptSet":            "1",
			"CategoryText":         p.Category,
			"TopicText":            p.Topic,
			"FaultText":            faultText,
			"Diagnosis":            p.Desc,
			"LogDate":              logDate,
			"PropertyID":           s.propertyID,
			"CallerID":             s.callerID,
			"Recharge":             "0",
			"Repair_Status":        "2",
			"Additional_Info":      s.details,
			"Special_Instructions": "",
			"UserCode":             s.userName,
			"ScriptPath": map[string]any{"Question": []string{
				"Q1 = " + kfQuestion1 + ": A1 = " + p.Value,
				"Q2 = " + kfQuestion2 + ": A2 = " + orDefault(s.risk, "No"),
			}},
			"Repair": map[string]any{
				"@name":                 "Repair1",
				"CompleteBy":            s.ended.UTC().AddDate(0, 0, days).Format("02/01/2006 15:04:05"),
				"ResponseDays":          strconv.Itoa(days),
				"Priority":              priority,
				"PriorityId":            kfPriorities[priority][0],
				"PriorityText":          kfPriorities[priority][1],
				"RepairCode":            p.SOR,
				"RepairCodeEx":          p.SOR,
				"RepairCodeDesc":        p.Desc,
				"UnitOfMeasure":         "No",
				"UnitOfMeasureQuantity": "1",
				"Contractor":            "T01",
				"IsDeleted":             "False",
				"IsDirty":               "False",
				"IsNew":                 "True",
			},
		},
		"GUID":   s.guid,
		"Status": strconv.Itoa(kfComplete),
	}}
}
