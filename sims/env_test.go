package sims

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
)

func mustMake(t testing.TB, id string) Env {
	t.Helper()
	env, err := Make(id)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func TestMakeUnknownListsKnown(t *testing.T) {
	_, err := Make("CartPole-v0")
	if !errors.Is(err, ErrUnknownEnv) {
		t.Fatalf("err = %v, want ErrUnknownEnv", err)
	}
	for _, id := range IDs() {
		if !strings.Contains(err.Error(), id) {
			t.Errorf("error %q does not list %s", err, id)
		}
	}
}

func TestIDs(t *testing.T) {
	want := []string{"Acrobot-v1", "CartPole-v1", "MountainCar-v0", "MountainCarContinuous-v0", "Pendulum-v1",
		"LunarLander-v3", "LunarLanderContinuous-v3", "BipedalWalker-v3"}
	for _, id := range want {
		if !slices.Contains(IDs(), id) {
			t.Errorf("IDs() = %v, missing %s", IDs(), id)
		}
	}
	// max_episode_steps from Gymnasium's registrations.
	limits := map[string]int{
		"CartPole-v1": 500, "Pendulum-v1": 200, "Acrobot-v1": 500,
		"MountainCar-v0": 200, "MountainCarContinuous-v0": 999,
		"LunarLander-v3": 1000, "LunarLanderContinuous-v3": 1000, "BipedalWalker-v3": 1600,
	}
	for id, n := range limits {
		if s, err := lookup(id); err != nil || s.maxSteps != n {
			t.Errorf("%s: time limit %v (%v), want %d", id, s, err, n)
		}
	}
	if !slices.IsSorted(IDs()) {
		t.Errorf("IDs() not sorted: %v", IDs())
	}
}

func TestStepOrder(t *testing.T) {
	for _, id := range IDs() {
		env := mustMake(t, id)
		a := zeroAction(env)
		if _, _, _, _, err := env.Step(a); !errors.Is(err, ErrNeedsReset) {
			t.Errorf("%s: step before reset: err = %v, want ErrNeedsReset", id, err)
		}
		if _, err := env.Reset(-2); !errors.Is(err, ErrInvalidSeed) {
			t.Errorf("%s: Reset(-2): err = %v, want ErrInvalidSeed", id, err)
		}
		if _, err := env.Reset(NoSeed); err != nil {
			t.Fatalf("%s: Reset(NoSeed) unseeded: %v", id, err)
		}
		if _, err := env.Reset(3); err != nil {
			t.Fatal(err)
		}
		n := 0
		for {
			_, _, term, trunc, err := env.Step(a)
			if err != nil {
				t.Fatalf("%s: step %d: %v", id, n, err)
			}
			n++
			if term || trunc {
				break
			}
		}
		if _, _, _, _, err := env.Step(a); !errors.Is(err, ErrNeedsReset) {
			t.Errorf("%s: step after the end: err = %v, want ErrNeedsReset", id, err)
		}
		if _, err := env.Reset(NoSeed); err != nil {
			t.Fatal(err)
		}
		if _, _, _, _, err := env.Step(a); err != nil {
			t.Errorf("%s: step after reset: %v", id, err)
		}
	}
}

// zeroAction is the all-zero action (the first one, for discrete spaces).
func zeroAction(env Env) []float64 { return make([]float64, env.ActionSpace().Dim()) }

func TestInvalidActions(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	for _, id := range IDs() {
		env := mustMake(t, id)
		if _, err := env.Reset(0); err != nil {
			t.Fatal(err)
		}
		sp := env.ActionSpace()
		n := sp.Dim()
		bad := [][]float64{nil, make([]float64, n+1)}
		for _, v := range []float64{nan, inf, -inf} {
			a := make([]float64, n)
			a[n-1] = v
			bad = append(bad, a)
		}
		if sp.Discrete > 0 {
			bad = append(bad, []float64{-1}, []float64{float64(sp.Discrete)}, []float64{0.5})
		}
		for _, a := range bad {
			if _, _, _, _, err := env.Step(a); !errors.Is(err, ErrInvalidAction) {
				t.Errorf("%s: Step(%v): err = %v, want ErrInvalidAction", id, a, err)
			}
		}
		// The episode is still usable after a refused action.
		if _, _, _, _, err := env.Step(zeroAction(env)); err != nil {
			t.Errorf("%s: step after refused action: %v", id, err)
		}
	}
}

// TestBoxActionsClip: every Box env in Gymnasium clips its actions, so an
// action beyond the bounds behaves as the bound (Pendulum's reward uses
// the clipped torque; MountainCarContinuous's uses the raw action).
func TestBoxActionsClip(t *testing.T) {
	run := func(id string, a float64) ([]float32, float64) {
		env := mustMake(t, id)
		if _, err := env.Reset(9); err != nil {
			t.Fatal(err)
		}
		obs, r, _, _, err := env.Step([]float64{a})
		if err != nil {
			t.Fatal(err)
		}
		return slices.Clone(obs), r
	}
	o1, r1 := run("Pendulum-v1", 2)
	o2, r2 := run("Pendulum-v1", 50)
	if !slices.Equal(o1, o2) || r1 != r2 {
		t.Errorf("Pendulum: action 50 gave %v, %v; action 2 gave %v, %v", o2, r2, o1, r1)
	}
	o1, _ = run("MountainCarContinuous-v0", 1)
	o2, r2 = run("MountainCarContinuous-v0", 3)
	if !slices.Equal(o1, o2) || r2 != -0.9 {
		t.Errorf("MountainCarContinuous: action 3 gave %v, %v; action 1 gave %v, reward want -0.9", o2, r2, o1)
	}
}

func TestTimeLimits(t *testing.T) {
	limits := map[string]int{
		"CartPole-v1": 500, "Pendulum-v1": 200, "Acrobot-v1": 500,
		"MountainCar-v0": 200, "MountainCarContinuous-v0": 999,
	}
	for id, limit := range limits {
		env := mustMake(t, id)
		e := env.(*episode)
		if _, err := env.Reset(0); err != nil {
			t.Fatal(err)
		}
		// Hold a non-terminal state so only the time limit can end it.
		start := slices.Clone(stateOf(e.m))
		for k := 1; ; k++ {
			setState(e.m, start, false)
			_, _, term, trunc, err := env.Step(zeroAction(env))
			if err != nil || term {
				t.Fatalf("%s: step %d: term %v err %v", id, k, term, err)
			}
			if trunc != (k == limit) {
				t.Fatalf("%s: step %d: truncated = %v, limit %d", id, k, trunc, limit)
			}
			if trunc {
				break
			}
		}
	}
}

// TestSeededReproducible: the same seed and actions give the same run,
// and observations stay in the observation space.
func TestSeededReproducible(t *testing.T) {
	for _, id := range IDs() {
		run := func() []float32 {
			env := mustMake(t, id)
			var trace []float32
			obs, err := env.Reset(1234)
			if err != nil {
				t.Fatal(err)
			}
			r := seedRNG(99)
			sp := env.ActionSpace()
			a := zeroAction(env)
			for k := 0; k < 100; k++ {
				trace = append(trace, obs...)
				if !env.ObservationSpace().Contains(widen(obs)) {
					t.Errorf("%s: obs %v outside %v", id, obs, env.ObservationSpace())
				}
				if sp.Discrete > 0 {
					a[0] = float64(r.uint64() % uint64(sp.Discrete))
				} else {
					for i := range a {
						a[i] = r.uniform(sp.Low[i], sp.High[i])
					}
				}
				var term, trunc bool
				obs, _, term, trunc, err = env.Step(a)
				if err != nil {
					t.Fatal(err)
				}
				if term || trunc {
					if obs, err = env.Reset(NoSeed); err != nil {
						t.Fatal(err)
					}
				}
			}
			return trace
		}
		if a, b := run(), run(); !slices.Equal(a, b) {
			t.Errorf("%s: two seeded runs differ", id)
		}
	}
}

func widen(xs []float32) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = float64(x)
	}
	return out
}

func TestSpaces(t *testing.T) {
	env := mustMake(t, "CartPole-v1")
	if sp := env.ActionSpace(); sp.Discrete != 2 || sp.Dim() != 1 || !sp.Contains([]float64{1}) || sp.Contains([]float64{2}) {
		t.Errorf("CartPole action space %+v", sp)
	}
	obs := env.ObservationSpace()
	// Gymnasium: float32 [4.8, inf, 0.41887903, inf].
	if obs.High[0] != float64(float32(4.8)) || !math.IsInf(obs.High[1], 1) ||
		obs.High[2] != float64(float32(0.41887902047863906)) || obs.Low[2] != -obs.High[2] {
		t.Errorf("CartPole observation space %+v", obs)
	}
	// The termination threshold is Gymnasium's float64 12*2*pi/360 to the
	// bit; Go's exact constant folding would give math.Pi/15 rounded once.
	if cartThetaThreshold != 0.20943951023931953 {
		t.Errorf("theta threshold %v", cartThetaThreshold)
	}
}

// floorModRef is CPython's float_rem, on math.Mod (C's fmod).
func floorModRef(x, y float64) float64 {
	m := math.Mod(x, y)
	if m == 0 {
		return math.Copysign(0, y)
	}
	if (y < 0) != (m < 0) {
		m += y
	}
	return m
}

func TestFloorMod(t *testing.T) {
	r := seedRNG(5)
	for i := 0; i < 200000; i++ {
		y := []float64{2 * math.Pi, 2.5, 0.1, 3}[i%4]
		x := (r.float64() - 0.5) * math.Pow(10, float64(i%12))
		if i%7 == 0 { // exact multiples and their neighbours
			x = math.Nextafter(float64(int(x))*y, float64(i%3-1))
		}
		if got, want := floorMod(x, y), floorModRef(x, y); got != want || math.Signbit(got) != math.Signbit(want) {
			t.Fatalf("floorMod(%v, %v) = %v, CPython %v", x, y, got, want)
		}
	}
	// Python: [x % y for x, y in cases].
	cases := []struct{ x, y, want float64 }{
		{5.5, 2, 1.5}, {-5.5, 2, 0.5}, {math.Copysign(0, -1), 2, 0}, {-4, 2, 0},
		{3.5, 2, 1.5}, {-1e-20, 2, 2}, {-0.5, 2, 1.5}, {2, 2, 0}, {4, 2, 0}, {1e300, 3, 0}, {1e17, 3, 1}, {-1e17, 3, 2}, {-7.25, 2.5, 0.25}, {1234.5678, 0.1, 0.0677999999999653},
		{24.141592653589793, 6.283185307179586, 5.292036732051034},
		{-30.358407346410208, 6.283185307179586, 1.0575191894877243},
	}
	for _, c := range cases {
		if got := floorMod(c.x, c.y); got != c.want || math.Signbit(got) != math.Signbit(c.want) {
			t.Errorf("floorMod(%v, %v) = %v, want %v", c.x, c.y, got, c.want)
		}
	}
}
