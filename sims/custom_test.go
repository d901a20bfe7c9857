package sims

import (
	"errors"
	"math/rand/v2"
	"testing"
)

// counter's observation counts its steps; it ends after 3, and draws
// its start from the episode's stream.
type counter struct{ n float32 }

func (c *counter) Reset(r *rand.Rand, obs []float32) { c.n = float32(r.IntN(100)); obs[0] = c.n }
func (c *counter) Step(_ *rand.Rand, a []float64, obs []float32) (float64, bool) {
	c.n++
	obs[0] = c.n
	return a[0], int(c.n)%3 == 0
}

// A registered env steps in a Vec with autoreset, like a built-in one;
// bad specs are refused with a reason.
func TestRegister(t *testing.T) {
	obs := Space{Low: []float64{0}, High: []float64{1e9}, Shape: []int{1}}
	spec := EnvSpec{ID: "Counter-test-v0", MaxSteps: 10, Observation: obs, Action: Space{Discrete: 2}, New: func() Model { return new(counter) }}
	if err := Register(spec); err != nil {
		t.Fatal(err)
	}
	v, err := NewVec(spec.ID, 2, NextStep)
	if err != nil {
		t.Fatal(err)
	}
	first, err := v.Reset(5)
	if err != nil {
		t.Fatal(err)
	}
	first = append([]float32(nil), first...)
	again, _ := v.Reset(5)
	if first[0] != again[0] || first[1] != again[1] {
		t.Fatalf("seeded resets differ: %v then %v", first, again)
	}
	rewards, term, trunc := make([]float64, 2), make([]bool, 2), make([]bool, 2)
	if _, err := v.Step([]float64{1, 0}, rewards, term, trunc); err != nil {
		t.Fatal(err)
	}
	if rewards[0] != 1 || rewards[1] != 0 {
		t.Fatalf("rewards %v, want [1 0]", rewards)
	}
	if _, err := v.Step([]float64{2, 0}, rewards, term, trunc); !errors.Is(err, ErrInvalidAction) {
		t.Fatalf("action 2 of Discrete(2): %v, want ErrInvalidAction", err)
	}
	if _, err := Make("Counter-test-v0"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []EnvSpec{
		spec, // taken
		{ID: "A-v0", MaxSteps: 1, Observation: obs}, // no New
		{ID: "B-v0", MaxSteps: 1, Observation: Space{Discrete: 3}, New: spec.New},
		{ID: "C-v0", MaxSteps: 1, Observation: Space{Low: []float64{0}, Shape: []int{2}}, New: spec.New},
	} {
		if err := Register(bad); err == nil {
			t.Errorf("Register(%+v) accepted", bad)
		}
	}
	if _, err := Make("Counter-v9"); !errors.Is(err, ErrUnknownEnv) {
		t.Fatalf("unknown: %v", err)
	}
}
