package sandbox

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// Ansira's listings take filter, order_by, page and page_size (docs/PROTOCOLS.md,
// "Ansira"), in the document's shapes:
//
//	filter=<filter_condition><boolean_operator><filter_condition>
//	order_by=<sort_expression><sort_expression>
//	page=<page_number>&page_size=<page_size>
//
// The document leaves the grammar of a condition, an operator and a sort
// expression to each endpoint's Specifications; the emulated campaigns endpoint
// defines them as:
//
//	filter_condition  <field> <op> <value>, op one of eq ne gt ge lt le like,
//	                  value 'quoted' ('' is a quote; like matches % as any text) or a number
//	boolean_operator  " and " or " or " (and binds first)
//	sort_expression   +<field> or -<field> (the first may omit +)
//
// page counts from 1 (default 1), page_size is 1 to 100 (default 10). The
// answer is {"data": [...], "meta": {"page", "page_size", "total", "total_pages"}}.
// A malformed parameter is 400 with a message.

// ansiraCampaigns is the sample collection, ordered by id.
var ansiraCampaigns = func() []map[string]any {
	rows := []struct {
		name, status, channel string
		budget                int
	}{
		{"Spring maintenance mailer", "active", "email", 1200},
		{"Local radio: boiler checks", "draft", "radio", 5000},
		{"Summer garden safety", "active", "social", 800},
		{"Window repair reminders", "paused", "email", 300},
		{"Winter heating campaign", "active", "print", 4200},
		{"Tenant newsletter Q1", "completed", "email", 150},
		{"Tenant newsletter Q2", "completed", "email", 150},
		{"Damp and mould awareness", "active", "social", 2600},
		{"Gas safety week", "draft", "radio", 3100},
		{"Key cutting offer", "paused", "print", 90},
		{"Smoke alarm testing", "active", "email", 700},
		{"Annual tenant survey", "draft", "email", 400},
	}
	out := make([]map[string]any, len(rows))
	for i, r := range rows {
		out[i] = map[string]any{"id": "cmp-" + strconv.Itoa(1001+i), "name": r.name, "status": r.status,
			"channel": r.channel, "budget": r.budget, "created": "2026-01-" + twoDigits(i+1)}
	}
	return out
}()

func twoDigits(n int) string { return string([]byte{byte('0' + n/10), byte('0' + n%10)}) }

// listCampaigns filters, orders and pages the sample collection.
func listCampaigns(q url.Values) (map[string]any, int, string) {
	page, size := 1, 10
	for name, dst := range map[string]*int{"page": &page, "page_size": &size} {
		if v := q.Get(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || (name == "page_size" && n > 100) {
				return nil, http.StatusBadRequest, name + " must be a positive number (page_size at most 100)"
			}
			*dst = n
		}
	}
	match := func(map[string]any) bool { return true }
	if f := q.Get("filter"); f != "" {
		m, err := parseFilter(f)
		if err != "" {
			return nil, http.StatusBadRequest, "filter: " + err
		}
		match = m
	}
	rows := []map[string]any{}
	for _, c := range ansiraCampaigns {
		if match(c) {
			rows = append(rows, c)
		}
	}
	if o := q.Get("order_by"); o != "" {
		keys, err := parseOrder(o)
		if err != "" {
			return nil, http.StatusBadRequest, "order_by: " + err
		}
		sort.SliceStable(rows, func(i, j int) bool {
			for _, k := range keys {
				if c := compareField(rows[i][k.field], rows[j][k.field]); c != 0 {
					return (c < 0) != k.desc
				}
			}
			return false
		})
	}
	total := len(rows)
	from := min((page-1)*size, total)
	return map[string]any{
		"data": rows[from:min(from+size, total)],
		"meta": map[string]any{"page": page, "page_size": size, "total": total, "total_pages": (total + size - 1) / size},
	}, http.StatusOK, ""
}

// compareField orders two values of one field: numbers numerically, text
// without regard to case.
func compareField(a, b any) int {
	if x, ok := a.(int); ok {
		y, _ := b.(int)
		return x - y
	}
	x, _ := a.(string)
	y, _ := b.(string)
	return strings.Compare(strings.ToLower(x), strings.ToLower(y))
}

// sortKey is one sort expression: a field, ascending unless desc.
type sortKey struct {
	field string
	desc  bool
}

// parseOrder reads sort expressions written one after the other, each a sign
// and a field name ("+channel-budget").
func parseOrder(s string) ([]sortKey, string) {
	var keys []sortKey
	for i := 0; i < len(s); {
		k := sortKey{}
		switch s[i] {
		case '+':
			i++
		case '-':
			k.desc = true
			i++
		default:
			if i > 0 {
				return nil, "each sort expression after the first starts with + or -"
			}
		}
		j := i
		for j < len(s) && (s[j] == '_' || s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z') {
			j++
		}
		k.field = s[i:j]
		if _, ok := ansiraCampaigns[0][k.field]; !ok {
			return nil, "unknown field " + strconv.Quote(k.field)
		}
		keys = append(keys, k)
		i = j
	}
	return keys, ""
}

// filterToken is a word of a filter, or a quoted value.
type filterToken struct {
	text   string
	quoted bool
}

// tokenizeFilter splits a filter at blanks outside quoted values.
func tokenizeFilter(s string) ([]filterToken, string) {
	var toks []filterToken
	for i := 0; i < len(s); {
		switch {
		case s[i] == ' ':
			i++
		case s[i] == '\'':
			var b strings.Builder
			i++
			for {
				if i >= len(s) {
					return nil, "unterminated quoted value"
				}
				if s[i] == '\'' {
					if i+1 < len(s) && s[i+1] == '\'' {
						b.WriteByte('\'')
						i += 2
						continue
					}
					i++
					break
				}
				b.WriteByte(s[i])
				i++
			}
			toks = append(toks, filterToken{b.String(), true})
		default:
			j := i
			for j < len(s) && s[j] != ' ' && s[j] != '\'' {
				j++
			}
			toks = append(toks, filterToken{s[i:j], false})
			i = j
		}
	}
	return toks, ""
}

// parseFilter compiles a filter into a predicate: conditions joined by and/or,
// and binding first.
func parseFilter(s string) (func(map[string]any) bool, string) {
	toks, err := tokenizeFilter(s)
	if err != "" {
		return nil, err
	}
	var or [][]func(map[string]any) bool // or of ands
	and := []func(map[string]any) bool{}
	for i := 0; ; i += 4 {
		if i+3 > len(toks) {
			return nil, "expected <field> <op> <value>"
		}
		cond, err := condition(toks[i], toks[i+1], toks[i+2])
		if err != "" {
			return nil, err
		}
		and = append(and, cond)
		if i+3 == len(toks) {
			break
		}
		switch op := toks[i+3]; {
		case !op.quoted && strings.EqualFold(op.text, "and"):
		case !op.quoted && strings.EqualFold(op.text, "or"):
			or, and = append(or, and), []func(map[string]any) bool{}
		default:
			return nil, "expected and/or, got " + strconv.Quote(op.text)
		}
	}
	or = append(or, and)
	return func(row map[string]any) bool {
		for _, conj := range or {
			all := true
			for _, c := range conj {
				all = all && c(row)
			}
			if all {
				return true
			}
		}
		return false
	}, ""
}

func condition(field, op, value filterToken) (func(map[string]any) bool, string) {
	sample, ok := ansiraCampaigns[0][field.text]
	if field.quoted || !ok {
		return nil, "unknown field " + strconv.Quote(field.text)
	}
	var want any = value.text
	if _, isNum := sample.(int); isNum {
		n, err := strconv.Atoi(value.text)
		if value.quoted || err != nil {
			return nil, field.text + " takes a number"
		}
		want = n
	} else if !value.quoted {
		return nil, field.text + " takes a 'quoted' value"
	}
	test := map[string]func(c int) bool{
		"eq": func(c int) bool { return c == 0 }, "ne": func(c int) bool { return c != 0 },
		"gt": func(c int) bool { return c > 0 }, "ge": func(c int) bool { return c >= 0 },
		"lt": func(c int) bool { return c < 0 }, "le": func(c int) bool { return c <= 0 },
	}[strings.ToLower(op.text)]
	if strings.EqualFold(op.text, "like") && !op.quoted {
		if _, isNum := want.(int); isNum {
			return nil, "like takes a 'quoted' value"
		}
		return func(row map[string]any) bool {
			return like(strings.ToLower(row[field.text].(string)), strings.ToLower(value.text))
		}, ""
	}
	if test == nil || op.quoted {
		return nil, "unknown operator " + strconv.Quote(op.text)
	}
	return func(row map[string]any) bool { return test(compareField(row[field.text], want)) }, ""
}

// like matches s against a pattern where % is any text.
func like(s, pattern string) bool {
	parts := strings.Split(pattern, "%")
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for i, p := range parts[1:] {
		if i == len(parts)-2 {
			return strings.HasSuffix(s, p)
		}
		k := strings.Index(s, p)
		if k < 0 {
			return false
		}
		s = s[k+len(p):]
	}
	return s == ""
}
