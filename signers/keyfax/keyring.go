package keyfax

// KeyRing holds a host's Web API keys across a key reset and follows
// Keyfax's timing rule for it (docs/PROTOCOLS.md, "Keyfax"): after POST
// KeyPath the old keys keep working until the first request signed with the
// new ones; from then on only the new ones do. So delivered keys are pending
// until a request signed with them succeeds, and only then current: a
// delivery that cannot be used yet (a typo in the web hook, a crash half
// way) leaves the old keys at hand.
//
// A KeyRing is a plain value; its JSON form ({"current", "pending"}) is what
// a server stores to keep the keys across restarts (the broker does). It is
// not safe for concurrent use: a store with compare-and-swap, or a mutex,
// serializes the changes.
//
//	for _, k := range ring.Candidates() {
//		// sign the request with k and send it
//		if ok { ring.Used(*k); break } // save the ring when Used reports a switch
//	}
type KeyRing struct {
	Current *Keys `json:"current"`
	Pending *Keys `json:"pending,omitempty"`
}

// Deliver takes keys Keyfax delivered after a reset (ParseKeys: the web hook,
// or e-mail): they become pending, replacing older pending keys that were
// never used. It reports false, changing nothing, when the ring holds these
// keys already (a delivery repeated).
func (r *KeyRing) Deliver(k Keys) bool {
	if sameKeys(r.Current, k) || sameKeys(r.Pending, k) {
		return false
	}
	r.Pending = &k
	return true
}

// Candidates lists the keys to sign the next request with, in order: the
// pending keys first (their first successful use is what makes Keyfax drop
// the old ones), then the current ones, which Keyfax takes until then.
func (r KeyRing) Candidates() []*Keys {
	var c []*Keys
	for _, k := range []*Keys{r.Pending, r.Current} {
		if k != nil {
			c = append(c, k)
		}
	}
	return c
}

// Used records that a request signed with k succeeded. When k are the pending
// keys, Keyfax now takes only them: they become current, the old keys are
// dropped, and Used reports true (the ring changed). Otherwise nothing
// changes.
func (r *KeyRing) Used(k Keys) bool {
	if !sameKeys(r.Pending, k) {
		return false
	}
	r.Current, r.Pending = r.Pending, nil
	return true
}

// sameKeys reports whether have are the keys k (a pair is named by its API
// key).
func sameKeys(have *Keys, k Keys) bool {
	return have != nil && have.APIKey == k.APIKey
}
