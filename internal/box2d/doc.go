// Package box2d is a modified copy of github.com/ByteArena/box2d v1.0.2,
// the Go port of Box2D 2.3.2 by Byte Arena (after Erin Catto's C++
// Box2D), under the zlib licence in LICENSE.md. It is a fork, not the
// original: manta's Box2D environments (sims) step it millions of times,
// and the original allocates on every step and spends much of its time
// copying structs, which its API gives no way around (issue 18).
//
// What differs from v1.0.2:
//   - Only the shapes (polygon, edge) and joint (revolute) that sims uses
//     are kept; the debug Dump methods, the profiling timers, the global
//     statistics counters and commented-out C++ are gone.
//   - Nothing allocates once a world has warmed up: the tree's query
//     stacks, islands, contact solver, body stack, TOI input and impulse
//     report reuse their buffers; destroyed contacts are kept for reuse;
//     B2World.Reset (new) empties a world, keeping its bodies, fixtures,
//     shapes, joints and tree nodes for the next build, after which it
//     steps exactly as a new world. Shape methods with out-parameters are
//     called on the concrete shape, so the parameters stay on the stack.
//   - Big types have pointer receivers (none of their value receivers
//     wrote to the receiver); solver locals are updated by value rather
//     than through Operator*Inplace, which kept them in memory.
//   - In the solvers' inner loops: the revolute joint computes Solve33's
//     and Solve22's constant parts once a step, and not its unused
//     rotations in the position solve; B2FloatClamp and the contact
//     solver's max(x, 0) branch where the builtins' signed-zero and NaN
//     handling cannot matter; rotations use math.Sincos, which equals
//     math.Sin and math.Cos bit for bit, written out without its range
//     reduction under π/4, where the reduction changes nothing (sincos);
//     the island calls its (revolute)
//     joints directly and skips the contact pass when it has no contacts.
//     The revolute joint decides once a step whether its passes solve the
//     motor and the limit. A contact on a still static body skips that
//     body's half of each pass (its velocity stays +0; the signed zeros
//     it would add are kept). A time-of-impact sub-step's velocity passes
//     stop at their fixed point (a pass that changes no bit), and the
//     time-of-impact search keeps each sweep's last transform. A
//     position pass over a contact on a static body computes that body's
//     transform once and leaves out its terms. The block
//     solver's four cases choose the impulses in one function
//     (blockImpulses) and apply them in one place.
//   - The step's loops over bodies walk only the bodies that are not
//     static (B2World.movable), since they do nothing to a static one:
//     BipedalWalker's terrain is 199 static bodies of its 204.
//   - The contact registers are filled at package initialisation, not
//     lazily (a race between worlds on different goroutines).
//
// Every change keeps the arithmetic, and its order, of the original, or
// leaves out only operations whose results are known bit for bit: sims
// pins its heuristic runs and 20,000 random-action steps of each env's
// whole physical state bit for bit, and this package's tests check that a
// world refilled after Reset steps bit for bit as a new one.
package box2d
