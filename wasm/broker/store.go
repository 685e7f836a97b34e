package broker

import (
	"sync"
	"time"
)

// Store keeps minted tokens (a Keyfax JWT, an Ansira access token) between
// Broker instances. Natively one Broker lives as long as the process and the
// core token sources cache by themselves, so no Store is needed. In the Worker,
// syumai/workers runs a fresh Go instance per request; the Worker main passes a
// Store over the isolate's JavaScript memory so that a token is minted once per
// isolate and expiry, not once per request.
//
// Load returns a value saved under key and the time it stops being usable;
// the broker decides whether it is still fresh. Implementations must be safe
// for concurrent use.
type Store interface {
	Load(key string) (value string, expires time.Time, ok bool)
	Save(key, value string, expires time.Time)
}

// MemoryStore is a Store in Go memory.
type MemoryStore struct {
	mu sync.Mutex
	m  map[string]storeEntry
}

type storeEntry struct {
	value   string
	expires time.Time
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore { return &MemoryStore{m: map[string]storeEntry{}} }

func (s *MemoryStore) Load(key string) (string, time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[key]
	return e.value, e.expires, ok
}

func (s *MemoryStore) Save(key, value string, expires time.Time) {
	s.mu.Lock()
	s.m[key] = storeEntry{value, expires}
	s.mu.Unlock()
}
