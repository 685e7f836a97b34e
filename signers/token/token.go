// Package token keeps a short-lived token fresh: the Keyfax JWT (24 h, renewed
// with itself), the Fortis session token (15 minutes idle) and the Ansira access
// token (expires_in). It is modelled on golang.org/x/oauth2's TokenSource and
// ReuseTokenSource, with three differences the flows here need: the context is
// passed in (the browser's AbortSignal ends a refresh), time comes from a
// clock.Clock (tests never sleep), and a refresh that fails ahead of expiry
// leaves the old, still valid token in use.
package token

import (
	"context"
	"sync"
	"time"

	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/clock"
)

// Token is a bearer credential and the time it stops working.
type Token struct {
	Value  string
	Expiry time.Time // zero: no known expiry
	// Refused marks the token a server just refused. A FetchFunc gets it as its
	// current token so that it can tell its own source which token died (the
	// browser's getToken({ refused })); it is never valid again.
	Refused bool
}

// ValidAt reports whether t is set, not refused and not expired at now.
func (t Token) ValidAt(now time.Time) bool {
	return t.Value != "" && !t.Refused && (t.Expiry.IsZero() || now.Before(t.Expiry))
}

// Source supplies a valid token. It is the one interface of this package, the
// counterpart of oauth2.TokenSource.
type Source interface {
	Token(ctx context.Context) (Token, error)
}

// FetchFunc gets a new token. current is the token held now (zero at first, and
// possibly still valid), so that a fetcher can renew with it, as Keyfax does; or,
// after Invalidate, the refused token with Refused set.
type FetchFunc func(ctx context.Context, current Token) (Token, error)

// Cache is a Source that holds one token and fetches a new one when the held one
// is within Margin of its expiry. N concurrent callers that find it stale cause
// exactly one fetch (single flight) and all get its result.
type Cache struct {
	fetch  FetchFunc
	margin time.Duration
	clock  clock.Clock

	mu      sync.Mutex
	tok     Token
	refused Token // the last token Invalidate dropped, until a fetch replaces it
	flight  *flight
}

type flight struct {
	done chan struct{}
	tok  Token
	err  error
}

// NewCache returns a Cache over fetch that renews margin ahead of expiry.
// A nil clock means clock.Real.
func NewCache(fetch FetchFunc, margin time.Duration, c clock.Clock) *Cache {
	return &Cache{fetch: fetch, margin: margin, clock: clock.Or(c)}
}

// Token returns the held token while it is fresh (valid at now + margin), else
// fetches a new one. If that early fetch fails while the held token is still
// valid, Token returns the held token and no error: it still works, and the next
// call tries again. It returns an error only when no valid token is left.
func (c *Cache) Token(ctx context.Context) (Token, error) {
	c.mu.Lock()
	now := c.clock.Now()
	if c.tok.ValidAt(now.Add(c.margin)) {
		t := c.tok
		c.mu.Unlock()
		return t, nil
	}
	c.mu.Unlock()
	t, err := c.refresh(ctx, true)
	if err != nil {
		if old := c.Current(); old.ValidAt(c.clock.Now()) && ctx.Err() == nil {
			return old, nil
		}
		return Token{}, err
	}
	return t, nil
}

// Refresh fetches a new token now, joining a fetch already under way. On
// failure it returns the error and keeps the held token as it was.
func (c *Cache) Refresh(ctx context.Context) (Token, error) { return c.refresh(ctx, false) }

// refresh is Refresh; with ifStale (Token's path) a caller that finds no fetch
// under way and a fresh token, because a fetch ended between its own check and
// this one, takes that token instead of starting a second fetch.
func (c *Cache) refresh(ctx context.Context, ifStale bool) (Token, error) {
	// A waiter whose own context is fine but who joined a fetch that another
	// caller's context aborted starts its own: bounded, never a loop.
	for attempt := 0; ; attempt++ {
		t, err := c.refreshOnce(ctx, ifStale)
		if err == nil || attempt == 2 || ctx.Err() != nil || signers.CodeOf(err) != signers.CodeAborted {
			return t, err
		}
	}
}

func (c *Cache) refreshOnce(ctx context.Context, ifStale bool) (Token, error) {
	c.mu.Lock()
	f := c.flight
	if f == nil && ifStale && c.tok.ValidAt(c.clock.Now().Add(c.margin)) {
		t := c.tok
		c.mu.Unlock()
		return t, nil
	}
	if f == nil {
		f = &flight{done: make(chan struct{})}
		c.flight = f
		current := c.tok
		if current.Value == "" {
			current = c.refused
		}
		c.mu.Unlock()
		f.tok, f.err = c.run(ctx, current)
		c.mu.Lock()
		if f.err == nil {
			c.tok, c.refused = f.tok, Token{}
		}
		c.flight = nil
		close(f.done)
		c.mu.Unlock()
		return f.tok, f.err
	}
	c.mu.Unlock()
	select {
	case <-f.done:
		return f.tok, f.err
	case <-ctx.Done():
		return Token{}, signers.Wrap(signers.CodeAborted, "token.Refresh", ctx.Err())
	}
}

// run calls fetch, turning a panic into an error so that waiters are released
// and a token without a value into an error so that it is never cached.
func (c *Cache) run(ctx context.Context, current Token) (t Token, err error) {
	defer func() {
		if r := recover(); r != nil {
			t, err = Token{}, signers.E(signers.CodeInternal, "token.Refresh", "token fetch panicked")
		}
	}()
	if err := ctx.Err(); err != nil {
		return Token{}, signers.Wrap(signers.CodeAborted, "token.Refresh", err)
	}
	t, err = c.fetch(ctx, current)
	if err != nil {
		return Token{}, signers.Wrap(signers.CodeTokenExpired, "token.Refresh", err)
	}
	if t.Value == "" {
		return Token{}, signers.E(signers.CodeToken, "token.Refresh", "fetched token is empty")
	}
	return t, nil
}

// Current returns the held token, whether or not it is still valid.
func (c *Cache) Current() Token {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tok
}

// Set replaces the held token, for a token obtained elsewhere (or, with the
// zero Token, forgets it without calling it refused).
func (c *Cache) Set(t Token) {
	c.mu.Lock()
	c.tok, c.refused = t, Token{}
	c.mu.Unlock()
}

// Invalidate drops t if it is still the held token: the server refused it
// (401/403), so the next Token call fetches, handing the fetcher t with Refused
// set. A token already replaced by a newer one is left alone, so that N requests
// failing with the same old token cause one fetch, not N.
func (c *Cache) Invalidate(t Token) {
	c.mu.Lock()
	if c.tok.Value != "" && c.tok.Value == t.Value {
		c.refused = Token{Value: t.Value, Refused: true}
		c.tok = Token{}
	}
	c.mu.Unlock()
}
