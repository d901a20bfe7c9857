// Package sims holds the reinforcement-learning environments manta's RL
// workloads measure on, written to behave as the Gymnasium versions
// researchers know, so that returns are comparable with published ones.
//
// # Environments
//
// Classic control, from Gymnasium 1.2.2: CartPole-v1, Pendulum-v1,
// Acrobot-v1, MountainCar-v0 and MountainCarContinuous-v0. Box2D:
// LunarLander-v3 and LunarLanderContinuous-v3 (Gymnasium's defaults:
// gravity -10, no wind), on github.com/ByteArena/box2d.
//
// # Use
//
//	env, err := sims.Make("CartPole-v1") // sims.IDs() lists the ids
//	obs, err := env.Reset(42)            // reseed; sims.NoSeed continues the stream
//	obs, reward, terminated, truncated, err := env.Step([]float64{1})
//
// Discrete actions are one float64 holding the integer; Box actions are
// rounded to float32, the dtype of Gymnasium's action spaces. Observations
// are float32 (Gymnasium's dtype); the physical state is float64. The
// observation slice a call returns aliases the env's buffer: it is valid
// until the next Reset or Step, which lets a step run without allocating.
//
// Episodes end as Gymnasium's gym.make wraps them: terminated by the
// dynamics, truncated by TimeLimit at the registered max_episode_steps
// (500, 200, 500, 200 and 999 steps; 1000 for LunarLander). Both can be
// true at once.
//
// For many copies at once, NewVec steps N envs of one id into contiguous
// batch buffers (copy i's observation is row i of one []float32) with
// automatic resets, either Gymnasium 1.x's NextStep rule or SameStep with
// FinalObs; Vec.Reset(seed) seeds copy i with seed+i as Gymnasium's vector
// envs do. On the classic-control envs Env.Step and Vec.Step do not
// allocate (tests guard it); the Box2D envs allocate inside
// ByteArena/box2d's World.Step.
//
// # Bad input
//
// Errors, never panics: an unknown id (ErrUnknownEnv, listing the known
// ids), an action of the wrong length, NaN or ±Inf, or outside a discrete
// space (ErrInvalidAction; the env is left as it was), Step before Reset or
// after the episode ended (ErrNeedsReset; Gymnasium only warns there), a
// negative seed other than NoSeed (ErrInvalidSeed). Box actions beyond
// their bounds are clipped, not refused, because every Gymnasium Box env
// here clips them itself.
//
// # Fidelity
//
// Each classic-control env is a transcription of Gymnasium's source with
// the same constants, integrators (CartPole's Euler, Acrobot's RK4 with
// wrap and bound), clipping order, rewards, termination, spaces and time
// limits. Beyond the formulas it keeps Python's arithmetic:
//
//   - Floating-point expressions are evaluated in Python's order with each
//     operation rounded to float64; parameters are variables so that Go's
//     exact constant folding cannot change a derived value (CartPole's
//     12*2*pi/360 folded as a constant is an ulp off Gymnasium's).
//   - Python's % on floats is a floor modulo (Pendulum's angle_normalize);
//     Go's math.Mod truncates, so floorMod adjusts it as CPython does.
//   - NumPy's dtype rules: Pendulum's torque terms are float32 (the action
//     is a float32 array), and MountainCarContinuous keeps its state as
//     float32 after the first step, so later arithmetic and comparisons
//     with Python floats run in float32 (NEP 50); both are reproduced.
//   - Seeding is NumPy's: Reset(seed) builds Generator(PCG64(SeedSequence(
//     seed))) as Gymnasium does, so a seeded reset gives Gymnasium's start
//     state bit for bit (the tests check it). Streams of an unseeded env
//     come from the OS, as in Gymnasium, and are not reproducible.
//
// The tests compare against trajectories recorded from Gymnasium 1.2.2
// with NumPy 2.3.5 (testdata/gen_reference.py; the data is committed, so
// the tests need no Python). One step from each recorded state matches to
// a relative 2e-15 (the test allows 1e-12); most steps are bit-exact and
// the rest differ because Go's math.Sin and math.Cos are not glibc's. Whole
// episodes replayed from the recorded start states stay within 1e-9 and
// end on the same step with the same flags, except a balanced CartPole,
// whose instability grows a last-bit difference about 8% a step: it is
// compared for 200 steps and must then still end on the same step.
// Acrobot's reset observation is NumPy's float32 cos of a float32 state
// and may differ from Go's by one float32 ulp. On architectures where Go
// fuses multiply-adds (arm64, ppc64le, s390x) results may differ in the
// last bit more often; the tolerances cover that.
//
// The Box2D envs cannot match bit for bit: Gymnasium runs pybox2d (Box2D
// 2.3 in float32), these run ByteArena/box2d (a float64 Go port of Box2D
// 2.3). The port keeps Gymnasium's bodies, fixtures, joints, contact
// rules, engine impulses, rewards and termination, and its NumPy-seeded
// terrain and initial push, so a seeded LunarLander episode starts as in
// Gymnasium: the first ten steps under Gymnasium's heuristic agree to
// 3e-6 (the test allows 1e-4), then chaos takes over. The tests run
// Gymnasium's heuristic controller and require a mean return >= 200 over
// seeds 0-9 within 25 of Gymnasium's own mean on those seeds (both about
// 270), and check physical invariants: in free fall only gravity changes
// the momentum of lander and legs, the main engine pushes up, and every
// episode ends on ±100. Recorded with box2d 2.3.10 (pybox2d).
package sims
