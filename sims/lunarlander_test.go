package sims

import (
	"encoding/json"
	"math"
	"os"
	"testing"

	"manta/internal/box2d"
)

// llHeuristic is Gymnasium's lunar_lander.heuristic.
func llHeuristic(s []float32, continuous bool) []float64 {
	angleTarg := float64(s[0])*0.5 + float64(s[2])*1.0 // point towards the centre
	angleTarg = clamp(angleTarg, -0.4, 0.4)            // more than 0.4 rad (22°) is bad
	hoverTarg := 0.55 * math.Abs(float64(s[0]))        // aim lower nearer the pad
	angleTodo := (angleTarg-float64(s[4]))*0.5 - float64(s[5])*1.0
	hoverTodo := (hoverTarg-float64(s[1]))*0.5 - float64(s[3])*0.5
	if s[6] != 0 || s[7] != 0 { // legs down: only slow the fall
		angleTodo = 0
		hoverTodo = -float64(s[3]) * 0.5
	}
	if continuous {
		return []float64{clamp(hoverTodo*20-1, -1, 1), clamp(-angleTodo*20, -1, 1)}
	}
	a := 0.0
	switch {
	case hoverTodo > math.Abs(angleTodo) && hoverTodo > 0.05:
		a = 2
	case angleTodo < -0.05:
		a = 3
	case angleTodo > 0.05:
		a = 1
	}
	return []float64{a}
}

// heuristicReturn plays one seeded episode with policy and returns its
// return and length.
func heuristicReturn(t testing.TB, env Env, seed int64, policy func([]float32) []float64) (float64, int) {
	t.Helper()
	obs, err := env.Reset(seed)
	if err != nil {
		t.Fatal(err)
	}
	total := 0.0
	for n := 1; ; n++ {
		var r float64
		var term, trunc bool
		obs, r, term, trunc, err = env.Step(policy(obs))
		if err != nil {
			t.Fatal(err)
		}
		total += r
		if term || trunc {
			return total, n
		}
	}
}

// TestLunarLanderHeuristicLands: Gymnasium's heuristic solves the task
// (mean return >= 200) over seeds 0-9, close to what it scores in
// Gymnasium on the same seeds (about 265 discrete, 282 continuous).
func TestLunarLanderHeuristicLands(t *testing.T) {
	ref := loadBox2DRef(t)
	for _, id := range []string{"LunarLander-v3", "LunarLanderContinuous-v3"} {
		env := mustMake(t, id)
		cont := env.ActionSpace().Discrete == 0
		sum, gymSum := 0.0, 0.0
		for _, run := range ref.Runs[id] {
			ret, n := heuristicReturn(t, env, run.Seed, func(s []float32) []float64 { return llHeuristic(s, cont) })
			t.Logf("%s seed %d: return %.1f in %d steps (Gymnasium %.1f in %d)", id, run.Seed, ret, n, run.Return, run.Steps)
			sum += ret
			gymSum += run.Return
		}
		n := float64(len(ref.Runs[id]))
		mean, gymMean := sum/n, gymSum/n
		if mean < 200 || math.Abs(mean-gymMean) > 25 {
			t.Errorf("%s: heuristic mean return %.1f over %v seeds, want >= 200 and near Gymnasium's %.1f", id, mean, n, gymMean)
		}
	}
}

// TestLunarLanderPhysics checks invariants that hold whatever the Box2D
// build: in free fall only gravity changes the momentum of lander and
// legs; the main engine pushes up; every episode ends with ±100.
func TestLunarLanderPhysics(t *testing.T) {
	env := mustMake(t, "LunarLander-v3")
	l := env.(*episode).m.(*lunarLander)
	if _, err := env.Reset(3); err != nil {
		t.Fatal(err)
	}
	momentum := func() (px, py, m float64) {
		for _, b := range []*box2d.B2Body{l.lander, l.legs[0], l.legs[1]} {
			v := b.GetLinearVelocity()
			px += b.GetMass() * v.X
			py += b.GetMass() * v.Y
			m += b.GetMass()
		}
		return px, py, m
	}
	for k := 0; k < 20; k++ {
		px, py, m := momentum()
		if _, _, term, _, err := env.Step([]float64{0}); err != nil || term {
			t.Fatalf("free-fall step %d: term %v err %v", k, term, err)
		}
		qx, qy, _ := momentum()
		if math.Abs(qx-px) > 1e-9*m || math.Abs(qy-(py+m*llGravity/llFPS)) > 1e-9*m {
			t.Fatalf("free-fall step %d: momentum (%v, %v) -> (%v, %v), want only gravity's %v",
				k, px, py, qx, qy, m*llGravity/llFPS)
		}
	}
	_, py, m := momentum()
	if _, _, _, _, err := env.Step([]float64{2}); err != nil {
		t.Fatal(err)
	}
	if _, qy, _ := momentum(); qy-py <= m*llGravity/llFPS {
		t.Errorf("main engine: vertical momentum %v -> %v, not above free fall", py, qy)
	}

	// Doing nothing ends in a crash or at rest; a side engine held on
	// drifts the lander off screen or into the ground.
	for _, a := range []float64{0, 1, 3} {
		if _, err := env.Reset(4); err != nil {
			t.Fatal(err)
		}
		for {
			obs, r, term, trunc, err := env.Step([]float64{a})
			if err != nil {
				t.Fatal(err)
			}
			if obs[6] != 0 && obs[6] != 1 || obs[7] != 0 && obs[7] != 1 {
				t.Fatalf("leg contacts %v", obs[6:])
			}
			if term && r != 100 && r != -100 || trunc {
				t.Fatalf("action %v: episode ended with reward %v, terminated %v", a, r, term)
			}
			if term {
				break
			}
		}
	}
}

// box2dRef is testdata/box2d.json: Gymnasium's heuristic runs per seed.
type box2dRef struct {
	Meta struct{ Gymnasium, Numpy, Box2d string }
	Runs map[string][]struct {
		Seed     int64
		ResetObs []float64 `json:"reset_obs"`
		Obs      [][]float64
		Return   float64
		Steps    int
		Flags    int
	}
	WalkerBodies struct {
		Seed    int64
		States  [][]float64 // per step: x, y, angle, vx, vy, omega of 5 bodies
		Actions [][]float64
	} `json:"walker_bodies"`
}

func loadBox2DRef(t *testing.T) *box2dRef {
	t.Helper()
	b, err := os.ReadFile("testdata/box2d.json")
	if err != nil {
		t.Fatal(err)
	}
	var r box2dRef
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return &r
}

// TestLunarLanderStartsLikeGymnasium: with NumPy's RNG the terrain and the
// initial push are Gymnasium's, so the first observations agree up to the
// float32 (pybox2d) versus float64 (ByteArena) physics.
func TestLunarLanderStartsLikeGymnasium(t *testing.T) {
	ref := loadBox2DRef(t)
	for _, id := range []string{"LunarLander-v3", "LunarLanderContinuous-v3"} {
		env := mustMake(t, id)
		cont := env.ActionSpace().Discrete == 0
		worst := 0.0
		for _, run := range ref.Runs[id] {
			obs, err := env.Reset(run.Seed)
			if err != nil {
				t.Fatal(err)
			}
			for k := -1; k < len(run.Obs); k++ {
				want := run.ResetObs
				if k >= 0 {
					want = run.Obs[k]
					if obs, _, _, _, err = env.Step(llHeuristic(obs, cont)); err != nil {
						t.Fatal(err)
					}
				}
				for i, w := range want {
					d := math.Abs(float64(obs[i]) - w)
					worst = math.Max(worst, d)
					if d > 1e-4 {
						t.Errorf("%s seed %d step %d: obs[%d] = %v, Gymnasium %v", id, run.Seed, k+1, i, obs[i], w)
					}
				}
			}
		}
		t.Logf("%s: largest deviation from Gymnasium over the first steps: %.2g", id, worst)
	}
}
