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
//
// RunMPIAllreduce times OpenMPI's MPI_Allreduce for Figure 12a: it
// installs Debian's openmpi-bin and libopenmpi-dev (as root, with
// apt-get) and mpi4py (pip, into a virtual environment beside Ray's) where
// they are missing, and runs an embedded mpi4py driver under mpirun with
// as many ranks as manta's side has members; an error wrapping
// ErrMPIUnavailable says what could not be installed.
package peers
