// Package micro is manta's counterpart of `ray microbenchmark`: the rows of
// Ray's table that make sense for a single node, each measured against an
// in-process baseline doing the same work with plain goroutines and
// channels in the same run (the limit a runtime could reach here), and
// shown beside Ray's published figure (Ray 2.48 on an m5.16xlarge).
//
// The remote functions and actors it uses are registered by this package,
// so any binary that imports it (cmd/manta does) can serve as its own
// worker. Run it with `manta microbenchmark [--json] [--duration 2s]`.
//
// MeasureEventsOverhead (`manta microbenchmark --events-overhead`) measures
// what recording task-life events costs each row: events off and on in
// adjacent 100 ms slices of one run, reported as the median on ÷ off of
// the pairs with a 95% interval, so that a few percent can be told from
// a shared machine's noise; ControlSample runs the same with recording
// off in both slices, to show how much of that noise the interval misses.
package micro
