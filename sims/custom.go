package sims

import (
	"fmt"
	"math/rand/v2"
	"sync"
)

// Model is the dynamics of a custom environment (Register): the
// episode's bookkeeping — seeding, the time limit, checking actions,
// autoreset in a Vec — is the package's, as for the built-in envs.
type Model interface {
	// Reset starts an episode: write the first observation into obs
	// (its length is the observation space's Dim). Draw any randomness
	// from r, the episode's stream, so that a seeded Reset is repeatable.
	Reset(r *rand.Rand, obs []float32)
	// Step applies action (already checked against the action space;
	// a discrete action is one float64 holding the integer), writes the
	// next observation into obs and returns the reward and whether the
	// episode ended (Gymnasium's terminated). r is the episode's stream.
	Step(r *rand.Rand, action []float64, obs []float32) (reward float64, terminated bool)
}

// EnvSpec describes a custom environment for Register.
type EnvSpec struct {
	// ID names it, as Make and NewVec take it; by convention Name-vN.
	ID string
	// MaxSteps truncates an episode (Gymnasium's max_episode_steps).
	MaxSteps int
	// Observation is a Box space; Action a Box or Discrete one.
	Observation, Action Space
	// New returns a fresh model; a Vec of n copies calls it n times.
	New func() Model
}

// registryMu guards registry against Register; the built-in envs are
// there before any caller runs.
var registryMu sync.RWMutex

// Register adds a custom environment, which Make, NewVec and the rl
// trainers then take by its ID. Call it at package level or in init, as
// core's remote functions are registered, so that every process of a
// program — its worker processes too, which step envs in rl's rollout
// actors — knows the env. It fails for an ID already taken, a spec
// without New or MaxSteps, an observation space that is not a Box, or a
// Box whose bounds do not match its shape.
func Register(s EnvSpec) error {
	if s.ID == "" || s.New == nil || s.MaxSteps < 1 {
		return fmt.Errorf("sims: Register(%q): need an ID, New and MaxSteps >= 1", s.ID)
	}
	if s.Observation.Discrete > 0 || s.Observation.Dim() < 1 {
		return fmt.Errorf("sims: Register(%q): the observation space must be a Box", s.ID)
	}
	for _, sp := range []Space{s.Observation, s.Action} {
		if sp.Discrete == 0 && (len(sp.Low) != sp.Dim() || len(sp.High) != sp.Dim()) {
			return fmt.Errorf("sims: Register(%q): a Box of shape %v needs %d bounds each side", s.ID, sp.Shape, sp.Dim())
		}
	}
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, taken := registry[s.ID]; taken {
		return fmt.Errorf("sims: Register(%q): the ID is taken", s.ID)
	}
	sp := &spec{id: s.ID, maxSteps: s.MaxSteps, obs: s.Observation.clone(), act: s.Action.clone(),
		newModels: func(n int) []model {
			ms := make([]model, n)
			for i := range ms {
				ms[i] = &customModel{m: s.New()}
			}
			return ms
		}}
	sp.obsDim, sp.actDim = sp.obs.Dim(), sp.act.Dim()
	registry[s.ID] = sp
	return nil
}

// customModel adapts a Model to the package's own: its stream is the
// episode's PCG64, as the built-in envs draw from.
type customModel struct {
	m      Model
	source *rng // the episode's, from the last reset
	rand   *rand.Rand
}

func (c *customModel) reset(r *rng, obs []float32) {
	if c.source != r {
		c.source, c.rand = r, rand.New(pcgSource{r})
	}
	c.m.Reset(c.rand, obs)
}

func (c *customModel) step(action []float64, obs []float32) (float64, bool) {
	return c.m.Step(c.rand, action, obs)
}

// pcgSource is the episode's stream as a math/rand/v2 Source.
type pcgSource struct{ r *rng }

func (p pcgSource) Uint64() uint64 { return p.r.uint64() }
