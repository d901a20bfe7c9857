package sims

import "math"

// Pendulum-v1 (gymnasium/envs/classic_control/pendulum.py).
var (
	pendMaxSpeed  = 8.0
	pendMaxTorque = float32(2.0)
	pendDt        = 0.05
	pendG         = 10.0
	pendM         = 1.0
	pendL         = 1.0
	pendPi        = math.Pi
	pendTwoPi     = 2 * pendPi
)

var pendulumSpec = &spec{
	id:        "Pendulum-v1",
	maxSteps:  200,
	obs:       symmetricBox(1, 1, float32(pendMaxSpeed)),
	act:       symmetricBox(pendMaxTorque),
	newModels: modelsOf[pendulum],
}

type pendulum struct {
	th, thDot float64
	// sinTh is sin(sinOf), kept from the last observation: the next step
	// needs the sine of the same angle (math.Sincos and math.Sin agree
	// bit for bit), which saves a third of the trigonometry.
	sinTh, sinOf float64
}

func (p *pendulum) reset(r *rng, obs []float32) {
	// uniform(low=-[pi, 1], high=[pi, 1]): each element low + (high-low)*u.
	p.th = r.uniform(-pendPi, pendPi)
	p.thDot = r.uniform(-1, 1)
	p.observe(obs)
}

func (p *pendulum) observe(obs []float32) {
	sin, cos := math.Sincos(p.th)
	p.sinTh, p.sinOf = sin, p.th
	obs[0], obs[1], obs[2] = float32(cos), float32(sin), float32(p.thDot)
}

func (p *pendulum) step(action []float64, obs []float32) (float64, bool) {
	// The action is a float32 array in Gymnasium, so NumPy keeps u and the
	// terms built from it with Python floats in float32 (NEP 50) before
	// widening them into the float64 sums.
	u := min(max(float32(action[0]), -pendMaxTorque), pendMaxTorque)
	an := angleNormalize(p.th)
	costs := an*an + 0.1*(p.thDot*p.thDot) + float64(float32(0.001)*(u*u))
	sinTh := p.sinTh
	if p.sinOf != p.th {
		sinTh = math.Sin(p.th)
	}
	accel := 3*pendG/(2*pendL)*sinTh + float64(float32(3.0/(pendM*pendL*pendL))*u)
	newThDot := p.thDot + accel*pendDt
	newThDot = min(max(newThDot, -pendMaxSpeed), pendMaxSpeed)
	p.th += newThDot * pendDt
	p.thDot = newThDot
	p.observe(obs)
	return -costs, false
}

// angleNormalize is ((x + pi) % (2*pi)) - pi with Python's floor modulo.
func angleNormalize(x float64) float64 {
	return floorMod(x+pendPi, pendTwoPi) - pendPi
}

// floorMod is Python's float x % y for y > 0. CPython takes C's exact
// fmod and adds y to a negative result, rounding once, so the result is the
// exact x - floor(x/y)*y rounded once. A fused multiply-add computes the
// same from the quotient's floor, corrected when x/y rounded across an
// integer; math.Mod (slow) covers quotients beyond 2^52.
func floorMod(x, y float64) float64 {
	if x > 0 && x < y { // the common case
		return x
	}
	n := math.Floor(x / y)
	if !(math.Abs(n) < 1<<52) {
		m := math.Mod(x, y)
		if m < 0 {
			m += y
		}
		return m + 0 // CPython returns +0 for a zero remainder
	}
	r := math.FMA(-n, y, x)
	switch {
	case r < 0: // n one too big
		r = math.FMA(-(n - 1), y, x)
	case r >= y: // n maybe one too small; r == y may also be a rounding
		if r2 := math.FMA(-(n + 1), y, x); r2 >= 0 {
			r = r2
		}
	}
	return r + 0
}
