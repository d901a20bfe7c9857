// Package sim is a virtual-time simulation of a manta cluster: N nodes,
// each running manta's real node manager (node.Node, with its real local
// scheduler, sched.Local), and the real global scheduler
// (sched/global), in one process, with no goroutines, wall clock or I/O.
// What the real code decides happens; what it would cost is modelled.
// It is how the Ray paper's Figure 8b (scalability to 100 nodes and
// beyond) is drawn on one machine, and its results are simulated ones:
// say so wherever they are shown.
//
// # The workload
//
// Each node may have a driver that keeps a bounded number of empty tasks
// (one CPU each, no arguments) in flight, submitting the next one as
// soon as one finishes, the way a driver that Gets its batches keeps a
// cluster busy. Scheduling is bottom-up, as in the paper: the driver's
// node queues the task itself unless global.Spill says it cannot (it has
// no CPU) or should not (its queue has reached Config.SpillThreshold);
// then the task goes, one network delay later, to the global scheduler,
// which places it on the node with the lowest estimated wait from the
// nodes' heartbeats, and one delay later that node runs it, never
// spilling it again. The driver learns of a remote task's end one delay
// after it finished.
//
// # The model
//
// A node manager is one server: it serves its inputs one at a time, in
// arrival order, each for a modelled time, and its effects happen when
// it is done. A worker process runs its tasks one at a time. Costs, with
// their defaults and where they come from:
//
//   - Config.NodeTaskCost, 1.1 µs per task, a third for each of its
//     inputs (Submit, the worker's Done, the driver's Release; any other
//     input costs a third too): node's BenchmarkSubmitDispatchDone, the
//     state machine's whole task path with no process or ring (go test
//     -run '^$' -bench SubmitDispatchDone ./node), measured 0.56 to 1.3 µs
//     per task on the shared 2-core development machine; 1.1 µs is a
//     typical run.
//   - Config.WorkerCost, 2 µs per task in the worker (the ring hop,
//     decoding the Execute, the call, pushing Done): an estimate, as no
//     benchmark isolates it. Its parts measured here: a ring push and pop
//     44 ns (shm's BenchmarkRingPushPop), decoding an Execute 120 ns
//     (rpc/wire's BenchmarkAppendDecodeExecute); a whole task end to end,
//     driver, node and worker on 2 cores, 3.8 µs (core's
//     BenchmarkTasksAsync).
//   - Config.WorkerStart, 5 ms from StartProc to ProcStarted: exec of the
//     manta binary to its exit took 4.8 ms here.
//   - Config.Latency, 100 µs one way between nodes and to the global
//     scheduler: an assumption, the order of a datacentre network.
//   - Config.Heartbeat, 100 ms: Ray's
//     raylet_report_resources_period_milliseconds.
//   - Config.SpillThreshold, 1000 queued tasks: the paper gives no number.
//   - Config.Jitter, 10%: every cost and delay is drawn uniformly within
//     that much of its value, so nodes do not run in lockstep.
//
// Not modelled: the driver's own work per call (core's encoding, Ref
// handles, Get), which a real driver pays beside the node manager; the
// GCS, which the node manager does not use yet; object transfers (empty
// tasks have none); the global scheduler's own time per placement.
//
// # Running it
//
// New builds the cluster at virtual time 0 and Run advances it; Stats
// and Node report counters, and Stats.Rate turns two snapshots into
// throughput. Drain stops the drivers, lets every task finish and checks
// that the node managers are left holding nothing. The same Config and
// seed (Config.Rand) give the same run: events at the same time happen
// in the order they were scheduled, and the node managers are
// deterministic.
//
// Each node and the global scheduler keep their own events. Nothing one
// of them does reaches another sooner than the shortest network delay,
// so the simulation runs them one after another through windows of that
// length: a node's events and tables stay in cache while it runs, which
// keeps a simulated task near the cost of the node manager's own code
// (1.5 µs of real time here at 100 nodes, 2.5 µs at 1000).
package sim
