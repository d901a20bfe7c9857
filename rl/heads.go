package rl

import (
	"math"
	"math/rand/v2"
)

// Categorical is a softmax policy head over n discrete actions: the
// network's outputs are the logits.
type Categorical struct{ N int }

// logSoftmax writes log p for one row of logits into lp.
func logSoftmax(logits, lp []float64) {
	mx := math.Inf(-1)
	for _, v := range logits {
		mx = max(mx, v)
	}
	var s float64
	for _, v := range logits {
		s += math.Exp(v - mx)
	}
	ls := mx + math.Log(s)
	for i, v := range logits {
		lp[i] = v - ls
	}
}

// Sample draws an action from one row of logits; lp (length N) receives
// log p. It returns the action and its log-probability.
func (c Categorical) Sample(logits, lp []float64, rng *rand.Rand) (int, float64) {
	logSoftmax(logits, lp)
	u := rng.Float64()
	var acc float64
	for i, l := range lp {
		acc += math.Exp(l)
		if u < acc {
			return i, l
		}
	}
	return c.N - 1, lp[c.N-1]
}

// Mode is the most probable action of one row of logits.
func (c Categorical) Mode(logits []float64) int {
	best := 0
	for i, v := range logits {
		if v > logits[best] {
			best = i
		}
	}
	return best
}

// LogProbEntropy returns log p(a) and the entropy for one row of logits,
// and writes into dlogits dL/dlogits for L = gLogP·log p(a) + gEnt·H.
// lp is scratch of length N.
func (c Categorical) LogProbEntropy(logits []float64, a int, gLogP, gEnt float64, lp, dlogits []float64) (logp, ent float64) {
	logSoftmax(logits, lp)
	for _, l := range lp {
		ent -= math.Exp(l) * l
	}
	for j, l := range lp {
		p := math.Exp(l)
		d := -p * gLogP // d log p(a) / d z_j = 1[j=a] - p_j
		if j == a {
			d += gLogP
		}
		d += gEnt * (-p * (l + ent)) // dH/dz_j = -p_j (log p_j + H)
		dlogits[j] = d
	}
	return lp[a], ent
}

// Gaussian is a diagonal Gaussian policy head over a Box action space:
// the network outputs the mean and a state-independent parameter vector
// holds log σ (CleanRL's actor_logstd).
type Gaussian struct{ N int }

const halfLog2Pi = 0.9189385332046727 // ½ log 2π

// Sample draws a ~ N(mean, σ²) into a and returns log p(a).
func (g Gaussian) Sample(mean, logStd, a []float64, rng *rand.Rand) float64 {
	var lp float64
	for i := range mean {
		z := rng.NormFloat64()
		a[i] = mean[i] + math.Exp(logStd[i])*z
		lp += -0.5*z*z - logStd[i] - halfLog2Pi
	}
	return lp
}

// LogProbEntropy returns log p(a) and the entropy, and writes dL/dmean
// into dmean and adds dL/dlogσ into dlogStd, for L = gLogP·log p(a) +
// gEnt·H.
func (g Gaussian) LogProbEntropy(mean, logStd, a []float64, gLogP, gEnt float64, dmean, dlogStd []float64) (logp, ent float64) {
	for i := range mean {
		s := math.Exp(logStd[i])
		z := (a[i] - mean[i]) / s
		logp += -0.5*z*z - logStd[i] - halfLog2Pi
		ent += logStd[i] + 0.5 + halfLog2Pi
		dmean[i] = gLogP * z / s
		dlogStd[i] += gLogP*(z*z-1) + gEnt
	}
	return logp, ent
}
