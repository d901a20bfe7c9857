package box2d

// Added in this fork: a world that can be emptied and refilled without
// allocating, so that an environment's reset, which builds its bodies
// anew, does not allocate either.

// Reset empties the world: it is then as MakeB2World(gravity) made it,
// but for its contact filter and listeners, which it keeps. Its bodies,
// fixtures, joints and contacts are kept for reuse, and so are the
// broad-phase's and solver's buffers; pointers to them must not be used
// afterwards. No listener is called. A world refilled after Reset steps
// exactly as a new one: the broad-phase tree hands out its nodes in the
// same order as a new tree's.
func (world *B2World) Reset(gravity B2Vec2) {
	B2Assert(!world.IsLocked())
	mgr := &world.M_contactManager
	for c := mgr.M_contactList; c != nil; {
		next := c.GetNext()
		s_registers[c.GetFixtureA().GetType()][c.GetFixtureB().GetType()].DestroyFcn(mgr, c)
		c = next
	}
	mgr.M_contactList, mgr.M_contactCount = nil, 0
	mgr.M_broadPhase.reset()

	for j := world.M_jointList; j != nil; j = j.GetNext() {
		world.freeJoints = append(world.freeJoints, j.(*B2RevoluteJoint))
	}
	for b := world.M_bodyList; b != nil; b = b.M_next {
		for f := b.M_fixtureList; f != nil; f = f.M_next {
			world.freeFixtures = append(world.freeFixtures, f)
		}
		world.freeBodies = append(world.freeBodies, b)
	}

	world.M_bodyList, world.M_jointList = nil, nil
	world.M_bodyCount, world.M_jointCount = 0, 0
	world.movableStale, world.staticAdvanced = true, world.staticAdvanced[:0]
	world.M_warmStarting = true
	world.M_continuousPhysics = true
	world.M_subStepping = false
	world.M_stepComplete = true
	world.M_allowSleep = true
	world.M_gravity = gravity
	world.M_flags = B2World_Flags.E_clearForces
	world.M_inv_dt0 = 0.0
}

// newBody is NewB2Body(def, world), reusing a body Reset kept.
func (world *B2World) newBody(def *B2BodyDef) *B2Body {
	n := len(world.freeBodies)
	if n == 0 {
		return NewB2Body(def, world)
	}
	b := world.freeBodies[n-1]
	world.freeBodies = world.freeBodies[:n-1]
	b.init(def, world)
	return b
}

// newFixture is NewB2Fixture(), reusing a fixture Reset kept: its shape
// and proxy slice stay for Create to reuse.
func (world *B2World) newFixture() *B2Fixture {
	n := len(world.freeFixtures)
	if n == 0 {
		return NewB2Fixture()
	}
	f := world.freeFixtures[n-1]
	world.freeFixtures = world.freeFixtures[:n-1]
	shape, proxies := f.M_shape, f.M_proxies
	*f = B2Fixture{M_filter: MakeB2Filter(), M_shape: shape, M_proxies: proxies}
	return f
}

// reset makes bp as MakeB2BroadPhase made it, keeping its buffers.
func (bp *B2BroadPhase) reset() {
	bp.M_tree.reset()
	bp.M_proxyCount = 0
	bp.M_moveCount = 0
	bp.M_pairCount = 0
	bp.M_queryProxyId = 0
}

// reset makes tree as MakeB2DynamicTree made it, keeping its nodes: they
// are all free, listed in index order, so AllocateNode hands them out in
// the order a new tree would, growing it as it went.
func (tree *B2DynamicTree) reset() {
	nodes, stack := tree.M_nodes, tree.stack
	clear(nodes)
	for i := range nodes {
		nodes[i].Next = i + 1
		nodes[i].Height = -1
	}
	nodes[len(nodes)-1].Next = B2_nullNode
	*tree = B2DynamicTree{
		M_root:         B2_nullNode,
		M_nodes:        nodes,
		M_nodeCapacity: len(nodes),
		M_freeList:     0,
		stack:          stack,
	}
}
