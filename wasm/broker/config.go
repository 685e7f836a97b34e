package broker

import (
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The environment variables the broker reads (the same names for the Worker's
// vars and secrets). Values are never echoed: messages name the variable only.
const (
	EnvCallerSecret    = "APISIGN_CALLER_SECRET"
	EnvAllowedOrigins  = "APISIGN_ALLOWED_ORIGINS"
	EnvMaxBody         = "APISIGN_MAX_BODY"
	EnvUpstreamTimeout = "APISIGN_UPSTREAM_TIMEOUT"
	EnvAdminSecret     = "APISIGN_ADMIN_SECRET"
	EnvRateLimit       = "APISIGN_RATE_LIMIT"

	EnvKeyfaxWebhookSecret = "KEYFAX_WEBHOOK_SECRET"
	EnvKeyfaxKeyFile       = "KEYFAX_KEY_FILE"
	EnvFortisMaxSessions   = "FORTIS_MAX_SESSIONS"
	EnvAnsiraReexchange    = "ANSIRA_REEXCHANGE_INTERVAL"
)

// DefaultMaxBody caps a request body the broker reads (APISIGN_MAX_BODY).
const DefaultMaxBody = 1 << 20

// DefaultUpstreamTimeout bounds one upstream call (APISIGN_UPSTREAM_TIMEOUT).
const DefaultUpstreamTimeout = 30 * time.Second

// MinCallerSecret is the shortest caller secret accepted: it is an HMAC-SHA256
// key shared with the embedding site, so it needs a full 256 bits of entropy
// when written as 32 random bytes (or more, e.g. 64 hex digits).
const MinCallerSecret = 32

// ConfigError lists what is wrong with the environment: missing or malformed
// variables, by name, never by value. New returns it alongside a usable Broker;
// the routes of each affected provider answer 503 E_CONFIG with the same words.
type ConfigError struct {
	Problems []string
}

func (e *ConfigError) Error() string {
	return "apisign broker configuration: " + strings.Join(e.Problems, "; ")
}

// env reads the configuration through a getter (os.Getenv natively,
// the Worker's bindings in the Worker) and collects problems.
type env struct {
	get      func(string) string
	problems []string
}

func (e *env) str(name string) string { return strings.TrimSpace(e.get(name)) }

func (e *env) problem(msg string) { e.problems = append(e.problems, msg) }

// group reads the variables of one provider. It returns the values and "" when
// all required ones are set; the disabled message when none is set (the
// provider is simply not used: not a problem); and a problem message naming the
// missing ones when only some are set.
func (e *env) group(provider string, required []string, optional ...string) (map[string]string, string) {
	v := make(map[string]string, len(required)+len(optional))
	var missing []string
	set := false
	for _, n := range required {
		v[n] = e.str(n)
		if v[n] == "" {
			missing = append(missing, n)
		} else {
			set = true
		}
	}
	for _, n := range optional {
		v[n] = e.str(n)
		set = set || v[n] != ""
	}
	switch {
	case len(missing) == 0:
		return v, ""
	case !set:
		return nil, provider + " is not configured on this broker (set " + strings.Join(required, ", ") + ")"
	}
	msg := provider + " is not configured on this broker: " + strings.Join(missing, ", ") + " not set"
	e.problem(msg)
	return nil, msg
}

// invalid records that a provider's variable is unusable and returns the
// message its routes answer with.
func (e *env) invalid(provider, name, why string) string {
	msg := provider + " is not configured on this broker: " + name + " " + why
	e.problem(msg)
	return msg
}

// baseURL checks an upstream base URL: absolute http(s), a host, no user info,
// query or fragment. It returns it without a trailing slash, and the parsed
// form whose scheme and host every forwarded URL must keep.
func baseURL(raw string) (string, *url.URL, bool) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil ||
		u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.ContainsAny(raw, "?# \t\r\n\\") {
		return "", nil, false
	}
	return strings.TrimRight(raw, "/"), u, true
}

// base reads a provider's upstream base URL (see baseURL) from the values v
// of its group, or returns why it is unusable.
func (e *env) base(provider, name string, v map[string]string) (string, *url.URL, string) {
	base, u, ok := baseURL(v[name])
	if !ok {
		return "", nil, e.invalid(provider, name, "is not an absolute http(s) URL without query or fragment")
	}
	return base, u, ""
}

// origins reads APISIGN_ALLOWED_ORIGINS: comma-separated scheme://host[:port],
// compared exactly (lower case) with the Origin header. "*" and "null" are
// refused: the point of the list is to name the sites that may use the broker.
func (e *env) origins() map[string]bool {
	out := map[string]bool{}
	for _, o := range strings.Split(e.str(EnvAllowedOrigins), ",") {
		o = strings.TrimRight(strings.ToLower(strings.TrimSpace(o)), "/")
		if o == "" {
			continue
		}
		if !isOrigin(o) {
			e.problem(EnvAllowedOrigins + " has an entry that is not an origin (scheme://host[:port]); it is ignored")
			continue
		}
		out[o] = true
	}
	return out
}

// isOrigin accepts an http(s) scheme://host[:port] as browsers send it in
// Origin; "*" and "null" are not origins of a site.
func isOrigin(o string) bool {
	u, err := url.Parse(o)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" &&
		u.Path == "" && u.RawQuery == "" && !u.ForceQuery && u.Fragment == "" && u.User == nil && u.Opaque == ""
}

// prefixes reads an allow-list of upstream path prefixes (NFON_ALLOWED_PATHS,
// FONN_ALLOWED_PATHS), or def when unset. Each must be an absolute path that
// the path check itself would accept.
func (e *env) prefixes(name, def string) ([]string, bool) {
	raw := e.str(name)
	if raw == "" {
		raw = def
	}
	var out []string
	for _, p := range strings.Split(raw, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if checkPath(p) != "" {
			return nil, false
		}
		out = append(out, p)
	}
	return out, len(out) > 0
}

// positive reads a positive integer variable, or def when unset.
func (e *env) positive(name string, def int64) int64 {
	raw := e.str(name)
	if raw == "" {
		return def
	}
	n, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || n <= 0 {
		e.problem(name + " is not a positive whole number; using the default")
		return def
	}
	return n
}

// duration reads a Go duration ("30s", "1m"), or def when unset.
func (e *env) duration(name string, def time.Duration) time.Duration {
	raw := e.str(name)
	if raw == "" {
		return def
	}
	d, err := time.ParseDuration(raw)
	if err != nil || d <= 0 {
		e.problem(name + " is not a positive duration such as 30s; using the default")
		return def
	}
	return d
}

// localState builds the native State: a LocalState with the records (the
// Keyfax keys) in KEYFAX_KEY_FILE when set. A file that cannot be read is a
// problem, and the state then lives in memory only and never writes the file:
// a broker must not overwrite keys it could not read.
func (e *env) localState() State {
	file := e.str(EnvKeyfaxKeyFile)
	s, err := NewLocalState(file)
	if err != nil {
		e.problem(EnvKeyfaxKeyFile + " cannot be read as the broker's key file; keys are kept in memory only")
		s, _ = NewLocalState("")
	}
	return s
}

// limits reads the abuse limits (see limits).
func (e *env) limits() limits {
	l := limits{rate: DefaultRateLimit, rateWindow: DefaultRateWindow,
		fortisSessions: int(e.positive(EnvFortisMaxSessions, DefaultFortisMaxSessions)),
		reexchange:     e.duration(EnvAnsiraReexchange, DefaultAnsiraReexchange)}
	raw := e.str(EnvRateLimit)
	if raw == "" {
		return l
	}
	n, w, ok := strings.Cut(raw, "/")
	count, err := strconv.Atoi(strings.TrimSpace(n))
	window, err2 := time.ParseDuration(strings.TrimSpace(w))
	if !ok || err != nil || err2 != nil || count < 0 || window <= 0 {
		e.problem(EnvRateLimit + " is not <requests>/<duration> such as 120/1m; using the default")
		return l
	}
	l.rate, l.rateWindow = count, window
	return l
}
