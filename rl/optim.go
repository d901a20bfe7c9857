package rl

import "math"

// Adam is the Adam optimiser (Kingma and Ba) over one flat parameter
// slice, with optional L2 weight decay added to the gradient (as the ES
// paper's implementation does) and PyTorch's bias correction.
type Adam struct {
	LR, Beta1, Beta2, Eps float64
	// L2 is the weight-decay coefficient: grad += L2·param before the step.
	L2   float64
	m, v []float64
	t    int
}

// NewAdam returns Adam for n parameters with the usual betas (0.9, 0.999).
func NewAdam(n int, lr, eps float64) *Adam {
	return &Adam{LR: lr, Beta1: 0.9, Beta2: 0.999, Eps: eps, m: make([]float64, n), v: make([]float64, n)}
}

// Step descends: p -= lr · m̂ / (√v̂ + eps). It does not allocate.
func (a *Adam) Step(p, grad []float64) {
	a.t++
	b1c := 1 - math.Pow(a.Beta1, float64(a.t))
	b2c := 1 - math.Pow(a.Beta2, float64(a.t))
	step := a.LR / b1c
	sq := math.Sqrt(b2c)
	for i, g := range grad {
		if a.L2 != 0 {
			g += a.L2 * p[i]
		}
		a.m[i] = a.Beta1*a.m[i] + (1-a.Beta1)*g
		a.v[i] = a.Beta2*a.v[i] + (1-a.Beta2)*g*g
		p[i] -= step * a.m[i] / (math.Sqrt(a.v[i])/sq + a.Eps)
	}
}

// ClipGradNorm scales grad so that its Euclidean norm is at most maxNorm
// (PyTorch's clip_grad_norm_) and returns the norm before clipping.
func ClipGradNorm(grad []float64, maxNorm float64) float64 {
	var s float64
	for _, g := range grad {
		s += g * g
	}
	n := math.Sqrt(s)
	if n > maxNorm && maxNorm > 0 {
		c := maxNorm / (n + 1e-6)
		for i := range grad {
			grad[i] *= c
		}
	}
	return n
}

// finite reports whether every value is a finite number.
func finite(xs []float64) bool {
	for _, x := range xs {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}
