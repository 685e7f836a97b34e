package pace_test

import (
	"context"
	"fmt"
	"time"

	"github.com/apisign/apisign/signers/clock"
	"github.com/apisign/apisign/signers/pace"
)

// A burst of six calls at Ansira's stage limit (5 per second) is spread one
// every 200 ms instead of being refused; the fake clock shows when each goes.
func ExampleLimiter_Wait() {
	start := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	clk := clock.NewFake(start)
	limiter, err := pace.New(pace.AnsiraStage, clk)
	if err != nil {
		panic(err)
	}
	for range 6 {
		if err := limiter.Wait(context.Background()); err != nil {
			panic(err)
		}
		fmt.Print(clk.Now().Sub(start), " ")
	}
	// Output: 0s 200ms 400ms 600ms 800ms 1s
}
