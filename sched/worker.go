package sched

import "time"

// WorkerID names a worker process; core assigns it.
type WorkerID uint32

// TaskRef is core's handle for a task; sched never looks inside.
type TaskRef uint64

// ActorRef is core's handle for an actor; sched never looks inside.
type ActorRef uint64

type workerState uint8

const (
	idle    workerState = iota // in the pool, holding nothing
	leased                     // running tasks of one class
	hosting                    // dedicated to one actor for its lifetime
)

// A worker is one lease slot of a worker process. A process starts with
// one (its primary, from WorkerStarted); while its work waits in Get and
// the pool of processes is full, more slots may be added to it (AddSlot),
// which run tasks on goroutines of the same process. Extra slots live for
// one lease.
type worker struct {
	id    WorkerID
	state workerState
	// proc is the primary slot of the worker's process: itself, or for an
	// extra slot the one it was added to. slots counts the process's live
	// slots, on the primary.
	proc   *worker
	slots  int
	adding int // AddSlots in flight for this process
	// taskProc: a primary counted among the task processes MaxWorkers
	// bounds. A worker that came up while the pool was full is not, and
	// serves actors (or tasks once the pool has room).
	taskProc bool
	class    *class // while leased or hosting an actor
	// queue holds the assigned tasks in order; the head is running.
	queue fifo[TaskRef]
	// served counts tasks assigned during this lease, so a lease gives way
	// to a waiting class only after a fair share.
	served int
	// blocked: the running task waits in Get and gave its CPU back.
	blocked bool
	// draining: the lease takes no more tasks and ends when its queue
	// empties, to hand its resources to a waiting class or to end an
	// oversubscription.
	draining  bool
	actor     ActorRef
	idleSince time.Duration
	// devices are the GPUs its lease or actor holds.
	devices []int

	linked     bool // in class.byLoad[queue.len()]
	prev, next *worker
}
