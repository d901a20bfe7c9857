// Package render draws episodes of package sims' environments as
// animated GIFs, for a person to watch a policy: each step's scene
// (sims.Draw: the env's own geometry, in its world's coordinates) is
// filled anti-aliased with golang.org/x/image/vector and put in the
// web-safe palette; image/gif encodes the animation.
//
//	env, _ := sims.Make("CartPole-v1")
//	anim, ret, err := render.Episode(env, policy, render.Options{Seed: 1})
//	err = gif.EncodeAll(f, anim)
//
// `manta rl render --policy FILE --out episode.gif` does this with a
// trained policy (a checkpoint that `manta rl` saved).
package render
