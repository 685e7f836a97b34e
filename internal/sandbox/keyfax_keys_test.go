package sandbox

import (
	"testing"

	"github.com/apisign/apisign/signers/keyfax"
)

// The core's key requests and readers in both formats against the emulator
// (KEYFAX-18): the initial keys and the reset's answer in XML and in JSON,
// each read back to keys that Keyfax then takes.
func TestKeyfaxKeyRequestsBothFormats(t *testing.T) {
	for _, f := range []keyfax.Format{keyfax.XML, keyfax.JSON} {
		h := start(t, Options{KeyfaxNewHosts: []string{"Dev"}})
		base := h.env["KEYFAX_BASE_URL"]
		req, err := keyfax.InitialKeyRequest(base, "Dev", f)
		if err != nil {
			t.Fatal(err)
		}
		r := h.send(req)
		keys, err := keyfax.ParseInitialKey(r.Status, r.Body, "Dev", f)
		if err != nil {
			t.Fatalf("%s: initial keys: %v (%d %s)", f, err, r.Status, r.Body)
		}
		s, err := keyfax.NewSigner(keys.HostName, keys.APIKey, keys.SigningKey)
		if err != nil {
			t.Fatal(err)
		}
		wantStatus(t, string(f)+" token with the initial keys", h.keyfaxBasic(s, "GET", "/api/v1/token", "", h.clk.Now()), 200)
		r = h.send(req)
		if _, err := keyfax.ParseInitialKey(r.Status, r.Body, "Dev", f); err == nil || r.Status != 400 {
			t.Errorf("%s: second GET key: %d %v", f, r.Status, err)
		}

		if req, err = keyfax.ResetKeyRequest(base, f); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SignRequest(req, h.clk.Now()); err != nil {
			t.Fatal(err)
		}
		r = h.send(req)
		apiKey, err := keyfax.ParseResetKey(r.Status, r.Body, f)
		mail := h.s.KeyfaxMailbox()
		if err != nil || len(mail) != 1 || mail[0].APIKey != apiKey || apiKey == keys.APIKey {
			t.Fatalf("%s: reset: %q %v (%d %s), mailed %d", f, apiKey, err, r.Status, r.Body, len(mail))
		}
	}
}

// A native program follows the key reset timing rule with keyfax.KeyRing
// (KEYFAX-30), against the emulator, which keeps the old keys valid until the
// first request signed with the new ones: delivered keys are tried first,
// their first success switches the ring, and from then on the old keys are
// refused. Keys that do not work (yet) leave the old ones in use.
func TestKeyfaxKeyRingFollowsTheReset(t *testing.T) {
	h := start(t, Options{})
	base, host := h.env["KEYFAX_BASE_URL"], h.env["KEYFAX_HOST_NAME"]
	first := keyfax.Keys{APIKey: h.env["KEYFAX_API_KEY"], SigningKey: h.env["KEYFAX_SIGNING_KEY"], SchemaName: "Basic", HostName: host}
	ring := keyfax.KeyRing{Current: &first}
	status := func(k *keyfax.Keys) int {
		s, err := keyfax.NewSigner(k.HostName, k.APIKey, k.SigningKey)
		if err != nil {
			t.Fatal(err)
		}
		return h.keyfaxBasic(s, "GET", "/api/v1/token", "", h.clk.Now()).Status
	}
	// use signs one request with the ring's keys in order, as a program
	// would, and returns the keys that worked.
	use := func() *keyfax.Keys {
		for _, k := range ring.Candidates() {
			if status(k) == 200 {
				ring.Used(*k)
				return k
			}
		}
		t.Fatal("no keys of the ring work")
		return nil
	}

	// Keys that Keyfax does not know (a bad delivery): the old ones stay.
	bogus := first
	bogus.APIKey = "00000000-0000-4000-8000-000000000000"
	if !ring.Deliver(bogus) || use().APIKey != first.APIKey || ring.Current.APIKey != first.APIKey || ring.Pending == nil {
		t.Fatalf("unusable delivery: ring %+v", ring)
	}

	req, _ := keyfax.ResetKeyRequest(base, keyfax.JSON)
	s, _ := keyfax.NewSigner(host, first.APIKey, first.SigningKey)
	if _, err := s.SignRequest(req, h.clk.Now()); err != nil {
		t.Fatal(err)
	}
	r := h.send(req)
	apiKey, err := keyfax.ParseResetKey(r.Status, r.Body, keyfax.JSON)
	mail := h.s.KeyfaxMailbox()
	if err != nil || len(mail) != 1 || mail[0].APIKey != apiKey {
		t.Fatalf("reset: %v, mailed %d", err, len(mail))
	}
	fresh := keyfax.Keys(mail[0])
	if !ring.Deliver(fresh) {
		t.Fatal("delivery not taken")
	}
	if status(&first) != 200 {
		t.Fatal("the old keys stopped working before the new ones were used")
	}
	if k := use(); k.APIKey != fresh.APIKey || ring.Current.APIKey != fresh.APIKey || ring.Pending != nil {
		t.Fatalf("first use of the new keys: ring %+v", ring)
	}
	if status(&first) != 401 {
		t.Error("the old keys still work after the new ones were used")
	}
	if c := ring.Candidates(); len(c) != 1 || use().APIKey != fresh.APIKey {
		t.Errorf("after the switch: %d candidates", len(c))
	}
}
