package sims

import "math"

// CartPole-v1 (gymnasium/envs/classic_control/cartpole.py), Euler integrator.
//
// The parameters are variables, not constants, so that derived values are
// rounded at each operation as in Python: Go folds constant expressions
// exactly, and 12*2*math.Pi/360 as a constant differs from Gymnasium's
// float64 threshold by an ulp.
var (
	cartGravity        = 9.8
	cartMassCart       = 1.0
	cartMassPole       = 0.1
	cartTotalMass      = cartMassPole + cartMassCart
	cartLength         = 0.5 // half the pole's length
	cartPoleMassLength = cartMassPole * cartLength
	cartForceMag       = 10.0
	cartTau            = 0.02
	cartPi             = math.Pi
	cartThetaThreshold = 12 * 2 * cartPi / 360
	cartXThreshold     = 2.4
)

var cartPoleSpec = &spec{
	id:       "CartPole-v1",
	maxSteps: 500,
	obs: symmetricBox(float32(cartXThreshold*2), float32(math.Inf(1)),
		float32(cartThetaThreshold*2), float32(math.Inf(1))),
	act:       discrete(2),
	newModels: modelsOf[cartPole],
}

type cartPole struct {
	x, xDot, theta, thetaDot float64
}

func (c *cartPole) reset(r *rng, obs []float32) {
	c.x = r.uniform(-0.05, 0.05)
	c.xDot = r.uniform(-0.05, 0.05)
	c.theta = r.uniform(-0.05, 0.05)
	c.thetaDot = r.uniform(-0.05, 0.05)
	c.observe(obs)
}

func (c *cartPole) observe(obs []float32) {
	obs[0], obs[1], obs[2], obs[3] = float32(c.x), float32(c.xDot), float32(c.theta), float32(c.thetaDot)
}

func (c *cartPole) step(action []float64, obs []float32) (float64, bool) {
	force := -cartForceMag
	if action[0] == 1 {
		force = cartForceMag
	}
	sin, cos := math.Sincos(c.theta)
	temp := (force + cartPoleMassLength*(c.thetaDot*c.thetaDot)*sin) / cartTotalMass
	thetaAcc := (cartGravity*sin - cos*temp) /
		(cartLength * (4.0/3.0 - cartMassPole*(cos*cos)/cartTotalMass))
	xAcc := temp - cartPoleMassLength*thetaAcc*cos/cartTotalMass

	c.x += cartTau * c.xDot
	c.xDot += cartTau * xAcc
	c.theta += cartTau * c.thetaDot
	c.thetaDot += cartTau * thetaAcc
	c.observe(obs)

	term := c.x < -cartXThreshold || c.x > cartXThreshold ||
		c.theta < -cartThetaThreshold || c.theta > cartThetaThreshold
	// Gymnasium pays 1 on every step, the terminating one included; steps
	// after termination are refused by episode, so its 0-reward branch
	// cannot be reached.
	return 1, term
}
