package rl

import (
	"math"
	"math/rand/v2"
	"testing"

	"manta/sims"
)

// seek is a custom env (sims.Register): a point on a line that ends the
// episode when pushed to within 0.1 of the origin, paying -|x| a step.
type seek struct{ x float64 }

func (e *seek) Reset(r *rand.Rand, obs []float32) {
	e.x = 4*r.Float64() - 2
	obs[0] = float32(e.x)
}

func (e *seek) Step(_ *rand.Rand, a []float64, obs []float32) (float64, bool) {
	e.x += 0.2 * math.Max(-1, math.Min(1, a[0]))
	obs[0] = float32(e.x)
	return -math.Abs(e.x), math.Abs(e.x) < 0.1
}

// At package level, so that the rollout workers (this test binary) know it.
var seekRegistered = sims.Register(sims.EnvSpec{
	ID: "Seek-test-v0", MaxSteps: 40,
	Observation: sims.Space{Low: []float64{-100}, High: []float64{100}, Shape: []int{1}},
	Action:      sims.Space{Low: []float64{-1}, High: []float64{1}, Shape: []int{1}},
	New:         func() sims.Model { return new(seek) },
})

// PPO trains on a registered custom env as on Gymnasium's: its rollout
// workers make it by ID in their own processes. Each iteration's time
// is split into sampling, learning and sending weights.
func TestPPOOnACustomEnv(t *testing.T) {
	if seekRegistered != nil {
		t.Fatal(seekRegistered)
	}
	startCluster(t)
	cfg := PPODefaults("Seek-test-v0")
	cfg.Seed, cfg.TotalSteps, cfg.Steps, cfg.EvalEpisodes = 1, 12*1024, 256, 20
	res, err := TrainPPO(ctxT(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range res.Curve {
		if it.SampleS <= 0 || it.LearnS <= 0 || it.SyncS <= 0 {
			t.Fatalf("iteration %d: sample %vs, learn %vs, sync %vs: want each > 0", it.Iter, it.SampleS, it.LearnS, it.SyncS)
		}
	}
	if sum := res.SampleS + res.LearnS + res.SyncS; sum > res.WallS {
		t.Fatalf("sample+learn+sync %.3fs > the run's %.3fs", sum, res.WallS)
	}
	first, last := res.Curve[0].MeanReturn, res.Curve[len(res.Curve)-1].MeanReturn
	t.Logf("mean return %.1f after the first iteration, %.1f after %d steps (%.1fs)", first, last, res.EnvSteps, res.WallS)
	// Pushing straight to the origin from |x| ≤ 2 returns at least -11;
	// a policy that does not move pays about -40 (an average |x| of 1 for 40 steps).
	if last < -15 || last < first+5 {
		t.Fatalf("mean return %.1f → %.1f, want ≥ -15 and up by 5", first, last)
	}
}
