package box2d

import (
	"math"
	"testing"
)

// scene fills w with a stepped ground of edges, a two-box pendulum (a
// revolute joint with motor and limits) dropped onto it at x and a pile of
// boxes beside it, so that stepping it makes and ends many contacts at
// once and works every solver.
type scene struct {
	edge   B2EdgeShape
	poly   B2PolygonShape
	fd     B2FixtureDef
	rjd    B2RevoluteJointDef
	bodies [8]*B2Body // the pendulum's two, then the pile's
	joint  *B2RevoluteJoint
}

func (s *scene) build(w *B2World, x float64) {
	gd := MakeB2BodyDef()
	ground := w.CreateBody(&gd)
	for i := range 12 {
		s.edge = MakeB2EdgeShape()
		s.edge.Set(MakeB2Vec2(float64(i)-6, 0.1*float64(i%3)), MakeB2Vec2(float64(i)-5, 0.1*float64((i+1)%3)))
		s.fd = MakeB2FixtureDef()
		s.fd.Shape, s.fd.Friction = &s.edge, 0.6
		ground.CreateFixtureFromDef(&s.fd)
	}
	body := func(x, y, angle, hx, hy float64) *B2Body {
		bd := MakeB2BodyDef()
		bd.Type = B2BodyType.B2_dynamicBody
		bd.Position, bd.Angle = MakeB2Vec2(x, y), angle
		b := w.CreateBody(&bd)
		s.poly = MakeB2PolygonShape()
		s.poly.SetAsBox(hx, hy)
		s.fd = MakeB2FixtureDef()
		s.fd.Shape, s.fd.Density, s.fd.Friction = &s.poly, 1, 0.3
		b.CreateFixtureFromDef(&s.fd)
		return b
	}
	s.bodies[0] = body(x, 3, 0.3, 0.5, 0.25)
	s.bodies[1] = body(x+0.6, 2.4, -0.2, 0.1, 0.5)
	s.rjd = MakeB2RevoluteJointDef()
	s.rjd.BodyA, s.rjd.BodyB = s.bodies[0], s.bodies[1]
	s.rjd.LocalAnchorA, s.rjd.LocalAnchorB = MakeB2Vec2(0.5, 0), MakeB2Vec2(0, 0.5)
	s.rjd.EnableMotor, s.rjd.EnableLimit = true, true
	s.rjd.MaxMotorTorque, s.rjd.MotorSpeed = 5, 1
	s.rjd.LowerAngle, s.rjd.UpperAngle = -0.8, 0.4
	s.joint = w.CreateJoint(&s.rjd).(*B2RevoluteJoint)
	for i := range 6 {
		s.bodies[2+i] = body(x-2+0.3*float64(i%2), 0.3+0.55*float64(i), 0.1*float64(i), 0.3, 0.25)
	}
}

// run steps w n times as Gymnasium's Box2D envs do and returns every bit
// of the bodies' states along the way.
func (s *scene) run(w *B2World, n int, out []uint64) []uint64 {
	for range n {
		w.Step(1.0/50, 6*30, 2*30)
		for _, b := range s.bodies {
			p, v := b.GetPosition(), b.GetLinearVelocity()
			for _, f := range [...]float64{p.X, p.Y, b.GetAngle(), v.X, v.Y, b.GetAngularVelocity()} {
				out = append(out, math.Float64bits(f))
			}
		}
	}
	return out
}

// TestResetWorldStepsAsNew: a world refilled after Reset steps bit for
// bit as a new one, whatever it held before.
func TestResetWorldStepsAsNew(t *testing.T) {
	const steps = 300
	var s scene
	fresh := MakeB2World(MakeB2Vec2(0, -10))
	s.build(&fresh, 0)
	want := s.run(&fresh, steps, nil)

	reused := MakeB2World(MakeB2Vec2(0, -10))
	for _, x := range []float64{-2, 1.5, 0} { // different contacts and tree shapes before
		s.build(&reused, x)
		s.run(&reused, steps/3, nil)
		reused.Reset(MakeB2Vec2(0, -10))
	}
	s.build(&reused, 0)
	got := s.run(&reused, steps, nil)
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("step %d: state value %d is %v after Reset, %v in a new world",
				i/48, i%48, math.Float64frombits(got[i]), math.Float64frombits(want[i]))
		}
	}
}

// TestResetAndStepDoNotAllocate: once a world has held a scene, emptying
// it, building the scene again and stepping it allocate nothing.
func TestResetAndStepDoNotAllocate(t *testing.T) {
	var s scene
	w := MakeB2World(MakeB2Vec2(0, -10))
	s.build(&w, 0)
	s.run(&w, 300, nil)
	if a := testing.AllocsPerRun(5, func() {
		w.Reset(MakeB2Vec2(0, -10))
		s.build(&w, 0)
		for range 300 {
			w.Step(1.0/50, 6*30, 2*30)
		}
	}); a != 0 {
		t.Errorf("Reset, build and 300 steps allocate %v times", a)
	}
}
