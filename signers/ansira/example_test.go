package ansira_test

import (
	"fmt"

	"github.com/apisign/apisign/signers/ansira"
)

// Filtering, sorting and paging as Ansira's document writes them
// (filter=<filter_condition><boolean_operator><filter_condition>,
// order_by=<sort_expression><sort_expression>, page=<n>&page_size=<n>); the
// grammar of a condition is the endpoint's, here the sandbox campaigns'.
func ExampleListParams_Encode() {
	p := ansira.ListParams{
		Filter:   ansira.Filter("status eq 'active'", ansira.Term{Op: " and ", Cond: "budget gt 500"}),
		OrderBy:  []string{"-budget", "+name"},
		Page:     2,
		PageSize: 50,
	}
	q, err := p.Encode()
	if err != nil {
		panic(err)
	}
	fmt.Println(q)
	// Output: filter=status%20eq%20%27active%27%20and%20budget%20gt%20500&order_by=-budget%2Bname&page=2&page_size=50
}
