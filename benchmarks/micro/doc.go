// Package micro is manta's counterpart of `ray microbenchmark`: the rows of
// Ray's table that make sense for a single node, each measured against an
// in-process baseline doing the same work with plain goroutines and
// channels in the same run (the limit a runtime could reach here), and
// shown beside Ray's published figure (Ray 2.48 on an m5.16xlarge).
//
// The remote functions and actors it uses are registered by this package,
// so any binary that imports it (cmd/manta does) can serve as its own
// worker. Run it with `manta microbenchmark [--json] [--duration 2s]`.
package micro
