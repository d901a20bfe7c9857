package sims

import "math"

// MountainCar-v0 (gymnasium/envs/classic_control/mountain_car.py).
var (
	mcMinPosition  = -1.2
	mcMaxPosition  = 0.6
	mcMaxSpeed     = 0.07
	mcGoalPosition = 0.5
	mcForce        = 0.001
	mcGravity      = 0.0025
)

var mountainCarSpec = &spec{
	id:        "MountainCar-v0",
	maxSteps:  200,
	obs:       mcBox(),
	act:       discrete(3),
	newModels: modelsOf[mountainCar],
}

func mcBox() Space {
	return box([]float32{float32(mcMinPosition), float32(-mcMaxSpeed)},
		[]float32{float32(mcMaxPosition), float32(mcMaxSpeed)})
}

type mountainCar struct {
	pos, vel float64
}

func (m *mountainCar) reset(r *rng, obs []float32) {
	m.pos = r.uniform(-0.6, -0.4)
	m.vel = 0
	obs[0], obs[1] = float32(m.pos), float32(m.vel)
}

func (m *mountainCar) step(action []float64, obs []float32) (float64, bool) {
	// Order as in Gymnasium: clip the speed, move, clip the position, then
	// stop at the left wall.
	m.vel += (action[0]-1)*mcForce + math.Cos(3*m.pos)*(-mcGravity)
	m.vel = min(max(m.vel, -mcMaxSpeed), mcMaxSpeed)
	m.pos += m.vel
	m.pos = min(max(m.pos, mcMinPosition), mcMaxPosition)
	if m.pos == mcMinPosition && m.vel < 0 {
		m.vel = 0
	}
	obs[0], obs[1] = float32(m.pos), float32(m.vel)
	return -1, m.pos >= mcGoalPosition && m.vel >= 0
}
