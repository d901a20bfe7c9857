package sims

import "manta/internal/box2d"

// ByteArena/box2d (internal/box2d is a fork of it) departs from Box2D 2.3
// in two defaults, which builder restores: a world has no contact filter
// (so category and mask bits are ignored and every body collides with every
// other), and a fixture definition's filter is zero (category 0, mask 0)
// rather than 0x0001 and 0xFFFF.

// builder builds a Box2D env's world at each reset. The world is emptied
// and refilled rather than made anew (box2d.B2World.Reset: it then steps
// exactly as a new one), and the shape, fixture and joint definitions are
// builder's fields, so that a reset does not allocate.
type builder struct {
	world *box2d.B2World
	edge  box2d.B2EdgeShape
	poly  box2d.B2PolygonShape
	fd    box2d.B2FixtureDef
	rjd   box2d.B2RevoluteJointDef
}

// resetWorld empties the world, or makes it with Box2D's default contact
// filter on the first reset.
func (b *builder) resetWorld(gravityY float64, contacts box2d.B2ContactListenerInterface) {
	if b.world != nil {
		b.world.Reset(box2d.MakeB2Vec2(0, gravityY))
		return
	}
	w := box2d.MakeB2World(box2d.MakeB2Vec2(0, gravityY))
	w.SetContactFilter(&box2d.B2ContactFilter{})
	w.SetContactListener(contacts)
	b.world = &w
}

// edgeShape sets b.edge to the segment from (x1, y1) to (x2, y2).
func (b *builder) edgeShape(x1, y1, x2, y2 float64) *box2d.B2EdgeShape {
	b.edge = box2d.MakeB2EdgeShape()
	b.edge.Set(box2d.MakeB2Vec2(x1, y1), box2d.MakeB2Vec2(x2, y2))
	return &b.edge
}

// boxShape sets b.poly to a box of half-widths hx, hy.
func (b *builder) boxShape(hx, hy float64) *box2d.B2PolygonShape {
	b.poly = box2d.MakeB2PolygonShape()
	b.poly.SetAsBox(hx, hy)
	return &b.poly
}

// fixtureDef sets b.fd to Box2D's default fixture definition for shape.
func (b *builder) fixtureDef(shape box2d.B2ShapeInterface, density, friction float64) *box2d.B2FixtureDef {
	b.fd = box2d.MakeB2FixtureDef()
	b.fd.Filter = box2d.MakeB2Filter()
	b.fd.Shape, b.fd.Density, b.fd.Friction = shape, density, friction
	return &b.fd
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
