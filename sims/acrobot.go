package sims

import "math"

// Acrobot-v1 (gymnasium/envs/classic_control/acrobot.py), "book" dynamics,
// one RK4 step of dt per env step, no torque noise.
var (
	acroDt      = 0.2
	acroL1      = 1.0 // link lengths
	acroM1      = 1.0 // link masses
	acroM2      = 1.0
	acroLC1     = 0.5 // centres of mass
	acroLC2     = 0.5
	acroI1      = 1.0 // moments of inertia
	acroI2      = 1.0
	acroG       = 9.8
	acroPi      = math.Pi
	acroMaxVel1 = 4 * acroPi
	acroMaxVel2 = 9 * acroPi
	acroTorque  = [3]float64{-1, 0, 1}
)

var acrobotSpec = &spec{
	id:       "Acrobot-v1",
	maxSteps: 500,
	obs: symmetricBox(1, 1, 1, 1,
		float32(acroMaxVel1), float32(acroMaxVel2)),
	act:       discrete(3),
	newModels: modelsOf[acrobot],
}

// acrobot's state is theta1, theta2, dtheta1, dtheta2.
type acrobot struct {
	s [4]float64
}

func (a *acrobot) reset(r *rng, obs []float32) {
	// Gymnasium casts the sampled start state to float32.
	for i := range a.s {
		a.s[i] = float64(float32(r.uniform(-0.1, 0.1)))
	}
	a.observe(obs)
}

func (a *acrobot) observe(obs []float32) {
	s1, c1 := math.Sincos(a.s[0])
	s2, c2 := math.Sincos(a.s[1])
	obs[0], obs[1], obs[2], obs[3] = float32(c1), float32(s1), float32(c2), float32(s2)
	obs[4], obs[5] = float32(a.s[2]), float32(a.s[3])
}

func (a *acrobot) step(action []float64, obs []float32) (float64, bool) {
	torque := acroTorque[int(action[0])]
	// rk4(_dsdt, s, [0, dt]) with the torque as a constant fifth component.
	dt := acroDt - 0
	dt2 := dt / 2.0
	y0 := a.s
	k1 := acroDsdt(y0, torque)
	k2 := acroDsdt(axpy(dt2, k1, y0), torque)
	k3 := acroDsdt(axpy(dt2, k2, y0), torque)
	k4 := acroDsdt(axpy(dt, k3, y0), torque)
	h := dt / 6.0
	var ns [4]float64
	for i := range ns {
		ns[i] = y0[i] + h*(k1[i]+2*k2[i]+2*k3[i]+k4[i])
	}
	ns[0] = acroWrap(ns[0], -acroPi, acroPi)
	ns[1] = acroWrap(ns[1], -acroPi, acroPi)
	ns[2] = min(max(ns[2], -acroMaxVel1), acroMaxVel1)
	ns[3] = min(max(ns[3], -acroMaxVel2), acroMaxVel2)
	a.s = ns
	a.observe(obs)
	if -math.Cos(ns[0])-math.Cos(ns[1]+ns[0]) > 1.0 {
		return 0, true
	}
	return -1, false
}

// axpy returns y + a*x.
func axpy(a float64, x, y [4]float64) [4]float64 {
	for i := range y {
		y[i] += a * x[i]
	}
	return y
}

// acroDsdt is _dsdt, written in Python's evaluation order.
func acroDsdt(s [4]float64, a float64) [4]float64 {
	m1, m2, l1, lc1, lc2, i1, i2, g := acroM1, acroM2, acroL1, acroLC1, acroLC2, acroI1, acroI2, acroG
	theta1, theta2, dtheta1, dtheta2 := s[0], s[1], s[2], s[3]
	sin2, cos2 := math.Sincos(theta2)
	d1 := m1*(lc1*lc1) + m2*((l1*l1)+(lc2*lc2)+2*l1*lc2*cos2) + i1 + i2
	d2 := m2*((lc2*lc2)+l1*lc2*cos2) + i2
	phi2 := m2 * lc2 * g * math.Cos(theta1+theta2-acroPi/2.0)
	phi1 := -m2*l1*lc2*(dtheta2*dtheta2)*sin2 -
		2*m2*l1*lc2*dtheta2*dtheta1*sin2 +
		(m1*lc1+m2*l1)*g*math.Cos(theta1-acroPi/2) +
		phi2
	ddtheta2 := (a + d2/d1*phi1 - m2*l1*lc2*(dtheta1*dtheta1)*sin2 - phi2) /
		(m2*(lc2*lc2) + i2 - (d2*d2)/d1)
	ddtheta1 := -(d2*ddtheta2 + phi1) / d1
	return [4]float64{dtheta1, dtheta2, ddtheta1, ddtheta2}
}

// acroWrap is Gymnasium's wrap(): shift by whole periods into [m, M].
func acroWrap(x, m, mx float64) float64 {
	diff := mx - m
	for x > mx {
		x -= diff
	}
	for x < m {
		x += diff
	}
	return x
}
