package sims

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// NoSeed passed to Reset continues the env's random stream instead of
// reseeding it (Gymnasium's env.reset() without a seed).
const NoSeed int64 = -1

var (
	// ErrUnknownEnv is returned by Make and NewVec for an id not in IDs().
	ErrUnknownEnv = errors.New("sims: unknown env id")
	// ErrInvalidAction is returned by Step for an action outside the
	// action space (wrong length, NaN/Inf, a non-integer or out-of-range
	// discrete action). Box actions beyond their bounds are clipped, not
	// rejected, because every Gymnasium Box env here clips them.
	ErrInvalidAction = errors.New("sims: invalid action")
	// ErrNeedsReset is returned by Step before the first Reset and after an
	// episode has terminated or been truncated.
	ErrNeedsReset = errors.New("sims: episode needs reset")
	// ErrInvalidSeed is returned by Reset for a negative seed other than NoSeed.
	ErrInvalidSeed = errors.New("sims: invalid seed")
)

// Space describes an observation or action space.
type Space struct {
	// Discrete > 0 marks the discrete space {0, ..., Discrete-1}; an action
	// from it is one float64 holding an integer.
	Discrete int
	// Low and High bound a Box space element-wise (Gymnasium's float32
	// bounds, widened exactly; ±Inf where unbounded). Nil for discrete spaces.
	Low, High []float64
	// Shape is the Box shape; nil (a scalar, as in Gymnasium) for
	// discrete spaces.
	Shape []int
}

// Dim is the number of float64s (actions) or float32s (observations) one
// element of the space takes.
func (s Space) Dim() int {
	n := 1
	for _, d := range s.Shape {
		n *= d
	}
	return n
}

// clone copies the slices, so callers cannot change the registry's spaces.
func (s Space) clone() Space {
	s.Low, s.High, s.Shape = slices.Clone(s.Low), slices.Clone(s.High), slices.Clone(s.Shape)
	return s
}

// Contains reports whether x lies in the space.
func (s Space) Contains(x []float64) bool {
	if len(x) != s.Dim() {
		return false
	}
	if s.Discrete > 0 {
		a := x[0]
		return a >= 0 && a < float64(s.Discrete) && a == math.Trunc(a)
	}
	for i, v := range x {
		if !(v >= s.Low[i] && v <= s.High[i]) {
			return false
		}
	}
	return true
}

// Env is one environment instance. It is not safe for concurrent use.
// The observation slices Reset and Step return alias the env's buffer:
// they are valid until the next Reset or Step and must not be written.
type Env interface {
	// ID is the Gymnasium id the env was made from.
	ID() string
	ObservationSpace() Space
	ActionSpace() Space
	// Reset starts an episode. A seed >= 0 reseeds the env first, exactly
	// as Gymnasium's reset(seed=seed) does; NoSeed continues the stream
	// (an env never seeded is seeded from the OS, as in Gymnasium).
	Reset(seed int64) ([]float32, error)
	// Step advances one time step. Discrete actions are one float64 holding
	// the integer; Box actions are rounded to float32 (the space's dtype)
	// before use. truncated reports the registered time limit.
	Step(action []float64) (obs []float32, reward float64, terminated, truncated bool, err error)
}

// model is one environment's dynamics without the episode bookkeeping.
// Actions reaching it are already validated against the action space. A
// model may keep r from reset to draw from the episode's stream in step.
type model interface {
	reset(r *rng, obs []float32)
	step(action []float64, obs []float32) (reward float64, terminated bool)
}

// spec is a registry entry.
type spec struct {
	id       string
	maxSteps int // Gymnasium's TimeLimit max_episode_steps
	obs, act Space
	// obsDim and actDim cache obs.Dim() and act.Dim(); the registry sets them.
	obsDim, actDim int
	// newModels returns n models laid out contiguously.
	newModels func(n int) []model
}

// modelsOf allocates n models of type T in one slice, for cache locality
// when a Vec steps them in order.
func modelsOf[T any, P interface {
	*T
	model
}](n int) []model {
	xs := make([]T, n)
	ms := make([]model, n)
	for i := range xs {
		ms[i] = P(&xs[i])
	}
	return ms
}

type phase uint8

const (
	needsReset phase = iota
	running
	finished
)

// episode wraps a model with seeding, the time limit and order checks.
type episode struct {
	spec   *spec
	m      model
	rng    rng
	seeded bool
	phase  phase
	steps  int
	obs    []float32
}

func (e *episode) ID() string              { return e.spec.id }
func (e *episode) ObservationSpace() Space { return e.spec.obs.clone() }
func (e *episode) ActionSpace() Space      { return e.spec.act.clone() }

func (e *episode) Reset(seed int64) ([]float32, error) {
	switch {
	case seed >= 0:
		e.rng = seedRNG(uint64(seed))
		e.seeded = true
	case seed != NoSeed:
		return nil, fmt.Errorf("%w: %d (want >= 0 or NoSeed)", ErrInvalidSeed, seed)
	case !e.seeded:
		e.rng = seedRNG(rand.Uint64() >> 1)
		e.seeded = true
	}
	e.restart()
	return e.obs, nil
}

// restart begins an episode on the current random stream.
func (e *episode) restart() {
	e.m.reset(&e.rng, e.obs)
	e.phase = running
	e.steps = 0
}

func (e *episode) Step(action []float64) ([]float32, float64, bool, bool, error) {
	if e.phase != running {
		return nil, 0, false, false, e.orderError()
	}
	if err := checkAction(&e.spec.act, e.spec.actDim, action); err != nil {
		return nil, 0, false, false, err
	}
	r, term, trunc := e.advance(action)
	return e.obs, r, term, trunc, nil
}

// advance steps a running episode with a valid action.
func (e *episode) advance(action []float64) (reward float64, term, trunc bool) {
	reward, term = e.m.step(action, e.obs)
	e.steps++
	trunc = e.steps >= e.spec.maxSteps
	if term || trunc {
		e.phase = finished
	}
	return reward, term, trunc
}

func (e *episode) orderError() error {
	if e.phase == finished {
		return fmt.Errorf("%w: %s episode ended after %d steps", ErrNeedsReset, e.spec.id, e.steps)
	}
	return fmt.Errorf("%w: %s stepped before Reset", ErrNeedsReset, e.spec.id)
}

// checkAction validates an action of a space with dim elements.
func checkAction(s *Space, dim int, a []float64) error {
	if len(a) != dim {
		return fmt.Errorf("%w: got %d values, want %d", ErrInvalidAction, len(a), dim)
	}
	if validElems(s, a) {
		return nil
	}
	if s.Discrete > 0 {
		return fmt.Errorf("%w: %v not in Discrete(%d)", ErrInvalidAction, a[0], s.Discrete)
	}
	return fmt.Errorf("%w: %v is not finite", ErrInvalidAction, a)
}

// validElems reports whether an action of the right length is valid: an
// integer in range for a discrete space, finite values for a Box. It is the
// hot path of checkAction, kept small enough to inline.
func validElems(s *Space, a []float64) bool {
	if s.Discrete > 0 {
		v := a[0]
		return v >= 0 && v < float64(s.Discrete) && float64(int64(v)) == v
	}
	for _, v := range a {
		if v-v != 0 { // NaN or ±Inf
			return false
		}
	}
	return true
}

// box builds a Box space from float32 bounds, as Gymnasium stores them.
func box(low, high []float32) Space {
	s := Space{Low: make([]float64, len(low)), High: make([]float64, len(high)), Shape: []int{len(low)}}
	for i := range low {
		s.Low[i], s.High[i] = float64(low[i]), float64(high[i])
	}
	return s
}

// symmetricBox is box(-high, high).
func symmetricBox(high ...float32) Space {
	low := make([]float32, len(high))
	for i, h := range high {
		low[i] = -h
	}
	return box(low, high)
}

func discrete(n int) Space { return Space{Discrete: n} }
