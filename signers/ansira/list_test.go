package ansira

import (
	"context"
	"errors"
	"net/url"
	"testing"

	"github.com/apisign/apisign/signers"
)

// The document's shapes: filter=<filter_condition><boolean_operator><filter_condition>,
// order_by=<sort_expression><sort_expression>, page=<page_number>&page_size=<page_size>.
func TestListParams(t *testing.T) {
	f := Filter("status eq 'active'", Term{" and ", "name like 'A+B%'"}, Term{" or ", "id gt 10"})
	if f != "status eq 'active' and name like 'A+B%' or id gt 10" {
		t.Fatalf("Filter = %q", f)
	}
	p := ListParams{Filter: f, OrderBy: []string{"+name", "-created"}, Page: 2, PageSize: 50}
	q, err := p.Query()
	want := [][2]string{{"filter", f}, {"order_by", "+name-created"}, {"page", "2"}, {"page_size", "50"}}
	if err != nil || len(q) != len(want) {
		t.Fatalf("Query = %q, %v", q, err)
	}
	for i := range want {
		if q[i] != want[i] {
			t.Fatalf("pair %d = %q, want %q", i, q[i], want[i])
		}
	}
	enc, err := p.Encode()
	const wantEnc = "filter=status%20eq%20%27active%27%20and%20name%20like%20%27A%2BB%25%27%20or%20id%20gt%2010" +
		"&order_by=%2Bname-created&page=2&page_size=50"
	if err != nil || enc != wantEnc {
		t.Fatalf("Encode =\n %q\nwant\n %q", enc, wantEnc)
	}
	// Any query parser reads back the values, "+" as a plus.
	v, err := url.ParseQuery(enc)
	if err != nil || v.Get("filter") != f || v.Get("order_by") != "+name-created" {
		t.Fatalf("read back %v, %v", v, err)
	}
	// Zero fields are left out.
	if enc, err := (ListParams{PageSize: 10}).Encode(); err != nil || enc != "page_size=10" {
		t.Fatalf("only page_size: %q, %v", enc, err)
	}
	if enc, err := (ListParams{}).Encode(); err != nil || enc != "" {
		t.Fatalf("nothing: %q, %v", enc, err)
	}
	for _, bad := range []ListParams{{Page: -1}, {PageSize: -5}} {
		if _, err := bad.Encode(); !errors.Is(err, signers.ErrInput) {
			t.Errorf("%+v: %v, want E_INPUT", bad, err)
		}
	}
}

// listing serves n records, pageSize at a time, 1-based pages, and counts calls.
type listing struct {
	n, calls int
	seen     []ListParams
}

func (l *listing) fetch(_ context.Context, p ListParams) ([]int, error) {
	l.calls++
	l.seen = append(l.seen, p)
	var out []int
	for i := (p.Page - 1) * p.PageSize; i < p.Page*p.PageSize && i < l.n; i++ {
		out = append(out, i)
	}
	return out, nil
}

func TestPages(t *testing.T) {
	for _, c := range []struct{ n, size, pages, calls int }{
		{0, 10, 0, 1}, {7, 10, 1, 1}, {10, 10, 1, 2}, {25, 10, 3, 3}, {30, 10, 3, 4},
	} {
		l := &listing{n: c.n}
		var got []int
		pages := 0
		for recs, err := range Pages(context.Background(), ListParams{Filter: "x", PageSize: c.size}, l.fetch) {
			if err != nil {
				t.Fatal(err)
			}
			pages++
			got = append(got, recs...)
		}
		if len(got) != c.n || pages != c.pages || l.calls != c.calls {
			t.Errorf("n=%d: %d records in %d pages with %d calls; want %d pages, %d calls", c.n, len(got), pages, l.calls, c.pages, c.calls)
		}
		for i, v := range got {
			if v != i {
				t.Fatalf("record %d = %d", i, v)
			}
		}
		for i, p := range l.seen {
			if p.Page != i+1 || p.PageSize != c.size || p.Filter != "x" {
				t.Fatalf("call %d with %+v", i, p)
			}
		}
	}

	// The consumer's break stops the fetching; Page sets the first page.
	l := &listing{n: 100}
	for range Pages(context.Background(), ListParams{Page: 3, PageSize: 10}, l.fetch) {
		break
	}
	if l.calls != 1 || l.seen[0].Page != 3 {
		t.Fatalf("after break: %d calls, %+v", l.calls, l.seen)
	}

	// Errors are yielded once and end the iteration.
	boom := signers.E(signers.CodeHTTP, "test", "503")
	n := 0
	for recs, err := range Pages(context.Background(), ListParams{PageSize: 1}, func(_ context.Context, p ListParams) ([]int, error) {
		if p.Page == 2 {
			return nil, boom
		}
		return []int{p.Page}, nil
	}) {
		n++
		if n == 2 && (err != boom || recs != nil) {
			t.Fatalf("second yield %v, %v", recs, err)
		}
	}
	if n != 2 {
		t.Fatalf("%d yields, want 2", n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, c := range []struct {
		ctx  context.Context
		p    ListParams
		f    PageFunc[int]
		want error
	}{
		{ctx, ListParams{PageSize: 10}, (&listing{n: 5}).fetch, signers.ErrAborted},
		{context.Background(), ListParams{}, (&listing{n: 5}).fetch, signers.ErrInput},
		{context.Background(), ListParams{PageSize: 10}, nil, signers.ErrInput},
	} {
		n := 0
		for recs, err := range Pages(c.ctx, c.p, c.f) {
			n++
			if recs != nil || !errors.Is(err, c.want) {
				t.Fatalf("%+v: %v, %v; want %v", c.p, recs, err, c.want)
			}
		}
		if n != 1 {
			t.Fatalf("%+v: %d yields", c.p, n)
		}
	}
}
