package nfon

import (
	"strconv"
	"strings"

	"github.com/apisign/apisign/signers"
)

// The resource is the last line of the string to sign: the request-target exactly
// as it goes on the wire, path plus "?query" when there is one. NFON's examples sign
// the encoded form ("/api/customers/K1234/phone-books?search=I%20Am%20Encoded",
// "Base%20Device"), and NFON requires "+", "/" and "=" to be percent-encoded
// (docs/PROTOCOLS.md, "NFON"), so client and server must agree byte for byte on the
// encoding. Three entry points cover the ways a caller holds a path:
//
//   - EncodeResource, from unencoded parts (segments, query keys and values): every
//     byte outside the RFC 3986 unreserved set is percent-encoded, so a "/" or "?"
//     inside a segment can never change the structure of the path;
//   - NormalizeResource, for a path already in wire form: escapes are kept as given,
//     never encoded twice; bytes that cannot appear on the wire and NFON's special
//     characters where they are data are encoded;
//   - BuildResource (Request.Query): a wire-form path plus unencoded query pairs.

const upperHex = "0123456789ABCDEF"

// unreserved marks the bytes EncodeResource leaves alone: A-Z a-z 0-9 - . _ ~
// (RFC 3986 section 2.3).
var unreserved [256]bool

// wire marks the bytes NormalizeResource leaves raw (but "/" only in the path):
// the unreserved set plus the delimiters that are legal in a path or query (RFC
// 3986 pchar, "/" and "?") other than "+" and "=": / ? & : @ ! $ ' ( ) * , ;.
// NFON's special characters are decided on by position in NormalizeResource.
var wire [256]bool

func init() {
	for c := 'A'; c <= 'Z'; c++ {
		unreserved[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		unreserved[c] = true
	}
	for c := '0'; c <= '9'; c++ {
		unreserved[c] = true
	}
	for _, c := range []byte("-._~") {
		unreserved[c] = true
	}
	wire = unreserved
	for _, c := range []byte("/?&:@!$'()*,;") {
		wire[c] = true
	}
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// encodeComponent writes s with every byte outside the unreserved set as %XX
// (upper-case hex): space -> %20, + -> %2B, / -> %2F, = -> %3D, "ü" -> %C3%BC.
func encodeComponent(b *strings.Builder, s string) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved[c] {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(upperHex[c>>4])
		b.WriteByte(upperHex[c&15])
	}
}

// EncodeResource builds the request-target from unencoded parts: "/" followed by
// the segments joined with "/", then "?k=v&k2=v2" when query is not empty. Every
// byte of a segment, key or value outside A-Z a-z 0-9 - . _ ~ becomes %XX with
// upper-case hex, so "Base Device" is "Base%20Device", "a/b" as one segment is
// "a%2Fb", "+49" is "%2B49" and "a=b" as a value is "a%3Db". No segments gives "/";
// an empty segment gives an empty path step ("a", "" -> "/a/").
//
// The result is already in wire form: NormalizeResource returns it unchanged, and
// a client must send exactly this path.
func EncodeResource(segments []string, query [][2]string) string {
	var b strings.Builder
	n := 1
	for _, s := range segments {
		n += 1 + len(s)
	}
	for _, kv := range query {
		n += 2 + len(kv[0]) + len(kv[1])
	}
	b.Grow(n + n/2)
	if len(segments) == 0 {
		b.WriteByte('/')
	}
	for _, s := range segments {
		b.WriteByte('/')
		encodeComponent(&b, s)
	}
	writeQuery(&b, "?", query)
	return b.String()
}

// writeQuery writes the unencoded pairs as k=v joined with "&", the first one
// preceded by sep; keys and values go through encodeComponent.
func writeQuery(b *strings.Builder, sep string, query [][2]string) {
	for _, kv := range query {
		b.WriteString(sep)
		sep = "&"
		encodeComponent(b, kv[0])
		b.WriteByte('=')
		encodeComponent(b, kv[1])
	}
}

// NormalizeResource takes a path (with an optional "?query") as the caller sends
// it and returns the form that is signed, which is also the form that must go on
// the wire:
//
//   - every valid escape %XX is kept exactly as given (including lower-case hex
//     such as "%2f"): a path the caller already encoded is signed as given, never
//     encoded twice;
//   - the unreserved bytes A-Z a-z 0-9 - . _ ~ and the delimiters
//     ? & : @ ! $ ' ( ) * , ; are kept, and so is "/" in the path;
//   - NFON's special characters are encoded where they are data (docs/PROTOCOLS.md,
//     "NFON"): every "+" becomes %2B (a raw "+" is a literal plus, never a space:
//     "?search=+49" is signed and sent as "?search=%2B49"); "/" in the query
//     becomes %2F; "=" becomes %3D in the path and in the query everywhere but the
//     first "=" of each "&"-separated pair ("?a=b=c" is "?a=b%3Dc"). A caller who
//     means a space writes "%20";
//   - every other byte is percent-encoded with upper-case hex: space, control
//     bytes, " < > [ ] \ ^ ` { | } and each byte of a non-ASCII character
//     ("Müller" -> "M%C3%BCller"). These bytes cannot appear on the wire raw, so
//     there is only one way to send them and encoding them changes no meaning.
//
// Errors (E_INPUT): an empty path; a path that does not start with "/"; a "#"
// (a fragment never goes on the wire, so signing it would sign something the
// server never sees); a "%" not followed by two hex digits ("%zz", a trailing
// "%4"). The last one is refused rather than encoded as %25 because it is
// ambiguous: the caller may have meant an escape, and guessing would sign a target
// different from the one their HTTP client sends (Go's url.Parse refuses it too).
// Write a literal "%" as "%25".
//
// NormalizeResource is idempotent: normalizing its result returns it unchanged.
func NormalizeResource(path string) (string, error) {
	const op = "nfon.NormalizeResource"
	if path == "" {
		return "", signers.E(signers.CodeInput, op, "empty resource path")
	}
	if path[0] != '/' {
		return "", signers.E(signers.CodeInput, op, "resource path must start with /")
	}
	var b strings.Builder // written from the first byte that changes
	changed := false
	query, pairHasEq := false, false
	for i := 0; i < len(path); i++ {
		c := path[i]
		keep := wire[c]
		switch c {
		case '%':
			if i+2 >= len(path) || !isHex(path[i+1]) || !isHex(path[i+2]) {
				return "", signers.E(signers.CodeInput, op,
					"invalid percent-escape at byte "+strconv.Itoa(i)+" (write a literal % as %25)")
			}
			if changed {
				b.WriteString(path[i : i+3])
			}
			i += 2
			continue
		case '#':
			return "", signers.E(signers.CodeInput, op,
				"resource contains # at byte "+strconv.Itoa(i)+": a fragment is not sent to the server")
		case '?':
			query = true
		case '&':
			pairHasEq = false
		case '/':
			keep = !query
		case '=':
			keep = query && !pairHasEq
			pairHasEq = pairHasEq || query
		}
		if !keep && !changed {
			changed = true
			b.Grow(len(path) + 16)
			b.WriteString(path[:i])
		}
		switch {
		case !changed:
		case keep:
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(upperHex[c>>4])
			b.WriteByte(upperHex[c&15])
		}
	}
	if !changed {
		return path, nil
	}
	return b.String(), nil
}

// BuildResource is the resource of a request whose path is in wire form and
// whose query parameters are unencoded pairs, in order: NormalizeResource(path)
// followed by each pair encoded as EncodeResource encodes it ("+49" -> "%2B49",
// "a=b" -> "a%3Db", space -> "%20"), joined with "&" and appended after "?" (or
// after "&" when path already has a query). The pairs are data, so nothing in them
// can add a parameter or end the query. Errors: those of NormalizeResource.
func BuildResource(path string, query [][2]string) (string, error) {
	res, err := NormalizeResource(path)
	if err != nil || len(query) == 0 {
		return res, err
	}
	var b strings.Builder
	b.WriteString(res)
	sep := "?"
	if i := strings.IndexByte(res, '?'); i >= 0 {
		sep = "&"
		if i == len(res)-1 || res[len(res)-1] == '&' {
			sep = ""
		}
	}
	writeQuery(&b, sep, query)
	return b.String(), nil
}
