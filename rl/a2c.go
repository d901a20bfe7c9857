package rl

import (
	"context"
	"time"
)

// A2CConfig holds A2C's hyperparameters: synchronous advantage
// actor-critic (Mnih et al. 2016, as Stable-Baselines3's A2C runs it),
// one gradient step on the whole batch of every rollout, with the
// policy-gradient loss −A·log π, the value loss and an entropy bonus.
// Start from A2CDefaults(env); zero numeric fields (EntCoef aside) are
// filled from it.
type A2CConfig struct {
	Env           string
	Workers       int // rollout actors
	EnvsPerWorker int // copies in each worker's vectorised env
	Steps         int // steps per env copy per rollout (SB3's n_steps)
	TotalSteps    int // env step budget
	LR            float64
	Gamma, Lambda float64 // Lambda is GAE's; 1 gives SB3's n-step returns
	EntCoef       float64
	VfCoef        float64
	MaxGradNorm   float64
	NormObs       bool
	NormReward    bool
	Hidden        []int
	Seed          uint64
	// Sync, Target, EvalEpisodes, MaxWall, Progress, Resume,
	// CheckpointPath and CheckpointEvery are as PPOConfig's.
	Sync            bool
	Target          float64
	EvalEpisodes    int
	MaxWall         time.Duration
	Progress        func(Iteration)
	Resume          *Checkpoint
	CheckpointPath  string
	CheckpointEvery int
}

// A2CDefaults returns SB3's A2C hyperparameters (its RMSprop replaced by
// the Adam this package has) with 8 env copies in all.
func A2CDefaults(env string) A2CConfig {
	return A2CConfig{
		Env: env, Workers: 2, EnvsPerWorker: 4, Steps: 5, TotalSteps: 500_000,
		LR: 7e-4, Gamma: 0.99, Lambda: 1, VfCoef: 0.5, MaxGradNorm: 0.5,
		Hidden: []int{64, 64}, EvalEpisodes: 100, Target: SolveTarget(env),
	}
}

// ppo is c as the learner PPO shares with A2C runs it: one epoch of one
// minibatch, on data the weights just made, where PPO's ratio is 1 and
// its clipped surrogate's gradient is A2C's (−A·∇log π); no value
// clipping, advantages as they are, a constant learning rate.
func (c A2CConfig) ppo() PPOConfig {
	return PPOConfig{
		Env: c.Env, Workers: c.Workers, EnvsPerWorker: c.EnvsPerWorker, Steps: c.Steps, TotalSteps: c.TotalSteps,
		LR: c.LR, Gamma: c.Gamma, Lambda: c.Lambda, Minibatches: 1, Epochs: 1, ClipCoef: 0.2,
		EntCoef: c.EntCoef, VfCoef: c.VfCoef, MaxGradNorm: c.MaxGradNorm, NormObs: c.NormObs, NormReward: c.NormReward,
		Hidden: c.Hidden, Seed: c.Seed, Sync: c.Sync, Target: c.Target, EvalEpisodes: c.EvalEpisodes,
		MaxWall: c.MaxWall, Progress: c.Progress, Resume: c.Resume, CheckpointPath: c.CheckpointPath, CheckpointEvery: c.CheckpointEvery,
	}
}

// fill takes zero numeric fields from A2CDefaults.
func (c *A2CConfig) fill() {
	d := A2CDefaults(c.Env)
	for _, f := range []struct{ p, v *int }{{&c.Workers, &d.Workers}, {&c.EnvsPerWorker, &d.EnvsPerWorker}, {&c.Steps, &d.Steps},
		{&c.TotalSteps, &d.TotalSteps}, {&c.EvalEpisodes, &d.EvalEpisodes}} {
		if *f.p == 0 {
			*f.p = *f.v
		}
	}
	for _, f := range []struct{ p, v *float64 }{{&c.LR, &d.LR}, {&c.Gamma, &d.Gamma}, {&c.Lambda, &d.Lambda}, {&c.VfCoef, &d.VfCoef},
		{&c.MaxGradNorm, &d.MaxGradNorm}, {&c.Target, &d.Target}} {
		if *f.p == 0 {
			*f.p = *f.v
		}
	}
	if c.Hidden == nil {
		c.Hidden = d.Hidden
	}
}

// Validate reports hyperparameters out of range (ErrBadConfig) and envs
// A2C cannot run (ErrUnsupported), after filling defaults.
func (c *A2CConfig) Validate() error {
	c.fill()
	p := c.ppo()
	return p.Validate()
}

// TrainA2C runs A2C on the running manta cluster (core.Init first). It
// is written from PPO's parts, not a loop of its own: PPO's
// rollout actors (GAE in the workers), learner and loop (weights put
// once per iteration, rollouts gathered as they arrive, checkpoints,
// evaluation), with the update of A2CConfig.ppo.
func TrainA2C(ctx context.Context, cfg A2CConfig) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return trainActorCritic(ctx, cfg.ppo(), "a2c")
}
