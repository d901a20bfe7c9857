package sims

import "math"

// MountainCarContinuous-v0
// (gymnasium/envs/classic_control/continuous_mountain_car.py).
var (
	mccPower        = 0.0015
	mccGoalPosition = 0.45
)

var mountainCarContinuousSpec = &spec{
	id:        "MountainCarContinuous-v0",
	maxSteps:  999,
	obs:       mcBox(),
	act:       symmetricBox(1),
	newModels: modelsOf[mountainCarContinuous],
}

// mountainCarContinuous mirrors NumPy's dtypes, not just its formulas:
// Gymnasium stores the state as a float32 array after every step, so from
// the second step on position and velocity are np.float32, and NEP 50 makes
// arithmetic and comparisons with Python floats run in float32 — except
// where a Python float replaced a value (the clipped force, speed or
// position), which is then rounded into float32 when it meets one.
type mountainCarContinuous struct {
	pos, vel float64
	f32      bool // pos and vel are np.float32 (true after the first step)
}

func (m *mountainCarContinuous) reset(r *rng, obs []float32) {
	m.pos = r.uniform(-0.6, -0.4)
	m.vel = 0
	m.f32 = false
	obs[0], obs[1] = float32(m.pos), float32(m.vel)
}

func (m *mountainCarContinuous) step(action []float64, obs []float32) (float64, bool) {
	a := float32(action[0])
	pos, vel := m.pos, m.vel

	var slope float64 // 0.0025 * math.cos(3 * position), a Python float
	if m.f32 {
		slope = 0.0025 * math.Cos(float64(3*float32(pos)))
	} else {
		slope = 0.0025 * math.Cos(3*pos)
	}
	// force = min(max(action[0], -1.0), 1.0) keeps the np.float32 action
	// unless it is clipped to a Python float bound.
	if a < -1 || a > 1 {
		force := 1.0
		if a < -1 {
			force = -1.0
		}
		dv := force*mccPower - slope
		if m.f32 {
			vel = float64(float32(vel) + float32(dv))
		} else {
			vel += dv
		}
	} else {
		dv := a*float32(mccPower) - float32(slope)
		if m.f32 {
			vel = float64(float32(vel) + dv)
		} else {
			vel += float64(dv)
		}
	}

	if m.f32 && float32(vel) > float32(mcMaxSpeed) || !m.f32 && vel > mcMaxSpeed {
		vel = mcMaxSpeed // a Python float from here on; compared exactly below
	} else if m.f32 && float32(vel) < float32(-mcMaxSpeed) || !m.f32 && vel < -mcMaxSpeed {
		vel = -mcMaxSpeed
	}

	if m.f32 {
		pos = float64(float32(pos) + float32(vel))
	} else {
		pos += vel
	}
	if m.f32 && float32(pos) > float32(mcMaxPosition) || !m.f32 && pos > mcMaxPosition {
		pos = mcMaxPosition
	} else if m.f32 && float32(pos) < float32(mcMinPosition) || !m.f32 && pos < mcMinPosition {
		pos = mcMinPosition
	}
	// A float32 position compares with Python floats in float32; once
	// replaced by a bound it is a Python float and compares in float64.
	// Both agree for the bounds themselves, so one test covers each case.
	atMin := pos == mcMinPosition || m.f32 && float32(pos) == float32(mcMinPosition)
	if atMin && vel < 0 {
		vel = 0
	}
	goal := pos >= mccGoalPosition || m.f32 && float32(pos) >= float32(mccGoalPosition)
	term := goal && vel >= 0

	reward := 0.0
	if term {
		reward = 100.0
	}
	reward -= float64(a) * float64(a) * 0.1 // math.pow(action[0], 2): exact for a float32

	m.pos, m.vel, m.f32 = float64(float32(pos)), float64(float32(vel)), true
	obs[0], obs[1] = float32(m.pos), float32(m.vel)
	return reward, term
}
