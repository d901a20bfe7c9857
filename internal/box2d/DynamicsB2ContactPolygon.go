package box2d

type B2PolygonContact struct {
	B2Contact
}

///////////////////////////////////////////////////////////////////////////////
///////////////////////////////////////////////////////////////////////////////
///////////////////////////////////////////////////////////////////////////////
// B2ContactPolygon.go
///////////////////////////////////////////////////////////////////////////////
///////////////////////////////////////////////////////////////////////////////
///////////////////////////////////////////////////////////////////////////////

func B2PolygonContact_Create(mgr *B2ContactManager, fixtureA *B2Fixture, indexA int, fixtureB *B2Fixture, indexB int) B2ContactInterface {
	B2Assert(fixtureA.GetType() == B2Shape_Type.E_polygon)
	B2Assert(fixtureB.GetType() == B2Shape_Type.E_polygon)
	var res *B2PolygonContact
	if n := len(mgr.freePolygon); n > 0 {
		res = mgr.freePolygon[n-1]
		mgr.freePolygon = mgr.freePolygon[:n-1]
	} else {
		res = &B2PolygonContact{}
	}
	res.init(fixtureA, 0, fixtureB, 0)
	return res
}

func B2PolygonContact_Destroy(mgr *B2ContactManager, contact B2ContactInterface) {
	mgr.freePolygon = append(mgr.freePolygon, contact.(*B2PolygonContact))
}

func (contact *B2PolygonContact) Evaluate(manifold *B2Manifold, xfA B2Transform, xfB B2Transform) {
	B2CollidePolygons(
		manifold,
		contact.GetFixtureA().GetShape().(*B2PolygonShape), xfA,
		contact.GetFixtureB().GetShape().(*B2PolygonShape), xfB,
	)
}
