package ansira

import (
	"context"
	"iter"
	"net/url"
	"strconv"
	"strings"

	"github.com/apisign/apisign/signers"
)

// Listing parameters, as Ansira's document writes them (docs/PROTOCOLS.md,
// "Ansira"):
//
//	filter=<filter_condition><boolean_operator><filter_condition>
//	order_by=<sort_expression><sort_expression>
//	page=<page_number>&page_size=<page_size>
//
// The document gives the shape, not the grammar of a condition, an operator or a
// sort expression: those are each endpoint's Specifications'. So the helpers
// join what they are given exactly as shown, adding nothing between the parts,
// and only encode the values for the URL.

// Term is a boolean operator followed by a filter condition.
type Term struct {
	Op, Cond string
}

// Filter writes a filter value: first, then each term's operator and condition,
// with nothing added between them (<filter_condition><boolean_operator>
// <filter_condition>...); an operator that needs blanks around it carries them.
func Filter(first string, terms ...Term) string {
	var b strings.Builder
	b.WriteString(first)
	for _, t := range terms {
		b.WriteString(t.Op)
		b.WriteString(t.Cond)
	}
	return b.String()
}

// ListParams are the filtering, sorting and paging parameters of a listing.
// Zero fields are left out of the query, so the endpoint's defaults apply.
type ListParams struct {
	Filter   string   // a filter value, e.g. from Filter
	OrderBy  []string // sort expressions, written one after the other (order_by=<sort_expression><sort_expression>)
	Page     int      // page number; by Pages' count the first page is 1
	PageSize int      // records per page
}

// Query returns the parameters as unencoded pairs in the document's order:
// filter, order_by, page, page_size, each only when set. A negative page or page
// size is E_INPUT.
func (p ListParams) Query() ([][2]string, error) {
	if p.Page < 0 || p.PageSize < 0 {
		return nil, signers.E(signers.CodeInput, "ansira.ListParams", "page and page_size must not be negative")
	}
	var q [][2]string
	if p.Filter != "" {
		q = append(q, [2]string{"filter", p.Filter})
	}
	if order := strings.Join(p.OrderBy, ""); order != "" {
		q = append(q, [2]string{"order_by", order})
	}
	if p.Page > 0 {
		q = append(q, [2]string{"page", strconv.Itoa(p.Page)})
	}
	if p.PageSize > 0 {
		q = append(q, [2]string{"page_size", strconv.Itoa(p.PageSize)})
	}
	return q, nil
}

// Encode returns Query as a URL query string without "?", each key and value
// percent-encoded (Ansira: the URL "must be URL encoded"): every byte outside
// A-Z a-z 0-9 - _ . ~ as %XX, a space as %20, so that no server can read a "+"
// as anything but a plus.
func (p ListParams) Encode() (string, error) {
	q, err := p.Query()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for i, kv := range q {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(kv[0])
		b.WriteByte('=')
		b.WriteString(strings.ReplaceAll(url.QueryEscape(kv[1]), "+", "%20"))
	}
	return b.String(), nil
}

// PageFunc fetches one page of a listing, with p.Page and p.PageSize set, and
// returns its records. It does the HTTP call (the caller's transport: Go's
// net/http, the browser's fetch, the broker), so this package needs none.
type PageFunc[T any] func(ctx context.Context, p ListParams) ([]T, error)

// Pages iterates over a listing page by page: it fetches page p.Page (1 when
// zero), then the next, and so on, yielding each non-empty page's records with a
// nil error. The document describes no total count, so a page with fewer than
// p.PageSize records (an empty one, which is not yielded, included) is the last. An error from fetch,
// an ended ctx (E_ABORTED) or a PageSize that is not positive (E_INPUT: without
// it a short page cannot be told from a full one) is yielded once with nil
// records and ends the iteration; so does the consumer's break. Nothing runs
// between two pages but the consumer's loop body.
func Pages[T any](ctx context.Context, p ListParams, fetch PageFunc[T]) iter.Seq2[[]T, error] {
	return func(yield func([]T, error) bool) {
		if p.PageSize <= 0 || p.Page < 0 || fetch == nil {
			yield(nil, signers.E(signers.CodeInput, "ansira.Pages", "page_size must be positive and a page fetch given"))
			return
		}
		if p.Page == 0 {
			p.Page = 1
		}
		for ; ; p.Page++ {
			if err := ctx.Err(); err != nil {
				yield(nil, signers.Wrap(signers.CodeAborted, "ansira.Pages", err))
				return
			}
			records, err := fetch(ctx, p)
			if err != nil {
				yield(nil, err)
				return
			}
			if len(records) == 0 || !yield(records, nil) || len(records) < p.PageSize {
				return
			}
		}
	}
}
