package benchmarks

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"

	"manta/sims"
)

// The Table 4 workload: Pendulum-v1 rollouts driven by a small fixed
// random policy.
//
// The paper ran Gym's Pendulum-v0 in Python with a policy evaluated at
// every step; here the environment is sims' Gymnasium-faithful
// Pendulum-v1 and the policy is a fixed, randomly initialised multilayer
// perceptron of the size RL libraries default to for this task (3 inputs,
// two hidden layers of 64 tanh units, one tanh output scaled to the
// torque bound [-2, 2]; about 4.4K multiply-adds a step). It never learns:
// Table 4 measures simulation throughput, not returns.

const (
	policyHidden = 64
	pendulumObs  = 3
	pendulumID   = "Pendulum-v1"
)

// mlpPolicy is a 3-64-64-1 tanh network with fixed random weights.
type mlpPolicy struct {
	w1 [policyHidden][pendulumObs]float64
	b1 [policyHidden]float64
	w2 [policyHidden][policyHidden]float64
	b2 [policyHidden]float64
	w3 [policyHidden]float64
	b3 float64
}

// fixedPolicy is built once per process from a fixed seed, so every worker
// process evaluates the same policy.
var fixedPolicy = sync.OnceValue(func() *mlpPolicy { return newPolicy(20180101) })

// newPolicy draws weights uniformly in ±1/sqrt(fan-in), as common
// initialisers do, from a PCG stream seeded with seed.
func newPolicy(seed uint64) *mlpPolicy {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	u := func(fanIn int) float64 { return (2*r.Float64() - 1) / math.Sqrt(float64(fanIn)) }
	p := &mlpPolicy{}
	for i := range p.w1 {
		for j := range p.w1[i] {
			p.w1[i][j] = u(pendulumObs)
		}
		p.b1[i] = u(pendulumObs)
	}
	for i := range p.w2 {
		for j := range p.w2[i] {
			p.w2[i][j] = u(policyHidden)
		}
		p.b2[i] = u(policyHidden)
	}
	for i := range p.w3 {
		p.w3[i] = u(policyHidden)
	}
	p.b3 = u(policyHidden)
	return p
}

// act evaluates the policy on one observation and returns the torque.
func (p *mlpPolicy) act(obs []float32) float64 {
	var x [pendulumObs]float64
	for i := range x {
		x[i] = float64(obs[i])
	}
	var h1, h2 [policyHidden]float64
	for i := range h1 {
		s := p.b1[i]
		for j, v := range x {
			s += p.w1[i][j] * v
		}
		h1[i] = math.Tanh(s)
	}
	for i := range h2 {
		s := p.b2[i]
		w := &p.w2[i]
		for j, v := range h1 {
			s += w[j] * v
		}
		h2[i] = math.Tanh(s)
	}
	s := p.b3
	for j, v := range h2 {
		s += p.w3[j] * v
	}
	return 2 * math.Tanh(s)
}

// rolloutResult is what one rollout task returns to the driver.
type rolloutResult struct {
	Steps    int     `cbor:"1,keyasint"`
	Episodes int     `cbor:"2,keyasint"`
	Return   float64 `cbor:"3,keyasint"`
}

// runRollout steps Pendulum-v1 under the fixed policy for exactly steps
// timesteps, starting from Reset(seed) and resetting (unseeded, continuing
// the stream) whenever the 200-step time limit truncates an episode.
func runRollout(seed int64, steps int) (rolloutResult, error) {
	var out rolloutResult
	if steps < 0 || seed < 0 {
		return out, fmt.Errorf("rollout: bad seed %d or length %d", seed, steps)
	}
	env, err := sims.Make(pendulumID)
	if err != nil {
		return out, err
	}
	obs, err := env.Reset(seed)
	if err != nil {
		return out, err
	}
	p := fixedPolicy()
	action := make([]float64, 1)
	for range steps {
		action[0] = p.act(obs)
		var r float64
		var term, trunc bool
		obs, r, term, trunc, err = env.Step(action)
		if err != nil {
			return out, err
		}
		out.Steps++
		out.Return += r
		if term || trunc {
			out.Episodes++
			if obs, err = env.Reset(sims.NoSeed); err != nil {
				return out, err
			}
		}
	}
	return out, nil
}
