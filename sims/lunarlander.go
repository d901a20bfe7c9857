package sims

import (
	"math"

	"manta/internal/box2d"
)

// LunarLander-v3 and LunarLanderContinuous-v3
// (gymnasium/envs/box2d/lunar_lander.py) with Gymnasium's defaults:
// gravity -10, no wind. Physics runs on ByteArena/box2d (a float64 Go port
// of Box2D 2.3) in manta's fork internal/box2d; Gymnasium's pybox2d runs
// Box2D 2.3 in float32, so trajectories agree in behaviour, not bit for
// bit.
const (
	llFPS              = 50
	llScale            = 30.0
	llMainEnginePower  = 13.0
	llSideEnginePower  = 0.6
	llInitialRandom    = 1000.0
	llLegAway          = 20
	llLegDown          = 18
	llLegW, llLegH     = 2, 8
	llLegSpringTorque  = 40
	llSideEngineHeight = 14
	llSideEngineAway   = 12
	llMainEngineY      = 4
	llViewportW        = 600
	llViewportH        = 400
	llChunks           = 11
	llGravity          = -10.0
)

var llPoly = [...][2]float64{{-14, 17}, {-17, 0}, {-17, -10}, {17, -10}, {17, 0}, {14, 17}}

var (
	lunarLanderSpec = &spec{
		id:        "LunarLander-v3",
		maxSteps:  1000,
		obs:       llObsSpace(),
		act:       discrete(4),
		newModels: modelsOf[lunarLander],
	}
	lunarLanderContinuousSpec = &spec{
		id:        "LunarLanderContinuous-v3",
		maxSteps:  1000,
		obs:       llObsSpace(),
		act:       symmetricBox(1, 1),
		newModels: modelsOf[lunarLanderContinuous],
	}
)

func llObsSpace() Space {
	twoPi := float32(2 * math.Pi)
	return box([]float32{-2.5, -2.5, -10, -10, -twoPi, -10, 0, 0},
		[]float32{2.5, 2.5, 10, 10, twoPi, 10, 1, 1})
}

// lunarLanderContinuous is the same lander with throttled engines.
type lunarLanderContinuous struct{ lunarLander }

func (l *lunarLanderContinuous) reset(r *rng, obs []float32) {
	l.continuous = true
	l.lunarLander.reset(r, obs)
}

type lunarLander struct {
	continuous bool
	rng        *rng // the episode's stream; steps draw engine dispersion
	builder
	lander     *box2d.B2Body
	legs       [2]*box2d.B2Body
	legContact [2]bool
	gameOver   bool
	helipadY   float64
	// prevShaping is the previous step's shaping; hasPrev is false right
	// after the world is built (Python's prev_shaping = None).
	prevShaping float64
	hasPrev     bool
}

// llContacts is Gymnasium's ContactDetector.
type llContacts struct{ l *lunarLander }

func (c llContacts) BeginContact(contact box2d.B2ContactInterface) {
	a, b := contact.GetFixtureA().GetBody(), contact.GetFixtureB().GetBody()
	if a == c.l.lander || b == c.l.lander {
		c.l.gameOver = true
	}
	for i, leg := range c.l.legs {
		if a == leg || b == leg {
			c.l.legContact[i] = true
		}
	}
}

func (c llContacts) EndContact(contact box2d.B2ContactInterface) {
	a, b := contact.GetFixtureA().GetBody(), contact.GetFixtureB().GetBody()
	for i, leg := range c.l.legs {
		if a == leg || b == leg {
			c.l.legContact[i] = false
		}
	}
}

func (llContacts) PreSolve(box2d.B2ContactInterface, box2d.B2Manifold)         {}
func (llContacts) PostSolve(box2d.B2ContactInterface, *box2d.B2ContactImpulse) {}

func (l *lunarLander) reset(r *rng, obs []float32) {
	l.rng = r
	// A fresh world per episode, as Gymnasium v3 does: emptied and built
	// again, it steps exactly as a new one.
	l.resetWorld(llGravity, llContacts{l})
	l.gameOver, l.hasPrev = false, false
	l.legContact = [2]bool{}

	W := llViewportW / llScale
	H := llViewportH / llScale
	var height [llChunks + 1]float64
	for i := range height {
		height[i] = r.uniform(0, H/2)
	}
	var chunkX [llChunks]float64
	for i := range chunkX {
		chunkX[i] = W / (llChunks - 1) * float64(i)
	}
	l.helipadY = H / 4
	for i := llChunks/2 - 2; i <= llChunks/2+2; i++ {
		height[i] = l.helipadY
	}
	var smoothY [llChunks]float64
	for i := range smoothY {
		prev := height[(i+len(height)-1)%len(height)] // Python's height[-1] at i = 0
		smoothY[i] = 0.33 * (prev + height[i] + height[i+1])
	}

	moonDef := box2d.MakeB2BodyDef()
	moon := l.world.CreateBody(&moonDef)
	moon.CreateFixtureFromDef(l.fixtureDef(l.edgeShape(0, 0, W, 0), 0, 0.2))
	for i := 0; i < llChunks-1; i++ {
		e := l.edgeShape(chunkX[i], smoothY[i], chunkX[i+1], smoothY[i+1])
		moon.CreateFixtureFromDef(l.fixtureDef(e, 0, 0.1))
	}

	initialY := llViewportH / llScale
	initialX := llViewportW / llScale / 2
	bd := box2d.MakeB2BodyDef()
	bd.Type = box2d.B2BodyType.B2_dynamicBody
	bd.Position = box2d.MakeB2Vec2(initialX, initialY)
	l.lander = l.world.CreateBody(&bd)
	var verts [len(llPoly)]box2d.B2Vec2
	for i, p := range llPoly {
		verts[i] = box2d.MakeB2Vec2(p[0]/llScale, p[1]/llScale)
	}
	l.poly = box2d.MakeB2PolygonShape()
	l.poly.Set(verts[:], len(verts))
	fd := l.fixtureDef(&l.poly, 5.0, 0.1)
	fd.Filter.CategoryBits, fd.Filter.MaskBits = 0x0010, 0x001 // collide only with ground
	l.lander.CreateFixtureFromDef(fd)
	l.lander.ApplyForceToCenter(box2d.MakeB2Vec2(
		r.uniform(-llInitialRandom, llInitialRandom),
		r.uniform(-llInitialRandom, llInitialRandom)), true)

	for k, i := range [2]float64{-1, 1} {
		bd := box2d.MakeB2BodyDef()
		bd.Type = box2d.B2BodyType.B2_dynamicBody
		bd.Position = box2d.MakeB2Vec2(initialX-i*llLegAway/llScale, initialY)
		bd.Angle = i * 0.05
		leg := l.world.CreateBody(&bd)
		fd := l.fixtureDef(l.boxShape(llLegW/llScale, llLegH/llScale), 1.0, 0.2)
		fd.Filter.CategoryBits, fd.Filter.MaskBits = 0x0020, 0x001
		leg.CreateFixtureFromDef(fd)

		l.rjd = box2d.MakeB2RevoluteJointDef()
		rjd := &l.rjd
		rjd.BodyA, rjd.BodyB = l.lander, leg
		rjd.LocalAnchorA = box2d.MakeB2Vec2(0, 0)
		rjd.LocalAnchorB = box2d.MakeB2Vec2(i*llLegAway/llScale, llLegDown/llScale)
		rjd.EnableMotor, rjd.EnableLimit = true, true
		rjd.MaxMotorTorque = llLegSpringTorque
		rjd.MotorSpeed = 0.3 * i // low enough not to jump back into the sky
		if i == -1 {
			rjd.LowerAngle, rjd.UpperAngle = 0.9-0.5, 0.9
		} else {
			rjd.LowerAngle, rjd.UpperAngle = -0.9, -0.9+0.5
		}
		l.world.CreateJoint(rjd)
		l.legs[k] = leg
	}
	// Gymnasium's reset returns the observation of one no-op step.
	l.advance(0, 0, obs)
}

func (l *lunarLander) step(action []float64, obs []float32) (float64, bool) {
	var mPower, sPower, direction float64
	if l.continuous {
		main := clamp(float64(float32(action[0])), -1, 1)
		lateral := clamp(float64(float32(action[1])), -1, 1)
		if main > 0 {
			mPower = (clamp(main, 0, 1) + 1) * 0.5 // 0.5..1
		}
		if math.Abs(lateral) > 0.5 {
			direction = math.Copysign(1, lateral)
			sPower = clamp(math.Abs(lateral), 0.5, 1)
		}
	} else {
		switch action[0] {
		case 2:
			mPower = 1
		case 1, 3:
			direction, sPower = action[0]-2, 1
		}
	}
	return l.advance(mPower, sPower*direction, obs)
}

// advance fires the engines (side: signed power, negative for the left
// engine), steps the world and scores the result.
func (l *lunarLander) advance(mPower, side float64, obs []float32) (float64, bool) {
	angle := l.lander.GetAngle()
	tip := [2]float64{math.Sin(angle), math.Cos(angle)}
	sideV := [2]float64{-tip[1], tip[0]}
	// Drawn every step, engines firing or not, as in Gymnasium.
	d0 := l.rng.uniform(-1, 1) / llScale
	d1 := l.rng.uniform(-1, 1) / llScale

	if mPower > 0 {
		ox := tip[0]*(llMainEngineY/llScale+2*d0) + sideV[0]*d1
		oy := -tip[1]*(llMainEngineY/llScale+2*d0) - sideV[1]*d1
		pos := l.lander.GetPosition()
		l.lander.ApplyLinearImpulse(
			box2d.MakeB2Vec2(-ox*llMainEnginePower*mPower, -oy*llMainEnginePower*mPower),
			box2d.MakeB2Vec2(pos.X+ox, pos.Y+oy), true)
	}
	sPower := math.Abs(side)
	if sPower > 0 {
		direction := math.Copysign(1, side)
		ox := tip[0]*d0 + sideV[0]*(3*d1+direction*llSideEngineAway/llScale)
		oy := -tip[1]*d0 - sideV[1]*(3*d1+direction*llSideEngineAway/llScale)
		pos := l.lander.GetPosition()
		l.lander.ApplyLinearImpulse(
			box2d.MakeB2Vec2(-ox*llSideEnginePower*sPower, -oy*llSideEnginePower*sPower),
			box2d.MakeB2Vec2(pos.X+ox-tip[0]*17/llScale, pos.Y+oy+tip[1]*llSideEngineHeight/llScale), true)
	}

	l.world.Step(1.0/llFPS, 6*30, 2*30)

	pos := l.lander.GetPosition()
	vel := l.lander.GetLinearVelocity()
	var s [8]float64
	s[0] = (pos.X - llViewportW/llScale/2) / (llViewportW / llScale / 2)
	s[1] = (pos.Y - (l.helipadY + llLegDown/llScale)) / (llViewportH / llScale / 2)
	s[2] = vel.X * (llViewportW / llScale / 2) / llFPS
	s[3] = vel.Y * (llViewportH / llScale / 2) / llFPS
	s[4] = l.lander.GetAngle()
	s[5] = 20.0 * l.lander.GetAngularVelocity() / llFPS
	for i, c := range l.legContact {
		if c {
			s[6+i] = 1
		}
	}
	for i, v := range s {
		obs[i] = float32(v)
	}

	shaping := -100*math.Sqrt(s[0]*s[0]+s[1]*s[1]) -
		100*math.Sqrt(s[2]*s[2]+s[3]*s[3]) -
		100*math.Abs(s[4]) + 10*s[6] + 10*s[7]
	reward := 0.0
	if l.hasPrev {
		reward = shaping - l.prevShaping
	}
	l.prevShaping, l.hasPrev = shaping, true
	reward -= mPower * 0.30 // less fuel spent is better
	reward -= sPower * 0.03

	term := false
	if l.gameOver || math.Abs(s[0]) >= 1 {
		term, reward = true, -100
	}
	if !l.lander.IsAwake() { // at rest: landed
		term, reward = true, 100
	}
	return reward, term
}
