package box2d

import "math"

/// The world class manages all physics entities, dynamic simulation,
/// and asynchronous queries. The world also contains efficient memory
/// management facilities.

var B2World_Flags = struct {
	E_newFixture  int
	E_locked      int
	E_clearForces int
}{
	E_newFixture:  0x0001,
	E_locked:      0x0002,
	E_clearForces: 0x0004,
}

// /// The world class manages all physics entities, dynamic simulation,
// /// and asynchronous queries. The world also contains efficient memory
// /// management facilities.
type B2World struct {
	M_flags int

	M_contactManager B2ContactManager

	M_bodyList  *B2Body          // linked list
	M_jointList B2JointInterface // has to be backed by pointer

	M_bodyCount  int
	M_jointCount int

	M_gravity    B2Vec2
	M_allowSleep bool

	M_destructionListener B2DestructionListenerInterface
	//G_debugDraw           *B2Draw

	// This is used to compute the time step ratio to
	// support a variable time step.
	M_inv_dt0 float64

	// These are for debugging the solver.
	M_warmStarting      bool
	M_continuousPhysics bool
	M_subStepping       bool

	M_stepComplete bool

	// freeBodies, freeFixtures and freeJoints hold what Reset took out of
	// the world, for CreateBody, CreateFixture and CreateJoint to reuse.
	freeBodies   []*B2Body
	freeFixtures []*B2Fixture
	freeJoints   []*B2RevoluteJoint

	// island, toiIsland and islandStack are Solve's and SolveTOI's, kept
	// so that a step does not allocate.
	island      B2Island
	toiIsland   B2Island
	islandStack []*B2Body

	// movableBodies are the bodies that are not static, in the body list's
	// order, rebuilt when movableStale (see movable). staticAdvanced are
	// static bodies whose sweep's Alpha0 the time-of-impact solve may
	// have moved from 0 since it last reset them.
	movableBodies  []*B2Body
	movableStale   bool
	staticAdvanced []*B2Body
	// toiInput is SolveTOI's: on the stack it would escape, as a distance
	// proxy of an edge points into itself.
	toiInput B2TOIInput
}

func (world *B2World) GetBodyList() *B2Body {
	return world.M_bodyList
}

func (world *B2World) GetJointList() B2JointInterface { // returns a pointer
	return world.M_jointList
}

func (world *B2World) GetContactList() B2ContactInterface { // returns a pointer
	return world.M_contactManager.M_contactList
}

func (world *B2World) GetBodyCount() int {
	return world.M_bodyCount
}

func (world *B2World) GetJointCount() int {
	return world.M_jointCount
}

func (world *B2World) GetContactCount() int {
	return world.M_contactManager.M_contactCount
}

func (world *B2World) SetGravity(gravity B2Vec2) {
	world.M_gravity = gravity
}

func (world *B2World) GetGravity() B2Vec2 {
	return world.M_gravity
}

func (world *B2World) IsLocked() bool {
	return (world.M_flags & B2World_Flags.E_locked) == B2World_Flags.E_locked
}

func (world *B2World) SetAutoClearForces(flag bool) {
	if flag {
		world.M_flags |= B2World_Flags.E_clearForces
	} else {
		world.M_flags &= ^B2World_Flags.E_clearForces
	}
}

// / Get the flag that controls automatic clearing of forces after each time step.
func (world *B2World) GetAutoClearForces() bool {
	return (world.M_flags & B2World_Flags.E_clearForces) == B2World_Flags.E_clearForces
}

func (world *B2World) GetContactManager() B2ContactManager {
	return world.M_contactManager
}

///////////////////////////////////////////////////////////////////////////////
///////////////////////////////////////////////////////////////////////////////
///////////////////////////////////////////////////////////////////////////////
// B2World.cpp
///////////////////////////////////////////////////////////////////////////////
///////////////////////////////////////////////////////////////////////////////
///////////////////////////////////////////////////////////////////////////////

func MakeB2World(gravity B2Vec2) B2World {

	world := B2World{}

	world.M_destructionListener = nil
	//world.G_debugDraw = nil

	world.M_bodyList = nil
	world.M_jointList = nil

	world.M_bodyCount = 0
	world.M_jointCount = 0

	world.M_warmStarting = true
	world.M_continuousPhysics = true
	world.M_subStepping = false

	world.M_stepComplete = true

	world.M_allowSleep = true
	world.M_gravity = gravity

	world.M_flags = B2World_Flags.E_clearForces

	world.M_inv_dt0 = 0.0

	world.M_contactManager = MakeB2ContactManager()

	return world
}

func (world *B2World) Destroy() {

	// Some shapes allocate using b2Alloc.
	b := world.M_bodyList
	for b != nil {
		bNext := b.M_next

		f := b.M_fixtureList
		for f != nil {
			fNext := f.M_next
			f.M_proxyCount = 0
			f.Destroy()
			f = fNext
		}

		b = bNext
	}
}

func (world *B2World) SetDestructionListener(listener B2DestructionListenerInterface) {
	world.M_destructionListener = listener
}

func (world *B2World) SetContactFilter(filter B2ContactFilterInterface) {
	world.M_contactManager.M_contactFilter = filter
}

func (world *B2World) SetContactListener(listener B2ContactListenerInterface) {
	world.M_contactManager.M_contactListener = listener
}

// void (world *B2World) SetDebugDraw(b2Draw* debugDraw)
// {
// 	g_debugDraw = debugDraw;
// }

func (world *B2World) CreateBody(def *B2BodyDef) *B2Body {
	B2Assert(!world.IsLocked())

	if world.IsLocked() {
		return nil
	}

	b := world.newBody(def)

	// Add to world doubly linked list.
	b.M_prev = nil
	b.M_next = world.M_bodyList
	if world.M_bodyList != nil {
		world.M_bodyList.M_prev = b
	}
	world.M_bodyList = b
	world.M_bodyCount++
	world.movableStale = true

	return b
}

func (world *B2World) DestroyBody(b *B2Body) {
	B2Assert(world.M_bodyCount > 0)
	B2Assert(!world.IsLocked())

	if world.IsLocked() {
		return
	}

	// Delete the attached joints.
	je := b.M_jointList
	for je != nil {
		je0 := je
		je = je.Next

		if world.M_destructionListener != nil {
			world.M_destructionListener.SayGoodbyeToJoint(je0.Joint)
		}

		world.DestroyJoint(je0.Joint)

		b.M_jointList = je
	}
	b.M_jointList = nil

	// Delete the attached contacts.
	ce := b.M_contactList
	for ce != nil {
		ce0 := ce
		ce = ce.Next
		world.M_contactManager.Destroy(ce0.Contact)
	}
	b.M_contactList = nil

	// Delete the attached fixtures. This destroys broad-phase proxies.
	f := b.M_fixtureList
	for f != nil {
		f0 := f
		f = f.M_next

		if world.M_destructionListener != nil {
			world.M_destructionListener.SayGoodbyeToFixture(f0)
		}

		f0.DestroyProxies(&world.M_contactManager.M_broadPhase)
		f0.Destroy()

		b.M_fixtureList = f
		b.M_fixtureCount -= 1
	}

	b.M_fixtureList = nil
	b.M_fixtureCount = 0

	// Remove world body list.
	if b.M_prev != nil {
		b.M_prev.M_next = b.M_next
	}

	if b.M_next != nil {
		b.M_next.M_prev = b.M_prev
	}

	if b == world.M_bodyList {
		world.M_bodyList = b.M_next
	}

	world.M_bodyCount--
	world.movableStale = true
}

// movable returns the world's bodies that are not static, in the body
// list's order. The step's loops over bodies do nothing to a static one,
// and static bodies can be most of a world's (BipedalWalker's terrain is
// 199 of its 204), so the step loops over these instead:
//   - Solve's seeds and its fixtures' synchronisation skip static bodies;
//   - a static body's island flag is clear between steps (each island
//     clears its static bodies' flags after it solves, a time-of-impact
//     event all of its bodies'), and the rebuild clears it on a body
//     that has just become static, as Solve's own clearing would;
//   - a static body's force and torque stay zero (the Apply methods
//     refuse it, SetType zeroes them), so ClearForces has nothing to do;
//   - its sweep's Alpha0 can leave 0 only where the time-of-impact solve
//     advances it, which adds it to staticAdvanced for the next reset
//     (advancing).
func (world *B2World) movable() []*B2Body {
	if !world.movableStale {
		return world.movableBodies
	}
	world.movableBodies = world.movableBodies[:0]
	for b := world.M_bodyList; b != nil; b = b.M_next {
		if b.M_type != B2BodyType.B2_staticBody {
			world.movableBodies = append(world.movableBodies, b)
			continue
		}
		b.M_flags &= ^B2Body_Flags.E_islandFlag
		if math.Float64bits(b.M_sweep.Alpha0) != 0 {
			world.staticAdvanced = append(world.staticAdvanced, b)
		}
	}
	world.movableStale = false
	return world.movableBodies
}

// advancing notes that the time-of-impact solve advances b's sweep: a
// static body whose Alpha0 is still 0 is added to staticAdvanced for the
// next reset of Alpha0s (one with another is there already).
func (world *B2World) advancing(b *B2Body) {
	if b.M_type == B2BodyType.B2_staticBody && math.Float64bits(b.M_sweep.Alpha0) == 0 {
		world.staticAdvanced = append(world.staticAdvanced, b)
	}
}

func (world *B2World) CreateJoint(def B2JointDefInterface) B2JointInterface {
	B2Assert(!world.IsLocked())
	if world.IsLocked() {
		return nil
	}

	j := world.createJoint(def)

	// Connect to the world list.
	j.SetPrev(nil)
	j.SetNext(world.M_jointList)
	if world.M_jointList != nil {
		world.M_jointList.SetPrev(j)
	}
	world.M_jointList = j
	world.M_jointCount++

	// Connect to the bodies' doubly linked lists.
	j.GetEdgeA().Joint = j
	j.GetEdgeA().Other = j.GetBodyB()
	j.GetEdgeA().Prev = nil
	j.GetEdgeA().Next = j.GetBodyA().M_jointList
	if j.GetBodyA().M_jointList != nil {
		j.GetBodyA().M_jointList.Prev = j.GetEdgeA()
	}

	j.GetBodyA().M_jointList = j.GetEdgeA()

	j.GetEdgeB().Joint = j
	j.GetEdgeB().Other = j.GetBodyA()
	j.GetEdgeB().Prev = nil
	j.GetEdgeB().Next = j.GetBodyB().M_jointList
	if j.GetBodyB().M_jointList != nil {
		j.GetBodyB().M_jointList.Prev = j.GetEdgeB()
	}
	j.GetBodyB().M_jointList = j.GetEdgeB()

	bodyA := def.GetBodyA()
	bodyB := def.GetBodyB()

	// If the joint prevents collisions, then flag any contacts for filtering.
	if !def.IsCollideConnected() {
		edge := bodyB.GetContactList()
		for edge != nil {
			if edge.Other == bodyA {
				// Flag the contact for filtering at the next time step (where either
				// body is awake).
				edge.Contact.FlagForFiltering()
			}

			edge = edge.Next
		}
	}

	// Note: creating a joint doesn't wake the bodies.

	return j
}

func (world *B2World) DestroyJoint(j B2JointInterface) { // j backed by pointer
	B2Assert(!world.IsLocked())
	if world.IsLocked() {
		return
	}

	collideConnected := j.IsCollideConnected()

	// Remove from the doubly linked list.
	if j.GetPrev() != nil {
		j.GetPrev().SetNext(j.GetNext())
	}

	if j.GetNext() != nil {
		j.GetNext().SetPrev(j.GetPrev())
	}

	if j == world.M_jointList {
		world.M_jointList = j.GetNext()
	}

	// Disconnect from island graph.
	bodyA := j.GetBodyA()
	bodyB := j.GetBodyB()

	// Wake up connected bodies.
	bodyA.SetAwake(true)
	bodyB.SetAwake(true)

	// Remove from body 1.
	if j.GetEdgeA().Prev != nil {
		j.GetEdgeA().Prev.Next = j.GetEdgeA().Next
	}

	if j.GetEdgeA().Next != nil {
		j.GetEdgeA().Next.Prev = j.GetEdgeA().Prev
	}

	if j.GetEdgeA() == bodyA.M_jointList {
		bodyA.M_jointList = j.GetEdgeA().Next
	}

	j.GetEdgeA().Prev = nil
	j.GetEdgeA().Next = nil

	// Remove from body 2
	if j.GetEdgeB().Prev != nil {
		j.GetEdgeB().Prev.Next = j.GetEdgeB().Next
	}

	if j.GetEdgeB().Next != nil {
		j.GetEdgeB().Next.Prev = j.GetEdgeB().Prev
	}

	if j.GetEdgeB() == bodyB.M_jointList {
		bodyB.M_jointList = j.GetEdgeB().Next
	}

	j.GetEdgeB().Prev = nil
	j.GetEdgeB().Next = nil

	B2JointDestroy(j)

	B2Assert(world.M_jointCount > 0)
	world.M_jointCount--

	// If the joint prevents collisions, then flag any contacts for filtering.
	if !collideConnected {
		edge := bodyB.GetContactList()
		for edge != nil {
			if edge.Other == bodyA {
				// Flag the contact for filtering at the next time step (where either
				// body is awake).
				edge.Contact.FlagForFiltering()
			}

			edge = edge.Next
		}
	}
}

func (world *B2World) SetAllowSleeping(flag bool) {
	if flag == world.M_allowSleep {
		return
	}

	world.M_allowSleep = flag
	if !world.M_allowSleep {
		for b := world.M_bodyList; b != nil; b = b.M_next {
			b.SetAwake(true)
		}
	}
}

// Find islands, integrate and solve constraints, solve position constraints
func (world *B2World) Solve(step B2TimeStep) {

	// Size the island for the worst case.
	island := &world.island
	island.Reset(
		world.M_bodyCount,
		world.M_contactManager.M_contactCount,
		world.M_jointCount,
		world.M_contactManager.M_contactListener,
	)

	// Clear all the island flags (static bodies' are: see movable).
	movable := world.movable()
	for _, b := range movable {
		b.M_flags &= ^B2Body_Flags.E_islandFlag
	}
	for c := world.M_contactManager.M_contactList; c != nil; c = c.GetNext() {
		c.SetFlags(c.GetFlags() & ^B2Body_Flags.E_islandFlag)
	}

	for j := world.M_jointList; j != nil; j = j.GetNext() {
		j.SetIslandFlag(false)
	}

	// Build and simulate all awake islands.
	stackSize := world.M_bodyCount
	world.islandStack = grow(world.islandStack, stackSize)
	stack := world.islandStack

	for _, seed := range movable {
		if (seed.M_flags & B2Body_Flags.E_islandFlag) != 0x0000 {
			continue
		}

		if !seed.IsAwake() || !seed.IsActive() {
			continue
		}

		// The seed can be dynamic or kinematic.
		if seed.GetType() == B2BodyType.B2_staticBody {
			continue
		}

		// Reset island and stack.
		island.Clear()
		stackCount := 0
		stack[stackCount] = seed
		stackCount++
		seed.M_flags |= B2Body_Flags.E_islandFlag

		// Perform a depth first search (DFS) on the constraint graph.
		for stackCount > 0 {
			// Grab the next body off the stack and add it to the island.
			stackCount--
			b := stack[stackCount]
			B2Assert(b.IsActive())
			island.AddBody(b)

			// Make sure the body is awake (without resetting sleep timer).
			b.M_flags |= B2Body_Flags.E_awakeFlag

			// To keep islands as small as possible, we don't
			// propagate islands across static bodies.
			if b.GetType() == B2BodyType.B2_staticBody {
				continue
			}

			// Search all contacts connected to this body.
			for ce := b.M_contactList; ce != nil; ce = ce.Next {
				contact := ce.Contact

				// Has this contact already been added to an island?
				if (contact.GetFlags() & B2Body_Flags.E_islandFlag) != 0x0000 {
					continue
				}

				// Is this contact solid and touching?
				if !contact.IsEnabled() || !contact.IsTouching() {
					continue
				}

				// Skip sensors.
				sensorA := contact.GetFixtureA().M_isSensor
				sensorB := contact.GetFixtureB().M_isSensor

				if sensorA || sensorB {
					continue
				}

				island.AddContact(contact)
				contact.SetFlags(contact.GetFlags() | B2Body_Flags.E_islandFlag)

				other := ce.Other

				// Was the other body already added to this island?
				if (other.M_flags & B2Body_Flags.E_islandFlag) != 0x0000 {
					continue
				}

				B2Assert(stackCount < stackSize)
				stack[stackCount] = other
				stackCount++
				other.M_flags |= B2Body_Flags.E_islandFlag
			}

			// Search all joints connect to this body.
			for je := b.M_jointList; je != nil; je = je.Next {

				if je.Joint.GetIslandFlag() {
					continue
				}

				other := je.Other

				// Don't simulate joints connected to inactive bodies.
				if !other.IsActive() {
					continue
				}

				island.Add(je.Joint)
				je.Joint.SetIslandFlag(true)

				if other.M_flags&B2Body_Flags.E_islandFlag != 0x0000 {
					continue
				}

				B2Assert(stackCount < stackSize)
				stack[stackCount] = other
				stackCount++
				other.M_flags |= B2Body_Flags.E_islandFlag
			}
		}

		island.Solve(step, world.M_gravity, world.M_allowSleep)

		// Post solve cleanup.
		for i := 0; i < island.M_bodyCount; i++ {
			// Allow static bodies to participate in other islands.
			b := island.M_bodies[i]
			if b.GetType() == B2BodyType.B2_staticBody {
				b.M_flags &= ^B2Body_Flags.E_islandFlag
			}
		}
	}

	// Synchronize fixtures, check for out of range bodies.
	for _, b := range movable {
		// If a body was not in an island then it did not move.
		if (b.M_flags & B2Body_Flags.E_islandFlag) == 0 {
			continue
		}

		if b.GetType() == B2BodyType.B2_staticBody {
			continue
		}

		// Update fixtures (for broad-phase).
		b.SynchronizeFixtures()
	}

	// Look for new contacts.
	world.M_contactManager.FindNewContacts()
}

// Find TOI contacts and solve them.
func (world *B2World) SolveTOI(step B2TimeStep) {

	island := &world.toiIsland
	island.Reset(2*B2_maxTOIContacts, B2_maxTOIContacts, 0, world.M_contactManager.M_contactListener)

	if world.M_stepComplete {
		for _, b := range world.movable() {
			b.M_flags &= ^B2Body_Flags.E_islandFlag
			b.M_sweep.Alpha0 = 0.0
		}
		for _, b := range world.staticAdvanced {
			b.M_sweep.Alpha0 = 0.0
		}
		world.staticAdvanced = world.staticAdvanced[:0]

		for c := world.M_contactManager.M_contactList; c != nil; c = c.GetNext() {
			// Invalidate TOI
			c.SetFlags(c.GetFlags() & ^(B2Contact_Flag.E_toiFlag | B2Contact_Flag.E_islandFlag))
			c.SetTOICount(0)
			c.SetTOI(1.0)
		}
	}

	// Find TOI events and solve them.
	for {
		// Find the first TOI.
		var minContact B2ContactInterface = nil // has to be a pointer
		minAlpha := 1.0

		for c := world.M_contactManager.M_contactList; c != nil; c = c.GetNext() {

			// Is this contact disabled?
			if !c.IsEnabled() {
				continue
			}

			// Prevent excessive sub-stepping.
			if c.GetTOICount() > B2_maxSubSteps {
				continue
			}

			alpha := 1.0
			if (c.GetFlags() & B2Contact_Flag.E_toiFlag) != 0x0000 {
				// This contact has a valid cached TOI.
				alpha = c.GetTOI()
			} else {
				fA := c.GetFixtureA()
				fB := c.GetFixtureB()

				// Is there a sensor?
				if fA.IsSensor() || fB.IsSensor() {
					continue
				}

				bA := fA.GetBody()
				bB := fB.GetBody()

				typeA := bA.M_type
				typeB := bB.M_type
				B2Assert(typeA == B2BodyType.B2_dynamicBody || typeB == B2BodyType.B2_dynamicBody)

				activeA := bA.IsAwake() && typeA != B2BodyType.B2_staticBody
				activeB := bB.IsAwake() && typeB != B2BodyType.B2_staticBody

				// Is at least one body active (awake and dynamic or kinematic)?
				if !activeA && !activeB {
					continue
				}

				collideA := bA.IsBullet() || typeA != B2BodyType.B2_dynamicBody
				collideB := bB.IsBullet() || typeB != B2BodyType.B2_dynamicBody

				// Are these two non-bullet dynamic bodies?
				if !collideA && !collideB {
					continue
				}

				// Compute the TOI for this contact.
				// Put the sweeps onto the same time interval.
				alpha0 := bA.M_sweep.Alpha0

				if bA.M_sweep.Alpha0 < bB.M_sweep.Alpha0 {
					alpha0 = bB.M_sweep.Alpha0
					world.advancing(bA)
					bA.M_sweep.Advance(alpha0)
				} else if bB.M_sweep.Alpha0 < bA.M_sweep.Alpha0 {
					alpha0 = bA.M_sweep.Alpha0
					world.advancing(bB)
					bB.M_sweep.Advance(alpha0)
				}

				B2Assert(alpha0 < 1.0)

				indexA := c.GetChildIndexA()
				indexB := c.GetChildIndexB()

				// Compute the time of impact in interval [0, minTOI]
				input := &world.toiInput
				*input = MakeB2TOIInput()
				input.ProxyA.Set(fA.GetShape(), indexA)
				input.ProxyB.Set(fB.GetShape(), indexB)
				input.SweepA = bA.M_sweep
				input.SweepB = bB.M_sweep
				input.TMax = 1.0

				output := MakeB2TOIOutput()
				B2TimeOfImpact(&output, input)

				// Beta is the fraction of the remaining portion of the .
				beta := output.T
				if output.State == B2TOIOutput_State.E_touching {
					alpha = min(alpha0+(1.0-alpha0)*beta, 1.0)
				} else {
					alpha = 1.0
				}

				c.SetTOI(alpha)
				c.SetFlags(c.GetFlags() | B2Contact_Flag.E_toiFlag)
			}

			if alpha < minAlpha {
				// This is the minimum TOI found so far.
				minContact = c
				minAlpha = alpha
			}
		}

		if minContact == nil || 1.0-10.0*B2_epsilon < minAlpha {
			// No more TOI events. Done!
			world.M_stepComplete = true
			break
		}

		// Advance the bodies to the TOI.
		fA := minContact.GetFixtureA()
		fB := minContact.GetFixtureB()
		bA := fA.GetBody()
		bB := fB.GetBody()

		backup1 := bA.M_sweep
		backup2 := bB.M_sweep

		world.advancing(bA)
		world.advancing(bB)
		bA.Advance(minAlpha)
		bB.Advance(minAlpha)

		// The TOI contact likely has some new contact points.
		B2ContactUpdate(minContact, world.M_contactManager.M_contactListener)
		minContact.SetFlags(minContact.GetFlags() & ^B2Contact_Flag.E_toiFlag)
		minContact.SetTOICount(minContact.GetTOICount() + 1)

		// Is the contact solid?
		if !minContact.IsEnabled() || !minContact.IsTouching() {
			// Restore the sweeps.
			minContact.SetEnabled(false)
			bA.M_sweep = backup1
			bB.M_sweep = backup2
			bA.SynchronizeTransform()
			bB.SynchronizeTransform()
			continue
		}

		bA.SetAwake(true)
		bB.SetAwake(true)

		// Build the island
		island.Clear()
		island.AddBody(bA)
		island.AddBody(bB)
		island.AddContact(minContact)

		bA.M_flags |= B2Body_Flags.E_islandFlag
		bB.M_flags |= B2Body_Flags.E_islandFlag
		minContact.SetFlags(minContact.GetFlags() | B2Contact_Flag.E_islandFlag)

		// Get contacts on bodyA and bodyB.
		bodies := [2]*B2Body{bA, bB}

		for i := 0; i < 2; i++ {
			body := bodies[i]
			if body.M_type == B2BodyType.B2_dynamicBody {
				for ce := body.M_contactList; ce != nil; ce = ce.Next {
					if island.M_bodyCount == island.M_bodyCapacity {
						break
					}

					if island.M_contactCount == island.M_contactCapacity {
						break
					}

					contact := ce.Contact

					// Has this contact already been added to the island?
					if (contact.GetFlags() & B2Contact_Flag.E_islandFlag) != 0x0000 {
						continue
					}

					// Only add static, kinematic, or bullet bodies.
					other := ce.Other
					if other.M_type == B2BodyType.B2_dynamicBody && !body.IsBullet() && !other.IsBullet() {
						continue
					}

					// Skip sensors.
					sensorA := contact.GetFixtureA().M_isSensor
					sensorB := contact.GetFixtureB().M_isSensor
					if sensorA || sensorB {
						continue
					}

					// Tentatively advance the body to the TOI.
					backup := other.M_sweep
					if (other.M_flags & B2Body_Flags.E_islandFlag) == 0 {
						world.advancing(other)
						other.Advance(minAlpha)
					}

					// Update the contact points
					B2ContactUpdate(contact, world.M_contactManager.M_contactListener)

					// Was the contact disabled by the user?
					if !contact.IsEnabled() {
						other.M_sweep = backup
						other.SynchronizeTransform()
						continue
					}

					// Are there contact points?
					if !contact.IsTouching() {
						other.M_sweep = backup
						other.SynchronizeTransform()
						continue
					}

					// Add the contact to the island
					contact.SetFlags(contact.GetFlags() | B2Contact_Flag.E_islandFlag)
					island.AddContact(contact)

					// Has the other body already been added to the island?
					if (other.M_flags & B2Body_Flags.E_islandFlag) != 0x0000 {
						continue
					}

					// Add the other body to the island.
					other.M_flags |= B2Body_Flags.E_islandFlag

					if other.M_type != B2BodyType.B2_staticBody {
						other.SetAwake(true)
					}

					island.AddBody(other)
				}
			}
		}

		subStep := MakeB2TimeStep()
		subStep.Dt = (1.0 - minAlpha) * step.Dt
		subStep.Inv_dt = 1.0 / subStep.Dt
		subStep.DtRatio = 1.0
		subStep.PositionIterations = 20
		subStep.VelocityIterations = step.VelocityIterations
		subStep.WarmStarting = false
		island.SolveTOI(subStep, bA.M_islandIndex, bB.M_islandIndex)

		// Reset island flags and synchronize broad-phase proxies.
		for i := 0; i < island.M_bodyCount; i++ {
			body := island.M_bodies[i]
			body.M_flags &= ^B2Body_Flags.E_islandFlag

			if body.M_type != B2BodyType.B2_dynamicBody {
				continue
			}

			body.SynchronizeFixtures()

			// Invalidate all contact TOIs on this displaced body.
			for ce := body.M_contactList; ce != nil; ce = ce.Next {
				ce.Contact.SetFlags(ce.Contact.GetFlags() & ^(B2Contact_Flag.E_toiFlag | B2Contact_Flag.E_islandFlag))
			}
		}

		// Commit fixture proxy movements to the broad-phase so that new contacts are created.
		// Also, some contacts can be destroyed.
		world.M_contactManager.FindNewContacts()

		if world.M_subStepping {
			world.M_stepComplete = false
			break
		}
	}
}

func (world *B2World) Step(dt float64, velocityIterations int, positionIterations int) {

	// If new fixtures were added, we need to find the new contacts.
	if (world.M_flags & B2World_Flags.E_newFixture) != 0x0000 {
		world.M_contactManager.FindNewContacts()
		world.M_flags &= ^B2World_Flags.E_newFixture
	}

	world.M_flags |= B2World_Flags.E_locked

	step := MakeB2TimeStep()
	step.Dt = dt
	step.VelocityIterations = velocityIterations
	step.PositionIterations = positionIterations
	if dt > 0.0 {
		step.Inv_dt = 1.0 / dt
	} else {
		step.Inv_dt = 0.0
	}

	step.DtRatio = world.M_inv_dt0 * dt

	step.WarmStarting = world.M_warmStarting

	// Update contacts. This is where some contacts are destroyed.
	world.M_contactManager.Collide()

	// Integrate velocities, solve velocity constraints, and integrate positions.
	if world.M_stepComplete && step.Dt > 0.0 {
		world.Solve(step)
	}

	// Handle TOI events.
	if world.M_continuousPhysics && step.Dt > 0.0 {
		world.SolveTOI(step)
	}

	if step.Dt > 0.0 {
		world.M_inv_dt0 = step.Inv_dt
	}

	if (world.M_flags & B2World_Flags.E_clearForces) != 0x0000 {
		world.ClearForces()
	}

	world.M_flags &= ^B2World_Flags.E_locked
}

// ClearForces zeroes every body's force and torque (a static body's are
// zero: see movable).
func (world *B2World) ClearForces() {
	for _, body := range world.movable() {
		body.M_force.SetZero()
		body.M_torque = 0.0
	}
}

type B2WorldQueryWrapper struct {
	BroadPhase *B2BroadPhase
	Callback   B2BroadPhaseQueryCallback
}

func MakeB2WorldQueryWrapper() B2WorldQueryWrapper {
	return B2WorldQueryWrapper{}
}

func (query *B2WorldQueryWrapper) QueryCallback(proxyId int) bool {
	proxy := query.BroadPhase.GetUserData(proxyId).(*B2FixtureProxy)
	return query.Callback(proxy.Fixture)
}

func (world *B2World) QueryAABB(callback B2BroadPhaseQueryCallback, aabb B2AABB) {
	wrapper := MakeB2WorldQueryWrapper()
	wrapper.BroadPhase = &world.M_contactManager.M_broadPhase
	wrapper.Callback = callback
	world.M_contactManager.M_broadPhase.Query(wrapper.QueryCallback, aabb)
}

func (world *B2World) RayCast(callback B2RaycastCallback, point1 B2Vec2, point2 B2Vec2) {

	// B2TreeRayCastCallback
	wrapper := func(input B2RayCastInput, nodeId int) float64 {

		userData := world.M_contactManager.M_broadPhase.GetUserData(nodeId)
		proxy := userData.(*B2FixtureProxy)
		fixture := proxy.Fixture
		index := proxy.ChildIndex
		output := MakeB2RayCastOutput()
		hit := fixture.RayCast(&output, input, index)

		if hit {
			fraction := output.Fraction
			point := B2Vec2Add(B2Vec2MulScalar((1.0-fraction), input.P1), B2Vec2MulScalar(fraction, input.P2))
			return callback(fixture, point, output.Normal, fraction)
		}

		return input.MaxFraction
	}

	input := MakeB2RayCastInput()
	input.MaxFraction = 1.0
	input.P1 = point1
	input.P2 = point2
	world.M_contactManager.M_broadPhase.RayCast(wrapper, input)
}

func (world *B2World) GetProxyCount() int {
	return world.M_contactManager.M_broadPhase.GetProxyCount()
}

func (world *B2World) GetTreeHeight() int {
	return world.M_contactManager.M_broadPhase.GetTreeHeight()
}

func (world *B2World) GetTreeBalance() int {
	return world.M_contactManager.M_broadPhase.GetTreeBalance()
}

func (world *B2World) GetTreeQuality() float64 {
	return world.M_contactManager.M_broadPhase.GetTreeQuality()
}

func (world *B2World) ShiftOrigin(newOrigin B2Vec2) {

	B2Assert((world.M_flags & B2World_Flags.E_locked) == 0)
	if (world.M_flags & B2World_Flags.E_locked) == B2World_Flags.E_locked {
		return
	}

	for b := world.M_bodyList; b != nil; b = b.M_next {
		b.M_xf.P.OperatorMinusInplace(newOrigin)
		b.M_sweep.C0.OperatorMinusInplace(newOrigin)
		b.M_sweep.C.OperatorMinusInplace(newOrigin)
	}

	for j := world.M_jointList; j != nil; j = j.GetNext() {
		j.ShiftOrigin(newOrigin)
	}

	world.M_contactManager.M_broadPhase.ShiftOrigin(newOrigin)
}
