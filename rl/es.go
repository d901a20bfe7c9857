package rl

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"time"

	"manta/core"
	"manta/sims"
)

// ESConfig holds the hyperparameters of Evolution Strategies after
// Salimans et al. 2017 (OpenAI's evolution-strategies-starter, which the
// Ray paper ran). Start from ESDefaults(env): zero numeric fields (L2
// aside) are filled from it, NormObs is taken as given.
type ESConfig struct {
	Env     string
	Workers int
	// Pairs is the antithetic pairs each worker evaluates per iteration
	// (population = 2·Pairs·Workers).
	Pairs      int
	TotalSteps int
	Sigma      float64 // noise standard deviation
	LR         float64 // Adam step size
	L2         float64 // weight decay
	// Refine, when its AfterSteps is set, changes Pairs, Sigma and LR for
	// the rest of the run once it has taken that many env steps.
	Refine    ESRefine
	Hidden    []int
	NoiseSize int // float32s in the shared noise table
	// EpisodeSteps caps one episode (0: the env's time limit).
	EpisodeSteps int
	NormObs      bool
	Seed         uint64
	Target       float64
	EvalEpisodes int
	MaxWall      time.Duration
	Progress     func(Iteration)
	// Resume, CheckpointPath and CheckpointEvery are as PPOConfig's.
	Resume          *Checkpoint
	CheckpointPath  string
	CheckpointEvery int
}

// ESRefine is a run's second stage: from the first iteration that starts
// with AfterSteps env steps taken, each worker evaluates Pairs pairs with
// noise Sigma and Adam steps by LR (a zero field keeps the first stage's
// value). A larger population with smaller noise and steps late in a run
// is what carries BipedalWalker past the plateau that σ = 0.1 reaches
// around 290, short of its 300.
type ESRefine struct {
	AfterSteps int
	Pairs      int
	Sigma, LR  float64
}

// ESDefaults returns the hyperparameters used for an env.
func ESDefaults(env string) ESConfig {
	c := ESConfig{
		Env: env, Workers: 2, Pairs: 10, TotalSteps: 2_000_000, Sigma: 0.1, LR: 0.03, L2: 0.005,
		Hidden: []int{32, 32}, NoiseSize: 1 << 22, NormObs: true, EvalEpisodes: 100, Target: SolveTarget(env),
	}
	switch env {
	case "LunarLanderContinuous-v3", "LunarLander-v3":
		c.Pairs, c.TotalSteps, c.Sigma, c.LR = 24, 30_000_000, 0.05, 0.02
	case "Pendulum-v1":
		c.Pairs, c.TotalSteps = 24, 10_000_000
	case "BipedalWalker-v3":
		c.TotalSteps = 60_000_000
		c.Refine = ESRefine{AfterSteps: 20_000_000, Pairs: 24, Sigma: 0.04, LR: 0.01}
	}
	return c
}

func (c *ESConfig) fill() {
	d := ESDefaults(c.Env)
	if c.Workers == 0 {
		c.Workers = d.Workers
	}
	if c.Pairs == 0 {
		c.Pairs = d.Pairs
	}
	if c.TotalSteps == 0 {
		c.TotalSteps = d.TotalSteps
	}
	if c.CheckpointEvery == 0 {
		c.CheckpointEvery = 10
	}
	if c.Sigma == 0 {
		c.Sigma = d.Sigma
	}
	if c.LR == 0 {
		c.LR = d.LR
	}
	if r := &c.Refine; r.AfterSteps > 0 {
		r.Pairs = cmp.Or(r.Pairs, c.Pairs)
		r.Sigma = cmp.Or(r.Sigma, c.Sigma)
		r.LR = cmp.Or(r.LR, c.LR)
	}
	if c.Hidden == nil {
		c.Hidden = d.Hidden
	}
	if c.NoiseSize == 0 {
		c.NoiseSize = d.NoiseSize
	}
	if c.EvalEpisodes == 0 {
		c.EvalEpisodes = d.EvalEpisodes
	}
	if c.Target == 0 {
		c.Target = d.Target
	}
}

// Validate reports hyperparameters out of range and unsupported envs.
func (c *ESConfig) Validate() error {
	c.fill()
	if _, err := sims.Make(c.Env); err != nil {
		return fmt.Errorf("%w: %v", ErrUnsupported, err)
	}
	switch {
	case c.Workers < 1 || c.Workers > 256:
		return rangeErr("workers", c.Workers, "1..256")
	case c.Pairs < 1:
		return rangeErr("pairs", c.Pairs, "≥ 1")
	case c.TotalSteps < 1:
		return rangeErr("total steps", c.TotalSteps, "≥ 1")
	case !(c.Sigma > 0 && c.Sigma < 10):
		return rangeErr("sigma", c.Sigma, "in (0, 10)")
	case !(c.LR > 0 && c.LR <= 1):
		return rangeErr("learning rate", c.LR, "in (0, 1]")
	case !(c.L2 >= 0 && c.L2 < 1):
		return rangeErr("L2", c.L2, "in [0, 1)")
	case c.EpisodeSteps < 0:
		return rangeErr("episode steps", c.EpisodeSteps, "≥ 0")
	case c.EvalEpisodes < 1:
		return rangeErr("eval episodes", c.EvalEpisodes, "≥ 1")
	case c.Refine.AfterSteps < 0:
		return rangeErr("refine after steps", c.Refine.AfterSteps, "≥ 0")
	case c.Refine.AfterSteps > 0 && c.Refine.Pairs < 1:
		return rangeErr("refine pairs", c.Refine.Pairs, "≥ 1")
	case c.Refine.AfterSteps > 0 && !(c.Refine.Sigma > 0 && c.Refine.Sigma < 10):
		return rangeErr("refine sigma", c.Refine.Sigma, "in (0, 10)")
	case c.Refine.AfterSteps > 0 && !(c.Refine.LR > 0 && c.Refine.LR <= 1):
		return rangeErr("refine learning rate", c.Refine.LR, "in (0, 1]")
	}
	for _, h := range c.Hidden {
		if h < 1 || h > 4096 {
			return rangeErr("hidden width", h, "1..4096")
		}
	}
	pol, err := newESPolicy(c.Env, c.Hidden)
	if err != nil {
		return err
	}
	if c.NoiseSize < 2*pol.net.NumParams() || c.NoiseSize > 1<<28 {
		return rangeErr("noise table size", c.NoiseSize, fmt.Sprintf("between %d and %d", 2*pol.net.NumParams(), 1<<28))
	}
	return nil
}

// esPolicy is ES's deterministic policy: an MLP whose output is the
// logits' argmax for a discrete space, or tanh scaled to the bounds of a
// Box space.
type esPolicy struct {
	net      *MLP
	obs      sims.Space
	act      sims.Space
	discrete bool
}

func newESPolicy(env string, hidden []int) (*esPolicy, error) {
	e, err := sims.Make(env)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnsupported, err)
	}
	p := &esPolicy{obs: e.ObservationSpace(), act: e.ActionSpace()}
	out := p.act.Discrete
	switch {
	case out > 0:
		p.discrete = true
	case len(p.act.Shape) == 1 && p.act.Dim() > 0:
		out = p.act.Dim()
		for i := range p.act.Low {
			if math.IsInf(p.act.Low[i], 0) || math.IsInf(p.act.High[i], 0) {
				return nil, fmt.Errorf("%w: ES needs a bounded action space, %s has %v..%v", ErrUnsupported, env, p.act.Low, p.act.High)
			}
		}
	default:
		return nil, fmt.Errorf("%w: action space %+v", ErrUnsupported, p.act)
	}
	p.net, err = NewMLP(append(append([]int{p.obs.Dim()}, hidden...), out)...)
	return p, err
}

// act writes the action for the network's output o into a.
func (p *esPolicy) act1(o, a []float64) {
	if p.discrete {
		a[0] = float64(Categorical{N: len(o)}.Mode(o))
		return
	}
	for i, v := range o {
		lo, hi := p.act.Low[i], p.act.High[i]
		a[i] = lo + (math.Tanh(v)+1)/2*(hi-lo)
	}
}

// esWorkerSpec configures one ES worker. Noise stays a reference inside
// the struct, so the worker Gets it itself and keeps the zero-copy view.
type esWorkerSpec struct {
	Env          string              `json:"env"`
	Hidden       []int               `json:"hidden"`
	EpisodeSteps int                 `json:"episode_steps"`
	Noise        core.Ref[[]float32] `json:"noise"`
}

// esTask is one iteration's work for one worker: evaluate Pairs antithetic
// pairs around the weights, drawing noise offsets from Seed.
type esTask struct {
	Seed     uint64    `json:"seed"`
	Pairs    int       `json:"pairs"`
	Sigma    float64   `json:"sigma"`
	ObsStats []float64 `json:"obs_stats"` // mean then variance; empty: none
}

// esResult is what a worker sends back: offsets and returns, no vectors.
type esResult struct {
	Offsets  []int     `json:"offsets"`
	Pos      []float64 `json:"pos"`
	Neg      []float64 `json:"neg"`
	Steps    int       `json:"steps"`
	ObsN     float64   `json:"obs_n"`
	ObsSum   []float64 `json:"obs_sum"`
	ObsSumSq []float64 `json:"obs_sumsq"`
	PID      int       `json:"pid"`
}

type esWorker struct {
	spec  esWorkerSpec
	noise []float32 // read-only view of the shared table, valid while spec.Noise is held
	pol   *esPolicy
	env   sims.Env
	ws    *Workspace
	theta []float64
	x, a  []float64
}

func newESWorker(s esWorkerSpec) (*esWorker, error) {
	noise, err := s.Noise.Get(context.Background())
	if err != nil {
		return nil, err
	}
	pol, err := newESPolicy(s.Env, s.Hidden)
	if err != nil {
		return nil, err
	}
	env, _ := sims.Make(s.Env)
	return &esWorker{
		spec: s, noise: noise, pol: pol, env: env, ws: pol.net.NewWorkspace(1),
		theta: make([]float64, pol.net.NumParams()),
		x:     make([]float64, pol.obs.Dim()), a: make([]float64, pol.act.Dim()),
	}, nil
}

var (
	esWorkerType = core.RegisterActor1("rl.esWorker", newESWorker, core.WithMaxRestarts(8))
	esEvaluate   = core.RegisterMethod2(esWorkerType, "evaluate", (*esWorker).evaluate)
)

// noiseOffset draws where in the table a perturbation starts.
func noiseOffset(rng *rand.Rand, table, dim int) int { return rng.IntN(table - dim + 1) }

func (w *esWorker) evaluate(params []float64, t esTask) (*esResult, error) {
	n := len(w.theta)
	if len(params) != n {
		return nil, fmt.Errorf("rl: ES worker got %d weights, want %d", len(params), n)
	}
	od := w.pol.obs.Dim()
	var mean, variance []float64
	if len(t.ObsStats) == 2*od {
		mean, variance = t.ObsStats[:od], t.ObsStats[od:]
	}
	rng := rand.New(rand.NewPCG(t.Seed, 0xe5))
	r := &esResult{ObsSum: make([]float64, od), ObsSumSq: make([]float64, od), PID: os.Getpid()}
	for range t.Pairs {
		off := noiseOffset(rng, len(w.noise), n)
		eps := w.noise[off : off+n]
		epSeed := int64(rng.Uint32())
		for sign := 1.0; sign >= -1; sign -= 2 {
			for i, p := range params {
				w.theta[i] = p + sign*t.Sigma*float64(eps[i])
			}
			ret, steps, err := w.episode(epSeed, mean, variance, r)
			if err != nil {
				return nil, err
			}
			r.Steps += steps
			if sign > 0 {
				r.Pos = append(r.Pos, ret)
			} else {
				r.Neg = append(r.Neg, ret)
			}
		}
		r.Offsets = append(r.Offsets, off)
	}
	return r, nil
}

// episode runs one episode of w.theta and returns its return and length,
// adding the raw observations to r's moments.
func (w *esWorker) episode(seed int64, mean, variance []float64, r *esResult) (float64, int, error) {
	obs, err := w.env.Reset(seed)
	if err != nil {
		return 0, 0, err
	}
	var ret float64
	steps := 0
	for {
		r.ObsN++
		for j, v := range obs {
			r.ObsSum[j] += float64(v)
			r.ObsSumSq[j] += float64(v) * float64(v)
		}
		normalizeObs(w.x, obs, mean, variance)
		w.pol.act1(w.pol.net.Forward(w.theta, w.x, 1, w.ws), w.a)
		var rew float64
		var term, trunc bool
		obs, rew, term, trunc, err = w.env.Step(w.a)
		if err != nil {
			return 0, 0, err
		}
		ret += rew
		steps++
		if term || trunc || (w.spec.EpisodeSteps > 0 && steps >= w.spec.EpisodeSteps) {
			return ret, steps, nil
		}
	}
}

// centeredRanks maps values to their ranks scaled to [-0.5, 0.5]
// (Salimans et al.'s fitness shaping).
func centeredRanks(x []float64) []float64 {
	idx := make([]int, len(x))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case x[a] < x[b]:
			return -1
		case x[a] > x[b]:
			return 1
		}
		return 0
	})
	out := make([]float64, len(x))
	if len(x) == 1 {
		return out
	}
	for rank, i := range idx {
		out[i] = float64(rank)/float64(len(x)-1) - 0.5
	}
	return out
}

// makeNoise fills the shared noise table from the seed (standard normal,
// float32, as the starter code's table).
func makeNoise(n int, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 0x0157))
	t := make([]float32, n)
	for i := range t {
		t[i] = float32(rng.NormFloat64())
	}
	return t
}

// TrainES runs Evolution Strategies on the running manta cluster: the
// noise table is put once into the object store and every worker reads
// it zero-copy; each iteration the weights are put once and workers
// return only noise offsets and returns.
func TrainES(ctx context.Context, cfg ESConfig) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	pol, _ := newESPolicy(cfg.Env, cfg.Hidden)
	n := pol.net.NumParams()
	start := time.Now().Add(-cfg.Resume.wall())
	res := &Result{Summary: Summary{Algo: "es", Env: cfg.Env, Workers: cfg.Workers, Seed: cfg.Seed}}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0xe5e5))
	params := make([]float64, n)
	pol.net.InitOrthogonal(params, rng, 1)
	good := slices.Clone(params)
	adam := NewAdam(n, cfg.LR, 1e-8)
	adam.L2 = cfg.L2
	var obsRMS *RunningMeanStd
	od := pol.obs.Dim()
	if cfg.NormObs {
		obsRMS = NewRunningMeanStd(od)
	}
	redone, done := 0, 0
	if ck := cfg.Resume; ck != nil {
		if err := ck.check("es", cfg.Env, cfg.Workers, cfg.Hidden, n); err != nil {
			return nil, err
		}
		if err := adam.SetState(ck.Adam); err != nil {
			return nil, err
		}
		if obsRMS != nil {
			if ck.ObsRMS == nil || len(ck.ObsRMS.Mean) != od {
				return nil, fmt.Errorf("%w: no observation statistics for a run that normalises observations", ErrCheckpoint)
			}
			obsRMS = ck.ObsRMS.clone()
		}
		copy(params, ck.Params)
		copy(good, ck.Params)
		redone, done = ck.Redone, ck.Iter
		res.Curve, res.EnvSteps = slices.Clone(ck.Curve), ck.EnvSteps
	}
	saver := checkpointer{path: cfg.CheckpointPath, every: cfg.CheckpointEvery}
	snapshot := func() *Checkpoint {
		ck := &Checkpoint{Algo: "es", Env: cfg.Env, Seed: cfg.Seed, Workers: cfg.Workers, Hidden: slices.Clone(cfg.Hidden), Iter: len(res.Curve),
			EnvSteps: res.EnvSteps, Params: slices.Clone(params), Adam: adam.State(), Redone: redone, Curve: slices.Clone(res.Curve)}
		if obsRMS != nil {
			ck.ObsRMS = obsRMS.clone()
		}
		return ck
	}
	noise := makeNoise(cfg.NoiseSize, cfg.Seed)
	noiseRef, err := core.Put(noise)
	if err != nil {
		return nil, err
	}
	workers := make([]core.Actor[esWorker], cfg.Workers)
	for i := range workers {
		workers[i] = esWorkerType.Remote(esWorkerSpec{Env: cfg.Env, Hidden: cfg.Hidden, EpisodeSteps: cfg.EpisodeSteps, Noise: noiseRef})
	}
	defer func() {
		for _, w := range workers {
			_ = w.Kill()
		}
	}()
	finish := func() *Result {
		res.Checkpoint = snapshot()
		res.Params = params
		if obsRMS != nil {
			res.ObsMean, res.ObsVar = obsRMS.Mean, obsRMS.Var
		}
		res.WallS = since(start)
		res.total()
		if !res.Solved && len(res.Curve) > 0 && !res.Curve[len(res.Curve)-1].Evaluated {
			res.MeanReturn = res.Curve[len(res.Curve)-1].MeanReturn
		}
		return res
	}
	grad := make([]float64, n)
	lastEval := -100
	for it := done + 1; res.EnvSteps < cfg.TotalSteps; it++ {
		pairs, sigma := cfg.Pairs, cfg.Sigma
		if r := cfg.Refine; r.AfterSteps > 0 && res.EnvSteps >= r.AfterSteps {
			pairs, sigma, adam.LR = r.Pairs, r.Sigma, r.LR
		}
		launched := time.Now()
		wref, err := core.Put(params)
		if err != nil {
			return finish(), err
		}
		var stats []float64
		if obsRMS != nil {
			stats = append(slices.Clone(obsRMS.Mean), obsRMS.Var...)
		}
		tasks := make([]esTask, len(workers))
		refs := make([]core.Ref[*esResult], len(workers))
		for i := range workers {
			tasks[i] = esTask{Seed: cfg.Seed*1_000_003 + uint64(it)*4099 + uint64(i), Pairs: pairs, Sigma: sigma, ObsStats: stats}
			refs[i] = esEvaluate.Remote(workers[i], wref, tasks[i])
		}
		syncS, waited := since(launched), time.Now()
		// Gather as they arrive; a dead worker's task is redone, exactly
		// (its seed is in the task), by the restarted actor.
		results := make([]*esResult, len(workers))
		pids := make([]int, len(workers))
		left := len(workers)
		for left > 0 {
			var wait []core.AnyRef
			var which []int
			for i, r := range results {
				if r == nil {
					wait = append(wait, refs[i])
					which = append(which, i)
				}
			}
			ready, err := core.WaitAny(ctx, wait, 1, 0)
			if err != nil {
				return finish(), err
			}
			for _, j := range ready {
				i := which[j]
				r, err := refs[i].Get(ctx)
				if err != nil {
					if !errors.Is(err, core.ErrActorDied) || redone >= 8*len(workers) {
						return finish(), fmt.Errorf("rl: iteration %d: ES worker %d: %w", it, i, err)
					}
					redone++
					refs[i] = esEvaluate.Remote(workers[i], wref, tasks[i])
					continue
				}
				results[i], pids[i] = r, r.PID
				left--
			}
		}
		sampleS, learnt := since(waited), time.Now()
		// Centered ranks over all 2·pairs returns, then the antithetic
		// gradient estimate read from the learner's copy of the table.
		var all []float64
		var offs []int
		for _, r := range results {
			all = append(all, r.Pos...)
			all = append(all, r.Neg...)
			res.EnvSteps += r.Steps
			if obsRMS != nil {
				m := Moments{N: r.ObsN, Sum: r.ObsSum, SumSq: r.ObsSumSq}
				m.MergeInto(obsRMS)
			}
		}
		ranks := centeredRanks(all)
		clear(grad)
		k := 0
		for _, r := range results {
			np := len(r.Pos)
			for j, off := range r.Offsets {
				wgt := ranks[k+j] - ranks[k+np+j]
				eps := noise[off : off+n]
				for i := range grad {
					grad[i] += wgt * float64(eps[i])
				}
				offs = append(offs, off)
			}
			k += 2 * np
		}
		scale := -1 / (float64(len(offs)) * sigma) // ascend: Adam minimises
		for i := range grad {
			grad[i] *= scale
		}
		adam.Step(params, grad)
		if !finite(params) || !finite(grad) {
			copy(params, good)
			return finish(), fmt.Errorf("%w at iteration %d: weights are not finite (the last good weights are kept)", ErrDiverged, it)
		}
		copy(good, params)
		var mr float64
		for _, v := range all {
			mr += v
		}
		mr /= float64(len(all))
		rec := Iteration{Iter: it, EnvSteps: res.EnvSteps, MeanReturn: mr, Episodes: len(all), WallS: since(start),
			SyncS: syncS, SampleS: sampleS, LearnS: since(learnt), Redone: redone, WorkerPIDs: pids}
		rec.StepsPerSec = float64(rec.EnvSteps) / rec.WallS
		if evalDue(mr, cfg.Target, it, lastEval) {
			lastEval = it
			var mean, variance []float64
			if obsRMS != nil {
				mean, variance = obsRMS.Mean, obsRMS.Var
			}
			ev, err := evaluateES(pol, cfg.Env, params, mean, variance, cfg.EvalEpisodes, int64(cfg.Seed)*7919+1_000_000)
			if err != nil {
				return finish(), err
			}
			rec.Evaluated, rec.EvalReturn = true, ev
			res.MeanReturn, res.Solved = ev, ev >= cfg.Target
		}
		res.Curve = append(res.Curve, rec)
		if cfg.Progress != nil {
			cfg.Progress(rec)
		}
		stop := res.Solved || (cfg.MaxWall > 0 && time.Since(start) > cfg.MaxWall)
		if saver.due(it, stop || res.EnvSteps >= cfg.TotalSteps) {
			if err := snapshot().Save(saver.path); err != nil {
				return finish(), fmt.Errorf("rl: checkpoint: %w", err)
			}
		}
		if stop {
			break
		}
		if err := ctx.Err(); err != nil {
			return finish(), err
		}
	}
	return finish(), nil
}

// evaluateES runs episodes episodes of the unperturbed policy, batched.
func evaluateES(pol *esPolicy, env string, params, mean, variance []float64, episodes int, seed int64) (float64, error) {
	return meanReturn(env, episodes, seed, pol.obs.Dim(), pol.act.Dim(), mean, variance, func(n int) func(x, act []float64) {
		return esGreedy(pol, params, n)
	})
}

// esGreedy is the policy's action for n normalised observations at a
// time.
func esGreedy(pol *esPolicy, params []float64, n int) func(x, act []float64) {
	ad, outd := pol.act.Dim(), pol.net.Out()
	ws := pol.net.NewWorkspace(n)
	return func(x, act []float64) {
		out := pol.net.Forward(params, x, n, ws)
		for i := range n {
			pol.act1(out[i*outd:(i+1)*outd], act[i*ad:(i+1)*ad])
		}
	}
}
