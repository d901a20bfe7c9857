package sims

import (
	"errors"
	"math"
	"slices"
	"testing"
)

// randomActions fills n rows of valid actions for sp.
func randomActions(sp Space, n int, seed uint64) []float64 {
	r := seedRNG(seed)
	d := sp.Dim()
	out := make([]float64, n*d)
	for i := range out {
		if sp.Discrete > 0 {
			out[i] = float64(r.uint64() % uint64(sp.Discrete))
		} else {
			out[i] = r.uniform(sp.Low[i%d], sp.High[i%d])
		}
	}
	return out
}

// TestVecMatchesSingleEnvs drives a Vec and N separate envs with the same
// seeds and actions, applying each autoreset mode's rule by hand.
func TestVecMatchesSingleEnvs(t *testing.T) {
	const n = 3
	for _, mode := range []AutoresetMode{NextStep, SameStep} {
		for _, id := range IDs() {
			steps := 700 // past several resets of every classic env
			if _, ok := refFiles[id]; !ok {
				steps = 200 // Box2D: random actions crash within that
			}
			v, err := NewVec(id, n, mode)
			if err != nil {
				t.Fatal(err)
			}
			envs := make([]Env, n)
			want := make([][]float32, n)
			for i := range envs {
				envs[i] = mustMake(t, id)
				obs, _ := envs[i].Reset(int64(100 + i))
				want[i] = slices.Clone(obs)
			}
			got, err := v.Reset(100)
			if err != nil {
				t.Fatal(err)
			}
			d, ad := v.ObservationSpace().Dim(), v.ActionSpace().Dim()
			rewards, terms, truncs := make([]float64, n), make([]bool, n), make([]bool, n)
			ended := make([]bool, n)
			for k := 0; k < steps; k++ {
				for i := range n {
					if !slices.Equal(got[i*d:(i+1)*d], want[i]) {
						t.Fatalf("%s mode %d step %d copy %d: obs %v, want %v", id, mode, k, i, got[i*d:(i+1)*d], want[i])
					}
				}
				acts := randomActions(v.ActionSpace(), n, uint64(k))
				if got, err = v.Step(acts, rewards, terms, truncs); err != nil {
					t.Fatal(err)
				}
				for i, env := range envs {
					var obs []float32
					var r float64
					var term, trunc bool
					if mode == NextStep && ended[i] {
						obs, _ = env.Reset(NoSeed)
						ended[i] = false
					} else {
						obs, r, term, trunc, _ = env.Step(acts[i*ad : (i+1)*ad])
						ended[i] = term || trunc
						if mode == SameStep && ended[i] {
							if !slices.Equal(v.FinalObs()[i*d:(i+1)*d], obs) {
								t.Fatalf("%s step %d copy %d: final obs %v, want %v", id, k, i, v.FinalObs()[i*d:(i+1)*d], obs)
							}
							obs, _ = env.Reset(NoSeed)
							ended[i] = false
						}
					}
					want[i] = slices.Clone(obs)
					if rewards[i] != r || terms[i] != term || truncs[i] != trunc {
						t.Fatalf("%s mode %d step %d copy %d: got %v %v %v, want %v %v %v",
							id, mode, k, i, rewards[i], terms[i], truncs[i], r, term, trunc)
					}
				}
			}
		}
	}
}

func TestVecBadInput(t *testing.T) {
	if _, err := NewVec("Nope-v0", 2, NextStep); !errors.Is(err, ErrUnknownEnv) {
		t.Errorf("unknown id: %v", err)
	}
	if _, err := NewVec("CartPole-v1", 0, NextStep); err == nil {
		t.Error("zero copies accepted")
	}
	if _, err := NewVec("CartPole-v1", 1, 7); err == nil {
		t.Error("bad mode accepted")
	}
	v, _ := NewVec("CartPole-v1", 2, NextStep)
	r, te, tr := make([]float64, 2), make([]bool, 2), make([]bool, 2)
	if _, err := v.Step([]float64{0, 1}, r, te, tr); !errors.Is(err, ErrNeedsReset) {
		t.Errorf("step before reset: %v", err)
	}
	if _, err := v.Reset(math.MaxInt64); !errors.Is(err, ErrInvalidSeed) {
		t.Errorf("overflowing seed: %v", err)
	}
	obs, _ := v.Reset(5)
	before := slices.Clone(obs)
	for _, a := range [][]float64{{0}, {0, 2}, {math.NaN(), 0}, {0, 1, 0}} {
		if _, err := v.Step(a, r, te, tr); !errors.Is(err, ErrInvalidAction) {
			t.Errorf("Step(%v): err = %v, want ErrInvalidAction", a, err)
		}
	}
	if _, err := v.Step([]float64{0, 1}, r[:1], te, tr); !errors.Is(err, ErrInvalidAction) {
		t.Errorf("short rewards: %v", err)
	}
	if !slices.Equal(obs, before) {
		t.Errorf("refused step moved the Vec: %v, was %v", obs, before)
	}
}

// TestStepsDoNotAllocate guards the zero-allocation claim for Env.Step and
// Vec.Step, auto-resets included. A Box2D env's world keeps what it takes
// apart at a reset for the next one, and its buffers grow to the most
// contacts and bodies an episode has needed; so those envs are measured
// after a warm-up of several episodes.
func TestStepsDoNotAllocate(t *testing.T) {
	for _, id := range IDs() {
		_, classic := refFiles[id]
		warm, runs := 0, 1000
		if !classic {
			warm, runs = 2000, 300
		}
		env := mustMake(t, id)
		acts := randomActions(env.ActionSpace(), 64, 1)
		ad := env.ActionSpace().Dim()
		if _, err := env.Reset(0); err != nil {
			t.Fatal(err)
		}
		k := 0
		step := func() {
			i := k % 64 * ad
			k++
			if _, _, term, trunc, _ := env.Step(acts[i : i+ad]); term || trunc {
				env.Reset(NoSeed)
			}
		}
		for range warm {
			step()
		}
		if a := testing.AllocsPerRun(runs, step); a != 0 {
			t.Errorf("%s: Env.Step allocates %v times", id, a)
		}
		for _, mode := range []AutoresetMode{NextStep, SameStep} {
			const n = 16
			v, _ := NewVec(id, n, mode)
			v.Reset(0)
			acts := randomActions(v.ActionSpace(), n, 2)
			r, te, tr := make([]float64, n), make([]bool, n), make([]bool, n)
			for range warm / n * 4 {
				v.Step(acts, r, te, tr)
			}
			if a := testing.AllocsPerRun(runs/n*4, func() { v.Step(acts, r, te, tr) }); a != 0 {
				t.Errorf("%s mode %d: Vec.Step allocates %v times", id, mode, a)
			}
		}
	}
}
