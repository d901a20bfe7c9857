package rl

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"slices"
	"sync"
	"time"

	"manta/sims"
)

// Iteration is one point of a learning curve, passed to Progress and kept
// in Result.Curve.
type Iteration struct {
	Iter        int     `json:"iter"`
	EnvSteps    int     `json:"env_steps"`
	MeanReturn  float64 `json:"-"`        // mean of the last 100 training episodes (ES: of this iteration's perturbations); NaN before the first ends, null in JSON
	Episodes    int     `json:"episodes"` // training episodes finished so far
	StepsPerSec float64 `json:"steps_per_s"`
	WallS       float64 `json:"wall_s"`
	// EvalReturn is the mean over EvalEpisodes evaluation episodes, set on
	// iterations that ran an evaluation (NaN otherwise, omitted in JSON).
	EvalReturn float64 `json:"-"`
	Evaluated  bool    `json:"evaluated,omitempty"`
	// The iteration's time on the learner, in seconds, split: SyncS
	// putting the weights and starting the workers' calls, SampleS
	// waiting for their results (sampling the learner could not hide
	// behind its own work), LearnS computing the update. An evaluation's
	// time is in none of them.
	SyncS   float64 `json:"sync_s"`
	SampleS float64 `json:"sample_s"`
	LearnS  float64 `json:"learn_s"`
	// Redone counts rollouts redone so far because their worker died.
	Redone int `json:"redone,omitempty"`
	// WorkerPIDs are the worker processes of this iteration, by index.
	WorkerPIDs []int `json:"-"`
}

// UnmarshalJSON reads what MarshalJSON wrote (a checkpoint's curve).
func (it *Iteration) UnmarshalJSON(b []byte) error {
	type plain Iteration
	var v struct {
		plain
		Mean *float64 `json:"mean_return"`
		Eval *float64 `json:"eval_return"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*it = Iteration(v.plain)
	it.MeanReturn, it.EvalReturn = math.NaN(), math.NaN()
	if v.Mean != nil {
		it.MeanReturn = *v.Mean
	}
	if v.Eval != nil {
		it.EvalReturn = *v.Eval
	}
	return nil
}

// MarshalJSON writes EvalReturn only when an evaluation ran, and a NaN
// MeanReturn (no episode has ended yet) as null.
func (it Iteration) MarshalJSON() ([]byte, error) {
	type plain Iteration
	v := struct {
		plain
		Mean *float64 `json:"mean_return"`
		Eval *float64 `json:"eval_return,omitempty"`
	}{plain: plain(it)}
	if !math.IsNaN(it.MeanReturn) {
		v.Mean = &it.MeanReturn
	}
	if it.Evaluated {
		v.Eval = &it.EvalReturn
	}
	return json.Marshal(v)
}

// Summary is the one-object report of a run (`manta rl ... --json`).
type Summary struct {
	Algo    string `json:"algo"`
	Env     string `json:"env"`
	Workers int    `json:"workers"`
	Seed    uint64 `json:"seed"`
	Solved  bool   `json:"solved"`
	// MeanReturn is the last evaluation's mean (or the last training
	// mean if none ran); NaN, null in JSON, when no episode ended.
	MeanReturn float64 `json:"mean_return"`
	EnvSteps   int     `json:"env_steps"`
	WallS      float64 `json:"wall_s"`
	// SyncS, SampleS and LearnS total the iterations' (Iteration).
	SyncS   float64 `json:"sync_s"`
	SampleS float64 `json:"sample_s"`
	LearnS  float64 `json:"learn_s"`
}

// summaryJSON is a Summary as JSON writes it: a NaN MeanReturn as null,
// which encoding/json refuses to write as a number.
type summaryJSON struct {
	plainSummary
	Mean *float64 `json:"mean_return"` // shadows plainSummary's
}

// plainSummary is Summary without its MarshalJSON.
type plainSummary Summary

func (s Summary) asJSON() summaryJSON {
	v := summaryJSON{plainSummary: plainSummary(s)}
	if !math.IsNaN(s.MeanReturn) {
		v.Mean = &v.MeanReturn
	}
	return v
}

// MarshalJSON writes a NaN MeanReturn (no episode ended) as null.
func (s Summary) MarshalJSON() ([]byte, error) { return json.Marshal(s.asJSON()) }

// MarshalJSON writes the summary (as Summary.MarshalJSON) and the curve;
// without it Result would take Summary's, and write no curve.
func (r Result) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		summaryJSON
		Curve []Iteration `json:"curve"`
	}{r.Summary.asJSON(), r.Curve})
}

// total sums the iterations' time split into the summary.
func (r *Result) total() {
	r.SyncS, r.SampleS, r.LearnS = 0, 0, 0
	for _, it := range r.Curve {
		r.SyncS += it.SyncS
		r.SampleS += it.SampleS
		r.LearnS += it.LearnS
	}
}

// Result is a finished (or stopped) run.
type Result struct {
	Summary
	Curve []Iteration `json:"curve"`
	// Params are the final weights; after ErrDiverged, the last good ones.
	Params []float64 `json:"-"`
	// ObsMean and ObsVar are the observation statistics the policy expects
	// (nil when observations were not normalised).
	ObsMean, ObsVar []float64 `json:"-"`
	// Checkpoint is the run's state at its end: resume from it, or act
	// with its policy (Greedy). A run with learner actors
	// (PPOConfig.Learners) leaves out the optimiser's state, theirs, so
	// its checkpoint is for Greedy only: resuming it is ErrCheckpoint.
	Checkpoint *Checkpoint `json:"-"`
}

// SaveJSON writes the result (summary and learning curve) to path.
func (r *Result) SaveJSON(path string) error {
	b, err := json.MarshalIndent(r, "", " ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// SolveTarget is the mean return over 100 evaluation episodes that counts
// as solving each env (Gymnasium's reward_threshold where it has one,
// the targets otherwise).
func SolveTarget(env string) float64 {
	switch env {
	case "CartPole-v1":
		return 475
	case "Pendulum-v1":
		return -200
	case "LunarLander-v3", "LunarLanderContinuous-v3":
		return 200
	case "Acrobot-v1":
		return -100
	case "MountainCar-v0":
		return -110
	case "MountainCarContinuous-v0":
		return 90
	case "BipedalWalker-v3":
		return 300
	}
	return math.Inf(1)
}

// evaluate runs episodes greedy episodes (the categorical mode, the
// Gaussian mean) of the actor in params, one per env copy, and returns
// their mean return. Observations are normalised with mean and variance
// when they are non-nil.
func evaluate(pol *Policy, env string, params, mean, variance []float64, episodes int, seed int64) (float64, error) {
	ad := pol.ActDim
	if pol.Discrete {
		ad = 1
	}
	return meanReturn(env, episodes, seed, pol.ObsDim, ad, mean, variance, func(n int) func(x, act []float64) {
		return ppoGreedy(pol, params, n)
	})
}

// ppoGreedy is the actor's greedy action for n normalised observations
// at a time: the Gaussian's mean, or the most likely discrete action.
func ppoGreedy(pol *Policy, params []float64, n int) func(x, act []float64) {
	actor, _, _ := pol.Split(params)
	ws := pol.Actor.NewWorkspace(n)
	cat := Categorical{N: pol.ActDim}
	return func(x, act []float64) {
		out := pol.Actor.Forward(actor, x, n, ws)
		if !pol.Discrete {
			copy(act, out)
			return
		}
		for i := range n {
			act[i] = float64(cat.Mode(out[i*pol.ActDim : (i+1)*pol.ActDim]))
		}
	}
}

// meanReturn runs episodes copies of env, one episode each, acting with
// the policy that greedy makes for n copies at a time (their normalised
// observations in, their actions out), and returns the mean return. Both
// trainers evaluate through it. The copies are split into a shard per
// core, each stepped by its own goroutine with a policy of its own (the
// rollout workers wait meanwhile: BipedalWalker's 100 episodes took 3.5 s
// on one core of this project's 2-core machine, 1.7 s on two). A copy's
// episode is the same in any shard (its seed is seed plus its index, and
// a policy's row depends on that row alone), and the returns are summed
// in the copies' order, so the mean does not depend on the core count.
func meanReturn(env string, episodes int, seed int64, od, ad int, mean, variance []float64, greedy func(n int) func(x, act []float64)) (float64, error) {
	shards := min(runtime.GOMAXPROCS(0), max(1, episodes/minEvalShard))
	return meanReturnSharded(env, episodes, shards, seed, od, ad, mean, variance, greedy)
}

// meanReturnSharded is meanReturn with the number of shards chosen.
func meanReturnSharded(env string, episodes, shards int, seed int64, od, ad int, mean, variance []float64, greedy func(n int) func(x, act []float64)) (float64, error) {
	ret := make([]float64, episodes)
	errs := make([]error, shards)
	var wg sync.WaitGroup
	for k := range shards {
		lo, hi := k*episodes/shards, (k+1)*episodes/shards
		wg.Go(func() {
			errs[k] = episodeReturns(env, ret[lo:hi], seed+int64(lo), od, ad, mean, variance, greedy(hi-lo))
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return 0, err
	}
	var s float64
	for _, r := range ret {
		s += r
	}
	return s / float64(episodes), nil
}

// minEvalShard is the fewest evaluation episodes worth a goroutine.
const minEvalShard = 8

// episodeReturns runs len(ret) copies of env, seeded from seed, for one
// episode each with policy, and puts their returns in ret.
func episodeReturns(env string, ret []float64, seed int64, od, ad int, mean, variance []float64, policy func(x, act []float64)) error {
	n := len(ret)
	vec, err := sims.NewVec(env, n, sims.SameStep)
	if err != nil {
		return err
	}
	obs, err := vec.Reset(seed)
	if err != nil {
		return err
	}
	x := make([]float64, n*od)
	act := make([]float64, n*ad)
	rew := make([]float64, n)
	term := make([]bool, n)
	trunc := make([]bool, n)
	over := make([]bool, n)
	left := n
	for left > 0 {
		for i := range n {
			normalizeObs(x[i*od:(i+1)*od], obs[i*od:(i+1)*od], mean, variance)
		}
		policy(x, act)
		if obs, err = vec.Step(act, rew, term, trunc); err != nil {
			return err
		}
		for i := range n {
			if over[i] {
				continue
			}
			ret[i] += rew[i]
			if term[i] || trunc[i] {
				over[i] = true
				left--
			}
		}
	}
	return nil
}

// window keeps the last n episode returns.
type window struct {
	n    int
	vals []float64
	seen int
}

func (w *window) add(xs ...float64) {
	w.vals = append(w.vals, xs...)
	w.seen += len(xs)
	if len(w.vals) > w.n {
		w.vals = slices.Clone(w.vals[len(w.vals)-w.n:])
	}
}

func (w *window) mean() float64 {
	if len(w.vals) == 0 {
		return math.NaN()
	}
	var s float64
	for _, v := range w.vals {
		s += v
	}
	return s / float64(len(w.vals))
}

func since(t time.Time) float64 { return time.Since(t).Seconds() }

// evalDue reports whether iteration it should evaluate the greedy policy:
// its training mean is within a quarter of the target's magnitude
// (training returns come from exploring policies and trail the greedy
// policy's), and the last evaluation, at iteration last, is at least 5
// iterations back. The spacing matters: on BipedalWalker 100 greedy
// episodes take 8 s against an iteration's 1 s, and evaluating after
// every iteration near the target took 640 of an 18-minute ES run's
// 1082 s.
func evalDue(mean, target float64, it, last int) bool {
	return mean >= target-0.25*math.Abs(target) && it-last >= 5
}

func rangeErr(name string, v any, want string) error {
	return fmt.Errorf("%w: %s = %v, want %s", ErrBadConfig, name, v, want)
}
