package rl

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"manta/sims"
)

// An ES run stopped at a checkpoint and resumed ends with the weights of
// one never stopped, its curve going on from the checkpoint's.
func TestESResumesExactly(t *testing.T) {
	startCluster(t)
	cfg := ESDefaults("CartPole-v1")
	cfg.Seed, cfg.TotalSteps, cfg.NoiseSize, cfg.Target = 2, 12_000, 1<<20, math.Inf(1) // never solved: a fixed number of iterations
	whole, err := TrainES(ctxT(t), cfg)
	if err != nil {
		t.Fatal(err)
	}

	path := filepath.Join(t.TempDir(), "es.ckpt")
	first := cfg
	first.TotalSteps, first.CheckpointPath, first.CheckpointEvery = 6_000, path, 2
	if _, err := TrainES(ctxT(t), first); err != nil {
		t.Fatal(err)
	}
	ck, err := LoadCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	resumed := cfg
	resumed.Resume = ck
	res, err := TrainES(ctxT(t), resumed)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("whole: %d iterations, %d steps; stopped after %d iterations; resumed to %d", len(whole.Curve), whole.EnvSteps, ck.Iter, len(res.Curve))
	if ck.Iter == 0 || ck.Iter >= len(whole.Curve) {
		t.Fatalf("checkpoint after %d of %d iterations: want one in between", ck.Iter, len(whole.Curve))
	}
	if !slices.Equal(res.Params, whole.Params) || res.EnvSteps != whole.EnvSteps {
		t.Fatalf("resumed run differs from the whole one (%d vs %d steps)", res.EnvSteps, whole.EnvSteps)
	}
	for i, it := range res.Curve {
		if it.Iter != i+1 || it.EnvSteps != whole.Curve[i].EnvSteps || it.MeanReturn != whole.Curve[i].MeanReturn {
			t.Fatalf("curve point %d: %+v, the whole run's %+v", i, it, whole.Curve[i])
		}
	}
}

// A resumed PPO run goes on from the checkpoint's weights, optimiser and
// statistics: its curve continues (iterations, steps, wall time) without
// falling back to a fresh policy's returns. A checkpoint of another run
// shape is refused.
func TestPPOResumes(t *testing.T) {
	startCluster(t)
	path := filepath.Join(t.TempDir(), "ppo.ckpt")
	cfg := PPODefaults("CartPole-v1")
	cfg.Seed, cfg.TotalSteps, cfg.CheckpointPath, cfg.CheckpointEvery = 1, 16*1024, path, 4
	if _, err := TrainPPO(ctxT(t), cfg); err != nil {
		t.Fatal(err)
	}
	ck, err := LoadCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg.TotalSteps, cfg.CheckpointPath, cfg.Resume = 24*1024, "", ck
	res, err := TrainPPO(ctxT(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	at := ck.Curve[ck.Iter-1]
	next := res.Curve[ck.Iter]
	t.Logf("checkpoint after %d iterations: mean return %.1f; the next iteration %.1f; the last (%d) %.1f",
		ck.Iter, at.MeanReturn, next.MeanReturn, len(res.Curve), res.Curve[len(res.Curve)-1].MeanReturn)
	if len(res.Curve) != 24*1024/(cfg.Workers*cfg.EnvsPerWorker*cfg.Steps) || next.Iter != ck.Iter+1 || !slices.EqualFunc(res.Curve[:ck.Iter], ck.Curve, sameIteration) {
		t.Fatalf("resumed curve: %d points, the first new one iteration %d", len(res.Curve), next.Iter)
	}
	if next.WallS < at.WallS || next.EnvSteps <= at.EnvSteps {
		t.Fatalf("the curve goes back: %+v after %+v", next, at)
	}
	// A fresh policy returns about 22 (randomReturn); the checkpoint's
	// is twice that.
	if at.MeanReturn < 35 || next.MeanReturn < at.MeanReturn/2 {
		t.Fatalf("mean return %.1f at the checkpoint, %.1f after resuming", at.MeanReturn, next.MeanReturn)
	}
	cfg.Workers = 3
	if _, err := TrainPPO(ctxT(t), cfg); !errors.Is(err, ErrCheckpoint) {
		t.Fatalf("a 2-worker checkpoint resumed with 3 workers: %v, want ErrCheckpoint", err)
	}
}

func sameIteration(a, b Iteration) bool {
	return a.Iter == b.Iter && a.EnvSteps == b.EnvSteps && a.MeanReturn == b.MeanReturn && a.WallS == b.WallS && a.Evaluated == b.Evaluated
}

// An iteration before any episode ended (MeanReturn NaN) and one with an
// evaluation survive JSON, as a checkpoint's curve must.
func TestIterationJSON(t *testing.T) {
	its := []Iteration{{Iter: 1, MeanReturn: math.NaN(), EvalReturn: math.NaN()}, {Iter: 2, MeanReturn: 3, Evaluated: true, EvalReturn: 4}}
	b, err := json.Marshal(its)
	if err != nil {
		t.Fatal(err)
	}
	var back []Iteration
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !math.IsNaN(back[0].MeanReturn) || back[0].Evaluated || back[1].MeanReturn != 3 || back[1].EvalReturn != 4 || !back[1].Evaluated {
		t.Fatalf("%s read back as %+v", b, back)
	}
}

// A checkpoint's greedy policy acts as the trainers evaluate it: one
// seeded episode returns what their evaluation of that episode does.
func TestGreedy(t *testing.T) {
	startCluster(t)
	cfg := ESDefaults("CartPole-v1")
	cfg.Seed, cfg.TotalSteps, cfg.NoiseSize = 1, 8_000, 1<<20
	res, err := TrainES(ctxT(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	act, err := Greedy(res.Checkpoint)
	if err != nil {
		t.Fatal(err)
	}
	env, _ := sims.Make("CartPole-v1")
	obs, _ := env.Reset(5)
	var ret float64
	for {
		o, r, term, trunc, err := env.Step(act(obs))
		if err != nil {
			t.Fatal(err)
		}
		obs, ret = o, ret+r
		if term || trunc {
			break
		}
	}
	pol, _ := newESPolicy(cfg.Env, cfg.Hidden)
	want, err := evaluateES(pol, cfg.Env, res.Params, res.ObsMean, res.ObsVar, 1, 5)
	if err != nil {
		t.Fatal(err)
	}
	if ret != want {
		t.Fatalf("greedy episode returned %v, the evaluation of it %v", ret, want)
	}
	bad := *res.Checkpoint
	bad.Hidden = []int{3}
	if _, err := Greedy(&bad); !errors.Is(err, ErrCheckpoint) {
		t.Fatalf("weights of another shape: %v, want ErrCheckpoint", err)
	}
}

// A run that ended before any episode did (a mean return of NaN) still
// writes its summary and curve: NaN as null, which encoding/json cannot
// write as a number.
func TestResultJSONWithoutEpisodes(t *testing.T) {
	res := &Result{Summary: Summary{Algo: "a2c", Env: "CartPole-v1", MeanReturn: math.NaN(), EnvSteps: 42},
		Curve: []Iteration{{Iter: 1, EnvSteps: 42, MeanReturn: math.NaN(), EvalReturn: math.NaN()}}}
	path := filepath.Join(t.TempDir(), "r.json")
	if err := res.SaveJSON(path); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Mean     *float64         `json:"mean_return"`
		EnvSteps int              `json:"env_steps"`
		Curve    []map[string]any `json:"curve"`
	}
	if err := json.Unmarshal(b, &back); err != nil || back.Mean != nil || back.EnvSteps != 42 || len(back.Curve) != 1 {
		t.Fatalf("%v: %s", err, b)
	}
	res.MeanReturn = 12.5
	s, err := json.Marshal(res.Summary)
	if err != nil || !strings.Contains(string(s), `"mean_return":12.5`) || strings.Contains(string(s), "curve") {
		t.Fatalf("summary: %v, %s", err, s)
	}
}
