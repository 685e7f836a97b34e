package broker

import (
	"net/http"

	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/clock"
	"github.com/apisign/apisign/signers/nfon"
)

// HeaderNFONAudio, "1" on a forwarded NFON request, marks it as an audio
// upload whatever its Content-Type (a multipart form or
// application/octet-stream carrying a sound file): the broker then signs
// neither Content-MD5 nor Content-Type, as NFON wants for audio
// (docs/PROTOCOLS.md "NFON"). The broker reads it and never sends it on; an
// audio/* Content-Type needs no marker.
const HeaderNFONAudio = nfon.BrokerAudioHeader

// setupNFON: the broker signs each forwarded request with NFON-API
// (docs/PROTOCOLS.md "NFON"); the page never holds the secret.
func setupNFON(b *Broker, e *env, v map[string]string) string {
	const p = "nfon"
	f, why := newForwarder(e, p, v, "/api/") // NFON_ALLOWED_PATHS: the API's own paths by default
	if why != "" {
		return why
	}
	signer, err := nfon.NewSigner(v["NFON_KEY_ID"], v["NFON_SECRET"])
	if err != nil {
		return e.invalid(p, "NFON_KEY_ID or NFON_SECRET", "is malformed ("+msgOf(err)+")")
	}
	f.skew = clock.NewSkewed(b.clock) // NFON refuses a Date more than 15 minutes off
	f.authorize = func(req *signers.Request, in http.Header) error {
		sign := signer.SignRequest
		switch header(in, HeaderNFONAudio) {
		case "":
		case "1":
			sign = signer.SignAudioRequest
		default:
			return signers.E(signers.CodeInput, "broker.nfon", HeaderNFONAudio+" must be 1 (an audio upload) or absent")
		}
		_, err := sign(req, f.skew.Now())
		return err
	}
	b.forwarders[p] = f
	return ""
}
