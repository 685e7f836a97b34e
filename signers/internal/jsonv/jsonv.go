// Package jsonv reads and writes the little JSON the signers handle (token
// answers, JWT parts, launch data, a login body) without encoding/json, which
// links reflect and fmt into the browser module: about 170 KB of its brotli
// size (issue 13; BENCHMARKS.md, "Module size"). Parse accepts exactly what
// encoding/json accepts (RFC 8259, invalid UTF-8 in strings replaced by
// U+FFFD), and the readers answer as encoding/json does for the shapes the
// signers decode into; jsonv_test.go checks both against encoding/json.
package jsonv

import (
	"errors"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Kind is the kind of a JSON value.
type Kind uint8

const (
	Null Kind = iota
	Bool
	Number
	String
	Array
	Object
)

// Value is one parsed JSON value. Raw is its text as it appeared in the input.
type Value struct {
	Kind    Kind
	Raw     []byte
	text    string   // String: decoded; Number: the literal; Bool: "true" or "false"
	items   []Value  // Array
	members []Member // Object, in input order (duplicates kept)
}

// Member is one name-value pair of an object.
type Member struct {
	Name  string
	Value Value
}

// maxDepth is encoding/json's nesting limit.
const maxDepth = 10000

var errSyntax = errors.New("jsonv: not valid JSON")

// Parse parses b, which must hold exactly one JSON value (white space around
// it allowed).
func Parse(b []byte) (Value, error) {
	v, n, err := ParseFirst(b)
	if err == nil && n != len(b) {
		err = errSyntax
	}
	return v, err
}

// Str returns the string a String value holds.
func (v Value) Str() (string, bool) {
	if v.Kind != String {
		return "", false
	}
	return v.text, true
}

// Members returns the members of an Object, in input order.
func (v Value) Members() []Member { return v.members }

// Member returns the last member named exactly name, as decoding into a
// map[string]json.RawMessage keeps it.
func (v Value) Member(name string) (Value, bool) {
	for i := len(v.members) - 1; i >= 0; i-- {
		if v.members[i].Name == name {
			return v.members[i].Value, true
		}
	}
	return Value{}, false
}

// Field returns what decoding into a struct field tagged name keeps: the last
// member whose name is name or equals it without regard to case.
func (v Value) Field(name string) (Value, bool) {
	for i := len(v.members) - 1; i >= 0; i-- {
		if n := v.members[i].Name; n == name || strings.EqualFold(n, name) {
			return v.members[i].Value, true
		}
	}
	return Value{}, false
}

// Any returns v as encoding/json decodes it into an interface value: nil,
// bool, float64, string, []any or map[string]any (the last of duplicate
// names wins). A number beyond float64's range is ±Inf.
func (v Value) Any() any {
	switch v.Kind {
	case Bool:
		return v.text == "true"
	case Number:
		f, _ := strconv.ParseFloat(v.text, 64)
		return f
	case String:
		return v.text
	case Array:
		a := make([]any, len(v.items))
		for i, it := range v.items {
			a[i] = it.Any()
		}
		return a
	case Object:
		m := make(map[string]any, len(v.members))
		for _, mb := range v.members {
			m[mb.Name] = mb.Value.Any()
		}
		return m
	}
	return nil
}

type parser struct {
	b []byte
	i int
}

func (p *parser) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *parser) value(depth int) (Value, error) {
	if p.i >= len(p.b) {
		return Value{}, errSyntax
	}
	start := p.i
	var v Value
	var err error
	switch c := p.b[p.i]; {
	case c == '{':
		v, err = p.object(depth + 1)
	case c == '[':
		v, err = p.array(depth + 1)
	case c == '"':
		v.Kind = String
		v.text, err = p.str()
	case c == '-' || '0' <= c && c <= '9':
		v.Kind = Number
		v.text, err = p.number()
	default:
		for _, lit := range [...]struct {
			s string
			k Kind
		}{{"true", Bool}, {"false", Bool}, {"null", Null}} {
			if strings.HasPrefix(string(p.b[p.i:min(len(p.b), p.i+5)]), lit.s) {
				p.i += len(lit.s)
				v.Kind, v.text = lit.k, lit.s
				v.Raw = p.b[start:p.i]
				return v, nil
			}
		}
		return Value{}, errSyntax
	}
	if err != nil {
		return Value{}, err
	}
	v.Raw = p.b[start:p.i]
	return v, nil
}

func (p *parser) object(depth int) (Value, error) {
	if depth > maxDepth {
		return Value{}, errSyntax
	}
	v := Value{Kind: Object}
	p.i++ // {
	p.space()
	if p.i < len(p.b) && p.b[p.i] == '}' {
		p.i++
		return v, nil
	}
	for {
		if p.i >= len(p.b) || p.b[p.i] != '"' {
			return Value{}, errSyntax
		}
		name, err := p.str()
		if err != nil {
			return Value{}, err
		}
		p.space()
		if p.i >= len(p.b) || p.b[p.i] != ':' {
			return Value{}, errSyntax
		}
		p.i++
		p.space()
		m, err := p.value(depth)
		if err != nil {
			return Value{}, err
		}
		v.members = append(v.members, Member{name, m})
		if done, err := p.next('}'); done || err != nil {
			return v, err
		}
	}
}

// next reads what follows a member or an item: "," before the next one, or
// end, which closes the object or array (done).
func (p *parser) next(end byte) (done bool, err error) {
	p.space()
	if p.i >= len(p.b) || p.b[p.i] != ',' && p.b[p.i] != end {
		return false, errSyntax
	}
	p.i++
	if p.b[p.i-1] == end {
		return true, nil
	}
	p.space()
	return false, nil
}

func (p *parser) array(depth int) (Value, error) {
	if depth > maxDepth {
		return Value{}, errSyntax
	}
	v := Value{Kind: Array, items: []Value{}}
	p.i++ // [
	p.space()
	if p.i < len(p.b) && p.b[p.i] == ']' {
		p.i++
		return v, nil
	}
	for {
		it, err := p.value(depth)
		if err != nil {
			return Value{}, err
		}
		v.items = append(v.items, it)
		if done, err := p.next(']'); done || err != nil {
			return v, err
		}
	}
}

// number reads a number literal: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (p *parser) number() (string, error) {
	start := p.i
	digits := func() int {
		n := 0
		for p.i < len(p.b) && '0' <= p.b[p.i] && p.b[p.i] <= '9' {
			p.i++
			n++
		}
		return n
	}
	if p.b[p.i] == '-' {
		p.i++
	}
	if p.i < len(p.b) && p.b[p.i] == '0' {
		p.i++
	} else if digits() == 0 {
		return "", errSyntax
	}
	if p.i < len(p.b) && p.b[p.i] == '.' {
		p.i++
		if digits() == 0 {
			return "", errSyntax
		}
	}
	if p.i < len(p.b) && (p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		p.i++
		if p.i < len(p.b) && (p.b[p.i] == '+' || p.b[p.i] == '-') {
			p.i++
		}
		if digits() == 0 {
			return "", errSyntax
		}
	}
	return string(p.b[start:p.i]), nil
}

// str reads a string literal and decodes it as encoding/json does: escapes,
// surrogate pairs (a lone surrogate becomes U+FFFD), invalid UTF-8 becomes
// U+FFFD; control characters are refused.
func (p *parser) str() (string, error) {
	p.i++ // "
	start := p.i
	for p.i < len(p.b) { // the common case: nothing to decode
		c := p.b[p.i]
		if c == '"' {
			s := p.b[start:p.i]
			if utf8.Valid(s) {
				p.i++
				return string(s), nil
			}
			break
		}
		if c == '\\' || c < 0x20 {
			break
		}
		p.i++
	}
	p.i = start
	var out []byte
	for {
		if p.i >= len(p.b) {
			return "", errSyntax
		}
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			return string(out), nil
		case c < 0x20:
			return "", errSyntax
		case c == '\\':
			if p.i+1 >= len(p.b) {
				return "", errSyntax
			}
			e := p.b[p.i+1]
			p.i += 2
			switch e {
			case '"', '\\', '/':
				out = append(out, e)
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				r, ok := p.hex4()
				if !ok {
					return "", errSyntax
				}
				if utf16.IsSurrogate(r) {
					r2 := rune(-1)
					if p.i+1 < len(p.b) && p.b[p.i] == '\\' && p.b[p.i+1] == 'u' {
						save := p.i
						p.i += 2
						if r2, ok = p.hex4(); !ok {
							return "", errSyntax
						}
						if utf16.DecodeRune(r, r2) == utf8.RuneError {
							p.i = save // not a pair: the second escape stands alone
							r2 = -1
						}
					}
					if r2 < 0 {
						r = utf8.RuneError
					} else {
						r = utf16.DecodeRune(r, r2)
					}
				}
				out = utf8.AppendRune(out, r)
			default:
				return "", errSyntax
			}
		case c < utf8.RuneSelf:
			out = append(out, c)
			p.i++
		default:
			r, size := utf8.DecodeRune(p.b[p.i:])
			p.i += size
			out = utf8.AppendRune(out, r)
		}
	}
}

func (p *parser) hex4() (rune, bool) {
	if p.i+4 > len(p.b) {
		return 0, false
	}
	var r rune
	for _, c := range p.b[p.i : p.i+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	p.i += 4
	return r, true
}

// AppendString appends s as a JSON string literal the way encoding/json writes
// it: <, > and & as \u003c, \u003e and \u0026, U+2028 and U+2029 escaped,
// invalid UTF-8 as \ufffd.
func AppendString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c == '\n':
				dst = append(dst, '\\', 'n')
			case c == '\r':
				dst = append(dst, '\\', 'r')
			case c == '\t':
				dst = append(dst, '\\', 't')
			case c == '\b':
				dst = append(dst, '\\', 'b')
			case c == '\f':
				dst = append(dst, '\\', 'f')
			case c < 0x20 || c == '<' || c == '>' || c == '&':
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&15])
		default:
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return append(dst, '"')
}

// ParseFirst parses the JSON value at the start of b (white space before it
// allowed) and returns it with the offset after it and any white space that
// follows, as json.Decoder's Decode and InputOffset see it.
func ParseFirst(b []byte) (Value, int, error) {
	p := parser{b: b}
	p.space()
	v, err := p.value(0)
	if err != nil {
		return Value{}, 0, err
	}
	p.space()
	return v, p.i, nil
}

// Decode is Parse(b).Any(), or nil when b is not JSON (as json.Unmarshal into
// an interface value leaves it).
func Decode(b []byte) any {
	v, err := Parse(b)
	if err != nil {
		return nil
	}
	return v.Any()
}

// Struct reports whether v decodes into a Go struct without an error, as
// encoding/json decodes: an object, or null (which leaves the struct as it is).
func (v Value) Struct() bool { return v.Kind == Object || v.Kind == Null }

// StringField reads what a string field tagged name decodes from (see Field):
// the string, "" for an absent or null member, and ok=false for a member of any
// other kind (encoding/json's type error).
func (v Value) StringField(name string) (s string, ok bool) {
	f, _ := v.Field(name)
	s, _ = f.Str()
	return s, f.Kind == String || f.Kind == Null
}
