package sims

import "manta/internal/box2d"

// ByteArena/box2d departs from Box2D 2.3 in two defaults, which these
// helpers restore: a world has no contact filter (so category and mask bits
// are ignored and every body collides with every other), and a fixture
// definition's filter is zero (category 0, mask 0) rather than 0x0001 and
// 0xFFFF.

// newWorld returns a world with Box2D's default contact filter.
func newWorld(gravityY float64, contacts box2d.B2ContactListenerInterface) *box2d.B2World {
	w := box2d.MakeB2World(box2d.MakeB2Vec2(0, gravityY))
	w.SetContactFilter(&box2d.B2ContactFilter{})
	w.SetContactListener(contacts)
	return &w
}

// fixtureDef returns Box2D's default fixture definition for shape.
func fixtureDef(shape box2d.B2ShapeInterface, density, friction float64) *box2d.B2FixtureDef {
	fd := box2d.MakeB2FixtureDef()
	fd.Filter = box2d.MakeB2Filter()
	fd.Shape, fd.Density, fd.Friction = shape, density, friction
	return &fd
}

func clamp(x, lo, hi float64) float64 { return min(max(x, lo), hi) }

// sign is np.sign.
func sign(x float64) float64 {
	switch {
	case x > 0:
		return 1
	case x < 0:
		return -1
	}
	return x
}
