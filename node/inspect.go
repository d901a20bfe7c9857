package node

import (
	"iter"

	"manta/rpc/wire"
)

// TaskState is where a task is in its life, as the state API shows it.
type TaskState uint8

const (
	// TaskWaiting: some of its arguments are not ready yet.
	TaskWaiting TaskState = iota
	// TaskQueued: ready, waiting for resources, a worker or its actor.
	TaskQueued
	// TaskRunning: sent to a worker process.
	TaskRunning
	// TaskSpilled: running on another node.
	TaskSpilled
	// TaskFinished: its result is ready (the task is kept as lineage).
	TaskFinished
	// TaskFailed: its result is an error.
	TaskFailed
)

var taskStateNames = [...]string{"WAITING", "QUEUED", "RUNNING", "SPILLED", "FINISHED", "FAILED"}

func (s TaskState) String() string {
	if int(s) < len(taskStateNames) {
		return taskStateNames[s]
	}
	return "UNKNOWN"
}

// TaskInfo describes one task the node knows: submitted and not finished,
// or finished and kept as the lineage of a result still held.
type TaskInfo struct {
	ID      wire.TaskID
	Name    string
	Kind    wire.SubmitKind
	State   TaskState
	Proc    ProcID      // the worker process it runs or ran on; 0 if none
	Actor   wire.TaskID // the actor it calls or creates; zero for a plain task
	Attempt uint32      // 0 on its first run
	// Err is its result's error, for a failed task.
	Err error
}

// Tasks yields the tasks the node knows, in no particular order. The
// caller must not call into the node while iterating (under the host's
// lock); it allocates.
func (n *Node) Tasks() iter.Seq[TaskInfo] {
	return func(yield func(TaskInfo) bool) {
		seen := make(map[*task]bool, len(n.tasks))
		for _, t := range n.tasks {
			seen[t] = true
			if !yield(n.taskInfo(t)) {
				return
			}
		}
		for _, o := range n.objects {
			if t := o.made; t != nil && !seen[t] {
				seen[t] = true
				if !yield(n.taskInfo(t)) {
					return
				}
			}
		}
	}
}

func (n *Node) taskInfo(t *task) TaskInfo {
	ti := TaskInfo{ID: t.id, Name: string(t.name), Kind: t.kind, Attempt: t.attempt}
	if t.proc != nil {
		ti.Proc = t.proc.id
	}
	if t.actor != nil {
		ti.Actor = t.actor.id
	}
	switch {
	case t.done || t.resolved:
		ti.State = TaskFinished
		if t.ret != nil && t.ret.state == objFailed {
			ti.State, ti.Err = TaskFailed, n.cfg.Errors.Decode(t.ret.data)
		}
	case t.spilled:
		ti.State = TaskSpilled
	case t.proc != nil:
		ti.State = TaskRunning
	case t.pending > 0:
		ti.State = TaskWaiting
	default:
		ti.State = TaskQueued
	}
	return ti
}

// ObjectInfo describes one object the node holds.
type ObjectInfo struct {
	ID     wire.ObjectID
	Size   int64 // bytes of its value (0 while pending)
	Stored bool  // in the object store, not inline
	Ready  bool  // its value (or error) is there
	Failed bool
	Refs   int32 // holds on it
}

// Objects yields the objects the node holds, in no particular order;
// as Tasks, under the host's lock.
func (n *Node) Objects() iter.Seq[ObjectInfo] {
	return func(yield func(ObjectInfo) bool) {
		for _, o := range n.objects {
			oi := ObjectInfo{ID: o.id, Stored: o.stored, Ready: o.state != objPending, Failed: o.state == objFailed, Refs: o.refs}
			if o.stored {
				oi.Size = int64(o.slot.Size)
			} else {
				oi.Size = int64(len(o.data))
			}
			if !yield(oi) {
				return
			}
		}
	}
}

// ActorState is where an actor is in its life.
type ActorState uint8

const (
	// ActorPending: waiting for a worker or its constructor.
	ActorPending ActorState = iota
	// ActorAlive: constructed; it takes calls.
	ActorAlive
	// ActorDead: gone for good (killed, out of scope or out of restarts).
	ActorDead
	// ActorRemote: it lives on another node; this node forwards its calls.
	ActorRemote
)

var actorStateNames = [...]string{"PENDING", "ALIVE", "DEAD", "REMOTE"}

func (s ActorState) String() string {
	if int(s) < len(actorStateNames) {
		return actorStateNames[s]
	}
	return "UNKNOWN"
}

// ActorInfo describes one actor the node knows.
type ActorInfo struct {
	ID           wire.TaskID
	Class        string // its type's registered name
	Name         string // its name, if it was given one
	State        ActorState
	Proc         ProcID // the worker process that hosts it; 0 if none
	Queued       int    // calls not yet sent to it
	Running      int    // calls sent to it, not finished
	RestartsLeft int
	// Err says why it died.
	Err error
}

// Actors yields the actors the node knows, dead ones it still records
// included, in no particular order; as Tasks, under the host's lock.
func (n *Node) Actors() iter.Seq[ActorInfo] {
	return func(yield func(ActorInfo) bool) {
		for _, a := range n.actors {
			ai := ActorInfo{ID: a.id, Class: string(a.name()), Name: a.opts.Name, Queued: len(a.queue), Running: len(a.inflight), RestartsLeft: a.restartsLeft, Err: a.err}
			switch {
			case a.remote:
				ai.State = ActorRemote
			case a.state == actorAlive:
				ai.State = ActorAlive
			case a.state == actorDead:
				ai.State = ActorDead
			}
			if a.proc != nil {
				ai.Proc = a.proc.id
			}
			if !yield(ai) {
				return
			}
		}
	}
}

// ProcInfo describes one worker process of the node.
type ProcInfo struct {
	ID       ProcID
	Starting bool        // asked for, not up yet
	Exiting  bool        // asked to stop
	Actor    wire.TaskID // the actor it hosts; zero if none
	Running  int         // tasks sent to it, not finished
	Borrows  int         // objects it holds
}

// Procs yields the node's worker processes; as Tasks, under the host's
// lock.
func (n *Node) Procs() iter.Seq[ProcInfo] {
	return func(yield func(ProcInfo) bool) {
		running := map[ProcID]int{}
		for _, t := range n.tasks {
			if t.proc != nil && !t.done {
				running[t.proc.id]++
			}
		}
		for _, p := range n.procs {
			pi := ProcInfo{ID: p.id, Starting: p.state == procStarting, Exiting: p.state == procExiting, Running: running[p.id], Borrows: len(p.borrows)}
			if p.actor != nil {
				pi.Actor = p.actor.id
			}
			if !yield(pi) {
				return
			}
		}
	}
}
