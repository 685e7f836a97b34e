//go:build !js

package httpauth

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/apisign/apisign/internal/sandbox"
	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/ansira"
	"github.com/apisign/apisign/signers/clock"
	"github.com/apisign/apisign/signers/pace"
)

// ansiraAPI plays Ansira's token endpoint (/token) and an API route (/api) on
// one 127.0.0.1 server, counting hits. Each token request invalidates the
// earlier tokens, as Ansira's do.
type ansiraAPI struct {
	mu           sync.Mutex
	tokenHits    int
	apiHits      int
	current      string
	bodies       []string
	always403    bool
	always401    bool
	cacheControl string // of the last API call
	tokenFail    int
	serial       int // names tokens; never reset, so that no token value comes back
}

func (a *ansiraAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch r.URL.Path {
	case "/token":
		a.tokenHits++
		if r.Header.Get("Authorization") != "Basic Yzpz" || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			w.WriteHeader(401)
			return
		}
		if a.tokenFail != 0 {
			w.WriteHeader(a.tokenFail)
			return
		}
		a.serial++
		a.current = "at-" + strconv.Itoa(a.serial)
		io.WriteString(w, `{"token_type":"Bearer","access_token":"`+a.current+`","scope":"s","claims":{},"expires_in":3600}`)
	case "/api":
		a.apiHits++
		b, _ := io.ReadAll(r.Body)
		a.bodies = append(a.bodies, string(b))
		a.cacheControl = r.Header.Get("Cache-Control")
		if a.always401 {
			w.WriteHeader(401)
			return
		}
		if a.always403 || r.Header.Get("Authorization") != "Bearer "+a.current {
			w.WriteHeader(403)
			return
		}
		io.WriteString(w, a.current)
	default:
		http.NotFound(w, r)
	}
}

func newAnsira(t *testing.T) (*ansiraAPI, *httptest.Server, *ansira.TokenSource) {
	api := &ansiraAPI{}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	src, err := ansira.NewTokenSource(ansira.Config{
		Params: ansira.TokenRequestParams{TokenURL: srv.URL + "/token", ClientID: "c", ClientSecret: "s", Assertion: "h.p.s", Scope: "s"},
		Doer:   NewDoer(srv.Client()), Clock: clock.NewFake(t0),
	})
	if err != nil {
		t.Fatal(err)
	}
	return api, srv, src
}

func TestAnsiraTransport403RefreshesOnce(t *testing.T) {
	api, srv, src := newAnsira(t)
	c := &http.Client{Transport: &Transport{Source: src, Authorizer: ansira.Authorizer{}}}
	if st, b := postAPI(t, c, srv.URL+"/api", "first"); st != 200 || b != "at-1" {
		t.Fatalf("%d %s", st, b)
	}
	if api.cacheControl != "no-cache" { // Ansira lists it with every API call
		t.Fatalf("Cache-Control %q", api.cacheControl)
	}
	// Somebody else fetched a token: ours is dead. One refresh, one retry, same body.
	api.mu.Lock()
	api.current, api.apiHits, api.tokenHits, api.bodies = "someone-else", 0, 0, nil
	api.mu.Unlock()
	body := "payload \x00\xff\r\n with bytes"
	if st, b := postAPI(t, c, srv.URL+"/api", body); st != 200 || b != "at-2" {
		t.Fatalf("after 403: %d %s", st, b)
	}
	if api.apiHits != 2 || api.tokenHits != 1 || api.bodies[0] != body || api.bodies[1] != body {
		t.Fatalf("api hits %d token hits %d bodies %q", api.apiHits, api.tokenHits, api.bodies)
	}
	// An API that always answers 403: exactly one refresh and one retry, then the 403.
	api.mu.Lock()
	api.always403, api.apiHits, api.tokenHits = true, 0, 0
	api.mu.Unlock()
	if st, _ := postAPI(t, c, srv.URL+"/api", "x"); st != 403 || api.apiHits != 2 || api.tokenHits != 1 {
		t.Fatalf("status %d api hits %d token hits %d", st, api.apiHits, api.tokenHits)
	}
	// The token refused twice was dropped: the next request starts with a fetch;
	// when that fails, the error, and nothing is sent.
	api.mu.Lock()
	api.tokenFail, api.apiHits, api.tokenHits = 503, 0, 0
	api.mu.Unlock()
	req, _ := http.NewRequest("GET", srv.URL+"/api", nil)
	_, err := c.Do(req)
	if signers.CodeOf(err) != signers.CodeHTTP || api.apiHits != 0 || api.tokenHits != 1 {
		t.Fatalf("err %v api hits %d token hits %d", err, api.apiHits, api.tokenHits)
	}
}

// Ansira's 401 means "the Access Token is missing": a new token does not fix
// that, so the answer comes back without a refresh or a retry.
func TestAnsiraTransport401IsNotRefreshed(t *testing.T) {
	api, srv, src := newAnsira(t)
	c := &http.Client{Transport: &Transport{Source: src, Authorizer: ansira.Authorizer{}}}
	api.mu.Lock()
	api.always401 = true
	api.mu.Unlock()
	if st, _ := postAPI(t, c, srv.URL+"/api", "x"); st != 401 || api.apiHits != 1 || api.tokenHits != 1 {
		t.Fatalf("status %d api hits %d token hits %d", st, api.apiHits, api.tokenHits)
	}
}

func TestAnsiraTransportConcurrent403OneRefresh(t *testing.T) {
	api, srv, src := newAnsira(t)
	c := &http.Client{Transport: &Transport{Source: src, Authorizer: ansira.Authorizer{}}}
	postAPI(t, c, srv.URL+"/api", "warm up")
	api.mu.Lock()
	api.current, api.tokenHits = "someone-else", 0
	api.mu.Unlock()
	var wg sync.WaitGroup
	status := make([]int, 10)
	for i := range status {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			status[i], _ = postAPI(t, c, srv.URL+"/api", "b"+strconv.Itoa(i))
		}(i)
	}
	wg.Wait()
	for i, s := range status {
		if s != 200 {
			t.Errorf("caller %d: %d", i, s)
		}
	}
	if api.tokenHits != 1 {
		t.Fatalf("token requests %d, want 1", api.tokenHits)
	}
}

func TestOAuth2TokenSource(t *testing.T) {
	_, srv, src := newAnsira(t)
	ts := OAuth2TokenSource(context.Background(), src)
	tok, err := ts.Token()
	if err != nil || tok.AccessToken != "at-1" || tok.Type() != "Bearer" || !tok.Expiry.Equal(t0.Add(time.Hour)) {
		t.Fatalf("%+v %v", tok, err)
	}
	// Usable with oauth2.Transport for plain calls.
	c := &http.Client{Transport: &oauth2.Transport{Source: ts, Base: srv.Client().Transport}}
	if st, b := postAPI(t, c, srv.URL+"/api", "x"); st != 200 || b != "at-1" {
		t.Fatalf("%d %s", st, b)
	}
	req, _ := http.NewRequest("GET", srv.URL+"/api", nil)
	if _, err := (&Transport{}).RoundTrip(req); signers.CodeOf(err) != signers.CodeConfig {
		t.Fatal(err)
	}
}

// emuT0 is the emulators' fake time in these tests, on a whole second (the
// Ansira emulator counts calls per second).
var emuT0 = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

// ansiraEmulator returns the emulator on the fake clock clk and a token
// source for its API client, on the same clock.
func ansiraEmulator(t *testing.T, clk clock.Clock) (*sandbox.Sandbox, string, *ansira.TokenSource) {
	t.Helper()
	sb, base := emulators(t, sandbox.Options{Clock: clk})
	src, err := ansiraSource(sb, base, clk, sb.Credentials().AnsiraAssertion)
	if err != nil {
		t.Fatal(err)
	}
	return sb, base, src
}

// ansiraSource is a token source for the emulator's API client with assertion.
func ansiraSource(sb *sandbox.Sandbox, base string, clk clock.Clock, assertion string) (*ansira.TokenSource, error) {
	cr := sb.Credentials()
	return ansira.NewTokenSource(ansira.Config{Clock: clk, Doer: NewDoer(nil), Params: ansira.TokenRequestParams{
		TokenURL: base + "/ansira/oauth/v2/oauth-token", ClientID: cr.AnsiraClientID, ClientSecret: cr.AnsiraClientSecret,
		Assertion: assertion, Scope: cr.AnsiraScope,
	}})
}

type campaign struct {
	Name   string
	Budget int
}

func readCampaigns(body []byte) ([]campaign, error) {
	var page struct{ Data []campaign }
	err := json.Unmarshal(body, &page)
	return page.Data, err
}

// headerLog records one header field of every request that reaches the network.
type headerLog struct {
	name string
	seen recorder[string]
}

func (l *headerLog) RoundTrip(r *http.Request) (*http.Response, error) {
	l.seen.add(r.Header.Get(l.name))
	return http.DefaultTransport.RoundTrip(r)
}

// Ansira's filter, order_by, page and page_size, as the document writes them,
// through AnsiraPages against the emulator's campaigns listing: the five
// active campaigns by falling budget, two per page. Every API call carries
// Cache-Control: no-cache (Ansira lists it with every API call).
func TestAnsiraPagesAgainstEmulator(t *testing.T) {
	clk := clock.NewFake(emuT0)
	_, base, src := ansiraEmulator(t, clk)
	limiter, err := pace.New(pace.AnsiraStage, clk)
	if err != nil {
		t.Fatal(err)
	}
	wire := &headerLog{name: "Cache-Control"}
	c := &http.Client{Transport: &Transport{Source: src, Authorizer: ansira.Authorizer{},
		Base: &Pace{Limiter: limiter, Base: wire}}}
	p := ansira.ListParams{Filter: ansira.Filter("status eq 'active'"), OrderBy: []string{"-budget", "+name"}, PageSize: 2}
	var pages [][]campaign
	for page, err := range AnsiraPages(t.Context(), c, base+"/ansira/api/v1/campaigns", p, readCampaigns) {
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, page)
	}
	want := [][]campaign{
		{{"Winter heating campaign", 4200}, {"Damp and mould awareness", 2600}},
		{{"Spring maintenance mailer", 1200}, {"Summer garden safety", 800}},
		{{"Smoke alarm testing", 700}},
	}
	if !slices.EqualFunc(pages, want, slices.Equal) {
		t.Fatalf("pages %v, want %v", pages, want)
	}
	if seen := wire.seen.list(); len(seen) != 3 || strings.Join(seen, ",") != "no-cache,no-cache,no-cache" {
		t.Fatalf("Cache-Control on the API calls: %q", seen)
	}

	// A page the emulator refuses (page_size over its 100) ends the iteration
	// with E_HTTP and the status.
	for page, err := range AnsiraPages(t.Context(), c, base+"/ansira/api/v1/campaigns", ansira.ListParams{PageSize: 1000}, readCampaigns) {
		var se *signers.Error
		if page != nil || !errors.As(err, &se) || se.Code != signers.CodeHTTP || se.Status != 400 {
			t.Fatalf("page %v, err %v; want E_HTTP 400", page, err)
		}
	}
}

// Ansira limits each IP address to 5 calls per second on stage. A burst of 12
// calls without pacing gets 429 from the sixth; with Pace over the stage rate
// it is spread and every call is answered.
func TestAnsiraPacedBurstAgainstEmulator(t *testing.T) {
	burst := func(paced bool) []int {
		clk := clock.NewFake(emuT0)
		_, base, src := ansiraEmulator(t, clk)
		var rt http.RoundTripper = http.DefaultTransport
		if paced {
			limiter, err := pace.New(pace.AnsiraStage, clk)
			if err != nil {
				t.Fatal(err)
			}
			rt = &Pace{Limiter: limiter}
		}
		c := &http.Client{Transport: &Transport{Source: src, Authorizer: ansira.Authorizer{}, Base: rt}}
		var statuses []int
		for range 12 {
			status, body, err := call(t, c, "GET", base+"/ansira/api/v1/campaigns?page_size=1", nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if status != 200 && status != 429 {
				t.Fatalf("%d %s", status, body)
			}
			statuses = append(statuses, status)
		}
		return statuses
	}
	if got := burst(false); got[4] != 200 || got[5] != 429 {
		t.Fatalf("unpaced burst: %v, want 429 from the sixth call", got)
	}
	for i, status := range burst(true) {
		if status != 200 {
			t.Fatalf("paced call %d: %d", i, status)
		}
	}
}

// "Access Tokens can be generated as long as the Client Assertion has not
// expired": an expired assertion is a clear E_CONFIG when the token source is
// built, not a refused exchange later; a valid one says when it expires.
func TestAnsiraAssertionExpiryAtStart(t *testing.T) {
	clk := clock.NewFake(emuT0)
	sb, base, src := ansiraEmulator(t, clk)
	if got, want := src.AssertionExpiry(), emuT0.AddDate(1, 0, 0); !got.Equal(want) {
		t.Fatalf("assertion expiry %v, want %v", got, want)
	}
	expired := sb.NewAnsiraAssertion(emuT0.Add(-time.Hour))
	_, err := ansiraSource(sb, base, clk, expired)
	if !errors.Is(err, signers.ErrConfig) || !strings.Contains(err.Error(), "expired") || strings.Contains(err.Error(), expired) {
		t.Fatalf("expired assertion: %v", err)
	}
}

// "Multiple Access Tokens with overlapping TTLs can be generated and will
// remain valid": a second token source for the same API client exchanges the
// assertion again, and the first client's token keeps working, with no
// refresh.
func TestAnsiraTokensOverlapThroughTransport(t *testing.T) {
	clk := clock.NewFake(emuT0)
	sb, base, first := ansiraEmulator(t, clk)
	second, err := ansiraSource(sb, base, clk, sb.Credentials().AnsiraAssertion)
	if err != nil {
		t.Fatal(err)
	}
	campaigns := base + "/ansira/api/v1/campaigns?page_size=1"
	get := func(src *ansira.TokenSource) {
		t.Helper()
		c := &http.Client{Transport: &Transport{Source: src, Authorizer: ansira.Authorizer{}}}
		if status, body, err := call(t, c, "GET", campaigns, nil, nil); err != nil || status != 200 {
			t.Fatalf("%d %s %v", status, body, err)
		}
	}
	get(first)
	tok := first.Current()
	get(second)
	get(first)
	if second.Current().Value == tok.Value || first.Current() != tok {
		t.Fatalf("the first source's token changed: %v", first.Current() != tok)
	}
}
