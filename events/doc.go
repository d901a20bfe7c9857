// Package events records a task's life, event by event, in every process
// of a node, and turns the recordings into a timeline.
//
// A process that records has one Recorder (Open): a ring per P (the Go
// scheduler's processor) that the goroutines running on it append to
// with plain stores, pinned to it for the few nanoseconds an append
// takes, so that the driver and a node's inbound loop never share a
// cache line or a compare-and-swap. The rings are written every
// FlushEvery to DIR/PID.mev, so that a timeline of a running program is
// at most that far behind it; each ring's events are in time order,
// and a reader (Parse) sorts the rings' together. The recording points
// read one switch (On) and cost nothing else while it is off; a node
// shares its switch with its workers through shared memory, so that one
// Enable turns recording on or off in all of them. A full ring drops
// events and counts them; a recording point never waits.
//
// Where the events come from: the node manager (package node, through
// its Config.Observe) records Submit, Ready (for a task that waited for
// its arguments), Queued, Dispatch and Done;
// its host records Push and the object events (create, seal, pin,
// transfer, and spill and restore, which the object store reports); a worker records Pop, Start and End; the driver records
// Got when a Get that waited returns. Two events one call records
// (Submit and Queued, Dispatch and Push, Start and End) share a slot
// (RecordPair), which a reader splits: a task takes about 6 slots of
// 40 bytes rather than 9. Where the kernel keeps its clock on
// the CPU's time-stamp counter, an event is stamped with the counter
// (half the cost of a clock read); each flush writes the line through
// two readings of both clocks taken a flush apart, and the reader turns
// the stamps that follow it into nanoseconds on the machine's monotonic
// clock. Elsewhere events read that clock. Either way the processes'
// events line up, to tens of nanoseconds. The flusher writes a ring's
// events as they lie in memory, without encoding them (on the
// little-endian machines Go runs on), and pairs the events of a sample
// of the tasks (PhaseSample) into the node's phase histograms.
//
// ReadDir parses a directory of recordings (Parse is fuzzed) and
// WriteTimeline writes them as a Chrome trace that Perfetto
// (ui.perfetto.dev) or chrome://tracing opens: one process per recorded
// process, with node-manager, scheduler-queue and driver tracks in a
// node's, a task track in a worker's (named for the actor it hosts), and
// arrows from each submission to its run and from the run's end to the
// Get that saw it. `manta timeline` does this from the command line.
//
//	r, err := events.Open(dir, events.RoleNode, "driver")
//	...
//	events.Enable(true)
//	... run tasks ...
//	r.Close()
//	procs, err := events.ReadDir(dir)
//	stats, err := events.WriteTimeline(f, procs)
package events
