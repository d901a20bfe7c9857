package sims

import (
	"math"
	"testing"

	"manta/internal/box2d"
)

// bwHeuristic is Gymnasium's BipedalWalkerHeuristics: a state machine
// that stands on one leg, puts the other down and pushes off.
type bwHeuristic struct {
	state, movingLeg, supportingLeg int
	supportingKneeAngle             float64
}

const (
	bwStayOnOneLeg = iota + 1
	bwPutOtherDown
	bwPushOff
	bwSpeed            = 0.29 // falls forward when faster
	bwSupportKneeAngle = 0.1
)

func newBWHeuristic() *bwHeuristic {
	return &bwHeuristic{state: bwStayOnOneLeg, movingLeg: 0, supportingLeg: 1, supportingKneeAngle: bwSupportKneeAngle}
}

func (h *bwHeuristic) act(obs []float32) []float64 {
	s := widen(obs)
	movingBase := 4 + 5*h.movingLeg
	supportingBase := 4 + 5*h.supportingLeg
	// Targets of 0 stand for Python's None: both are falsy there.
	var hipTarg, kneeTarg, hipTodo, kneeTodo [2]float64
	if h.state == bwStayOnOneLeg {
		hipTarg[h.movingLeg] = 1.1
		kneeTarg[h.movingLeg] = -0.6
		h.supportingKneeAngle += 0.03
		if s[2] > bwSpeed {
			h.supportingKneeAngle += 0.03
		}
		h.supportingKneeAngle = min(h.supportingKneeAngle, bwSupportKneeAngle)
		kneeTarg[h.supportingLeg] = h.supportingKneeAngle
		if s[supportingBase] < 0.10 { // supporting leg is behind
			h.state = bwPutOtherDown
		}
	}
	if h.state == bwPutOtherDown {
		hipTarg[h.movingLeg] = 0.1
		kneeTarg[h.movingLeg] = bwSupportKneeAngle
		kneeTarg[h.supportingLeg] = h.supportingKneeAngle
		if s[movingBase+4] != 0 {
			h.state = bwPushOff
			h.supportingKneeAngle = min(s[movingBase+2], bwSupportKneeAngle)
		}
	}
	if h.state == bwPushOff {
		kneeTarg[h.movingLeg] = h.supportingKneeAngle
		kneeTarg[h.supportingLeg] = 1.0
		if s[supportingBase+2] > 0.88 || s[2] > 1.2*bwSpeed {
			h.state = bwStayOnOneLeg
			h.movingLeg = 1 - h.movingLeg
			h.supportingLeg = 1 - h.movingLeg
		}
	}
	if hipTarg[0] != 0 {
		hipTodo[0] = 0.9*(hipTarg[0]-s[4]) - 0.25*s[5]
	}
	if hipTarg[1] != 0 {
		hipTodo[1] = 0.9*(hipTarg[1]-s[9]) - 0.25*s[10]
	}
	if kneeTarg[0] != 0 {
		kneeTodo[0] = 4.0*(kneeTarg[0]-s[6]) - 0.25*s[7]
	}
	if kneeTarg[1] != 0 {
		kneeTodo[1] = 4.0*(kneeTarg[1]-s[11]) - 0.25*s[12]
	}
	for i := range 2 {
		hipTodo[i] -= 0.9*(0-s[0]) - 1.5*s[1] // PID to keep the head level
		kneeTodo[i] -= 15.0 * s[3]            // vertical speed, to damp oscillations
	}
	a := []float64{hipTodo[0], kneeTodo[0], hipTodo[1], kneeTodo[1]}
	for i := range a {
		a[i] = clamp(0.5*a[i], -1, 1)
	}
	return a
}

// bwRun plays one seeded episode as Gymnasium's demo does: a zero action
// first, then the heuristic.
func bwRun(t testing.TB, env Env, seed int64) (ret float64, steps int, term, trunc bool) {
	t.Helper()
	if _, err := env.Reset(seed); err != nil {
		t.Fatal(err)
	}
	h := newBWHeuristic()
	a := make([]float64, 4)
	for {
		obs, r, term, trunc, err := env.Step(a)
		if err != nil {
			t.Fatal(err)
		}
		ret += r
		steps++
		if term || trunc {
			return ret, steps, term, trunc
		}
		a = h.act(obs)
	}
}

// TestBipedalWalkerHeuristic: Gymnasium's heuristic walks the whole
// course (return >= 300, about 315) on about half of seeds 0-9 and falls
// early on the rest, in Gymnasium (5 of 10, mean 164) as here. The hoped-for
// ">= 250 mean over fixed seeds" is out of reach of this heuristic even in
// Gymnasium (mean 96 and 7 of 30 walks over seeds 0-29), so the test asserts
// what it does reach: at least 4 of 10 complete walks, each scoring >= 300.
func TestBipedalWalkerHeuristic(t *testing.T) {
	ref := loadBox2DRef(t)
	env := mustMake(t, "BipedalWalker-v3")
	done, sum, gymSum := 0, 0.0, 0.0
	for _, run := range ref.Runs["BipedalWalker-v3"] {
		ret, n, term, trunc := bwRun(t, env, run.Seed)
		t.Logf("seed %d: return %.1f in %d steps (terminated %v, truncated %v); Gymnasium %.1f in %d",
			run.Seed, ret, n, term, trunc, run.Return, run.Steps)
		sum += ret
		gymSum += run.Return
		if ret >= 300 {
			done++
		} else if ret > 0 {
			t.Errorf("seed %d: return %.1f: neither a complete walk nor a fall", run.Seed, ret)
		}
	}
	n := float64(len(ref.Runs["BipedalWalker-v3"]))
	t.Logf("mean return %.1f (Gymnasium %.1f), %d complete walks", sum/n, gymSum/n, done)
	if done < 4 {
		t.Errorf("%d of %v heuristic walks completed, want >= 4", done, n)
	}
}

// TestBipedalWalkerStepsLikeGymnasium steps once from each of Gymnasium's
// body states along a heuristic run (testdata/box2d.json) and compares the
// bodies after the step. Only warm-start impulses carried from the Go run
// and float32 (pybox2d) versus float64 differ.
func TestBipedalWalkerStepsLikeGymnasium(t *testing.T) {
	ref := loadBox2DRef(t).WalkerBodies
	env := mustMake(t, "BipedalWalker-v3")
	w := env.(*episode).m.(*bipedalWalker)
	if _, err := env.Reset(ref.Seed); err != nil {
		t.Fatal(err)
	}
	bodies := append([]*box2d.B2Body{w.hull}, w.legs[:]...)
	obs := make([]float32, 24)
	worst := 0.0
	for k, a := range ref.Actions {
		for i, b := range bodies {
			s := ref.States[k][6*i:]
			b.SetTransform(box2d.MakeB2Vec2(s[0], s[1]), s[2])
			b.SetLinearVelocity(box2d.MakeB2Vec2(s[3], s[4]))
			b.SetAngularVelocity(s[5])
		}
		w.step(a, obs)
		for i, b := range bodies {
			p, v := b.GetPosition(), b.GetLinearVelocity()
			got := []float64{p.X, p.Y, b.GetAngle(), v.X, v.Y, b.GetAngularVelocity()}
			for j, g := range got {
				d := math.Abs(g - ref.States[k+1][6*i+j])
				worst = math.Max(worst, d)
				if d > 1e-3 {
					t.Errorf("step %d body %d value %d: %v, Gymnasium %v", k, i, j, g, ref.States[k+1][6*i+j])
				}
			}
		}
	}
	t.Logf("largest deviation over %d steps: %.2g", len(ref.Actions), worst)
}

// TestBipedalWalkerRewards checks the reward against its definition from
// the hull's motion, and the episode ends: a fall scores -100 with the
// hull on the ground.
func TestBipedalWalkerRewards(t *testing.T) {
	env := mustMake(t, "BipedalWalker-v3")
	w := env.(*episode).m.(*bipedalWalker)
	if _, err := env.Reset(1); err != nil {
		t.Fatal(err)
	}
	h := newBWHeuristic()
	a := make([]float64, 4)
	shaping := func() float64 { return 130*w.hull.GetPosition().X/bwScale - 5*math.Abs(w.hull.GetAngle()) }
	for k := 0; ; k++ {
		before := shaping()
		obs, r, term, trunc, err := env.Step(a)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range obs[14:] {
			if v < 0 || v > 1 {
				t.Fatalf("step %d: lidar %d = %v", k, i, v)
			}
		}
		if term {
			if !w.gameOver || r != -100 {
				t.Errorf("step %d: ended with reward %v, hull contact %v; want a fall", k, r, w.gameOver)
			}
			break
		}
		cost := 0.0
		for _, v := range a {
			cost += 0.00035 * bwMotorsTorque * math.Min(math.Abs(float64(float32(v))), 1) // actions are float32
		}
		if want := shaping() - before - cost; math.Abs(r-want) > 1e-9 {
			t.Fatalf("step %d: reward %v, want %v", k, r, want)
		}
		if trunc {
			t.Fatal("seed 1 was expected to fall")
		}
		a = h.act(obs)
	}
}

// TestLidarMatchesWorldRayCast: lidar, which casts against the terrain's
// edges directly, returns bit for bit what Gymnasium's way, a ray cast
// through the world clipped at every ground hit, returns, at every ray of
// every step of random walks.
func TestLidarMatchesWorldRayCast(t *testing.T) {
	env := mustMake(t, "BipedalWalker-v3")
	w := env.(*episode).m.(*bipedalWalker)
	acts := randomActions(env.ActionSpace(), 4096, 3)
	if _, err := env.Reset(5); err != nil {
		t.Fatal(err)
	}
	for k := range 4096 {
		if _, _, term, trunc, _ := env.Step(acts[4*k : 4*k+4]); term || trunc {
			env.Reset(NoSeed)
		}
		p := w.hull.GetPosition()
		for i := range 10 {
			want := 1.0
			end := box2d.MakeB2Vec2(p.X+bwLidarDir[i][0]*bwLidarRange, p.Y-bwLidarDir[i][1]*bwLidarRange)
			w.world.RayCast(func(f *box2d.B2Fixture, _, _ box2d.B2Vec2, fraction float64) float64 {
				if f.GetFilterData().CategoryBits&1 == 0 {
					return -1
				}
				want = fraction
				return fraction
			}, p, end)
			if got := w.lidar(p, i); got != want {
				t.Fatalf("step %d ray %d from %v: lidar %v, world ray cast %v", k, i, p, got, want)
			}
		}
	}
}
