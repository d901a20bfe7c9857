"""Runs Ray's own microbenchmark (ray._private.ray_perf, as `ray
microbenchmark` does) for manta's `bench --peers`, and prints its rows as one
JSON line after the marker. Ray Client's part, which fails on small
machines, is skipped. Nothing of manta runs here: this only drives Ray."""
import json
import sys
import time

import ray
import ray._private.ray_perf as perf

perf.client_microbenchmark_main = lambda results=None: results

start = time.time()
results = [r for r in perf.main() if r is not None]
rows = {name: [float(mean), float(sd)] for name, mean, sd in results}
out = {"version": ray.__version__, "seconds": time.time() - start, "rows": rows}
sys.stdout.write("\nMANTA-PEER-RESULT " + json.dumps(out) + "\n")
