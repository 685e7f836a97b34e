package keyfax

import (
	"encoding/json"
	"testing"
)

func ringKeys(id string) Keys {
	return Keys{APIKey: id, SigningKey: "c2lnbmluZw==", SchemaName: "Basic", HostName: "Dev"}
}

// The reset timing rule (KEYFAX-30): delivered keys wait behind the current
// ones until a request signed with them succeeds; then only they are used.
func TestKeyRing(t *testing.T) {
	old, fresh, newer := ringKeys("old"), ringKeys("fresh"), ringKeys("newer")
	order := func(r KeyRing) (ids []string) {
		for _, k := range r.Candidates() {
			ids = append(ids, k.APIKey)
		}
		return ids
	}
	var empty KeyRing
	if c := empty.Candidates(); len(c) != 0 || empty.Used(old) {
		t.Fatalf("empty ring: %v", c)
	}
	r := KeyRing{Current: &old}
	if got := order(r); len(got) != 1 || got[0] != "old" {
		t.Fatalf("before a reset: %v", got)
	}
	if r.Deliver(old) || r.Pending != nil {
		t.Fatal("the current keys delivered again became pending")
	}
	if !r.Deliver(fresh) || r.Deliver(fresh) {
		t.Fatal("Deliver: a new pair is taken once, a repeat changes nothing")
	}
	if got := order(r); len(got) != 2 || got[0] != "fresh" || got[1] != "old" {
		t.Fatalf("after the delivery: %v, want the new keys first, then the old", got)
	}
	// A request signed with the old keys succeeding changes nothing: Keyfax
	// still takes them, and the new ones are still to be used.
	if r.Used(old) || r.Current.APIKey != "old" || r.Pending.APIKey != "fresh" {
		t.Fatalf("old keys used: %+v", r)
	}
	// Newer keys before the fresh ones were ever used replace them.
	if !r.Deliver(newer) || r.Pending.APIKey != "newer" {
		t.Fatalf("second delivery: %+v", r)
	}
	if r.Used(fresh) {
		t.Fatal("keys no longer pending switched the ring")
	}
	if !r.Used(newer) || r.Current.APIKey != "newer" || r.Pending != nil {
		t.Fatalf("first successful use of the pending keys: %+v", r)
	}
	if got := order(r); len(got) != 1 || got[0] != "newer" {
		t.Fatalf("after the switch: %v, want only the new keys", got)
	}
	if r.Used(newer) {
		t.Fatal("a second use switched again")
	}
}

// The ring's JSON form is the broker's stored key record: {"current",
// "pending"} with the document's key members; no pending member without one.
func TestKeyRingJSON(t *testing.T) {
	old, fresh := ringKeys("old"), ringKeys("fresh")
	raw, _ := json.Marshal(KeyRing{Current: &old})
	const one = `{"current":{"apiKey":"old","signingKey":"c2lnbmluZw==","schemaName":"Basic","hostName":"Dev"}}`
	if string(raw) != one {
		t.Fatalf("%s", raw)
	}
	raw, _ = json.Marshal(KeyRing{Current: &old, Pending: &fresh})
	var back KeyRing
	if err := json.Unmarshal(raw, &back); err != nil || *back.Current != old || *back.Pending != fresh {
		t.Fatalf("round trip: %s -> %+v %v", raw, back, err)
	}
}
