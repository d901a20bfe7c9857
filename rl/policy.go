package rl

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"manta/sims"
)

// Policy is an actor-critic pair of separate MLPs (CleanRL's layout) with
// a categorical head for Discrete action spaces and a diagonal Gaussian
// head for Box ones. All its parameters are one flat []float64: the
// actor's, then the critic's, then log σ for a Gaussian head.
type Policy struct {
	ObsDim, ActDim int // ActDim: the number of logits or of action components
	Discrete       bool
	Actor, Critic  *MLP
	n              int
}

// NewPolicy builds the policy for an env's spaces with the given hidden
// layer widths. It fails for action spaces it cannot handle.
func NewPolicy(obs, act sims.Space, hidden []int) (*Policy, error) {
	p := &Policy{ObsDim: obs.Dim()}
	switch {
	case act.Discrete > 0:
		p.Discrete, p.ActDim = true, act.Discrete
	case len(act.Shape) == 1 && act.Dim() > 0:
		p.ActDim = act.Dim()
	default:
		return nil, fmt.Errorf("%w: action space %+v", ErrUnsupported, act)
	}
	sizes := append(append([]int{p.ObsDim}, hidden...), p.ActDim)
	var err error
	if p.Actor, err = NewMLP(sizes...); err != nil {
		return nil, err
	}
	sizes[len(sizes)-1] = 1
	if p.Critic, err = NewMLP(sizes...); err != nil {
		return nil, err
	}
	p.n = p.Actor.NumParams() + p.Critic.NumParams()
	if !p.Discrete {
		p.n += p.ActDim
	}
	return p, nil
}

// NumParams is the length of the parameter slice.
func (p *Policy) NumParams() int { return p.n }

// Split returns the actor's, the critic's and the log σ parts of params
// (logStd is nil for a discrete policy).
func (p *Policy) Split(params []float64) (actor, critic, logStd []float64) {
	a := p.Actor.NumParams()
	c := p.Critic.NumParams()
	actor, critic = params[:a], params[a:a+c]
	if !p.Discrete {
		logStd = params[a+c : a+c+p.ActDim]
	}
	return
}

// Init draws the initial parameters: orthogonal weights (policy output
// gain 0.01, value output gain 1), zero biases, log σ = 0.
func (p *Policy) Init(params []float64, rng *rand.Rand) {
	a, c, ls := p.Split(params)
	p.Actor.InitOrthogonal(a, rng, 0.01)
	p.Critic.InitOrthogonal(c, rng, 1)
	clear(ls)
}

// RunningMeanStd tracks the mean and variance of a stream of vectors
// (Welford's parallel update, as Gymnasium's normalisation wrappers do).
type RunningMeanStd struct {
	Mean, Var []float64
	Count     float64
}

// NewRunningMeanStd starts statistics for vectors of n components, with
// Gymnasium's initial count of 1e-4.
func NewRunningMeanStd(n int) *RunningMeanStd {
	r := &RunningMeanStd{Mean: make([]float64, n), Var: make([]float64, n), Count: 1e-4}
	for i := range r.Var {
		r.Var[i] = 1
	}
	return r
}

// clone copies r.
func (r *RunningMeanStd) clone() *RunningMeanStd {
	return &RunningMeanStd{Mean: slices.Clone(r.Mean), Var: slices.Clone(r.Var), Count: r.Count}
}

// Merge folds in a batch's count, mean and (population) variance.
func (r *RunningMeanStd) Merge(count float64, mean, variance []float64) {
	if count == 0 {
		return
	}
	tot := r.Count + count
	for i := range r.Mean {
		d := mean[i] - r.Mean[i]
		m2 := r.Var[i]*r.Count + variance[i]*count + d*d*r.Count*count/tot
		r.Mean[i] += d * count / tot
		r.Var[i] = m2 / tot
	}
	r.Count = tot
}

// Moments accumulates a batch's sums for Merge.
type Moments struct {
	N          float64
	Sum, SumSq []float64
}

// Add adds one vector.
func (m *Moments) Add(x []float32) {
	if m.Sum == nil {
		m.Sum, m.SumSq = make([]float64, len(x)), make([]float64, len(x))
	}
	m.N++
	for i, v := range x {
		m.Sum[i] += float64(v)
		m.SumSq[i] += float64(v) * float64(v)
	}
}

// MergeInto folds the batch into r.
func (m *Moments) MergeInto(r *RunningMeanStd) {
	if m.N == 0 {
		return
	}
	mean := make([]float64, len(m.Sum))
	vr := make([]float64, len(m.Sum))
	for i := range mean {
		mean[i] = m.Sum[i] / m.N
		vr[i] = max(m.SumSq[i]/m.N-mean[i]*mean[i], 0)
	}
	r.Merge(m.N, mean, vr)
}

// normalizeObs writes (x - mean)/√(var+1e-8) clipped to ±10 into dst, or
// x itself when stats is nil.
func normalizeObs(dst []float64, x []float32, mean, variance []float64) {
	if mean == nil {
		for i, v := range x {
			dst[i] = float64(v)
		}
		return
	}
	for i, v := range x {
		dst[i] = min(max((float64(v)-mean[i])/math.Sqrt(variance[i]+1e-8), -10), 10)
	}
}
