package sims

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"os"
	"slices"
	"testing"
)

// Reference data recorded from Gymnasium by testdata/gen_reference.py.
type refFile struct {
	Meta struct {
		Env, Gymnasium, Numpy, Python string
	}
	Resets []struct {
		Seed       int64
		Obs, State []float64
		Next       []struct{ Obs, State []float64 }
	}
	Episodes []refEpisode
}

type refEpisode struct {
	Seed    int64
	Policy  string // closed-loop policy that chose Actions, if any
	Start   []float64
	Actions []float64
	States  [][]float64
	Obs     [][]float64
	Rewards []float64
	Flags   []int // bit 0 terminated, bit 1 truncated
}

// refFiles names the reference data of each classic-control env.
var refFiles = map[string]string{
	"CartPole-v1":              "cartpole.json",
	"Pendulum-v1":              "pendulum.json",
	"Acrobot-v1":               "acrobot.json",
	"MountainCar-v0":           "mountaincar.json",
	"MountainCarContinuous-v0": "mountaincar_continuous.json",
}

// classicIDs are the envs with reference trajectories, sorted.
func classicIDs() []string {
	return slices.Sorted(maps.Keys(refFiles))
}

func loadRef(t *testing.T, id string) *refFile {
	t.Helper()
	b, err := os.ReadFile("testdata/" + refFiles[id])
	if err != nil {
		t.Fatal(err)
	}
	var r refFile
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	if r.Meta.Env != id || r.Meta.Gymnasium != "1.2.2" || r.Meta.Numpy != "2.3.5" {
		t.Fatalf("reference meta %+v: want %s from gymnasium 1.2.2, numpy 2.3.5", r.Meta, id)
	}
	return &r
}

// stateOf and setState reach into the models the way the generator sets
// env.unwrapped.state. midEpisode marks a state Gymnasium holds after a
// step (MountainCarContinuous keeps it as float32 then).
func stateOf(m model) []float64 {
	switch m := m.(type) {
	case *cartPole:
		return []float64{m.x, m.xDot, m.theta, m.thetaDot}
	case *pendulum:
		return []float64{m.th, m.thDot}
	case *acrobot:
		return m.s[:]
	case *mountainCar:
		return []float64{m.pos, m.vel}
	case *mountainCarContinuous:
		return []float64{m.pos, m.vel}
	}
	panic(fmt.Sprintf("no state for %T", m))
}

func setState(m model, s []float64, midEpisode bool) {
	switch m := m.(type) {
	case *cartPole:
		m.x, m.xDot, m.theta, m.thetaDot = s[0], s[1], s[2], s[3]
	case *pendulum:
		m.th, m.thDot = s[0], s[1]
	case *acrobot:
		copy(m.s[:], s)
	case *mountainCar:
		m.pos, m.vel = s[0], s[1]
	case *mountainCarContinuous:
		m.pos, m.vel, m.f32 = s[0], s[1], midEpisode
	default:
		panic(fmt.Sprintf("no state for %T", m))
	}
}

// refPolicies re-implements the generator's named closed-loop policies
// from the Go state. A balanced CartPole is unstable: a last-bit
// difference in sin/cos (Go's math vs glibc) grows about 8% a step, so the
// state is compared only up to horizon; after it the Go run follows its
// own policy and must still end on the same step for the same reason.
var refPolicies = map[string]struct {
	choose  func(s []float64) float64
	horizon int
}{
	"balance": {
		choose: func(s []float64) float64 { // push toward the lean
			if s[2]+0.5*s[3] > 0 {
				return 1
			}
			return 0
		},
		horizon: 200,
	},
}

// relErr is |got-want| scaled by max(1, |want|).
func relErr(got, want float64) float64 {
	return math.Abs(got-want) / math.Max(1, math.Abs(want))
}

// ulps32 is the distance between two float32 values in units in the last place.
func ulps32(a, b float32) int64 {
	ia, ib := int64(math.Float32bits(a)), int64(math.Float32bits(b))
	if a < 0 {
		ia = -(ia &^ (1 << 31))
	}
	if b < 0 {
		ib = -(ib &^ (1 << 31))
	}
	d := ia - ib
	if d < 0 {
		d = -d
	}
	return d
}

// stats collects worst-case deviations for the test log.
type stats struct {
	maxState, maxReward float64
	maxObsULP           int64
	steps, exact        int
}

func (s *stats) String() string {
	return fmt.Sprintf("%d steps, %d bit-exact; max state err %.3g, reward err %.3g, obs %d ulp",
		s.steps, s.exact, s.maxState, s.maxReward, s.maxObsULP)
}

// compare checks one step against the reference; it reports whether the
// step matched within tol (states, rewards; observations either within
// tol or maxULP float32 ulps, which matters near zero).
func (s *stats) compare(t *testing.T, where string, m model, obs []float32, r float64, term, trunc bool,
	ep *refEpisode, k int, tol float64, maxULP int64) bool {
	t.Helper()
	ok, exact := true, true
	for i, want := range ep.States[k] {
		got := stateOf(m)[i]
		e := relErr(got, want)
		s.maxState = math.Max(s.maxState, e)
		exact = exact && got == want
		if !(e <= tol) {
			t.Errorf("%s: state[%d] = %v, want %v (err %.3g)", where, i, got, want, e)
			ok = false
		}
	}
	for i, want := range ep.Obs[k] {
		u := ulps32(obs[i], float32(want))
		s.maxObsULP = max(s.maxObsULP, u)
		exact = exact && u == 0
		if u > maxULP && !(relErr(float64(obs[i]), want) <= tol) {
			t.Errorf("%s: obs[%d] = %v, want %v (%d ulp)", where, i, obs[i], float32(want), u)
			ok = false
		}
	}
	e := relErr(r, ep.Rewards[k])
	s.maxReward = math.Max(s.maxReward, e)
	exact = exact && r == ep.Rewards[k]
	if !(e <= tol) {
		t.Errorf("%s: reward = %v, want %v", where, r, ep.Rewards[k])
		ok = false
	}
	if f := ep.Flags[k]; term != (f&1 != 0) || trunc != (f&2 != 0) {
		t.Errorf("%s: terminated, truncated = %v, %v; want flags %d", where, term, trunc, f)
		ok = false
	}
	s.steps++
	if exact {
		s.exact++
	}
	return ok
}

// TestResetMatchesGymnasium checks seeded and follow-on resets land on
// Gymnasium's start states: the RNG port makes them bit-exact.
func TestResetMatchesGymnasium(t *testing.T) {
	for _, id := range classicIDs() {
		t.Run(id, func(t *testing.T) {
			ref := loadRef(t, id)
			env, _ := Make(id)
			e := env.(*episode)
			check := func(what string, obs []float32, wantObs, wantState []float64) {
				for i, w := range wantState {
					if got := stateOf(e.m)[i]; got != w {
						t.Errorf("%s: state[%d] = %v, want %v", what, i, got, w)
					}
				}
				// Acrobot's reset observation is NumPy's float32 cos/sin of a
				// float32 state; Go computes it in float64 and rounds.
				for i, w := range wantObs {
					if u := ulps32(obs[i], float32(w)); u > 1 {
						t.Errorf("%s: obs[%d] = %v, want %v", what, i, obs[i], float32(w))
					}
				}
			}
			for _, r := range ref.Resets {
				obs, err := env.Reset(r.Seed)
				if err != nil {
					t.Fatal(err)
				}
				check(fmt.Sprintf("seed %d", r.Seed), obs, r.Obs, r.State)
				for j, n := range r.Next {
					obs, err := env.Reset(NoSeed)
					if err != nil {
						t.Fatal(err)
					}
					check(fmt.Sprintf("seed %d, reset %d", r.Seed, j+1), obs, n.Obs, n.State)
				}
			}
		})
	}
}

// TestStepMatchesGymnasium steps once from every recorded state.
func TestStepMatchesGymnasium(t *testing.T) {
	const tol = 1e-12
	for _, id := range classicIDs() {
		t.Run(id, func(t *testing.T) {
			ref := loadRef(t, id)
			env, _ := Make(id)
			e := env.(*episode)
			var st stats
			for n, ep := range ref.Episodes {
				for k := range ep.Actions {
					if _, err := env.Reset(ep.Seed); err != nil {
						t.Fatal(err)
					}
					prev := ep.Start
					if k > 0 {
						prev = ep.States[k-1]
					}
					setState(e.m, prev, k > 0)
					e.steps = k
					obs, r, term, trunc, err := env.Step([]float64{ep.Actions[k]})
					if err != nil {
						t.Fatal(err)
					}
					if !st.compare(t, fmt.Sprintf("episode %d step %d", n, k), e.m, obs, r, term, trunc, &ep, k, tol, 1) {
						return
					}
				}
			}
			t.Log(&st)
		})
	}
}

// TestEpisodesMatchGymnasium rolls out whole recorded episodes from their
// start states: errors may grow along a trajectory, but the episode must
// end on the same step for the same reason. Episodes a named policy drove
// are replayed closed loop (see refPolicies).
func TestEpisodesMatchGymnasium(t *testing.T) {
	const tol = 1e-9
	for _, id := range classicIDs() {
		t.Run(id, func(t *testing.T) {
			ref := loadRef(t, id)
			env, _ := Make(id)
			e := env.(*episode)
			var st stats
			for n, ep := range ref.Episodes {
				if _, err := env.Reset(ep.Seed); err != nil {
					t.Fatal(err)
				}
				setState(e.m, ep.Start, false)
				horizon := len(ep.Actions)
				if p, ok := refPolicies[ep.Policy]; ok {
					horizon = p.horizon
				}
				for k, a := range ep.Actions {
					if p, ok := refPolicies[ep.Policy]; ok {
						a = p.choose(stateOf(e.m))
						if k < horizon && a != ep.Actions[k] {
							t.Fatalf("episode %d step %d: policy %s chose %v, Gymnasium %v", n, k, ep.Policy, a, ep.Actions[k])
						}
					}
					obs, r, term, trunc, err := env.Step([]float64{a})
					if err != nil {
						t.Fatalf("episode %d step %d: %v", n, k, err)
					}
					where := fmt.Sprintf("episode %d step %d", n, k)
					if k >= horizon {
						if f := ep.Flags[k]; term != (f&1 != 0) || trunc != (f&2 != 0) {
							t.Fatalf("%s: terminated, truncated = %v, %v; want flags %d", where, term, trunc, f)
						}
						continue
					}
					if !st.compare(t, where, e.m, obs, r, term, trunc, &ep, k, tol, 1) {
						return
					}
				}
				if _, _, _, _, err := env.Step([]float64{ep.Actions[0]}); err == nil {
					t.Errorf("episode %d: step after the end succeeded", n)
				}
			}
			t.Log(&st)
		})
	}
}
