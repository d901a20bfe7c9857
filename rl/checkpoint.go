package rl

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"time"

	"manta/internal/atomicfile"
	"manta/sims"
)

// Checkpoint is a training run's state at the end of an iteration:
// what TrainPPO and TrainES need to go on from there
// (PPOConfig.Resume, ESConfig.Resume), written every CheckpointEvery
// iterations to CheckpointPath. It holds the policy's weights, the
// optimiser's moments, the observation and reward normalisers and the
// curve so far, so a resumed run continues the curve: its iterations,
// steps and wall time go on from the checkpoint's.
//
// ES resumes exactly: an iteration's work depends only on the seed, the
// iteration and this state, so a run stopped and resumed ends with the
// weights of one never stopped. PPO's rollout workers start new
// episodes on resume (an env's state mid-episode is not saved), so a
// resumed PPO run continues from the same weights and statistics but
// not step for step.
type Checkpoint struct {
	Algo    string `json:"algo"`
	Env     string `json:"env"`
	Seed    uint64 `json:"seed"`
	Workers int    `json:"workers"`
	Hidden  []int  `json:"hidden"`
	// Iter is the iterations done; EnvSteps, the env steps they took.
	Iter     int       `json:"iter"`
	EnvSteps int       `json:"env_steps"`
	Params   []float64 `json:"params"`
	Adam     AdamState `json:"adam"`
	// ObsRMS is the observation normaliser (nil when not normalising).
	ObsRMS *RunningMeanStd `json:"obs_rms,omitempty"`
	// RetRMS are PPO's workers' reward normalisers, by worker.
	RetRMS []*RunningMeanStd `json:"ret_rms,omitempty"`
	// Returns are PPO's last training episodes' returns (the window
	// Iteration.MeanReturn averages), of EpisodesSeen in all.
	Returns      []float64 `json:"returns,omitempty"`
	EpisodesSeen int       `json:"episodes_seen,omitempty"`
	// LearnerRNG is the state of PPO's minibatch shuffler.
	LearnerRNG []byte      `json:"learner_rng,omitempty"`
	Redone     int         `json:"redone"`
	Curve      []Iteration `json:"curve"`
}

// AdamState is Adam's moments and step count, for a checkpoint.
type AdamState struct {
	M, V []float64
	T    int
}

// State copies the optimiser's moments and step count.
func (a *Adam) State() AdamState {
	return AdamState{M: slices.Clone(a.m), V: slices.Clone(a.v), T: a.t}
}

// SetState restores what State returned, for the same number of
// parameters.
func (a *Adam) SetState(s AdamState) error {
	if len(s.M) != len(a.m) || len(s.V) != len(a.v) || s.T < 0 {
		return fmt.Errorf("%w: Adam state for %d parameters, want %d", ErrCheckpoint, len(s.M), len(a.m))
	}
	copy(a.m, s.M)
	copy(a.v, s.V)
	a.t = s.T
	return nil
}

// Save writes the checkpoint as JSON (float64s round-trip exactly) to a
// temporary file beside path and renames it there, so a crash never
// leaves half a checkpoint in its place.
func (c *Checkpoint) Save(path string) error {
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	return atomicfile.Write(path, b)
}

// LoadCheckpoint reads a checkpoint that Save wrote.
func LoadCheckpoint(path string) (*Checkpoint, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c := new(Checkpoint)
	if err := json.Unmarshal(b, c); err != nil {
		return nil, fmt.Errorf("rl: checkpoint %s: %w", path, err)
	}
	return c, nil
}

// check reports a checkpoint that does not belong to this run's
// algorithm, env and shape.
func (c *Checkpoint) check(algo, env string, workers int, hidden []int, params int) error {
	switch {
	case c.Algo != algo || c.Env != env:
		return fmt.Errorf("%w: the checkpoint is of %s on %s, not %s on %s", ErrCheckpoint, c.Algo, c.Env, algo, env)
	case c.Workers != workers:
		return fmt.Errorf("%w: the checkpoint ran %d workers, not %d", ErrCheckpoint, c.Workers, workers)
	case !slices.Equal(c.Hidden, hidden) || len(c.Params) != params:
		return fmt.Errorf("%w: the checkpoint's network has hidden layers %v and %d weights, this run's %v and %d", ErrCheckpoint, c.Hidden, len(c.Params), hidden, params)
	case c.Iter < 0 || c.Iter != len(c.Curve):
		return fmt.Errorf("%w: the checkpoint's %d iterations and %d curve points differ", ErrCheckpoint, c.Iter, len(c.Curve))
	}
	return nil
}

// wall is the wall time the checkpointed run had taken, which a resumed
// run's clock starts from.
func (c *Checkpoint) wall() time.Duration {
	if c == nil || len(c.Curve) == 0 {
		return 0
	}
	return time.Duration(c.Curve[len(c.Curve)-1].WallS * float64(time.Second))
}

// checkpointer writes a run's checkpoints, as its config asks.
type checkpointer struct {
	path  string
	every int
}

// due reports whether iteration it (or the run's last) is to be saved.
func (k checkpointer) due(it int, last bool) bool {
	return k.path != "" && k.every > 0 && (it%k.every == 0 || last)
}

// pcgState is a PCG's state, for a checkpoint.
func pcgState(p *rand.PCG) []byte {
	b, _ := p.MarshalBinary() // never fails
	return b
}

// Greedy returns the checkpoint's policy acting greedily, as the
// trainers evaluate it: it normalises an observation with the
// checkpoint's statistics and returns the action (PPO's and A2C's
// Gaussian mean or most likely discrete action; ES's deterministic
// one), valid until the next call. It is not safe for concurrent use.
func Greedy(ck *Checkpoint) (func(obs []float32) []float64, error) {
	var act func(x, act []float64)
	var od, ad int
	switch ck.Algo {
	case "ppo", "a2c":
		env, err := sims.Make(ck.Env)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrCheckpoint, err)
		}
		pol, err := NewPolicy(env.ObservationSpace(), env.ActionSpace(), ck.Hidden)
		if err != nil {
			return nil, err
		}
		if len(ck.Params) != pol.NumParams() {
			return nil, fmt.Errorf("%w: %d weights for a policy of %d", ErrCheckpoint, len(ck.Params), pol.NumParams())
		}
		od, ad, act = pol.ObsDim, pol.ActDim, ppoGreedy(pol, ck.Params, 1)
		if pol.Discrete {
			ad = 1
		}
	case "es":
		pol, err := newESPolicy(ck.Env, ck.Hidden)
		if err != nil {
			return nil, err
		}
		if len(ck.Params) != pol.net.NumParams() {
			return nil, fmt.Errorf("%w: %d weights for a policy of %d", ErrCheckpoint, len(ck.Params), pol.net.NumParams())
		}
		od, ad, act = pol.obs.Dim(), pol.act.Dim(), esGreedy(pol, ck.Params, 1)
	default:
		return nil, fmt.Errorf("%w: unknown algorithm %q", ErrCheckpoint, ck.Algo)
	}
	var mean, variance []float64
	if ck.ObsRMS != nil {
		if len(ck.ObsRMS.Mean) != od || len(ck.ObsRMS.Var) != od {
			return nil, fmt.Errorf("%w: observation statistics of %d, observations of %d", ErrCheckpoint, len(ck.ObsRMS.Mean), od)
		}
		mean, variance = ck.ObsRMS.Mean, ck.ObsRMS.Var
	}
	x, out := make([]float64, od), make([]float64, ad)
	return func(obs []float32) []float64 {
		normalizeObs(x, obs, mean, variance)
		act(x, out)
		return out
	}, nil
}
