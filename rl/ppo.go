package rl

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"manta/core"
	"manta/sims"
)

// PPOConfig holds PPO's hyperparameters, named as in CleanRL's ppo.py and
// ppo_continuous_action.py. Start from PPODefaults(env) and change what
// differs: zero numeric fields (EntCoef aside, where 0 is a choice) are
// filled from it, but the switches (AnnealLR, ClipVLoss, NormAdv,
// NormObs, NormReward) are taken as given.
type PPOConfig struct {
	Env           string
	Workers       int // rollout actors
	EnvsPerWorker int // copies in each worker's vectorised env
	Steps         int // steps per env copy per rollout
	TotalSteps    int // env step budget
	LR            float64
	AnnealLR      bool
	Gamma, Lambda float64
	Minibatches   int
	Epochs        int
	ClipCoef      float64
	ClipVLoss     bool
	EntCoef       float64
	VfCoef        float64
	MaxGradNorm   float64
	NormAdv       bool
	NormObs       bool
	NormReward    bool
	Hidden        []int
	Seed          uint64
	// Sync gathers rollouts MPI-style: a barrier (GetAll) for all workers,
	// then the learner processes them. Otherwise each rollout is processed
	// as it arrives (core.Wait). Both give the same result for a seed.
	Sync bool
	// Overlap starts each iteration's next rollouts before its update,
	// with the weights the update starts from, so that the workers sample
	// while the learner learns: the asynchronous PPO of Ray's RLlib
	// (sample_async), where every batch comes from weights one update
	// old and the clipped ratio to the logged probabilities corrects for
	// it. A run with it is still determined by its seed, but it is not
	// the run without it. Not with Sync.
	Overlap bool
	// Target is the evaluation mean return that stops training as solved
	// (default SolveTarget(Env)); EvalEpisodes evaluation episodes run
	// whenever the training mean reaches it (default 100).
	Target       float64
	EvalEpisodes int
	// MaxWall stops training after this long (0: no limit).
	MaxWall time.Duration
	// Learners, when 2 or more, computes each minibatch's gradient in
	// that many learner actors, each over its share of the rows, summed
	// with a ring allreduce (package collective) before the same Adam
	// step in every one: the learner of MPI-style PPO, as actors, for
	// when learning, not sampling, bounds an iteration. The weights are
	// the single learner's, to rounding. Not with checkpoints yet.
	Learners int
	// Progress, if set, is called after every iteration.
	Progress func(Iteration) `cbor:"-"`
	// Resume, if set, goes on from a checkpoint of PPO on this env with
	// this worker count and Hidden (ErrCheckpoint otherwise); TotalSteps
	// counts the checkpoint's steps too.
	Resume *Checkpoint `cbor:"-"`
	// CheckpointPath, if set, is where a Checkpoint is written every
	// CheckpointEvery iterations (default 10) and when the run ends.
	CheckpointPath  string
	CheckpointEvery int
}

// PPODefaults returns the hyperparameters used for an env: CleanRL's
// for CartPole (more env copies, for throughput), rl-zoo's tuned ones for
// Pendulum, CleanRL's continuous defaults otherwise.
func PPODefaults(env string) PPOConfig {
	c := PPOConfig{
		Env: env, Workers: 2, EnvsPerWorker: 4, Steps: 128, TotalSteps: 500_000,
		LR: 2.5e-4, AnnealLR: true, Gamma: 0.99, Lambda: 0.95, Minibatches: 4, Epochs: 4,
		ClipCoef: 0.2, ClipVLoss: true, EntCoef: 0.01, VfCoef: 0.5, MaxGradNorm: 0.5, NormAdv: true,
		Hidden: []int{64, 64}, EvalEpisodes: 100, Target: SolveTarget(env),
	}
	switch env {
	case "CartPole-v1", "Acrobot-v1", "MountainCar-v0", "LunarLander-v3":
	case "Pendulum-v1":
		c.EnvsPerWorker, c.Steps, c.TotalSteps = 4, 256, 300_000
		c.LR, c.Gamma, c.Lambda, c.Epochs, c.Minibatches, c.EntCoef = 1e-3, 0.9, 0.95, 10, 32, 0
		c.NormObs, c.NormReward = true, true
	default:
		c.EnvsPerWorker, c.Steps, c.TotalSteps = 4, 512, 2_000_000
		c.LR, c.Epochs, c.Minibatches, c.EntCoef = 3e-4, 10, 32, 0
		c.NormObs, c.NormReward = true, true
		if env == "BipedalWalker-v3" {
			// Twice the batch and the learning rate annealed over 8M
			// steps: with 4 copies and 2M (or 3M) steps the greedy walker
			// plateaus at 290-296, every episode finishing the course in
			// ~800 steps but paying ~70 in torque; annealed over 5M, seeds
			// 1 and 2 still reached only 298.4 and 298.7 by its end. Over
			// 8M, seeds 0, 1, 2, 3 and 5 pass 300 at 1.9M, 2.1M, 4.0M,
			// 2.0M and 4.1M steps; seed 4 peaks at 290 (over 12M, at
			// 299.9).
			c.EnvsPerWorker, c.TotalSteps = 8, 8_000_000
		}
	}
	return c
}

func (c *PPOConfig) fill() {
	d := PPODefaults(c.Env)
	setI := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	setF := func(p *float64, v float64) {
		if *p == 0 {
			*p = v
		}
	}
	setI(&c.Workers, d.Workers)
	setI(&c.EnvsPerWorker, d.EnvsPerWorker)
	setI(&c.Steps, d.Steps)
	setI(&c.TotalSteps, d.TotalSteps)
	setI(&c.Minibatches, d.Minibatches)
	setI(&c.Epochs, d.Epochs)
	setI(&c.EvalEpisodes, d.EvalEpisodes)
	setI(&c.CheckpointEvery, 10)
	setF(&c.LR, d.LR)
	setF(&c.Gamma, d.Gamma)
	setF(&c.Lambda, d.Lambda)
	setF(&c.ClipCoef, d.ClipCoef)
	setF(&c.VfCoef, d.VfCoef)
	setF(&c.MaxGradNorm, d.MaxGradNorm)
	setF(&c.Target, d.Target)
	if c.Hidden == nil {
		c.Hidden = d.Hidden
	}
}

// Validate reports hyperparameters out of range (ErrBadConfig) and envs
// PPO cannot run (ErrUnsupported), after filling defaults.
func (c *PPOConfig) Validate() error {
	c.fill()
	if _, err := sims.Make(c.Env); err != nil {
		return fmt.Errorf("%w: %v", ErrUnsupported, err)
	}
	switch {
	case c.Workers < 1 || c.Workers > 256:
		return rangeErr("workers", c.Workers, "1..256")
	case c.EnvsPerWorker < 1 || c.Steps < 1:
		return rangeErr("envs per worker × steps", c.EnvsPerWorker*c.Steps, "≥ 1")
	case c.TotalSteps < 1:
		return rangeErr("total steps", c.TotalSteps, "≥ 1")
	case !(c.LR > 0 && c.LR <= 1):
		return rangeErr("learning rate", c.LR, "in (0, 1]")
	case !(c.Gamma > 0 && c.Gamma <= 1):
		return rangeErr("gamma", c.Gamma, "in (0, 1]")
	case !(c.Lambda >= 0 && c.Lambda <= 1):
		return rangeErr("lambda", c.Lambda, "in [0, 1]")
	case !(c.ClipCoef > 0 && c.ClipCoef < 1):
		return rangeErr("clip coefficient", c.ClipCoef, "in (0, 1)")
	case !(c.EntCoef >= 0 && c.EntCoef < 1):
		return rangeErr("entropy coefficient", c.EntCoef, "in [0, 1)")
	case !(c.VfCoef > 0 && c.VfCoef <= 10):
		return rangeErr("value coefficient", c.VfCoef, "in (0, 10]")
	case !(c.MaxGradNorm > 0):
		return rangeErr("max grad norm", c.MaxGradNorm, "> 0")
	case c.Epochs < 1 || c.Epochs > 100:
		return rangeErr("epochs", c.Epochs, "1..100")
	case c.Minibatches < 1 || c.Minibatches > c.Workers*c.EnvsPerWorker*c.Steps:
		return rangeErr("minibatches", c.Minibatches, "between 1 and the batch size")
	case c.EvalEpisodes < 1:
		return rangeErr("eval episodes", c.EvalEpisodes, "≥ 1")
	case c.Overlap && c.Sync:
		return fmt.Errorf("%w: Overlap with Sync (a barrier and no learning while sampling is MPI-style PPO; Overlap is its opposite)", ErrBadConfig)
	case c.Learners < 0 || c.Learners > 64:
		return rangeErr("learners", c.Learners, "0..64")
	case c.Learners > 1 && (c.Resume != nil || c.CheckpointPath != ""):
		return fmt.Errorf("%w: checkpoints of a run with %d learner actors (their optimiser state is theirs)", ErrUnsupported, c.Learners)
	}
	for _, h := range c.Hidden {
		if h < 1 || h > 4096 {
			return rangeErr("hidden width", h, "1..4096")
		}
	}
	env, _ := sims.Make(c.Env)
	_, err := NewPolicy(env.ObservationSpace(), env.ActionSpace(), c.Hidden)
	return err
}

// ppoLearner is PPO's learner state: the policy, its weights, the
// optimiser and the scratch of one update.
type ppoLearner struct {
	algo   string // "ppo" or "a2c", whose checkpoints are its
	cfg    PPOConfig
	pol    *Policy
	params []float64
	good   []float64 // weights after the last update that stayed finite
	grad   []float64
	adam   *Adam
	pcg    *rand.PCG // rng's source, whose state a checkpoint keeps
	rng    *rand.Rand
	part   learnerPart // its share of each minibatch, with several learner actors
	obsRMS *RunningMeanStd
	mbObs  []float64
	shards [learnerShards]*ppoShard
}

// learnerShards is how many goroutines compute one minibatch's gradient,
// each over its own rows; their gradients are summed in shard order, so
// the result does not depend on the machine.
const learnerShards = 2

// ppoShard is one learner goroutine's scratch.
type ppoShard struct {
	wsA, wsC         *Workspace
	dout, dval, grad []float64
	scratch          []float64
	loss             float64
}

// TrainPPO runs PPO on the running manta cluster (core.Init first) and
// returns the learning curve. Rollout workers are actors, each stepping
// cfg.EnvsPerWorker env copies; each iteration's weights are put once
// into the object store and every worker reads them from there.
func TrainPPO(ctx context.Context, cfg PPOConfig) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return trainActorCritic(ctx, cfg, "ppo")
}

// policyOf is the policy cfg trains.
func policyOf(cfg PPOConfig) (*Policy, error) {
	probe, err := sims.Make(cfg.Env)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnsupported, err)
	}
	return NewPolicy(probe.ObservationSpace(), probe.ActionSpace(), cfg.Hidden)
}

// trainActorCritic is PPO's loop, which A2C runs too, as algo: rollout
// actors, the learner's update as cfg says, checkpoints, evaluations.
func trainActorCritic(ctx context.Context, cfg PPOConfig, algo string) (*Result, error) {
	pol, err := policyOf(cfg)
	if err != nil {
		return nil, err
	}
	L := newPPOLearner(cfg, pol)
	L.algo = algo
	res := &Result{Summary: Summary{Algo: algo, Env: cfg.Env, Workers: cfg.Workers, Seed: cfg.Seed}}
	eps := &window{n: 100}
	redone, lastEval, done := 0, -100, 0
	retRMS := make([]*RunningMeanStd, cfg.Workers) // each worker's latest reward normaliser
	if ck := cfg.Resume; ck != nil {
		if err := L.resume(ck); err != nil {
			return nil, err
		}
		if ck.RetRMS != nil && len(ck.RetRMS) != cfg.Workers {
			return nil, fmt.Errorf("%w: %d reward normalisers for %d workers", ErrCheckpoint, len(ck.RetRMS), cfg.Workers)
		}
		copy(retRMS, ck.RetRMS)
		eps.vals, eps.seen = slices.Clone(ck.Returns), ck.EpisodesSeen
		redone, done = ck.Redone, ck.Iter
		res.Curve, res.EnvSteps = slices.Clone(ck.Curve), ck.EnvSteps
	}
	start := time.Now().Add(-cfg.Resume.wall())

	workers := make([]core.Actor[ppoWorker], cfg.Workers)
	for i := range workers {
		workers[i] = ppoWorkerType.Remote(ppoWorkerSpec{
			Env: cfg.Env, Envs: cfg.EnvsPerWorker, Steps: cfg.Steps, Seed: cfg.Seed, Index: i,
			Hidden: cfg.Hidden, Gamma: cfg.Gamma, Lambda: cfg.Lambda, NormReward: cfg.NormReward,
			RetRMS: retRMS[i], Resumed: done,
		})
	}
	defer func() {
		for _, w := range workers {
			_ = w.Kill()
		}
	}()

	// update is the iteration's learning: here, or on learner actors.
	update := L.update
	if cfg.Learners > 1 {
		actors, err := learnerGroupOf(ctx, cfg)
		if err != nil {
			return nil, err
		}
		defer func() {
			learners.Destroy(ctx, learnerGroup, actors)
			for _, a := range actors {
				_ = a.Kill()
			}
		}()
		update = func(batches []*rolloutBatch) error {
			params, err := updateOn(ctx, actors, batches, L.adam.LR)
			if err != nil {
				return err
			}
			copy(L.params, params)
			copy(L.good, params)
			return nil
		}
	}
	perIter := cfg.Workers * cfg.EnvsPerWorker * cfg.Steps
	iters := max(1, cfg.TotalSteps/perIter)
	saver := checkpointer{path: cfg.CheckpointPath, every: cfg.CheckpointEvery}
	finish := func() *Result {
		res.Checkpoint = L.checkpoint(len(res.Curve), res, retRMS, eps, redone)
		if cfg.Learners > 1 {
			// The optimiser's state is the learner actors': this one's
			// would resume wrongly, so there is none to resume from.
			res.Checkpoint.Adam, res.Checkpoint.LearnerRNG = AdamState{}, nil
		}
		res.Params = L.params
		if cfg.NormObs {
			res.ObsMean, res.ObsVar = L.obsRMS.Mean, L.obsRMS.Var
		}
		res.WallS = since(start)
		res.total()
		if !res.Solved && len(res.Curve) > 0 {
			last := res.Curve[len(res.Curve)-1]
			if !last.Evaluated {
				res.MeanReturn = last.MeanReturn
			}
		}
		return res
	}
	// launch asks every worker for a rollout with the current weights,
	// put once into the object store for all of them.
	launch := func() (*rolloutCall, error) {
		wref, err := core.Put(L.params)
		if err != nil {
			return nil, err
		}
		c := &rolloutCall{workers: workers, wref: wref, stats: L.obsStats()}
		c.refs = make([]core.Ref[*rolloutBatch], len(workers))
		for i := range workers {
			c.refs[i] = c.submit(i)
		}
		return c, nil
	}
	var next *rolloutCall
	var launched time.Duration // the last launch's, which the next iteration waits for
	// launchNext starts the next iteration's rollouts with the current
	// weights, timing the launch for that iteration's sync share.
	launchNext := func() (err error) {
		t := time.Now()
		next, err = launch()
		launched = time.Since(t)
		return err
	}
	for it := done + 1; it <= iters; it++ {
		syncS := launched.Seconds()
		if next == nil {
			if err := launchNext(); err != nil {
				return finish(), err
			}
			syncS = launched.Seconds()
		}
		waited := time.Now()
		batches, pids, n, err := next.gather(ctx, cfg.Sync)
		next = nil
		sampleS := since(waited)
		redone += n
		if err != nil {
			return finish(), fmt.Errorf("rl: iteration %d: %w", it, err)
		}
		for i, b := range batches {
			if b.RetRMS != nil {
				retRMS[i] = b.RetRMS
			}
			eps.add(b.EpReturns...)
			if cfg.NormObs {
				m := Moments{N: b.ObsN, Sum: b.ObsSum, SumSq: b.ObsSumSq}
				m.MergeInto(L.obsRMS)
			}
		}
		launched = 0
		if cfg.Overlap && it < iters {
			// The workers sample the next batch while this one is learnt.
			if err := launchNext(); err != nil {
				return finish(), err
			}
		}
		learnt := time.Now()
		if cfg.AnnealLR {
			L.adam.LR = cfg.LR * (1 - float64(it-1)/float64(iters))
		}
		if err := update(batches); err != nil {
			L.restore()
			return finish(), fmt.Errorf("%w at iteration %d: %v (the last good weights are kept)", ErrDiverged, it, err)
		}
		learnS := since(learnt)
		if next == nil && !cfg.Sync && it < iters {
			// Asynchronous: the next rollouts start now, while this
			// iteration is evaluated and reported.
			if err := launchNext(); err != nil {
				return finish(), err
			}
		}
		res.EnvSteps = it * perIter
		rec := Iteration{
			Iter: it, EnvSteps: res.EnvSteps, MeanReturn: eps.mean(), Episodes: eps.seen,
			WallS: since(start), SyncS: syncS, SampleS: sampleS, LearnS: learnS, Redone: redone, WorkerPIDs: pids,
		}
		rec.StepsPerSec = float64(rec.EnvSteps) / rec.WallS
		if eps.seen >= 10 && evalDue(rec.MeanReturn, cfg.Target, it, lastEval) {
			lastEval = it
			mean, variance := L.obsMeanVar()
			ev, err := evaluate(pol, cfg.Env, L.params, mean, variance, cfg.EvalEpisodes, int64(cfg.Seed)*7919+1_000_000)
			if err != nil {
				return finish(), err
			}
			rec.Evaluated, rec.EvalReturn = true, ev
			res.MeanReturn = ev
			res.Solved = ev >= cfg.Target
		}
		res.Curve = append(res.Curve, rec)
		if cfg.Progress != nil {
			cfg.Progress(rec)
		}
		stop := res.Solved || (cfg.MaxWall > 0 && time.Since(start) > cfg.MaxWall)
		if saver.due(it, stop || it == iters) {
			ck := L.checkpoint(it, res, retRMS, eps, redone)
			if err := ck.Save(saver.path); err != nil {
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

// rolloutCall is one iteration's rollouts in flight: one call per worker,
// all reading the same weights.
type rolloutCall struct {
	workers []core.Actor[ppoWorker]
	wref    core.Ref[[]float64]
	stats   []float64
	refs    []core.Ref[*rolloutBatch]
}

func (c *rolloutCall) submit(i int) core.Ref[*rolloutBatch] {
	return ppoRollout.Remote(c.workers[i], c.wref, c.stats)
}

// gather collects the batches in worker order. A rollout whose worker
// died is asked again of the same handle, which manta has restarted
// (WithMaxRestarts); n counts such redone rollouts. With sync the learner
// takes them in worker order, all before any processing (a barrier);
// otherwise it takes each one as it arrives (core.Wait).
func (c *rolloutCall) gather(ctx context.Context, sync bool) (out []*rolloutBatch, pids []int, n int, err error) {
	out = make([]*rolloutBatch, len(c.refs))
	pids = make([]int, len(c.refs))
	const maxRedo = 8
	take := func(i int) error {
		for {
			b, err := c.refs[i].Get(ctx)
			if err == nil {
				out[i], pids[i] = b, b.PID
				return nil
			}
			if !errors.Is(err, core.ErrActorDied) || n >= maxRedo*len(c.refs) {
				return fmt.Errorf("rollout on worker %d: %w", i, err)
			}
			n++
			c.refs[i] = c.submit(i)
		}
	}
	if sync {
		for i := range c.refs {
			if err := take(i); err != nil {
				return nil, nil, n, err
			}
		}
		return out, pids, n, nil
	}
	pending := make([]int, len(c.refs))
	for i := range pending {
		pending[i] = i
	}
	for len(pending) > 0 {
		wait := make([]core.AnyRef, len(pending))
		for j, i := range pending {
			wait[j] = c.refs[i]
		}
		ready, err := core.WaitAny(ctx, wait, 1, 0)
		if err != nil {
			return nil, nil, n, err
		}
		isReady := make([]bool, len(pending))
		for _, j := range ready {
			isReady[j] = true
		}
		var rest []int
		for j, i := range pending {
			if !isReady[j] {
				rest = append(rest, i)
				continue
			}
			if err := take(i); err != nil {
				return nil, nil, n, err
			}
		}
		pending = rest
	}
	return out, pids, n, nil
}

func newPPOLearner(cfg PPOConfig, pol *Policy) *ppoLearner {
	L := &ppoLearner{cfg: cfg, pol: pol, pcg: rand.NewPCG(cfg.Seed, 0x9e3779b9)}
	L.rng = rand.New(L.pcg)
	L.params = make([]float64, pol.NumParams())
	pol.Init(L.params, L.rng)
	L.good = append([]float64(nil), L.params...)
	L.grad = make([]float64, pol.NumParams())
	L.adam = NewAdam(pol.NumParams(), cfg.LR, 1e-5)
	if cfg.NormObs {
		L.obsRMS = NewRunningMeanStd(pol.ObsDim)
	}
	mb := cfg.Workers * cfg.EnvsPerWorker * cfg.Steps / cfg.Minibatches
	L.mbObs = make([]float64, mb*pol.ObsDim)
	rows := (mb + learnerShards - 1) / learnerShards
	for i := range L.shards {
		L.shards[i] = &ppoShard{
			wsA: pol.Actor.NewWorkspace(rows), wsC: pol.Critic.NewWorkspace(rows),
			dout: make([]float64, rows*pol.ActDim), dval: make([]float64, rows),
			grad: make([]float64, pol.NumParams()), scratch: make([]float64, pol.ActDim),
		}
	}
	return L
}

func (L *ppoLearner) obsMeanVar() (mean, variance []float64) {
	if L.obsRMS == nil {
		return nil, nil
	}
	return L.obsRMS.Mean, L.obsRMS.Var
}

// obsStats is what workers normalise with: mean then variance.
func (L *ppoLearner) obsStats() []float64 {
	if L.obsRMS == nil {
		return nil
	}
	return append(append([]float64(nil), L.obsRMS.Mean...), L.obsRMS.Var...)
}

func (L *ppoLearner) restore() { copy(L.params, L.good) }

// update runs the PPO epochs over one iteration's batches: shuffled
// minibatches, clipped surrogate, clipped value loss, entropy bonus,
// per-minibatch advantage normalisation, global gradient clipping, Adam.
// It fails on a non-finite loss or weights, leaving restore to the caller.
func (L *ppoLearner) update(batches []*rolloutBatch) error {
	c, p := L.cfg, L.pol
	var obs, act, logp, val, adv, ret []float64
	for _, b := range batches {
		obs = append(obs, b.Obs...)
		act = append(act, b.Act...)
		logp = append(logp, b.LogP...)
		val = append(val, b.Val...)
		adv = append(adv, b.Adv...)
		ret = append(ret, b.Ret...)
	}
	B := len(logp)
	mb := B / c.Minibatches
	od := p.ObsDim
	idx := make([]int, B)
	for i := range idx {
		idx[i] = i
	}
	mbAdv := make([]float64, mb)
	for ep := 0; ep < c.Epochs; ep++ {
		L.rng.Shuffle(B, func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		for s := 0; s+mb <= B; s += mb {
			rows := idx[s : s+mb]
			for r, k := range rows {
				copy(L.mbObs[r*od:(r+1)*od], obs[k*od:(k+1)*od])
				mbAdv[r] = adv[k]
			}
			if c.NormAdv && mb > 1 {
				var m, v float64
				for _, a := range mbAdv {
					m += a
				}
				m /= float64(mb)
				for _, a := range mbAdv {
					v += (a - m) * (a - m)
				}
				sd := math.Sqrt(v / float64(mb-1)) // torch's unbiased std
				for r := range mbAdv {
					mbAdv[r] = (mbAdv[r] - m) / (sd + 1e-8)
				}
			}
			// This learner's rows of the minibatch (all of them, alone),
			// split among its goroutines.
			lo, hi := L.part.rows(mb)
			var wg sync.WaitGroup
			per := (hi - lo + learnerShards - 1) / learnerShards
			for i, sh := range L.shards {
				r0, r1 := min(lo+i*per, hi), min(lo+(i+1)*per, hi)
				wg.Go(func() { L.shardGrad(sh, rows[r0:r1], L.mbObs[r0*od:r1*od], mbAdv[r0:r1], mb, act, logp, val, ret) })
			}
			wg.Wait()
			var loss float64
			copy(L.grad, L.shards[0].grad)
			for _, sh := range L.shards {
				loss += sh.loss
			}
			for _, sh := range L.shards[1:] {
				for i, g := range sh.grad {
					L.grad[i] += g
				}
			}
			if L.part.reduce != nil {
				var err error
				if loss, err = L.part.sum(L.grad, loss); err != nil {
					return err
				}
			}
			if math.IsNaN(loss) || math.IsInf(loss, 0) {
				return fmt.Errorf("loss is %v", loss)
			}
			ClipGradNorm(L.grad, c.MaxGradNorm)
			L.adam.Step(L.params, L.grad)
		}
	}
	if !finite(L.params) {
		return errors.New("weights are not finite")
	}
	copy(L.good, L.params)
	return nil
}

// shardGrad computes the loss and its gradient over some rows of a
// minibatch of mb rows (the losses are means over mb) into sh.
func (L *ppoLearner) shardGrad(sh *ppoShard, rows []int, obs, adv []float64, mb int, act, logp, val, ret []float64) {
	c, p := L.cfg, L.pol
	n := len(rows)
	clear(sh.grad)
	sh.loss = 0
	if n == 0 {
		return
	}
	ad := p.ActDim
	if p.Discrete {
		ad = 1
	}
	cat, gau := Categorical{N: p.ActDim}, Gaussian{N: p.ActDim}
	actor, critic, logStd := p.Split(L.params)
	gA, gC, gLS := p.Split(sh.grad)
	out := p.Actor.Forward(actor, obs, n, sh.wsA)
	vout := p.Critic.Forward(critic, obs, n, sh.wsC)
	inv := 1 / float64(mb)
	for r, k := range rows {
		// Clipped surrogate: L = max(-A·ρ, -A·clip(ρ)); its gradient
		// flows only through the unclipped branch when that one is the max.
		a := act[k*ad : (k+1)*ad]
		o := out[r*p.ActDim : (r+1)*p.ActDim]
		d := sh.dout[r*p.ActDim : (r+1)*p.ActDim]
		var newLogP float64
		if p.Discrete {
			newLogP, _ = cat.LogProbEntropy(o, int(a[0]), 0, 0, sh.scratch, d)
		} else {
			newLogP, _ = gau.LogProbEntropy(o, logStd, a, 0, 0, d, sh.scratch)
		}
		ratio := math.Exp(newLogP - logp[k])
		A := adv[r]
		l1 := -A * ratio
		l2 := -A * min(max(ratio, 1-c.ClipCoef), 1+c.ClipCoef)
		gLogP := 0.0
		if l1 >= l2 {
			gLogP = -A * ratio * inv
		}
		var ent float64
		if p.Discrete {
			_, ent = cat.LogProbEntropy(o, int(a[0]), gLogP, -c.EntCoef*inv, sh.scratch, d)
		} else {
			_, ent = gau.LogProbEntropy(o, logStd, a, gLogP, -c.EntCoef*inv, d, gLS)
		}
		sh.loss += (max(l1, l2) - c.EntCoef*ent) * inv

		// Value loss, clipped around the rollout's value.
		v := vout[r]
		u := (v - ret[k]) * (v - ret[k])
		dv := v - ret[k]
		if c.ClipVLoss {
			vc := val[k] + min(max(v-val[k], -c.ClipCoef), c.ClipCoef)
			cl := (vc - ret[k]) * (vc - ret[k])
			if cl > u {
				u = cl
				dv = 0
				if math.Abs(v-val[k]) < c.ClipCoef {
					dv = vc - ret[k]
				}
			}
		}
		sh.loss += c.VfCoef * 0.5 * u * inv
		sh.dval[r] = c.VfCoef * dv * inv
	}
	p.Actor.Backward(actor, sh.dout, n, sh.wsA, gA)
	p.Critic.Backward(critic, sh.dval, n, sh.wsC, gC)
}

// resume takes the learner's state from a checkpoint.
func (L *ppoLearner) resume(ck *Checkpoint) error {
	if err := ck.check(L.algo, L.cfg.Env, L.cfg.Workers, L.cfg.Hidden, len(L.params)); err != nil {
		return err
	}
	if err := L.adam.SetState(ck.Adam); err != nil {
		return err
	}
	if err := L.pcg.UnmarshalBinary(ck.LearnerRNG); err != nil {
		return fmt.Errorf("%w: the learner's random state: %v", ErrCheckpoint, err)
	}
	if L.obsRMS != nil {
		if ck.ObsRMS == nil || len(ck.ObsRMS.Mean) != len(L.obsRMS.Mean) {
			return fmt.Errorf("%w: no observation statistics for a run that normalises observations", ErrCheckpoint)
		}
		L.obsRMS = ck.ObsRMS.clone()
	}
	copy(L.params, ck.Params)
	copy(L.good, ck.Params)
	return nil
}

// checkpoint is the run's state after iteration it.
func (L *ppoLearner) checkpoint(it int, res *Result, retRMS []*RunningMeanStd, eps *window, redone int) *Checkpoint {
	ck := &Checkpoint{Algo: L.algo, Env: L.cfg.Env, Seed: L.cfg.Seed, Workers: L.cfg.Workers, Hidden: slices.Clone(L.cfg.Hidden), Iter: it, EnvSteps: res.EnvSteps,
		Params: slices.Clone(L.params), Adam: L.adam.State(), LearnerRNG: pcgState(L.pcg),
		Returns: slices.Clone(eps.vals), EpisodesSeen: eps.seen, Redone: redone, Curve: slices.Clone(res.Curve)}
	if L.obsRMS != nil {
		ck.ObsRMS = L.obsRMS.clone()
	}
	if L.cfg.NormReward {
		ck.RetRMS = slices.Clone(retRMS)
	}
	return ck
}
