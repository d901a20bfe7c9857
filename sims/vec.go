package sims

import (
	"fmt"
	"math"
)

// AutoresetMode picks when a Vec restarts a copy whose episode ended.
type AutoresetMode uint8

const (
	// NextStep is Gymnasium 1.x's default: the step that ends an episode
	// returns its last observation and flags; the copy's next step ignores
	// its action, resets it and returns the first observation of the new
	// episode with reward 0 and both flags false.
	NextStep AutoresetMode = iota
	// SameStep resets in the step that ends the episode: the batch holds
	// the new episode's first observation, the flags report the end, and
	// FinalObs holds the ended episode's last observation (to bootstrap
	// truncated returns).
	SameStep
)

// Vec steps N copies of one env in lockstep. Copies, their states and
// their observations are each laid out contiguously, in copy order; the
// observation batch is N rows of ObservationSpace().Dim() float32s. A Vec
// is not safe for concurrent use.
type Vec struct {
	spec     *spec
	mode     AutoresetMode
	envs     []episode
	obs      []float32
	finalObs []float32
	started  bool
}

// NewVec makes n copies of the env with the given Gymnasium id.
func NewVec(id string, n int, mode AutoresetMode) (*Vec, error) {
	s, err := lookup(id)
	if err != nil {
		return nil, err
	}
	if n < 1 {
		return nil, fmt.Errorf("sims: NewVec(%q, %d): need at least one copy", id, n)
	}
	if mode != NextStep && mode != SameStep {
		return nil, fmt.Errorf("sims: NewVec(%q): unknown AutoresetMode %d", id, mode)
	}
	d := s.obsDim
	v := &Vec{spec: s, mode: mode, envs: make([]episode, n), obs: make([]float32, n*d)}
	if mode == SameStep {
		v.finalObs = make([]float32, n*d)
	}
	for i, m := range s.newModels(n) {
		v.envs[i] = episode{spec: s, m: m, obs: v.obs[i*d : (i+1)*d : (i+1)*d]}
	}
	return v, nil
}

// Len is the number of copies.
func (v *Vec) Len() int { return len(v.envs) }

// ID is the Gymnasium id of the copies.
func (v *Vec) ID() string { return v.spec.id }

// ObservationSpace and ActionSpace are one copy's spaces.
func (v *Vec) ObservationSpace() Space { return v.spec.obs.clone() }
func (v *Vec) ActionSpace() Space      { return v.spec.act.clone() }

// Reset restarts every copy and returns the observation batch. Copy i is
// seeded with seed+i, as Gymnasium's vector envs do; NoSeed continues each
// copy's own stream.
func (v *Vec) Reset(seed int64) ([]float32, error) {
	if seed != NoSeed && (seed < 0 || seed > math.MaxInt64-int64(len(v.envs))) {
		return nil, fmt.Errorf("%w: %d for %d copies", ErrInvalidSeed, seed, len(v.envs))
	}
	for i := range v.envs {
		s := seed
		if seed != NoSeed {
			s += int64(i)
		}
		if _, err := v.envs[i].Reset(s); err != nil {
			return nil, err
		}
	}
	v.started = true
	return v.obs, nil
}

// Step advances every copy by one step. actions holds N rows of
// ActionSpace().Dim() float64s; rewards, terminated and truncated receive
// one value per copy. It returns the observation batch, which aliases the
// Vec's buffer until the next Reset or Step. Actions are checked before
// any copy moves, so an error leaves the Vec unchanged.
func (v *Vec) Step(actions, rewards []float64, terminated, truncated []bool) ([]float32, error) {
	n, ad := len(v.envs), v.spec.actDim
	if !v.started {
		return nil, fmt.Errorf("%w: %s Vec stepped before Reset", ErrNeedsReset, v.spec.id)
	}
	if len(actions) != n*ad || len(rewards) != n || len(terminated) != n || len(truncated) != n {
		return nil, fmt.Errorf("%w: Vec of %d copies got %d action values and %d/%d/%d result slots",
			ErrInvalidAction, n, len(actions), len(rewards), len(terminated), len(truncated))
	}
	for i := range n {
		if a := actions[i*ad : (i+1)*ad]; !validElems(&v.spec.act, a) {
			return nil, fmt.Errorf("copy %d: %w", i, checkAction(&v.spec.act, ad, a))
		}
	}
	d := v.spec.obsDim
	for i := range v.envs {
		e := &v.envs[i]
		if e.phase == finished { // only in NextStep mode
			e.restart()
			rewards[i], terminated[i], truncated[i] = 0, false, false
			continue
		}
		r, term, trunc := e.advance(actions[i*ad : (i+1)*ad])
		rewards[i], terminated[i], truncated[i] = r, term, trunc
		if v.mode == SameStep && (term || trunc) {
			copy(v.finalObs[i*d:(i+1)*d], e.obs)
			e.restart()
		}
	}
	return v.obs, nil
}

// FinalObs holds, in SameStep mode, the last observation of each copy
// whose episode ended in the latest Step (rows of other copies are stale).
// It is nil in NextStep mode.
func (v *Vec) FinalObs() []float32 { return v.finalObs }
