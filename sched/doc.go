// Package sched is manta's node-local scheduler, written as a pure state
// machine in the manner of etcd raft's RawNode: no goroutines, no clock, no
// I/O and no randomness inside. Inputs are method calls (a task submitted, a
// worker started, a task done, a tick); outputs are Actions for the caller
// to carry out. The same code therefore runs under core's lock on every
// task, in deterministic script tests, and in virtual-time simulations.
//
// # Model
//
// A node has total Resources: CPU, GPU and custom named quantities, in
// fixed-point units (Unit per whole resource, so 0.5 GPU is exact). Tasks are
// grouped into scheduling classes, one per resource shape (Class). A class
// that can never fit the node's totals is refused at once with
// ErrInfeasible; anything else that does not fit now waits ("retry later").
//
// Work runs on leased workers, as in Ray. Granting a lease acquires the
// class's resources from the node for one worker, which then runs tasks of
// that class one after another. To hide round trips, up to PipelineDepth
// tasks may be assigned to a worker at once; it runs them in order. When a
// worker's queue empties and no task of its class is queued, the lease ends:
// the resources return to the node and the worker goes back to the idle
// pool, where any class may lease it.
//
// Queued tasks go, in order of preference:
//
//  1. to a new lease on an idle worker, if the resources are free, because a
//     task on a fresh worker starts sooner than one queued behind another;
//  2. to a StartWorker, one per worker needed, while the pool may grow;
//  3. pipelined onto the class's least loaded lease, up to PipelineDepth,
//     keeping one task back for each worker being started for the class.
//
// Otherwise they wait. Classes with queued work take turns at new workers
// (round robin, FIFO within a class), classes without any worker first. A
// class that still cannot get one because others hold what it needs gets a
// reservation: nobody else may take those resources, and leases holding them
// take no more tasks once they have had a full pipeline, so they drain and
// hand over. A class with a backlog therefore cannot keep another waiting
// forever.
//
// A task that waits in Get inside a worker would deadlock a full node, so
// Blocked gives the worker's CPU back and stops pipelining onto it; the
// tasks already assigned stay with the worker, which runs them while the
// blocked one waits (so nothing has to be taken back from a process that
// may have started it). MaxWorkers bounds processes, never more: when the
// pool is full and work waits in Get, a worker is a lease slot, and
// AddSlot asks core for one more slot in an existing process (the one with
// the fewest slots making progress), whose tasks run on goroutines of that
// process; slots may outnumber MaxWorkers by the blocked ones, and an extra
// slot ends with its lease. Actors never share a process. Unblocked takes the
// CPU back even if that oversubscribes the node; leases holding an
// oversubscribed resource then take no more tasks, and no lease needing it is
// granted, until the node is back within its totals.
//
// An actor (PlaceActor) gets a worker of its own that holds its class's
// resources until ActorExited or WorkerExited; zero-resource actors are
// allowed and are bounded only by the rate of worker starts.
//
// # Driving it
//
// Core owns the mutex, the worker processes and the clock. For each event it
//
//  1. calls the input (Submit, TaskDone, WorkerStarted, Tick, ...);
//  2. reads Actions and carries each out in order: Dispatch sends a task to
//     a worker, StartWorker and StopWorker manage processes (StopWorker of
//     an extra slot only forgets the slot), AddSlot adds a slot to a process
//     (answered with SlotAdded), PlaceActor creates an actor on a worker;
//  3. calls ClearActions.
//
// Every input that can free or create work dispatches before returning.
// Reports from worker processes may be stale after a crash; unknown or
// out-of-order ones are ignored and counted in Stats.Ignored, never panic.
package sched
