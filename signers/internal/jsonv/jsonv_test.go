package jsonv

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
)

// corpus: valid and invalid JSON of the shapes the signers read, and the
// corners of the grammar.
var corpus = []string{
	`{}`, `[]`, `null`, `true`, `false`, `0`, `-0`, `1.5e3`, `-1E-2`, `01`, `1.`, `.5`, `-`, `1e`, `+1`, `1e400`,
	`""`, `"a\"b\\c\/d\b\f\n\r\t"`, `"\u00e9\u20ac\ud83d\ude00"`, `"\ud800"`, `"\ud800\u0041"`, `"\udc00\ud800"`, `"\u12"`, `"\x"`,
	"\"a\tb\"", "\"\xff\xfe\"", "\"ok \xe2\x82\"", `"a`, `{"a":1,}`, `[1,]`, `{"a" 1}`, `{a:1}`, `{"a":1 "b":2}`,
	` {"token":"x.y.z"} `, `{"token":"a","Token":"b"}`, `{"TOKEN":1,"token":null}`, `{"a":{"b":[1,{"c":"d"}]}}`,
	`{"access_token":"t","token_type":"bearer","expires_in":"3600","claims":{"sub":"u"},"scope":"s"}`,
	`{"a":1}{"b":2}`, `[1] x`, "\xef\xbb\xbf{}", `nul`, `truex`, `[`, `{"a":"b"`, strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
	strings.Repeat("[", 100) + strings.Repeat("]", 100),
}

func TestParseAsEncodingJSON(t *testing.T) {
	for _, s := range corpus {
		v, err := Parse([]byte(s))
		if (err == nil) != json.Valid([]byte(s)) {
			t.Errorf("%.60q: Parse error %v, json.Valid %v", s, err, json.Valid([]byte(s)))
			continue
		}
		if err != nil {
			continue
		}
		if string(v.Raw) != strings.TrimSpace(s) {
			t.Errorf("%.60q: Raw %q", s, v.Raw)
		}
		var want any
		if json.Unmarshal([]byte(s), &want) != nil {
			continue // a number beyond float64
		}
		if got := v.Any(); !reflect.DeepEqual(got, want) {
			t.Errorf("%.60q: Any %#v, want %#v", s, got, want)
		}
	}
	if f := mustParse(t, `1e400`).Any(); f != math.Inf(1) {
		t.Errorf("1e400: Any %v", f)
	}
}

// Field and Member pick what decoding into a struct field and into a
// map[string]json.RawMessage pick.
func TestFieldAndMemberAsEncodingJSON(t *testing.T) {
	for _, s := range []string{`{"token":"a","Token":"b"}`, `{"Token":"b","token":"a"}`, `{"TOKEN":"c"}`, `{"tokens":"x"}`, `{"token":"a","token":"b"}`} {
		var st struct {
			Token *json.RawMessage `json:"token"`
		}
		var m map[string]json.RawMessage
		if json.Unmarshal([]byte(s), &st) != nil || json.Unmarshal([]byte(s), &m) != nil {
			t.Fatal(s)
		}
		v := mustParse(t, s)
		f, ok := v.Field("token")
		if ok != (st.Token != nil) || ok && string(f.Raw) != string(*st.Token) {
			t.Errorf("%s: Field %q %v, struct %v", s, f.Raw, ok, st.Token)
		}
		mv, ok := v.Member("token")
		if want, wok := m["token"]; ok != wok || string(mv.Raw) != string(want) {
			t.Errorf("%s: Member %q %v, map %q %v", s, mv.Raw, ok, want, wok)
		}
	}
}

func TestAppendStringAsEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", "q\"b\\s/", "<a&b>", "\b\f\n\r\t\x00\x1f\x7f", "é€😀", "\u2028\u2029", "bad \xff \xe2\x82 end"} {
		want, _ := json.Marshal(s)
		if got := AppendString([]byte("x"), s); string(got) != "x"+string(want) {
			t.Errorf("%q: %s, want %s", s, got, want)
		}
	}
}

func mustParse(t *testing.T, s string) Value {
	t.Helper()
	v, err := Parse([]byte(s))
	if err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	return v
}

// FuzzParse compares Parse with json.Valid, Any with json.Unmarshal, and
// AppendString with json.Marshal.
func FuzzParse(f *testing.F) {
	for _, s := range corpus {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := Parse([]byte(s))
		if (err == nil) != json.Valid([]byte(s)) {
			t.Fatalf("%q: Parse error %v", s, err)
		}
		var want any
		if err == nil && json.Unmarshal([]byte(s), &want) == nil && !reflect.DeepEqual(v.Any(), want) {
			t.Fatalf("%q: Any %#v, want %#v", s, v.Any(), want)
		}
		m, _ := json.Marshal(s)
		if got := AppendString(nil, s); string(got) != string(m) {
			t.Fatalf("%q: AppendString %s, want %s", s, got, m)
		}
	})
}

// Str answers only for strings: a null, a number or a literal is no string.
func TestStr(t *testing.T) {
	for s, want := range map[string]bool{`"x"`: true, `""`: true, `null`: false, `1`: false, `true`: false, `{}`: false} {
		got, ok := mustParse(t, s).Str()
		if ok != want || !ok && got != "" {
			t.Errorf("%s: %q %v", s, got, ok)
		}
	}
}

// Struct and StringField answer as decoding into struct{ A string } does.
func TestStringFieldAsEncodingJSON(t *testing.T) {
	for _, s := range []string{`{"a":"x"}`, `{"A":"y"}`, `{"a":null}`, `{}`, `null`, `{"a":1}`, `{"a":["x"]}`, `[]`, `"s"`, `{"b":2}`} {
		var st struct {
			A string `json:"a"`
		}
		werr := json.Unmarshal([]byte(s), &st)
		v := mustParse(t, s)
		got, ok := v.StringField("a")
		if read := ok && v.Struct(); read != (werr == nil) || read && got != st.A {
			t.Errorf("%s: %q %v %v, encoding/json %q %v", s, got, ok, v.Struct(), st.A, werr)
		}
	}
}
