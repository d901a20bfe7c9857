"""Times OpenMPI's MPI_Allreduce (through mpi4py) for manta's `bench`
Figure 12a, with the same method as manta's side: a barrier, then one
allreduce of float32s, its time the slowest rank's; prints one JSON line
after the marker at rank 0. Nothing of manta runs here: this only drives
MPI. Arguments: comma-separated sizes in bytes, then the repetitions of
each, also comma-separated."""
import json
import sys
import time

import numpy as np
from mpi4py import MPI

comm = MPI.COMM_WORLD
sizes = [int(s) for s in sys.argv[1].split(",")]
reps = [int(r) for r in sys.argv[2].split(",")]
rows = []
for size, n in zip(sizes, reps):
    send = np.ones(size // 4, dtype=np.float32)
    recv = np.empty_like(send)
    comm.Allreduce(send, recv, op=MPI.SUM)  # warm-up
    seconds = []
    for _ in range(n):
        comm.Barrier()
        began = time.perf_counter()
        comm.Allreduce(send, recv, op=MPI.SUM)
        took = time.perf_counter() - began
        seconds.append(comm.allreduce(took, op=MPI.MAX))
    if recv[0] != comm.Get_size():
        raise SystemExit("wrong sum: %r" % recv[0])
    rows.append({"bytes": size, "seconds": seconds})
    del send, recv
if comm.Get_rank() == 0:
    out = {"library": MPI.Get_library_version().splitlines()[0].strip(), "ranks": comm.Get_size(), "rows": rows}
    sys.stdout.write("\nMANTA-MPI-RESULT " + json.dumps(out) + "\n")
