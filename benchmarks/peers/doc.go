// Package peers installs and runs the systems manta is compared with on
// the same machine, for `manta bench --peers` (`make bench-peers`): Ray,
// at a pinned version, in a virtual environment under manta's cache
// directory, running its own microbenchmark.
//
// RunRay installs what is missing (python3 -m venv, then pip), runs
// Ray's microbenchmark without its Ray Client part, and returns its rows
// under manta's row names; Save and Load keep a run in a file, which the
// benchmark report uses until the next run, saying when and where it was
// measured.
//
//	r, err := peers.RunRay(ctx, peers.RayOptions{Log: os.Stderr})
//	...
//	err = r.Save("results/peers/ray.json")
package peers
