package box2d

import (
	"encoding/binary"
	"hash"
	"hash/fnv"
	"math"
	"testing"
)

// changingBodiesPinned is the digest TestBodiesChangingTypeStepPinned
// computed before B2World.Step walked only the movable bodies.
const changingBodiesPinned uint64 = 0x53a282b9cdc7e09d

// TestBodiesChangingTypeStepPinned steps a scene with many static bodies
// while its bodies change type, are destroyed and are made, and checks
// every body's state bit for bit against the engine that walked all
// bodies in each loop (the movable list's invariants: see movable).
func TestBodiesChangingTypeStepPinned(t *testing.T) {
	h := fnv.New64a()
	for _, continuous := range []bool{true, false} {
		changingBodies(t, h, continuous)
	}
	if got := h.Sum64(); got != changingBodiesPinned {
		t.Errorf("digest %#x, pinned %#x", got, changingBodiesPinned)
	}
}

// changingBodies runs the scene, with or without continuous collision
// (without, a dynamic body keeps its island flag between steps), and
// hashes every body's state after each step into h. It fails t if a
// static body keeps an island flag between steps, which would keep it
// out of its islands.
func changingBodies(t *testing.T, h hash.Hash64, continuous bool) {
	var s scene
	w := MakeB2World(MakeB2Vec2(0, -10))
	w.M_continuousPhysics = continuous
	s.build(&w, 0)
	for i := range 20 { // static ledges, each a body of its own
		bd := MakeB2BodyDef()
		bd.Position = MakeB2Vec2(-7+0.7*float64(i), 1.2+0.2*float64(i%4))
		ledge := w.CreateBody(&bd)
		s.edge = MakeB2EdgeShape()
		s.edge.Set(MakeB2Vec2(-0.3, 0), MakeB2Vec2(0.3, 0.05))
		s.fd = MakeB2FixtureDef()
		s.fd.Shape, s.fd.Friction = &s.edge, 0.5
		ledge.CreateFixtureFromDef(&s.fd)
	}
	var buf [8]byte
	for step := range 400 {
		switch step {
		case 60:
			s.bodies[3].SetType(B2BodyType.B2_staticBody)
		case 90:
			s.bodies[0].SetType(B2BodyType.B2_staticBody) // the pendulum's top, with its joint
			s.bodies[1].SetAwake(true)                    // its other body, which may sleep
		case 120:
			s.bodies[3].SetType(B2BodyType.B2_dynamicBody)
		case 150:
			w.DestroyBody(s.bodies[7])
		case 240:
			s.bodies[0].SetType(B2BodyType.B2_dynamicBody)
		}
		if step >= 180 && step%20 == 0 { // fast boxes, some bullets: time-of-impact events
			bd := MakeB2BodyDef()
			bd.Type = B2BodyType.B2_dynamicBody
			bd.Position = MakeB2Vec2(-5+0.5*float64(step%9), 5)
			bd.LinearVelocity = MakeB2Vec2(float64(step%7)-3, -40)
			bd.Bullet = step%40 == 0
			b := w.CreateBody(&bd)
			s.poly = MakeB2PolygonShape()
			s.poly.SetAsBox(0.1, 0.1)
			s.fd = MakeB2FixtureDef()
			s.fd.Shape, s.fd.Density = &s.poly, 1
			b.CreateFixtureFromDef(&s.fd)
		}
		w.Step(1.0/50, 6*30, 2*30)
		for b := w.GetBodyList(); b != nil; b = b.GetNext() {
			if b.M_type == B2BodyType.B2_staticBody && b.M_flags&B2Body_Flags.E_islandFlag != 0 {
				t.Fatalf("continuous %v, step %d: a static body keeps its island flag", continuous, step)
			}
			p, v := b.GetPosition(), b.GetLinearVelocity()
			for _, f := range [...]float64{p.X, p.Y, b.GetAngle(), v.X, v.Y, b.GetAngularVelocity(), b.M_sweep.Alpha0} {
				binary.LittleEndian.PutUint64(buf[:], math.Float64bits(f))
				h.Write(buf[:])
			}
		}
	}
}
