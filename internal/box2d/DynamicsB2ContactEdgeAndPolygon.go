package box2d

type B2EdgeAndPolygonContact struct {
	B2Contact
}

///////////////////////////////////////////////////////////////////////////////
///////////////////////////////////////////////////////////////////////////////
///////////////////////////////////////////////////////////////////////////////
// B2ContactEdgeAndPolygon.cpp
///////////////////////////////////////////////////////////////////////////////
///////////////////////////////////////////////////////////////////////////////
///////////////////////////////////////////////////////////////////////////////

func B2EdgeAndPolygonContact_Create(mgr *B2ContactManager, fixtureA *B2Fixture, indexA int, fixtureB *B2Fixture, indexB int) B2ContactInterface {
	B2Assert(fixtureA.GetType() == B2Shape_Type.E_edge)
	B2Assert(fixtureB.GetType() == B2Shape_Type.E_polygon)
	var res *B2EdgeAndPolygonContact
	if n := len(mgr.freeEdgeAndPolygon); n > 0 {
		res = mgr.freeEdgeAndPolygon[n-1]
		mgr.freeEdgeAndPolygon = mgr.freeEdgeAndPolygon[:n-1]
	} else {
		res = &B2EdgeAndPolygonContact{}
	}
	res.init(fixtureA, 0, fixtureB, 0)
	return res
}

func B2EdgeAndPolygonContact_Destroy(mgr *B2ContactManager, contact B2ContactInterface) {
	mgr.freeEdgeAndPolygon = append(mgr.freeEdgeAndPolygon, contact.(*B2EdgeAndPolygonContact))
}

func (contact *B2EdgeAndPolygonContact) Evaluate(manifold *B2Manifold, xfA B2Transform, xfB B2Transform) {
	B2CollideEdgeAndPolygon(
		manifold,
		contact.GetFixtureA().GetShape().(*B2EdgeShape), xfA,
		contact.GetFixtureB().GetShape().(*B2PolygonShape), xfB,
	)
}
