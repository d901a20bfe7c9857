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

type worker struct {
	id    WorkerID
	state workerState
	class *class // while leased or hosting an actor
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

	linked     bool // in class.byLoad[queue.len()]
	prev, next *worker
}
