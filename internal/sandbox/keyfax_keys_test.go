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
