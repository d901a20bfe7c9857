// Package rl holds reinforcement-learning algorithms written against
// manta's core API, for researchers who write RL in Go: PPO and Evolution
// Strategies (and A2C, from PPO's parts), and the small neural networks
// on gonum they need.
//
// # Networks
//
// MLP is a tanh multilayer perceptron whose parameters are one flat
// []float64 owned by the caller, so a whole policy travels as one object.
// Forward and Backward work on row-major batches through gonum's BLAS and
// do not allocate once their Workspace has grown (a finite-difference test
// checks Backward; BenchmarkMLPForwardBackward reports allocations).
// InitOrthogonal is torch's orthogonal_ init with PPO's gains; Adam (with
// optional L2) and ClipGradNorm are the optimiser. Categorical and
// Gaussian are the policy heads: sampling, log-probability and entropy,
// with their gradients. Policy pairs an actor and a critic MLP.
//
// # PPO
//
// TrainPPO follows CleanRL's ppo.py and ppo_continuous_action.py: vectorised
// envs, GAE, the clipped surrogate, value clipping, an entropy bonus,
// per-minibatch advantage normalisation, minibatch epochs, learning-rate
// annealing, global gradient clipping, and observation and reward
// normalisation for continuous control. Beyond CleanRL, a truncated
// episode is bootstrapped from its last observation. Rollout workers are
// actors each stepping a sims.Vec; every iteration the learner puts the
// weights once (core.Put) and each worker reads them from the object
// store; the learner takes the rollouts as they arrive (core.Wait), and
// starts the next ones before it evaluates and reports (PPOConfig.Sync
// makes it a bulk-synchronous, MPI-style loop instead; both give the same
// weights for a seed). PPOConfig.Overlap starts them before it learns,
// with the weights the update starts from, so that sampling and learning
// overlap: a batch is then one update old, as in RLlib's asynchronous
// sampling, and the run is another (still one per seed).
//
// With PPOConfig.Learners ≥ 2 the learning itself is spread too: that
// many learner actors each compute the gradient of their share of every
// minibatch, sum it with the others' (collective.Allreduce) and take the
// same Adam step, so the weights are the single learner's to rounding
// (tested) while a machine's cores share the learning.
//
// # ES
//
// TrainES is Salimans et al. 2017 as the Ray paper ran it: a noise table
// put once into the object store, which every worker actor reads as a
// zero-copy view; antithetic pairs; workers return only noise offsets and
// returns; centered-rank fitness shaping; Adam with L2; observation
// normalisation. ESConfig.Refine gives a run a second stage (more pairs,
// smaller noise and steps after some env steps): BipedalWalker-v3's
// defaults use one, and pass 300 on seeds 1, 3 and 4 (not on seed 2). (PPO's
// BipedalWalker-v3 defaults double its batch instead, and anneal its
// learning rate over 8M steps; they pass 300 on seeds 0 to 3 and 5, not
// on seed 4; see PPODefaults.)
//
// # Environments
//
// The trainers take an env by ID: Gymnasium's (package sims) or one
// registered with sims.Register at package level, which the rollout
// workers, being this binary, register too.
//
// # A2C, and writing another algorithm
//
// TrainA2C is synchronous advantage actor-critic, built from PPO's parts
// rather than a loop of its own: PPO's rollout actors and learner, run
// with one epoch of one minibatch on data the weights just made, where
// the clipped surrogate's gradient is A2C's policy gradient. An
// algorithm whose update differs more has the trainers' shape to follow:
// register an actor type at package level (core.RegisterActor1 with
// core.WithMaxRestarts, so a killed worker comes back) whose constructor
// builds its envs; register its methods; in the trainer validate the
// config first (ErrBadConfig, ErrUnsupported), create the actors, then
// per iteration put the weights, call every worker, gather with core.Wait,
// redo a call that failed with core.ErrActorDied, update, check the
// weights are finite (ErrDiverged names the iteration and keeps the last
// good weights), and report an Iteration. Seed every random stream from
// the config seed and the worker index, and assemble results in worker
// order, so a seed and worker count give the same run.
//
// # Checkpoints and timing
//
// With CheckpointPath a run writes a Checkpoint every CheckpointEvery
// iterations and at its end (weights, Adam's moments, the observation
// and reward normalisers, the curve; atomically, by rename); Resume
// goes on from one, continuing its curve. ES resumes exactly; PPO's
// workers start new episodes (see Checkpoint). `manta rl --checkpoint
// F` and `--resume F` do the same from the command line. Every
// Iteration splits the learner's time into waiting for samples,
// learning and sending weights, which the curve's JSON keeps.
//
// Near the target (a training mean within a quarter of it, every 5
// iterations at most) a run evaluates its greedy policy over
// EvalEpisodes episodes, split over a goroutine per core; the mean is
// the same on any number of cores (tested).
//
// # Reproducibility and failures
//
// A run is determined by its config, seed and worker count. A worker
// killed mid-iteration is restarted by manta and its rollout asked again
// (counted in Iteration.Redone); the restarted worker's envs start afresh,
// so such a run no longer matches an undisturbed one.
//
// Remote functions are registered at package level, so a binary that
// imports rl is its own worker (core.WorkerMain first in main or TestMain).
package rl
