package broker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/apisign/apisign/signers"
)

// State is what must be one per deployment (docs/PROTOCOLS.md, "Keyfax", for
// the key rules): the Keyfax keys and their rotation, the single flights of the
// Keyfax JWT mint and the Ansira exchange with their cached results, the rate
// limits and the open Fortis sessions. A Worker runs many isolates, and
// syumai/workers starts a fresh Go instance per request, so Go memory cannot
// hold any of it there: the Worker's State is a Durable Object (RemoteState over
// the object's stub, worker/state.mjs). Natively it is LocalState.
//
// Times are the broker's clock, passed in, so that both implementations judge
// expiry alike; only a lease's life is real time (it bounds a wait).
// Implementations must be safe for concurrent use.
type State interface {
	// Get returns the record under key and its version (0: none yet).
	Get(ctx context.Context, key string) (value string, version int64, err error)
	// Put writes the record under key if its version is still version, and
	// reports whether it did: a read-modify-write with Get that a concurrent
	// writer cannot undo unnoticed.
	Put(ctx context.Context, key, value string, version int64) (bool, error)
	// Flight is the single flight of a cached result. It returns the cached
	// value when it expires after fresh and is not stale (the value a caller
	// found unusable, "" for none). Otherwise, while another caller holds the
	// lease, it waits for that caller's Land and answers its result (a failure
	// too: Expires zero); else it grants the lease (Lease set) for at most
	// lease: the caller fetches and lands the result.
	Flight(ctx context.Context, key string, fresh time.Time, stale string, lease time.Duration) (Flight, error)
	// Land ends a flight: a value with its expiry is cached and handed to the
	// waiters; with expires zero, value describes a failure, handed to the
	// waiters only.
	Land(ctx context.Context, key, lease, value string, expires time.Time) error
	// Take updates the slots under key at now: expired slots go, give (if not
	// "") is removed, and take (if not "") is added for ttl unless limit > 0
	// slots are held; then ok is false and retryAt is when the first one ends.
	Take(ctx context.Context, key string, now time.Time, give, take string, ttl time.Duration, limit int) (ok bool, retryAt time.Time, err error)
}

// Flight is the answer of State.Flight: a value (with its expiry; zero for a
// landed failure) or the lease to fetch it.
type Flight struct {
	Value   string
	Expires time.Time
	Lease   string
}

// WithState sets the deployment-wide state (default: a LocalState, with the
// Keyfax keys in KEYFAX_KEY_FILE when set). The Worker passes a RemoteState
// over its Durable Object; tests share one State between Broker instances.
func WithState(s State) Option { return func(b *Broker) { b.state = s } }

// newID draws a random identifier (leases, slots).
func newID() string {
	b := make([]byte, 16)
	rand.Read(b) // never fails (crypto/rand crashes the program instead)
	return hex.EncodeToString(b)
}

// ---- in process ----------------------------------------------------------------

// LocalState is State in Go memory, for a broker that is one process. The
// records written with Put (the Keyfax keys) are also kept in a file, when one
// is given, so that a restart loses no key delivered to the web hook.
type LocalState struct {
	file string

	mu      sync.Mutex
	recs    map[string]localRecord
	cache   map[string]Flight
	flights map[string]*localFlight
	slots   map[string]map[string]time.Time
	swept   time.Time // when slot sets whose slots had all ended were last deleted
}

// sweepEvery is how often Take deletes the slot sets whose slots have all
// ended (callers that never came back), as the Durable Object's alarm does.
const sweepEvery = 15 * time.Minute

type localRecord struct {
	Value   string `json:"value"`
	Version int64  `json:"version"`
}

type localFlight struct {
	lease    string
	deadline time.Time // real time
	done     chan struct{}
	failure  string // set before done closes, for a landed failure
}

// NewLocalState returns a LocalState whose records live in file (mode 0600,
// written whole on every Put), or in memory only when file is "". A file that
// exists is read first; one that cannot be read is an error, never ignored.
func NewLocalState(file string) (*LocalState, error) {
	s := &LocalState{file: file, recs: map[string]localRecord{}, cache: map[string]Flight{},
		flights: map[string]*localFlight{}, slots: map[string]map[string]time.Time{}}
	if file == "" {
		return s, nil
	}
	data, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err == nil {
		err = json.Unmarshal(data, &s.recs)
	}
	if err != nil {
		return nil, signers.E(signers.CodeConfig, "broker.LocalState", "the state file cannot be read as JSON")
	}
	return s, nil
}

func (s *LocalState) Get(_ context.Context, key string) (string, int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.recs[key]
	return r.Value, r.Version, nil
}

func (s *LocalState) Put(_ context.Context, key, value string, version int64) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, had := s.recs[key]
	if old.Version != version {
		return false, nil
	}
	s.recs[key] = localRecord{value, version + 1}
	if err := s.save(); err != nil {
		if had {
			s.recs[key] = old
		} else {
			delete(s.recs, key)
		}
		return false, err
	}
	return true, nil
}

// save writes the records to the file: a temporary file renamed over it, so
// that a crash leaves the old file or the new one, never half of one.
func (s *LocalState) save() error {
	if s.file == "" {
		return nil
	}
	data, _ := json.Marshal(s.recs) // strings and numbers: cannot fail
	tmp, err := os.CreateTemp(filepath.Dir(s.file), ".apisign-state-*")
	if err == nil {
		_, err = tmp.Write(data)
		if e := tmp.Close(); err == nil {
			err = e
		}
		if err == nil {
			err = os.Chmod(tmp.Name(), 0o600)
		}
		if err == nil {
			err = os.Rename(tmp.Name(), s.file)
		}
		if err != nil {
			os.Remove(tmp.Name())
		}
	}
	if err != nil {
		return signers.E(signers.CodeConfig, "broker.LocalState", "the state file cannot be written")
	}
	return nil
}

func (s *LocalState) Flight(ctx context.Context, key string, fresh time.Time, stale string, lease time.Duration) (Flight, error) {
	for {
		s.mu.Lock()
		if c, ok := s.cache[key]; ok && c.Expires.After(fresh) && c.Value != stale {
			s.mu.Unlock()
			return c, nil
		}
		f := s.flights[key]
		if f == nil || !time.Now().Before(f.deadline) {
			f = &localFlight{lease: newID(), deadline: time.Now().Add(lease), done: make(chan struct{})}
			s.flights[key] = f
			s.mu.Unlock()
			return Flight{Lease: f.lease}, nil
		}
		s.mu.Unlock()
		wait := time.NewTimer(time.Until(f.deadline))
		select {
		case <-f.done:
			wait.Stop()
			if f.failure != "" {
				return Flight{Value: f.failure}, nil
			}
		case <-wait.C: // the holder is gone: take the lease over
		case <-ctx.Done():
			wait.Stop()
			return Flight{}, signers.Wrap(signers.CodeAborted, "broker.State", ctx.Err())
		}
	}
}

func (s *LocalState) Land(_ context.Context, key, lease, value string, expires time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !expires.IsZero() {
		s.cache[key] = Flight{Value: value, Expires: expires}
	}
	if f := s.flights[key]; f != nil && f.lease == lease {
		delete(s.flights, key)
		if expires.IsZero() {
			f.failure = value
		}
		close(f.done)
	}
	return nil
}

func (s *LocalState) Take(_ context.Context, key string, now time.Time, give, take string, ttl time.Duration, limit int) (bool, time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if now.Sub(s.swept) >= sweepEvery {
		s.swept = now
		for k, set := range s.slots {
			ended := true
			for _, end := range set {
				ended = ended && !end.After(now)
			}
			if ended {
				delete(s.slots, k)
			}
		}
	}
	slots := s.slots[key]
	if slots == nil {
		slots = map[string]time.Time{}
	}
	for id, end := range slots {
		if !end.After(now) {
			delete(slots, id)
		}
	}
	delete(slots, give)
	ok, retryAt := true, time.Time{}
	if take != "" {
		if limit > 0 && len(slots) >= limit {
			ok = false
			for _, end := range slots {
				if retryAt.IsZero() || end.Before(retryAt) {
					retryAt = end
				}
			}
		} else {
			slots[take] = now.Add(ttl)
		}
	}
	if len(slots) == 0 {
		delete(s.slots, key)
	} else {
		s.slots[key] = slots
	}
	return ok, retryAt, nil
}

// ---- over a Durable Object ---------------------------------------------------------

// RemoteState is State kept by a Durable Object (worker/state.mjs): each call
// is one JSON request to the object, sent by call (the Worker passes its
// stub's fetch). The object runs one request at a time between storage
// operations (its input gate), which makes Put, Take and the start of a
// Flight atomic, and it holds the flights' waiters in its memory.
type RemoteState struct {
	call func(ctx context.Context, request []byte) ([]byte, error)
}

// NewRemoteState returns the State of the object behind call, which sends a
// JSON request to the object and returns its JSON answer (an error for
// anything but a 200).
func NewRemoteState(call func(ctx context.Context, request []byte) ([]byte, error)) *RemoteState {
	return &RemoteState{call: call}
}

// remoteOp is one request to the object; times are Unix milliseconds, lengths
// milliseconds. The answer is remoteAnswer.
type remoteOp struct {
	Op      string `json:"op"` // get, put, flight, land, take
	Key     string `json:"key"`
	Value   string `json:"value,omitempty"`
	Version int64  `json:"version,omitempty"`
	Fresh   int64  `json:"fresh,omitempty"`
	Stale   string `json:"stale,omitempty"`
	LeaseMs int64  `json:"leaseMs,omitempty"`
	Lease   string `json:"lease,omitempty"`
	Expires int64  `json:"expires,omitempty"`
	Now     int64  `json:"now,omitempty"`
	Give    string `json:"give,omitempty"`
	Take    string `json:"take,omitempty"`
	TTLMs   int64  `json:"ttlMs,omitempty"`
	Limit   int    `json:"limit,omitempty"`
}

type remoteAnswer struct {
	Value   string `json:"value"`
	Version int64  `json:"version"`
	Expires int64  `json:"expires"`
	Lease   string `json:"lease"`
	OK      bool   `json:"ok"`
	RetryAt int64  `json:"retryAt"`
}

func (s *RemoteState) do(ctx context.Context, op remoteOp) (remoteAnswer, error) {
	req, _ := json.Marshal(op) // strings and numbers: cannot fail
	data, err := s.call(ctx, req)
	var a remoteAnswer
	if err == nil && json.Unmarshal(data, &a) != nil {
		err = errors.New("unreadable answer")
	}
	if err != nil {
		if ctx.Err() != nil {
			return a, signers.Wrap(signers.CodeAborted, "broker.State", ctx.Err())
		}
		return a, signers.E(signers.CodeNetwork, "broker.State", "the broker's state ("+op.Op+") did not answer")
	}
	return a, nil
}

func millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

func (s *RemoteState) Get(ctx context.Context, key string) (string, int64, error) {
	a, err := s.do(ctx, remoteOp{Op: "get", Key: key})
	return a.Value, a.Version, err
}

func (s *RemoteState) Put(ctx context.Context, key, value string, version int64) (bool, error) {
	a, err := s.do(ctx, remoteOp{Op: "put", Key: key, Value: value, Version: version})
	return a.OK, err
}

func (s *RemoteState) Flight(ctx context.Context, key string, fresh time.Time, stale string, lease time.Duration) (Flight, error) {
	a, err := s.do(ctx, remoteOp{Op: "flight", Key: key, Fresh: millis(fresh), Stale: stale, LeaseMs: lease.Milliseconds()})
	return Flight{Value: a.Value, Expires: fromMillis(a.Expires), Lease: a.Lease}, err
}

func (s *RemoteState) Land(ctx context.Context, key, lease, value string, expires time.Time) error {
	_, err := s.do(ctx, remoteOp{Op: "land", Key: key, Lease: lease, Value: value, Expires: millis(expires)})
	return err
}

func (s *RemoteState) Take(ctx context.Context, key string, now time.Time, give, take string, ttl time.Duration, limit int) (bool, time.Time, error) {
	a, err := s.do(ctx, remoteOp{Op: "take", Key: key, Now: millis(now), Give: give, Take: take, TTLMs: ttl.Milliseconds(), Limit: limit})
	return a.OK, fromMillis(a.RetryAt), err
}
