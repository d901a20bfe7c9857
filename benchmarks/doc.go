// Package benchmarks is the harness behind `make bench` (`manta bench`):
// one experiment per figure or table of the Ray paper's evaluation (OSDI
// 2018), plus the microbenchmark table, each writing its numbers and its
// figure, and a report that sets manta's results beside the paper's.
//
// # Running
//
//	manta bench --list                       # every id and its state
//	manta bench --scale quick --out results  # what `make bench` runs
//	manta bench --only fig9,table4 --scale full
//
// Run checks its options before anything runs (an unknown id is an error
// listing the known ones; an output directory that cannot be written is an
// error), then runs the selected experiments one after another. Each
// writes results/<id>.json (Result: the numbers with every repetition, the
// scale, the machine: CPU model, cores, memory, Go version, git commit)
// and its figures as PNG and SVG (package plots); results/REPORT.md then
// gives, for each, the paper's claim, manta's result, their ratio and
// exactly what differs in the setup. An experiment that fails or panics
// is reported with its error and the others still run; Run then returns
// an error wrapping ErrFailed, so the command's exit status says so.
// Progress goes to a terminal as one updating line (experiment, progress,
// time left) and elsewhere (CI=true, a pipe) as plain lines.
//
// # States
//
// Reproduced: the paper's workload runs here, scaled down as the
// experiment's Setup says (processes on one machine, fewer workers,
// smaller models). Partial: only part of the figure can be built yet.
// Not yet built: the capability the figure measures has not landed; the
// experiment is listed with the paper's claim and never faked.
//
// # Multi-node experiments
//
// Figure 8a, Figure 8b's real points, Figures 11a and 11b and the
// microbenchmark's multi-node rows run on a local cluster: a head and
// other nodes started as `manta start --head` and `manta start
// --address` processes of this machine, on loopback only, in a fresh
// state directory, each with a resource of its own (bench_node<i>) that
// pins tasks to it; they are stopped (SIGTERM, then SIGKILL) when the
// experiment ends. The node processes run Options.Manta, by default
// this program: `make bench` runs bin/manta, and a test binary, which is
// not manta, must name one (the tests build it). While a cluster runs,
// the driver's MANTA_ environment is the cluster's alone.
//
// # The paper's numbers
//
// paper.json (embedded; Paper) holds every number the harness compares
// with, quoted from the paper's text, tables or captions, each with its
// figure or table, section and page. A Metric names a claim by id and the
// runner fills in the paper's value and the ratio.
//
// # Adding an experiment
//
// Write one file, say fig10a.go, with a package-level Experiment whose
// Run returns an Outcome (metrics, plots.Figure descriptions, notes, raw
// data), list it in registry (an experiment not built yet is an entry with
// State NotBuilt and no Run, which REPORT.md lists as such), and add
// its claims to paper.json. Remote functions it uses are registered at
// package level here, since the manta binary is its own worker; Run starts
// and shuts down its own embedded cluster with core.Init. Results and
// figures go through the runner, so every experiment is written, drawn
// and reported the same way.
package benchmarks
