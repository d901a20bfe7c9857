// Package box2d is a modified copy of github.com/ByteArena/box2d v1.0.2,
// the Go port of Box2D 2.3.2 by Byte Arena (after Erin Catto's C++
// Box2D), under the zlib licence in LICENSE.md. It is a fork, not the
// original: manta's Box2D environments (sims) step it millions of times,
// and the original allocates on every step and spends much of its time
// copying structs, which its API gives no way around (issue 18).
//
// What differs from v1.0.2:
//   - only the shapes (polygon, edge) and joint (revolute) that sims uses
//     are kept; the debug Dump methods are gone;
//
// Every change keeps the arithmetic, and its order, of the original:
// sims pins its trajectories bit for bit.
package box2d
