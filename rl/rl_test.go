package rl

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"syscall"
	"testing"
	"time"

	"manta/core"
	"manta/sims"
)

func startCluster(t *testing.T) {
	t.Helper()
	c, err := core.Init(core.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Shutdown() })
}

func startBenchCluster(b *testing.B) func() {
	c, err := core.Init(core.Config{})
	if err != nil {
		b.Fatal(err)
	}
	return func() { c.Shutdown() }
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// randomReturn is CartPole's mean return under uniformly random actions
// (about 22).
func randomReturn(t *testing.T) float64 {
	env, _ := sims.Make("CartPole-v1")
	rng := rand.New(rand.NewPCG(1, 1))
	var sum float64
	for ep := range 200 {
		if _, err := env.Reset(int64(ep)); err != nil {
			t.Fatal(err)
		}
		for {
			_, r, term, trunc, err := env.Step([]float64{float64(rng.IntN(2))})
			if err != nil {
				t.Fatal(err)
			}
			sum += r
			if term || trunc {
				break
			}
		}
	}
	return sum / 200
}

// TestPPOLearnsCartPole, also with Overlap (sampling while learning,
// every batch one update behind).
func TestPPOLearnsCartPole(t *testing.T) {
	startCluster(t)
	rnd := randomReturn(t)
	for _, overlap := range []bool{false, true} {
		cfg := PPODefaults("CartPole-v1")
		cfg.Seed, cfg.TotalSteps, cfg.Overlap = 1, 40*1024, overlap
		res, err := TrainPPO(ctxT(t), cfg)
		if err != nil {
			t.Fatal(err)
		}
		last := res.Curve[len(res.Curve)-1].MeanReturn
		t.Logf("random %.1f; Overlap %v: after %d steps mean return %.1f (%.1fs)", rnd, overlap, res.EnvSteps, last, res.WallS)
		if last < 3*rnd {
			t.Fatalf("Overlap %v: mean return %.1f after %d steps, want ≥ 3× random (%.1f)", overlap, last, res.EnvSteps, 3*rnd)
		}
	}
}

// TestPPOOverlapReproducible: with Overlap a seed still gives one run,
// that run is not the run without it, and Overlap with Sync is refused.
func TestPPOOverlapReproducible(t *testing.T) {
	startCluster(t)
	cfg := PPODefaults("CartPole-v1")
	cfg.Seed, cfg.TotalSteps = 1, 4*1024
	var err error
	runs := make([]*Result, 3)
	for i, overlap := range []bool{true, true, false} {
		cfg.Overlap = overlap
		if runs[i], err = TrainPPO(ctxT(t), cfg); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(runs[0].Params, runs[1].Params) {
		t.Error("two runs with Overlap and one seed differ")
	}
	if slices.Equal(runs[0].Params, runs[2].Params) {
		t.Error("Overlap changed nothing: the batches after the first should come from weights one update old")
	}
	cfg.Overlap, cfg.Sync = true, true
	if _, err := TrainPPO(ctxT(t), cfg); !errors.Is(err, ErrBadConfig) {
		t.Errorf("Overlap with Sync: %v, want ErrBadConfig", err)
	}
}

func TestPPOReproducibleAndSyncAgrees(t *testing.T) {
	startCluster(t)
	cfg := PPODefaults("CartPole-v1")
	cfg.Seed, cfg.TotalSteps = 7, 4*1024
	a, err := TrainPPO(ctxT(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Sync = true
	b, err := TrainPPO(ctxT(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i := range a.Params {
		if a.Params[i] != b.Params[i] {
			t.Fatalf("param %d differs between runs: %v vs %v", i, a.Params[i], b.Params[i])
		}
	}
}

func TestESLearnsCartPole(t *testing.T) {
	startCluster(t)
	cfg := ESDefaults("CartPole-v1")
	cfg.Seed, cfg.TotalSteps, cfg.NoiseSize = 1, 20_000, 1<<20
	res, err := TrainES(ctxT(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	best := math.Inf(-1)
	for _, it := range res.Curve {
		best = max(best, it.MeanReturn)
	}
	t.Logf("after %d steps: best iteration mean %.1f, result %.1f", res.EnvSteps, best, res.MeanReturn)
	if best < 100 {
		t.Fatalf("ES best iteration mean %.1f, want ≥ 100 (random ≈ 22)", best)
	}
}

// TestPPOWorkerKilled kills a rollout worker's process while its rollout
// is in flight: the rollout is redone by the restarted actor and training
// goes on.
func TestPPOWorkerKilled(t *testing.T) {
	startCluster(t)
	cfg := PPODefaults("CartPole-v1")
	cfg.Seed, cfg.TotalSteps = 3, 6*1024
	var killed int
	var after []int
	cfg.Progress = func(it Iteration) {
		switch {
		case it.Iter == 2:
			killed = it.WorkerPIDs[0]
			if err := syscall.Kill(killed, syscall.SIGKILL); err != nil {
				t.Errorf("kill: %v", err)
			}
		case it.Iter > 2:
			after = it.WorkerPIDs
		}
	}
	res, err := TrainPPO(ctxT(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Curve) != 6 {
		t.Fatalf("ran %d iterations, want 6", len(res.Curve))
	}
	if after[0] == killed || after[0] == 0 {
		t.Fatalf("worker 0 still pid %d after the kill", after[0])
	}
	t.Logf("redone rollouts: %d", res.Curve[len(res.Curve)-1].Redone)
}

func TestBadInput(t *testing.T) {
	ctx := context.Background()
	// Errors come before any work: no cluster is running here.
	if _, err := TrainPPO(ctx, PPOConfig{Env: "Humanoid-v4"}); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("unknown env: %v", err)
	}
	if _, err := TrainES(ctx, ESConfig{Env: "NoSuchEnv-v0"}); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("ES unknown env: %v", err)
	}
	if _, err := NewPolicy(sims.Space{Shape: []int{4}, Low: make([]float64, 4), High: make([]float64, 4)}, sims.Space{Shape: []int{2, 2}, Low: make([]float64, 4), High: make([]float64, 4)}, nil); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("matrix action space: %v", err)
	}
	for _, c := range []PPOConfig{
		{Env: "CartPole-v1", LR: -1},
		{Env: "CartPole-v1", Gamma: 1.5},
		{Env: "CartPole-v1", ClipCoef: 2},
		{Env: "CartPole-v1", Workers: -2},
		{Env: "CartPole-v1", Minibatches: 1 << 30},
		{Env: "CartPole-v1", Hidden: []int{0}},
	} {
		if _, err := TrainPPO(ctx, c); !errors.Is(err, ErrBadConfig) {
			t.Errorf("%+v: %v, want ErrBadConfig", c, err)
		}
	}
	for _, c := range []ESConfig{
		{Env: "CartPole-v1", Sigma: -0.1},
		{Env: "CartPole-v1", LR: 5},
		{Env: "CartPole-v1", NoiseSize: 10},
	} {
		if _, err := TrainES(ctx, c); !errors.Is(err, ErrBadConfig) {
			t.Errorf("%+v: %v, want ErrBadConfig", c, err)
		}
	}
}

// TestPPODivergenceDetected feeds the learner weights with a NaN: the
// update fails and restore brings back the last good weights.
func TestPPODivergenceDetected(t *testing.T) {
	cfg := PPODefaults("CartPole-v1")
	cfg.Workers, cfg.EnvsPerWorker, cfg.Steps = 1, 2, 16
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	env, _ := sims.Make("CartPole-v1")
	pol, _ := NewPolicy(env.ObservationSpace(), env.ActionSpace(), cfg.Hidden)
	L := newPPOLearner(cfg, pol)
	b := &rolloutBatch{Obs: make([]float64, 32*4), Act: make([]float64, 32), LogP: make([]float64, 32),
		Val: make([]float64, 32), Adv: make([]float64, 32), Ret: make([]float64, 32)}
	for i := range b.Adv {
		b.Adv[i], b.LogP[i] = float64(i%5), math.Log(0.5)
	}
	if err := L.update([]*rolloutBatch{b}); err != nil {
		t.Fatalf("finite update: %v", err)
	}
	L.params[3] = math.NaN()
	if err := L.update([]*rolloutBatch{b}); err == nil {
		t.Fatal("a NaN weight went unnoticed")
	}
	L.restore()
	if !finite(L.params) {
		t.Fatal("restore left non-finite weights")
	}
}

func TestCenteredRanks(t *testing.T) {
	got := centeredRanks([]float64{10, -3, 7, 7.5, 0})
	want := []float64{0.5, -0.5, 0, 0.25, -0.25}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-12 {
			t.Fatalf("ranks %v, want %v", got, want)
		}
	}
}

// TestESWorkerKilled kills an ES worker between iterations: manta
// restarts it (its constructor reads the shared noise table again) and
// training goes on with the same number of workers.
func TestESWorkerKilled(t *testing.T) {
	startCluster(t)
	cfg := ESDefaults("CartPole-v1")
	cfg.Seed, cfg.TotalSteps, cfg.NoiseSize, cfg.Target = 2, 6_000, 1<<20, 1e9
	var killed int
	var after []int
	cfg.Progress = func(it Iteration) {
		switch {
		case it.Iter == 1:
			killed = it.WorkerPIDs[1]
			if err := syscall.Kill(killed, syscall.SIGKILL); err != nil {
				t.Errorf("kill: %v", err)
			}
		case it.Iter > 1:
			after = it.WorkerPIDs
		}
	}
	res, err := TrainES(ctxT(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != 2 || after[1] == killed || after[1] == 0 {
		t.Fatalf("worker 1: pid %d before the kill, %v after", killed, after)
	}
	t.Logf("%d iterations, redone %d", len(res.Curve), res.Curve[len(res.Curve)-1].Redone)
}

func TestESRefineSwitchesLate(t *testing.T) {
	startCluster(t)
	cfg := ESDefaults("CartPole-v1")
	cfg.Seed, cfg.Workers, cfg.Pairs, cfg.TotalSteps, cfg.NoiseSize = 2, 1, 2, 6000, 1<<18
	cfg.Refine = ESRefine{AfterSteps: 2000, Pairs: 3, Sigma: 0.05}
	res, err := TrainES(ctxT(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	switched := false
	for i, it := range res.Curve {
		before := 0
		if i > 0 {
			before = res.Curve[i-1].EnvSteps
		}
		want := 2 * cfg.Pairs
		if before >= cfg.Refine.AfterSteps {
			want, switched = 2*cfg.Refine.Pairs, true
		}
		if it.Episodes != want {
			t.Fatalf("iteration %d, starting at %d steps: %d episodes, want %d", it.Iter, before, it.Episodes, want)
		}
	}
	if !switched {
		t.Fatalf("no iteration started after %d steps (the run took %d)", cfg.Refine.AfterSteps, res.EnvSteps)
	}
	bad := cfg
	bad.Refine.Sigma = -1
	if err := bad.Validate(); !errors.Is(err, ErrBadConfig) {
		t.Fatalf("refine sigma -1: %v, want ErrBadConfig", err)
	}
}

// TestEvaluationSameOnAnyCores checks that splitting the evaluation
// episodes over goroutines changes nothing: each copy's episode and the
// mean are those of one shard, on a continuous and a discrete env.
func TestEvaluationSameOnAnyCores(t *testing.T) {
	for _, env := range []string{"LunarLanderContinuous-v3", "Acrobot-v1"} {
		probe, err := sims.Make(env)
		if err != nil {
			t.Fatal(err)
		}
		pol, err := NewPolicy(probe.ObservationSpace(), probe.ActionSpace(), []int{16, 16})
		if err != nil {
			t.Fatal(err)
		}
		params := make([]float64, pol.NumParams())
		pol.Init(params, rand.New(rand.NewPCG(3, 4)))
		ad := pol.ActDim
		if pol.Discrete {
			ad = 1
		}
		greedy := func(n int) func(x, act []float64) { return ppoGreedy(pol, params, n) }
		const episodes = 20
		one, err := meanReturnSharded(env, episodes, 1, 5, pol.ObsDim, ad, nil, nil, greedy)
		if err != nil {
			t.Fatal(err)
		}
		for _, shards := range []int{2, 3, 7} {
			got, err := meanReturnSharded(env, episodes, shards, 5, pol.ObsDim, ad, nil, nil, greedy)
			if err != nil {
				t.Fatal(err)
			}
			if got != one {
				t.Errorf("%s: %d shards give %v, one gives %v", env, shards, got, one)
			}
		}
		if _, err := meanReturnSharded(env, episodes, 2, -5, pol.ObsDim, ad, nil, nil, greedy); !errors.Is(err, sims.ErrInvalidSeed) {
			t.Errorf("%s: a negative seed: %v, want ErrInvalidSeed", env, err)
		}
	}
}
