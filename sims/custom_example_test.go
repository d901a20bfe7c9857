package sims_test

import (
	"fmt"
	"math"
	"math/rand/v2"

	"manta/sims"
)

// reach is a point on a line that an action pushes: the episode ends
// when it is within 0.05 of the origin.
type reach struct{ x float64 }

func (e *reach) Reset(r *rand.Rand, obs []float32) {
	e.x = 2*r.Float64() - 1
	obs[0] = float32(e.x)
}

func (e *reach) Step(_ *rand.Rand, action []float64, obs []float32) (float64, bool) {
	e.x += 0.1 * math.Max(-1, math.Min(1, action[0]))
	obs[0] = float32(e.x)
	return -math.Abs(e.x), math.Abs(e.x) < 0.05
}

// Registered at package level, so that a program's worker processes
// know the env too.
var _ = must(sims.Register(sims.EnvSpec{
	ID:          "Reach-v0",
	MaxSteps:    50,
	Observation: sims.Space{Low: []float64{-math.MaxFloat32}, High: []float64{math.MaxFloat32}, Shape: []int{1}},
	Action:      sims.Space{Low: []float64{-1}, High: []float64{1}, Shape: []int{1}},
	New:         func() sims.Model { return new(reach) },
}))

func must(err error) bool {
	if err != nil {
		panic(err)
	}
	return true
}

// A custom env, registered once, is made like a built-in one (and rl's
// trainers take its ID); the package seeds it and keeps its time limit.
func ExampleRegister() {
	env, err := sims.Make("Reach-v0")
	if err != nil {
		panic(err)
	}
	obs, _ := env.Reset(7)
	fmt.Printf("start %.3f\n", obs[0])
	steps, ret := 0, 0.0
	for {
		o, r, term, trunc, err := env.Step([]float64{-10 * float64(obs[0])})
		if err != nil {
			panic(err)
		}
		obs, steps, ret = o, steps+1, ret+r
		if term || trunc {
			fmt.Printf("%d steps, return %.3f, terminated %v\n", steps, ret, term)
			break
		}
	}
	again, _ := env.Reset(7)
	fmt.Printf("reset with the same seed: %.3f\n", again[0])
	fmt.Println(sims.Register(sims.EnvSpec{ID: "Reach-v0", MaxSteps: 50, Observation: env.ObservationSpace(), Action: env.ActionSpace(),
		New: func() sims.Model { return new(reach) }}))
	// Output:
	// start -0.609
	// 6 steps, return -1.554, terminated true
	// reset with the same seed: -0.609
	// sims: Register("Reach-v0"): the ID is taken
}
