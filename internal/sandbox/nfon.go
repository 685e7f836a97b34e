package sandbox

import (
	"bytes"
	"encoding/json"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/apisign/apisign/signers"
	"github.com/apisign/apisign/signers/nfon"
)

// nfonEmu emulates a corner of the NFON Service Portal API (mounted at /nfon):
//
//	GET  /api/customers/{id}/phone-books[?search=]   the customer's phone book entries (HEAD too)
//	POST /api/customers/{id}/phone-books             add an entry: {"data":[{"name","value"}...]} -> 201
//	GET  /api/customers/{id}/phone-books/{entry}     one entry, 404 if unknown
//	PUT  /api/customers/{id}/announcements/{name}    an audio upload (audio/*, or a multipart form with an audio/* file) -> 204
//
// Every request must carry a valid NFON-API signature whose x-nfon-date is
// within 15 minutes of the emulator's clock (nfon.Verifier, over the
// request-target as it arrived); anything else is 403, as NFON answers
// (docs/PROTOCOLS.md, "NFON"). The listing reads its query as a server decodes
// it: a raw "+" is a space, "%2B" a plus. POST and PUT need a Content-Type header (400
// without): it is "Required for POST and PUT requests". An audio upload sends
// its Content-Type too; only the signature omits it and Content-MD5, whatever
// the type: a PUT of an announcement contains an audio file, so its content is
// never signed. Phone books are in memory, per customer, seeded with two entries.
type nfonEmu struct {
	s        *Sandbox
	verifier *nfon.Verifier
	audio    *nfon.Verifier // for the announcements, audio uploads
	keyID    string

	mu    sync.Mutex
	books map[string]*nfonBook // customer id -> phone book
}

type nfonBook struct {
	next    int
	entries []nfonEntry
}

type nfonEntry struct {
	id   string
	data []nfonField
}

type nfonField struct {
	Name  string `json:"name"`
	Value any    `json:"value"`
}

// Bounds on the in-memory phone books.
const (
	maxNFONCustomers = 100
	maxNFONEntries   = 1000
)

func newNFON(s *Sandbox) *nfonEmu {
	n := &nfonEmu{s: s, keyID: newUUID(), books: map[string]*nfonBook{}}
	secret := randomToken(24)
	s.creds.NFONKeyID, s.creds.NFONSecret = n.keyID, secret
	keys := func(id string) (string, bool) {
		if id == n.keyID {
			return secret, true
		}
		return "", false
	}
	n.verifier = &nfon.Verifier{Keys: keys}
	n.audio = &nfon.Verifier{Keys: keys, Audio: func(method, _ string) bool { return method == "PUT" }}
	return n
}

func nfonError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"status": status, "message": msg})
}

func (n *nfonEmu) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	if (r.Method == "POST" || r.Method == "PUT") && strings.TrimSpace(r.Header.Get("Content-Type")) == "" {
		nfonError(w, http.StatusBadRequest, "Content-Type header is required for POST and PUT requests")
		return
	}
	h := make(signers.Header, len(r.Header))
	for k := range r.Header {
		h[k] = r.Header.Get(k)
	}
	seg := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	announcement := len(seg) == 5 && seg[0] == "api" && seg[1] == "customers" && seg[2] != "" && seg[3] == "announcements" && seg[4] != ""
	v := n.verifier
	if announcement {
		v = n.audio
	}
	if _, err := v.Verify(r.Method, r.RequestURI, h, body, n.s.now()); err != nil {
		nfonError(w, http.StatusForbidden, "NFON-API authentication failed: "+err.Error())
		return
	}
	if announcement {
		n.announcement(w, r, body)
		return
	}
	// /api/customers/{id}/phone-books[/{entry}]
	if len(seg) < 4 || len(seg) > 5 || seg[0] != "api" || seg[1] != "customers" || seg[2] == "" || seg[3] != "phone-books" {
		nfonError(w, http.StatusNotFound, "no such resource")
		return
	}
	customer := seg[2]
	if len(seg) == 5 {
		if r.Method != "GET" && r.Method != "HEAD" {
			w.Header().Set("Allow", "GET, HEAD")
			nfonError(w, http.StatusMethodNotAllowed, "method not allowed")
			return
		}
		n.getEntry(w, r, customer, seg[4])
		return
	}
	switch r.Method {
	case "GET", "HEAD": // HEAD as GET (RFC 9110 9.1); net/http drops the body
		n.list(w, r, customer)
	case "POST":
		n.create(w, r, customer, body)
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		nfonError(w, http.StatusMethodNotAllowed, "method not allowed")
	}
}

// book returns the customer's phone book, creating and seeding it; nil when
// the emulator already holds as many customers as it keeps. Call with n.mu held.
func (n *nfonEmu) book(customer string) *nfonBook {
	if b, ok := n.books[customer]; ok {
		return b
	}
	if len(n.books) >= maxNFONCustomers {
		return nil
	}
	b := &nfonBook{}
	b.add([]nfonField{{"displayName", "Reception"}, {"displayNumber", "+49 89 45300 0"}})
	b.add([]nfonField{{"displayName", "Service Desk"}, {"displayNumber", "+49 89 45300 100"}})
	n.books[customer] = b
	return b
}

func (b *nfonBook) add(data []nfonField) nfonEntry {
	b.next++
	e := nfonEntry{id: strconv.Itoa(b.next), data: data}
	b.entries = append(b.entries, e)
	return e
}

func (e nfonEntry) field(name string) string {
	for _, f := range e.data {
		if f.Name == name {
			s, _ := f.Value.(string)
			return s
		}
	}
	return ""
}

func (n *nfonEmu) entryJSON(r *http.Request, customer string, e nfonEntry) map[string]any {
	return map[string]any{
		"href":  n.href(r, customer) + "/" + e.id,
		"links": []any{},
		"data":  e.data,
	}
}

// href is the collection's path as the client addressed it (NFON answers
// hrefs relative to the API root; with the sandbox mounted under a prefix the
// request path is the only one the client can follow).
func (n *nfonEmu) href(r *http.Request, customer string) string {
	p, _, _ := strings.Cut(r.RequestURI, "?")
	if i := strings.Index(p, "/api/customers/"); i >= 0 {
		return p[:i] + "/api/customers/" + customer + "/phone-books"
	}
	return "/api/customers/" + customer + "/phone-books"
}

func (n *nfonEmu) list(w http.ResponseWriter, r *http.Request, customer string) {
	search := strings.ToLower(r.URL.Query().Get("search"))
	n.mu.Lock()
	b := n.book(customer)
	var entries []nfonEntry
	if b != nil {
		entries = append(entries, b.entries...)
	}
	n.mu.Unlock()
	if b == nil {
		nfonError(w, http.StatusServiceUnavailable, "sandbox holds too many customers")
		return
	}
	items := []any{}
	for _, e := range entries {
		if search == "" || strings.Contains(strings.ToLower(e.field("displayName")), search) ||
			strings.Contains(strings.ToLower(e.field("displayNumber")), search) {
			items = append(items, n.entryJSON(r, customer, e))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"href":   n.href(r, customer),
		"offset": 0,
		"total":  len(items),
		"size":   len(items),
		"links":  []any{},
		"items":  items,
	})
}

func (n *nfonEmu) getEntry(w http.ResponseWriter, r *http.Request, customer, id string) {
	n.mu.Lock()
	var found *nfonEntry
	if b := n.book(customer); b != nil {
		for i := range b.entries {
			if b.entries[i].id == id {
				e := b.entries[i]
				found = &e
			}
		}
	}
	n.mu.Unlock()
	if found == nil {
		nfonError(w, http.StatusNotFound, "no phone book entry "+strconv.Quote(id))
		return
	}
	writeJSON(w, http.StatusOK, n.entryJSON(r, customer, *found))
}

func (n *nfonEmu) create(w http.ResponseWriter, r *http.Request, customer string, body []byte) {
	var req struct {
		Data []nfonField `json:"data"`
	}
	if err := json.Unmarshal(body, &req); err != nil || len(req.Data) == 0 {
		nfonError(w, http.StatusBadRequest, `body must be {"data":[{"name":"displayName","value":"..."},...]}`)
		return
	}
	var name string
	for _, f := range req.Data {
		if f.Name == "displayName" {
			name, _ = f.Value.(string)
		}
	}
	if strings.TrimSpace(name) == "" {
		nfonError(w, http.StatusBadRequest, "displayName is required")
		return
	}
	n.mu.Lock()
	b := n.book(customer)
	var e nfonEntry
	full := b == nil || len(b.entries) >= maxNFONEntries
	if !full {
		e = b.add(req.Data)
	}
	n.mu.Unlock()
	if full {
		nfonError(w, http.StatusServiceUnavailable, "sandbox phone book is full")
		return
	}
	doc := n.entryJSON(r, customer, e)
	w.Header().Set("Location", doc["href"].(string))
	writeJSON(w, http.StatusCreated, doc)
}

// announcement takes an audio upload: the body must be an audio file, as
// audio/* or as the audio/* file of a multipart form (the signature left
// Content-Type and Content-MD5 out either way). The sandbox keeps no audio.
func (n *nfonEmu) announcement(w http.ResponseWriter, r *http.Request, body []byte) {
	if r.Method != "PUT" {
		w.Header().Set("Allow", "PUT")
		nfonError(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	if !audioBody(r.Header.Get("Content-Type"), body) {
		nfonError(w, http.StatusUnsupportedMediaType, "an announcement is an audio file (Content-Type audio/*, or a multipart form with an audio/* file)")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// audioBody reports whether body, of type ct, is a non-empty audio/* file or a
// multipart form holding one.
func audioBody(ct string, body []byte) bool {
	mt, params, err := mime.ParseMediaType(ct)
	switch {
	case err != nil || len(body) == 0:
		return false
	case strings.HasPrefix(mt, "audio/"):
		return true
	case mt != "multipart/form-data" || params["boundary"] == "":
		return false
	}
	form := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	for {
		part, err := form.NextPart()
		if err != nil {
			return false
		}
		if t, _, err := mime.ParseMediaType(part.Header.Get("Content-Type")); err == nil && strings.HasPrefix(t, "audio/") {
			return true
		}
	}
}
