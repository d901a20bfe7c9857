package sims

import (
	"math"

	"manta/internal/box2d"
)

// BipedalWalker-v3 (gymnasium/envs/box2d/bipedal_walker.py), the normal
// (not hardcore) course, on ByteArena/box2d (see lunarlander.go on the
// physics engine). Gymnasium reuses one Box2D world across episodes; this
// port empties and rebuilds its world at each reset, after which it steps
// exactly as a new one, so a seeded episode does not depend on the
// episodes before it.
const (
	bwFPS            = 50
	bwScale          = 30.0
	bwMotorsTorque   = 80
	bwSpeedHip       = 4
	bwSpeedKnee      = 6
	bwLidarRange     = 160 / bwScale
	bwInitialRandom  = 5
	bwLegDown        = -8 / bwScale
	bwLegW, bwLegH   = 8 / bwScale, 34 / bwScale
	bwViewportW      = 600
	bwViewportH      = 400
	bwTerrainStep    = 14 / bwScale
	bwTerrainLength  = 200 // in steps
	bwTerrainHeight  = bwViewportH / bwScale / 4
	bwTerrainGrass   = 10 // low long are grass spots, in steps
	bwTerrainStartpd = 20 // in steps
	bwFriction       = 2.5
)

var bwHullPoly = [...][2]float64{{-30, 9}, {6, 9}, {34, 1}, {34, -8}, {-30, -8}}

var bipedalWalkerSpec = &spec{
	id:        "BipedalWalker-v3",
	maxSteps:  1600,
	obs:       bwObsSpace(),
	act:       symmetricBox(1, 1, 1, 1),
	newModels: modelsOf[bipedalWalker],
}

func bwObsSpace() Space {
	pi := float32(math.Pi)
	high := []float32{pi, 5, 5, 5, pi, 5, pi, 5, 5, pi, 5, pi, 5, 5}
	low := []float32{-pi, -5, -5, -5, -pi, -5, -pi, -5, 0, -pi, -5, -pi, -5, 0}
	for range 10 { // lidar
		low, high = append(low, -1), append(high, 1)
	}
	return box(low, high)
}

type bipedalWalker struct {
	builder
	hull   *box2d.B2Body
	legs   [4]*box2d.B2Body // upper, lower of the left leg; then the right
	joints [4]*box2d.B2RevoluteJoint
	// terrain holds the ground's edges in x order: edge k spans
	// [k, k+1]*bwTerrainStep.
	terrain [bwTerrainLength - 1]*box2d.B2Fixture
	// lowerContact is ground_contact of legs[1] and legs[3].
	lowerContact [2]bool
	gameOver     bool
	prevShaping  float64
	hasPrev      bool
}

// bwContacts is Gymnasium's ContactDetector.
type bwContacts struct{ w *bipedalWalker }

func (c bwContacts) BeginContact(contact box2d.B2ContactInterface) {
	a, b := contact.GetFixtureA().GetBody(), contact.GetFixtureB().GetBody()
	if a == c.w.hull || b == c.w.hull {
		c.w.gameOver = true
	}
	c.setLowerContact(a, b, true)
}

func (c bwContacts) EndContact(contact box2d.B2ContactInterface) {
	c.setLowerContact(contact.GetFixtureA().GetBody(), contact.GetFixtureB().GetBody(), false)
}

func (c bwContacts) setLowerContact(a, b *box2d.B2Body, on bool) {
	for i, leg := range [2]*box2d.B2Body{c.w.legs[1], c.w.legs[3]} {
		if a == leg || b == leg {
			c.w.lowerContact[i] = on
		}
	}
}

func (bwContacts) PreSolve(box2d.B2ContactInterface, box2d.B2Manifold)         {}
func (bwContacts) PostSolve(box2d.B2ContactInterface, *box2d.B2ContactImpulse) {}

func (w *bipedalWalker) reset(r *rng, obs []float32) {
	w.resetWorld(-10, bwContacts{w})
	w.gameOver, w.hasPrev = false, false
	w.lowerContact = [2]bool{}

	w.generateTerrain(r)
	// Gymnasium draws its (render-only) clouds here; draw the same numbers
	// so the stream stays in step with Gymnasium's.
	for range bwTerrainLength / 20 {
		r.float64()
		for range 5 * 2 {
			r.float64()
		}
	}

	initX := bwTerrainStep * bwTerrainStartpd / 2
	initY := bwTerrainHeight + 2*bwLegH
	w.hull = w.dynamicBody(initX, initY, 0)
	var verts [len(bwHullPoly)]box2d.B2Vec2
	for i, p := range bwHullPoly {
		verts[i] = box2d.MakeB2Vec2(p[0]/bwScale, p[1]/bwScale)
	}
	w.poly = box2d.MakeB2PolygonShape()
	w.poly.Set(verts[:], len(verts))
	w.attach(w.hull, &w.poly, 5.0, 0.1)
	w.hull.ApplyForceToCenter(box2d.MakeB2Vec2(r.uniform(-bwInitialRandom, bwInitialRandom), 0), true)

	for k, i := range [2]float64{-1, 1} {
		upper := w.dynamicBody(initX, initY-bwLegH/2-bwLegDown, i*0.05)
		w.attach(upper, w.boxShape(bwLegW/2, bwLegH/2), 1.0, 0.2)
		w.legs[2*k] = upper
		w.joints[2*k] = w.motorJoint(w.hull, upper, bwLegDown, bwLegH/2, i, -0.8, 1.1)

		lower := w.dynamicBody(initX, initY-bwLegH*3/2-bwLegDown, i*0.05)
		w.attach(lower, w.boxShape(0.8*bwLegW/2, bwLegH/2), 1.0, 0.2)
		w.legs[2*k+1] = lower
		w.joints[2*k+1] = w.motorJoint(upper, lower, -bwLegH/2, bwLegH/2, 1, -1.6, -0.1)
	}
	// Gymnasium's reset returns the observation of one zero-action step.
	var zero [4]float64
	w.step(zero[:], obs)
}

func (w *bipedalWalker) dynamicBody(x, y, angle float64) *box2d.B2Body {
	bd := box2d.MakeB2BodyDef()
	bd.Type = box2d.B2BodyType.B2_dynamicBody
	bd.Position = box2d.MakeB2Vec2(x, y)
	bd.Angle = angle
	return w.world.CreateBody(&bd)
}

// attach adds a walker fixture: it collides only with the ground.
func (w *bipedalWalker) attach(b *box2d.B2Body, shape box2d.B2ShapeInterface, density, friction float64) {
	fd := w.fixtureDef(shape, density, friction)
	fd.Filter.CategoryBits, fd.Filter.MaskBits = 0x0020, 0x001
	b.CreateFixtureFromDef(fd)
}

func (w *bipedalWalker) motorJoint(a, b *box2d.B2Body, anchorAY, anchorBY, speed, lower, upper float64) *box2d.B2RevoluteJoint {
	w.rjd = box2d.MakeB2RevoluteJointDef()
	rjd := &w.rjd
	rjd.BodyA, rjd.BodyB = a, b
	rjd.LocalAnchorA = box2d.MakeB2Vec2(0, anchorAY)
	rjd.LocalAnchorB = box2d.MakeB2Vec2(0, anchorBY)
	rjd.EnableMotor, rjd.EnableLimit = true, true
	rjd.MaxMotorTorque = bwMotorsTorque
	rjd.MotorSpeed = speed
	rjd.LowerAngle, rjd.UpperAngle = lower, upper
	return w.world.CreateJoint(rjd).(*box2d.B2RevoluteJoint)
}

// generateTerrain is _generate_terrain for the normal course: grass only,
// a random walk in height after the start pad, one edge body per step.
func (w *bipedalWalker) generateTerrain(r *rng) {
	var xs, ys [bwTerrainLength]float64
	velocity := 0.0
	y := bwTerrainHeight
	counter := int64(bwTerrainStartpd)
	oneshot := false
	for i := range bwTerrainLength {
		xs[i] = float64(i) * bwTerrainStep
		if !oneshot {
			velocity = 0.8*velocity + 0.01*sign(bwTerrainHeight-y)
			if i > bwTerrainStartpd {
				velocity += r.uniform(-1, 1) / bwScale
			}
			y += velocity
		}
		oneshot = false
		ys[i] = y
		counter--
		if counter == 0 {
			counter = r.integers(bwTerrainGrass/2, bwTerrainGrass)
			oneshot = true
		}
	}
	for i := 0; i < bwTerrainLength-1; i++ {
		bd := box2d.MakeB2BodyDef()
		t := w.world.CreateBody(&bd)
		w.terrain[i] = t.CreateFixtureFromDef(w.fixtureDef(w.edgeShape(xs[i], ys[i], xs[i+1], ys[i+1]), 0, bwFriction))
	}
}

func (w *bipedalWalker) step(action []float64, obs []float32) (float64, bool) {
	var a [4]float64
	for i := range a {
		a[i] = float64(float32(action[i]))
	}
	speeds := [4]float64{bwSpeedHip, bwSpeedKnee, bwSpeedHip, bwSpeedKnee}
	for i, j := range w.joints {
		j.SetMotorSpeed(speeds[i] * sign(a[i]))
		j.SetMaxMotorTorque(bwMotorsTorque * clamp(math.Abs(a[i]), 0, 1))
	}

	w.world.Step(1.0/bwFPS, 6*30, 2*30)

	pos := w.hull.GetPosition()
	vel := w.hull.GetLinearVelocity()
	var s [24]float64
	s[0] = w.hull.GetAngle()
	s[1] = 2.0 * w.hull.GetAngularVelocity() / bwFPS
	s[2] = 0.3 * vel.X * (bwViewportW / bwScale) / bwFPS
	s[3] = 0.3 * vel.Y * (bwViewportH / bwScale) / bwFPS
	for k := range 2 {
		hip, knee := w.joints[2*k], w.joints[2*k+1]
		b := 4 + 5*k
		s[b] = hip.GetJointAngle()
		s[b+1] = hip.GetJointSpeed() / bwSpeedHip
		s[b+2] = knee.GetJointAngle() + 1.0
		s[b+3] = knee.GetJointSpeed() / bwSpeedKnee
		if w.lowerContact[k] {
			s[b+4] = 1
		}
	}
	for i := range 10 {
		s[14+i] = w.lidar(pos, i)
	}
	for i, v := range s {
		obs[i] = float32(v)
	}

	// Moving forward is rewarded (about 300 for the whole course); keep
	// the head level; torque costs a little.
	shaping := 130 * pos.X / bwScale
	shaping -= 5.0 * math.Abs(s[0])
	reward := 0.0
	if w.hasPrev {
		reward = shaping - w.prevShaping
	}
	w.prevShaping, w.hasPrev = shaping, true
	for _, v := range a {
		reward -= 0.00035 * bwMotorsTorque * clamp(math.Abs(v), 0, 1)
	}
	term := false
	if w.gameOver || pos.X < 0 {
		term, reward = true, -100
	}
	if pos.X > (bwTerrainLength-bwTerrainGrass)*bwTerrainStep {
		term = true
	}
	return reward, term
}

// bwLidarDir holds the sine and cosine of lidar ray i's angle, 1.5*i/10
// radians from straight down, computed once rather than at every step.
var bwLidarDir = func() (d [10][2]float64) {
	for i := range d {
		a := 1.5 * float64(i) / 10.0
		d[i] = [2]float64{math.Sin(a), math.Cos(a)}
	}
	return d
}()

// lidar casts ray i (of 10, fanning forward-down) and returns the fraction
// of its range to the nearest ground fixture, 1 if none.
//
// Gymnasium's callback takes every ground hit and clips the ray to it, so
// the answer is the least fraction over the ground edges the ray crosses,
// whatever order the world's ray cast visits them in (an edge beyond the
// clip is refused, and would not lower it). The ground is the terrain's
// edges, in x order; so the ray is cast against those whose x span meets
// its own, with the fixture's own RayCast, rather than through the
// broad-phase tree: the same fractions, at a fraction of the cost.
func (w *bipedalWalker) lidar(p box2d.B2Vec2, i int) float64 {
	frac := 1.0
	end := box2d.MakeB2Vec2(p.X+bwLidarDir[i][0]*bwLidarRange, p.Y-bwLidarDir[i][1]*bwLidarRange)
	in := box2d.MakeB2RayCastInput()
	in.P1, in.P2, in.MaxFraction = p, end, 1
	// One edge of margin each side covers rounding in the division.
	lo := max(int(math.Floor(min(p.X, end.X)/bwTerrainStep))-1, 0)
	hi := min(int(math.Floor(max(p.X, end.X)/bwTerrainStep))+1, len(w.terrain)-1)
	for k := lo; k <= hi; k++ {
		var out box2d.B2RayCastOutput
		if w.terrain[k].RayCast(&out, in, 0) && out.Fraction < frac {
			frac = out.Fraction
		}
	}
	return frac
}
