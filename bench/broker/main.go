// Command broker benchmarks apisign's broker (wasm/broker) natively and its
// Worker's cold start in workerd, and prints the figures as one JSON object on
// its last line (bench/run.mjs reads it):
//
//	go run ./bench/broker [-duration 3s] [-c 8] [-workerd PATH -worker DIR -runs 5]
//
// Natively: the sandbox emulators (internal/sandbox) and the broker
// (broker.New with the sandbox's Env) each serve on their own 127.0.0.1 port,
// and a closed-loop load generator (c workers, each sending its next request
// when the last one's answer is read, over kept-alive connections) drives one
// route for a fixed duration after a short warm-up. It reports requests per
// second and the 50th and 99th percentile latency of:
//
//   - token: GET /keyfax/token, answered from the broker's cache after the
//     first mint;
//   - nfon: GET /nfon/api/customers/K1234/phone-books, signed by the broker and
//     forwarded to the NFON emulator (which verifies the signature);
//   - nfon-direct: the same NFON request signed by the client itself and sent
//     straight to the emulator: the baseline the broker's hop adds to.
//
// The load generator shares the machine's cores with both servers, so the
// figures are those of the whole loop on this machine, not the broker's ceiling.
//
// Held bodies (issue 12, F2): with -held n, n connections each send the
// headers of a POST with a 1 MiB body and all of it but its last byte, then
// wait; the figure is how much the process's Go heap grew before they are
// closed. -serve plain
// serves the broker with http.Serve (no timeouts, no limits: the "before" of
// issue 12), -serve limits (the default) with broker.Serve.
//
// Cold start: with -workerd, the Worker built by ./build.sh worker (in -worker)
// is started in workerd runs times, with the committed configuration
// (wasm/broker/workerd.capnp), on a socket it inherits, and the time from
// process start to the first answered request (GET /keyfax/token, which mints
// upstream) is measured; the median is reported.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/apisign/apisign/internal/sandbox"
	"github.com/apisign/apisign/internal/testkit"
	"github.com/apisign/apisign/signers/nfon"
	"github.com/apisign/apisign/wasm/broker"
)

// nfonPath is a seeded phone book of the NFON emulator: a GET that changes no
// state, so any number of them can be sent.
const nfonPath = "/api/customers/K1234/phone-books"

type load struct {
	RPS      float64 `json:"rps"`
	P50Ms    float64 `json:"p50Ms"`
	P99Ms    float64 `json:"p99Ms"`
	Requests int     `json:"requests"`
}

type coldStart struct {
	Ms   float64   `json:"ms"`
	Runs []float64 `json:"runs"`
}

type held struct {
	Conns   int     `json:"conns"`
	HeapMiB float64 `json:"heapMiB"` // Go heap growth while they were held
}

type result struct {
	Serve       string     `json:"serve"`
	Concurrency int        `json:"concurrency"`
	Seconds     float64    `json:"seconds"`
	Token       load       `json:"token"`
	NFON        load       `json:"nfon"`
	NFONDirect  load       `json:"nfonDirect"`
	Held        *held      `json:"held,omitempty"`
	Workerd     *coldStart `json:"workerd,omitempty"`
}

func main() {
	duration := flag.Duration("duration", 3*time.Second, "how long each route is driven")
	conc := flag.Int("c", 8, "concurrent connections of the load generator")
	workerd := flag.String("workerd", "", "workerd binary; empty skips the cold-start figure")
	worker := flag.String("worker", "wasm/broker/build", "the Worker built by ./build.sh worker")
	runs := flag.Int("runs", 5, "workerd cold starts to take the median of")
	heldConns := flag.Int("held", 0, "connections holding a 1 MiB body open; 0 skips the figure")
	serve := flag.String("serve", "limits", "limits: broker.Serve; plain: http.Serve, no timeouts or limits")
	flag.Parse()
	if *serve != "limits" && *serve != "plain" {
		fmt.Fprintln(os.Stderr, "bench/broker: -serve is limits or plain")
		os.Exit(2)
	}
	if err := run(*duration, *conc, *workerd, *worker, *runs, *heldConns, *serve); err != nil {
		fmt.Fprintln(os.Stderr, "bench/broker:", err)
		os.Exit(1)
	}
}

func run(duration time.Duration, conc int, workerd, worker string, runs, heldConns int, serve string) error {
	// The sandbox, on its own port (its base URL must be known when it is built).
	sbLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	sbURL := "http://" + sbLn.Addr().String()
	sb := sandbox.New(sandbox.Options{BaseURL: sbURL})
	go http.Serve(sbLn, sb)

	env := sb.Env()
	env[broker.EnvCallerSecret] = broker.NewCallerSecret()
	env[broker.EnvAllowedOrigins] = "http://127.0.0.1"
	// One caller sends every request: the per-caller rate limit would answer
	// most of them 429. The load figures are the broker's own, so it is off.
	env[broker.EnvRateLimit] = "0/1m"
	caller := broker.MintCallerToken([]byte(env[broker.EnvCallerSecret]), time.Now().Add(time.Hour))

	outbound := http.DefaultTransport.(*http.Transport).Clone()
	outbound.Proxy = nil
	outbound.MaxIdleConnsPerHost = 4 * conc
	b, err := broker.New(func(k string) string { return env[k] }, outbound, broker.WithLogger(func(string, ...any) {}))
	if err != nil {
		return fmt.Errorf("broker: %w", err)
	}
	brLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	brURL := "http://" + brLn.Addr().String()
	if serve == "plain" {
		go http.Serve(brLn, b)
	} else {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go broker.Serve(ctx, brLn, b)
	}

	res := result{Serve: serve, Concurrency: conc, Seconds: duration.Seconds()}
	withCaller := func(method, url string) func() (*http.Request, error) {
		return func() (*http.Request, error) {
			r, err := http.NewRequest(method, url, nil)
			if err == nil {
				r.Header.Set(broker.HeaderCaller, caller)
			}
			return r, err
		}
	}
	if res.Token, err = drive(withCaller("GET", brURL+"/keyfax/token"), conc, duration); err != nil {
		return fmt.Errorf("token route: %w", err)
	}
	if res.NFON, err = drive(withCaller("GET", brURL+"/nfon"+nfonPath), conc, duration); err != nil {
		return fmt.Errorf("nfon route: %w", err)
	}
	signer, err := nfon.NewSigner(env["NFON_KEY_ID"], env["NFON_SECRET"])
	if err != nil {
		return err
	}
	direct := func() (*http.Request, error) {
		s, err := signer.Sign(nfon.Request{Method: "GET", Resource: "/nfon" + nfonPath, Date: time.Now()})
		if err != nil {
			return nil, err
		}
		r, err := http.NewRequest("GET", sbURL+s.Resource, nil)
		if err == nil {
			for k, v := range s.Header {
				r.Header.Set(k, v)
			}
		}
		return r, err
	}
	if res.NFONDirect, err = drive(direct, conc, duration); err != nil {
		return fmt.Errorf("nfon direct: %w", err)
	}

	if heldConns > 0 {
		h, err := holdBodies(brLn.Addr().String(), caller, heldConns)
		if err != nil {
			return fmt.Errorf("held bodies: %w", err)
		}
		res.Held = h
	}

	if workerd != "" {
		cs, err := coldStarts(workerd, worker, env, caller, runs)
		if err != nil {
			return fmt.Errorf("workerd: %w", err)
		}
		res.Workerd = cs
	}
	out, _ := json.Marshal(res)
	fmt.Println(string(out))
	return nil
}

// drive runs the closed loop: conc workers send newReq's requests for a
// warm-up of a fifth of d (at most a second), then for d, recording each
// latency. Any answer but 200 ends the run with an error.
func drive(newReq func() (*http.Request, error), conc int, d time.Duration) (load, error) {
	tr := &http.Transport{Proxy: nil, MaxIdleConnsPerHost: conc, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	once := func() error {
		req, err := newReq()
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("answer %s", resp.Status)
		}
		return err
	}
	phase := func(d time.Duration, record bool) ([]time.Duration, time.Duration, error) {
		var (
			mu   sync.Mutex
			all  []time.Duration
			errs []error
			wg   sync.WaitGroup
		)
		start := time.Now()
		end := start.Add(d)
		for range conc {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var mine []time.Duration
				for time.Now().Before(end) {
					t0 := time.Now()
					if err := once(); err != nil {
						mu.Lock()
						errs = append(errs, err)
						mu.Unlock()
						return
					}
					if record {
						mine = append(mine, time.Since(t0))
					}
				}
				mu.Lock()
				all = append(all, mine...)
				mu.Unlock()
			}()
		}
		wg.Wait()
		return all, time.Since(start), errors.Join(errs...)
	}
	if _, _, err := phase(min(d/5, time.Second), false); err != nil {
		return load{}, err
	}
	lat, took, err := phase(d, true)
	if err != nil {
		return load{}, err
	}
	if len(lat) == 0 {
		return load{}, errors.New("no request finished")
	}
	slices.Sort(lat)
	pct := func(p float64) float64 {
		i := int(float64(len(lat))*p+0.999999) - 1
		return float64(lat[max(0, min(i, len(lat)-1))]) / 1e6
	}
	return load{RPS: float64(len(lat)) / took.Seconds(), P50Ms: pct(0.50), P99Ms: pct(0.99), Requests: len(lat)}, nil
}

// holdBodies opens n connections to the broker at addr, each sending a POST's
// headers (Content-Length 1 MiB) and all of its body but the last byte, waits
// until every write has ended (written, or stuck for 5 s), and reports the Go
// heap's growth. All connections write the same buffer, so the growth is the
// broker's.
func holdBodies(addr, caller string, n int) (*held, error) {
	const size = 1 << 20
	body := make([]byte, size-1)
	head := "POST /nfon" + nfonPath + " HTTP/1.1\r\nHost: " + addr + "\r\n" + broker.HeaderCaller + ": " + caller +
		"\r\nContent-Type: application/json\r\nContent-Length: " + strconv.Itoa(size) + "\r\n\r\n"
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapInuse
	}
	before := heap()
	var (
		wg    sync.WaitGroup
		conns []net.Conn
	)
	for range n {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			break
		}
		conns = append(conns, c)
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.SetWriteDeadline(time.Now().Add(5 * time.Second))
			if _, err := io.WriteString(c, head); err == nil {
				c.Write(body)
			}
		}()
	}
	wg.Wait()
	grown := heap()
	for _, c := range conns {
		c.Close()
	}
	if len(conns) < n {
		return nil, fmt.Errorf("only %d of %d connections opened", len(conns), n)
	}
	return &held{Conns: n, HeapMiB: (float64(grown) - float64(before)) / (1 << 20)}, nil
}

// coldStarts starts the Worker in workerd runs times, with the committed
// configuration (wasm/broker/workerd.capnp), and measures process start to the
// first answered request.
func coldStarts(workerd, worker string, env map[string]string, caller string, runs int) (*coldStart, error) {
	for _, f := range []string{"guard.mjs", "state.mjs", "worker.mjs", "wasm_exec.js", "runtime.mjs", "app.wasm"} {
		if _, err := os.Stat(filepath.Join(worker, f)); err != nil {
			return nil, fmt.Errorf("%s missing: run ./build.sh worker", filepath.Join(worker, f))
		}
	}
	root, err := testkit.RepoRoot()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "apisign-bench-workerd-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	cs := &coldStart{}
	for range runs {
		ms, err := coldStartOnce(workerd, root, worker, dir, env, caller)
		if err != nil {
			return nil, err
		}
		cs.Runs = append(cs.Runs, ms)
	}
	s := slices.Clone(cs.Runs)
	slices.Sort(s)
	cs.Ms = s[len(s)/2]
	return cs, nil
}

func coldStartOnce(workerd, root, worker, dir string, env map[string]string, caller string) (float64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	t0 := time.Now()
	wd, err := testkit.StartWorkerd(ctx, workerd, root, worker, dir, env)
	if err != nil {
		return 0, err
	}
	defer wd.Stop()
	req, _ := http.NewRequest("GET", wd.URL+"/keyfax/token", nil)
	req.Header.Set(broker.HeaderCaller, caller)
	client := &http.Client{Timeout: 90 * time.Second, Transport: &http.Transport{Proxy: nil}}
	resp, err := client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("first request: %v (workerd log: %.500s)", err, wd.Logs.String())
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	ms := float64(time.Since(t0)) / 1e6
	if resp.StatusCode != 200 {
		return 0, fmt.Errorf("first request answered %s: %.200s", resp.Status, body)
	}
	return ms, nil
}
