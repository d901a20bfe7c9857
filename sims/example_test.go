package sims_test

import (
	"errors"
	"fmt"

	"manta/sims"
)

// A seeded CartPole episode under a simple lean-following policy.
func Example() {
	env, err := sims.Make("CartPole-v1")
	if err != nil {
		panic(err)
	}
	obs, err := env.Reset(42)
	if err != nil {
		panic(err)
	}
	fmt.Printf("start %.6f\n", obs) // Gymnasium's env.reset(seed=42) gives the same
	ret := 0.0
	for {
		a := 0.0
		if obs[2]+0.5*obs[3] > 0 { // pole leans right: push right
			a = 1
		}
		var r float64
		var term, trunc bool
		obs, r, term, trunc, err = env.Step([]float64{a})
		if err != nil {
			panic(err)
		}
		ret += r
		if term || trunc {
			fmt.Println("return", ret, "terminated", term, "truncated", trunc)
			break
		}
	}
	_, err = sims.Make("CartPole-v0") // the error lists the known ids
	fmt.Println(errors.Is(err, sims.ErrUnknownEnv))
	// Output:
	// start [0.027396 -0.006112 0.035860 0.019737]
	// return 500 terminated false truncated true
	// true
}
