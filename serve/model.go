package serve

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// Model evaluates batches. A state is InputSize float32 values and its
// output OutputSize values; a batch is n states end to end.
type Model interface {
	// InputSize is the number of values in one state.
	InputSize() int
	// OutputSize is the number of values in one state's output.
	OutputSize() int
	// Infer evaluates the n = len(in)/InputSize() states of in and writes
	// their outputs, end to end, into out (n × OutputSize() values). A
	// Batcher calls it from one goroutine at a time.
	Infer(in, out []float32) error
}

// ResidualFeatures is the width of Residual's network and of its output.
const ResidualFeatures = 64

// Residual is the stand-in for the paper's Table 3 networks: a small
// residual network whose evaluation of a batch takes a fixed time, as the
// paper states its networks' times per batch (10 ms for the residual
// network on 4 KB states, 5 ms for the fully connected one on 100 KB
// states).
//
// Its arithmetic is real: each state is average-pooled into
// ResidualFeatures values p (reading every value of the state), and the
// output is p + W₂·relu(W₁·p + b₁), with fixed pseudo-random weights. That
// takes well under the stated time on a batch of 64 states, so the model
// then spins on the CPU until the batch has taken BatchCost, whatever its
// size: the time is the paper's, the work within it mostly busy-waiting.
type Residual struct {
	stateSize int
	cost      time.Duration
	w1, w2    []float32 // ResidualFeatures × ResidualFeatures, row-major
	b1        []float32
	hidden    []float32 // scratch: Infer is called by one goroutine at a time
}

// NewResidual returns the model for states of stateSize values (a
// positive multiple of ResidualFeatures) whose batches each take
// batchCost; the weights come from seed.
func NewResidual(stateSize int, batchCost time.Duration, seed uint64) (*Residual, error) {
	if stateSize < ResidualFeatures || stateSize%ResidualFeatures != 0 || batchCost < 0 {
		return nil, fmt.Errorf("%w: residual model of %d-value states (want a positive multiple of %d) and cost %v",
			ErrBadInput, stateSize, ResidualFeatures, batchCost)
	}
	r := rand.New(rand.NewPCG(seed, 0x5e7e))
	const f = ResidualFeatures
	scale := float32(1 / 8.0) // 1/sqrt(fan-in)
	weights := func(n int) []float32 {
		w := make([]float32, n)
		for i := range w {
			w[i] = (2*r.Float32() - 1) * scale
		}
		return w
	}
	return &Residual{stateSize: stateSize, cost: batchCost, w1: weights(f * f), w2: weights(f * f), b1: weights(f),
		hidden: make([]float32, f)}, nil
}

// InputSize is the state size the model was made for.
func (m *Residual) InputSize() int { return m.stateSize }

// OutputSize is ResidualFeatures.
func (m *Residual) OutputSize() int { return ResidualFeatures }

// Infer evaluates the batch, then spins until it has taken BatchCost.
func (m *Residual) Infer(in, out []float32) error {
	start := time.Now()
	n := len(in) / m.stateSize
	if n*m.stateSize != len(in) || len(out) != n*ResidualFeatures {
		return fmt.Errorf("%w: %d input and %d output values for %d-value states", ErrBadInput, len(in), len(out), m.stateSize)
	}
	const f = ResidualFeatures
	pool := m.stateSize / f
	inv := 1 / float32(pool)
	for s := range n {
		state, p := in[s*m.stateSize:(s+1)*m.stateSize], out[s*f:(s+1)*f]
		for j := range f {
			p[j] = sum(state[j*pool:(j+1)*pool]) * inv
		}
		for i := range f {
			h := m.b1[i]
			for j, w := range m.w1[i*f : (i+1)*f] {
				h += w * p[j]
			}
			m.hidden[i] = max(h, 0)
		}
		for i := range f {
			r := float32(0)
			for j, w := range m.w2[i*f : (i+1)*f] {
				r += w * m.hidden[j]
			}
			p[i] += r // the residual connection: the output starts from p
		}
	}
	for time.Since(start) < m.cost {
		// The rest of the batch's stated time: the CPU stays busy, as it
		// would evaluating the paper's larger network.
	}
	return nil
}

// sum adds xs in four independent running sums, so the additions do not
// wait on each other: pooling a 100 KB state is bound by memory, not by
// the latency of one chain of additions.
func sum(xs []float32) float32 {
	var s0, s1, s2, s3 float32
	for len(xs) >= 4 {
		s0, s1, s2, s3 = s0+xs[0], s1+xs[1], s2+xs[2], s3+xs[3]
		xs = xs[4:]
	}
	for _, x := range xs {
		s0 += x
	}
	return (s0 + s1) + (s2 + s3)
}
