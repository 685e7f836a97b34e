package weburl

import (
	"net/netip"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

// corpus holds URLs of every form the signers and the browser module parse,
// and malformed ones: weburl must answer as net/url does.
var corpus = []string{
	"https://api.example.com", "https://api.example.com/", "http://127.0.0.1:8080/Interview/",
	"https://host/Interview/api/v1/startup?guid=abc&company=X#frag", "https://h/p?a=1&a=2&b=%41+c",
	"https://h/p?x=1;y=2", "https://h/p?x=%zz&guid=ok", "https://h/a%2Fb/c d", "https://h/%7euser",
	"https://user:pa%20ss@h.example/p", "https://us er@h/", "https://h:443/p", "https://h:44x/",
	"https://h:1:2/", "mongodb://a:1,b:2/db", "https://[::1]:8443/p", "https://[fe80::1%25en0]/",
	"https://[1.2.3.4]/", "https://[::ffff:1.2.3.4]/", "https://[1:2:3:4:5:6:7:8]/", "https://[1:2:3:4:5:6:7::8]/",
	"https://[::1/", "https://a[::1]/", "https://[zz::1]/", "https://[::1]x/", "https://h%41/", "https://h%2f/",
	"https://h<b/", "https://ex ample.com/", "https://h/\x00", "https://h/\x7f", ":foo", "1http://h/",
	"mailto:someone@example.com", "https:opaque?q", "/relative/path?q=1", "relative:colon/x", "//h/p", "///p",
	"https://h?", "https://h/p?", "https://h/p#", "https://h/p#%zz", "https://h/p#a%20b", "*", "",
	"HTTPS://H.EXAMPLE/P", "https://h/p?a=%E2%82%AC", "https://h/ä?ö=ü", "https://[::1]:/", "https://h:/",
	"https://xn--bcher-kva.example/", "https://h/p%", "https://h/p%4", "http://localhost:3000/cb?code={0}",
}

func TestParseAsNetURL(t *testing.T) {
	for _, raw := range corpus {
		want, werr := url.Parse(raw)
		got, gerr := Parse(raw)
		if (werr != nil) != (gerr != nil) {
			t.Errorf("%q: error %v, net/url %v", raw, gerr, werr)
			continue
		}
		if werr != nil {
			continue
		}
		type parts struct {
			Scheme, Opaque, User, Host, Path, RawPath, RawQuery, Fragment, RawFragment string
			ForceQuery, OmitHost                                                       bool
			Hostname, Escaped, RequestURI                                              string
			Query                                                                      map[string][]string
		}
		wu, gu := "", ""
		if want.User != nil {
			wu = want.User.String()
		}
		if got.User != nil {
			gu = got.User.String()
		}
		w := parts{want.Scheme, want.Opaque, wu, want.Host, want.Path, want.RawPath, want.RawQuery, want.Fragment, want.RawFragment,
			want.ForceQuery, want.OmitHost, want.Hostname(), want.EscapedPath(), want.RequestURI(), want.Query()}
		g := parts{got.Scheme, got.Opaque, gu, got.Host, got.Path, got.RawPath, got.RawQuery, got.Fragment, got.RawFragment,
			got.ForceQuery, got.OmitHost, got.Hostname(), got.EscapedPath(), got.RequestURI(), got.Query()}
		if !reflect.DeepEqual(w, g) {
			t.Errorf("%q:\n got %+v\nwant %+v", raw, g, w)
		}
	}
}

func TestEscapesAsNetURL(t *testing.T) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	for _, s := range append([]string{"", "a b+c/d?e=f&g#h;i,j", "€uro", string(all)}, corpus...) {
		if got, want := QueryEscape(s), url.QueryEscape(s); got != want {
			t.Errorf("QueryEscape(%q) = %q, want %q", s, got, want)
		}
		if got, want := PathEscape(s), url.PathEscape(s); got != want {
			t.Errorf("PathEscape(%q) = %q, want %q", s, got, want)
		}
		q := url.QueryEscape(s)
		for _, in := range []string{q, s} {
			got, gerr := QueryUnescape(in)
			want, werr := url.QueryUnescape(in)
			if got != want || (gerr != nil) != (werr != nil) {
				t.Errorf("QueryUnescape(%q) = %q, %v; want %q, %v", in, got, gerr, want, werr)
			}
		}
	}
}

func TestParseQueryAsNetURL(t *testing.T) {
	for _, q := range []string{"", "a=1&b=2&a=3", "a;b=1&c=2", "%zz=1&d=%41", "x=1+2&y", "&&=&k=", strings.Repeat("a&", 10001)} {
		got, gerr := ParseQuery(q)
		want, werr := url.ParseQuery(q)
		if !reflect.DeepEqual(map[string][]string(got), map[string][]string(want)) || (gerr != nil) != (werr != nil) {
			t.Errorf("ParseQuery(%.40q): %v %v, want %v %v", q, got, gerr, want, werr)
		}
	}
}

// FuzzParse compares weburl and net/url on what the fuzzer makes of the corpus.
func FuzzParse(f *testing.F) {
	for _, raw := range corpus {
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		want, werr := url.Parse(raw)
		got, gerr := Parse(raw)
		if (werr != nil) != (gerr != nil) {
			t.Fatalf("%q: error %v, net/url %v", raw, gerr, werr)
		}
		if werr == nil && (got.Scheme != want.Scheme || got.Opaque != want.Opaque || got.Host != want.Host || (got.User == nil) != (want.User == nil) ||
			got.EscapedPath() != want.EscapedPath() || got.RawQuery != want.RawQuery || got.Fragment != want.Fragment || got.RequestURI() != want.RequestURI()) {
			t.Fatalf("%q: %+v, net/url %+v", raw, got, want)
		}
	})
}

// ipv6Literal against net/netip, which net/url asks for a bracketed host.
func TestIPv6LiteralAsNetip(t *testing.T) {
	for _, s := range []string{"::", "::1", "1::", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7::8", "1:2:3:4:5:6:7", "1::2::3",
		"fe80::1%en0", "fe80::1%", "::ffff:1.2.3.4", "::1.2.3.4", "1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:7:1.2.3.4",
		"::ffff:1.2.3.256", "::ffff:01.2.3.4", "1.2.3.4", "", ":", ":1", "1:", "12345::", "g::", "::%x", "1:2:3:4:5:6:7:8:9",
		"abcd:ef01:2345:6789:abcd:ef01:2345:6789", "ABCD::EF", "1::2:3:4:5:6:7", "::1:2:3:4:5:6:7", "1:2:3:4:5:6::"} {
		a, err := netip.ParseAddr(s)
		if want := err == nil && !a.Is4(); ipv6Literal(s) != want {
			t.Errorf("%q: %v, net/netip %v", s, !want, want)
		}
	}
}
