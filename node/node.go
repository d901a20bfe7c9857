package node

import (
	"fmt"
	"time"

	"manta/events"
	"manta/rpc/wire"
	"manta/sched"
	"manta/shm/store"
)

// Config describes a node. Zero fields take the defaults documented on
// each.
type Config struct {
	// Sched configures the local scheduler: resources, worker pool.
	Sched sched.Config
	// Errors encodes errors into failed objects and decodes workers'.
	// Required.
	Errors ErrorCodec
	// Observe, if set, receives the task-life events the node sees
	// (events.Submit, Ready for a task that waited for its arguments,
	// Queued, Dispatch, Done), for the host to
	// stamp with its clock: name is the call's name for Submit (aux its
	// wire.SubmitKind) and nil otherwise; Dispatch's aux is the worker
	// process, Done's 1 if the task failed. It is called under the
	// host's lock and must not call into the node.
	Observe func(k events.Kind, task wire.TaskID, name []byte, aux uint64)
	// Resolve gives the options of a call a worker submitted: the
	// registered ones of its function or actor type, with opts (the
	// caller's encoded per-call options, possibly empty) applied. Required
	// for calls from workers.
	Resolve func(kind wire.SubmitKind, name, opts []byte) (*Options, error)
	// LineageBytes caps the memory kept for the specifications of finished
	// tasks whose results are still referenced; past it the oldest are
	// evicted (ErrLineageEvicted). Default 64 MiB.
	LineageBytes int64
	// DefaultRetries is how often a task is re-run after its worker dies,
	// when its options say nothing (Options.MaxRetries < 0). Zero means
	// the default, 3; negative, never.
	DefaultRetries int
	// InjectDelay, for experiments (Figure 12b), holds every plain task
	// that is ready to run this long before the local scheduler sees it,
	// as the paper does to show what scheduler latency costs.
	InjectDelay time.Duration
	// SpillQueue, when positive, makes the node a member of a cluster that
	// schedules bottom up (paper §4.2.2): a plain task that is ready to run
	// goes to Host.Spill instead of the local queue when this node's
	// totals can never fit it, or when SpillQueue tasks already wait in
	// the local queue. Zero keeps every task here (a single node).
	SpillQueue int
}

// Host is what a node asks of the world around it: the processes, the
// object store, the clock and the driver's waiting goroutines. The node
// calls it from inside its own methods, so implementations must not call
// back into the node; what they answer later comes back through the
// node's input methods (ProcStarted, PinDone, TimerFired, ...).
type Host interface {
	// Send queues m for worker process p; m is valid during the call only.
	Send(p ProcID, m *wire.Msg)
	// SendControl queues m on p's control ring (cancellations), which the
	// worker reads while it runs calls.
	SendControl(p ProcID, m *wire.Msg)
	// StartProc starts a worker process for p; answer with ProcStarted or
	// ProcStartFailed.
	StartProc(p ProcID)
	// KillProc ends p at once; answer with ProcExited once it is gone.
	KillProc(p ProcID)
	// Pin pins object id in the store (it may have to be read back from
	// disk); answer with PinDone(token, ...).
	Pin(id wire.ObjectID, token PinToken)
	// Unpin gives back one pin of id.
	Unpin(id wire.ObjectID)
	// Free deletes id from the store.
	Free(id wire.ObjectID)
	// Wake tells the driver goroutine waiting on w that it is done.
	Wake(w *Waiter)
	// SetTimer arranges TimerFired(token) after d.
	SetTimer(token TimerToken, d time.Duration)
	// CancelTimer stops the timer of token, which is no longer needed; a
	// TimerFired for it that comes anyway is ignored.
	CancelTimer(token TimerToken)
	// Finished reports that a task submitted with TaskSpec.Watched is
	// done.
	Finished(task wire.TaskID)
	// Spill hands a ready task to the cluster (only with
	// Config.SpillQueue): answer with RunHere when it is placed on this
	// node, or SpillDone / SpillFailed once it ran elsewhere. spec and its
	// slices are valid during the call only; its stored arguments' bytes
	// lie in this node's store or where the host knows them to be.
	Spill(spec *TaskSpec)
	// CancelSpilled reports that task, handed to Spill and not answered,
	// was cancelled: the host asks the node running it to cancel it too.
	// An answer that still comes for it is not taken.
	CancelSpilled(task wire.TaskID)
}

// ProcID names a worker process; it is also the scheduler's ID for the
// process's first lease slot.
type ProcID = sched.WorkerID

// PinToken matches a Host.Pin with its PinDone.
type PinToken uint64

// TimerToken matches a Host.SetTimer with its TimerFired.
type TimerToken uint64

// Options are a call's resolved options: those registered for its function
// or actor type with the caller's per-call ones applied. Node keeps the
// pointer (as part of the task's lineage): do not change one in use.
type Options struct {
	// Resources the task needs while it runs, or the actor holds while it
	// lives. Key names them for the scheduler's class cache: calls whose
	// options share a Key must need the same resources (core uses one per
	// registration and per Options call).
	Resources map[string]float64
	Key       string
	// MaxRetries is how often a task is re-run after its worker dies;
	// negative: Config.DefaultRetries.
	MaxRetries int
	// Actors only. MaxTaskRetries is how often a method call is sent
	// again after the actor's process or node died while it ran (0: at
	// most once, it fails; negative: without limit); a call sent again
	// keeps its place before the calls submitted after it.
	MaxRestarts    int
	MaxTaskRetries int
	MaxConcurrency int
	// Replay: a restarted instance restores the actor's last checkpoint
	// and runs again the calls it ran since (the node keeps them, with
	// their arguments, until the checkpoint after next). CheckpointEvery
	// (> 0, implies Replay) asks the worker for a checkpoint after every
	// so many calls; a call may ask for one too.
	Replay          bool
	CheckpointEvery int
	Name            string
	Detached        bool
	// Unknown is set for a function or actor type the submitting binary
	// does not have: an actor creation then fails with ErrUnknownFunction
	// (a task fails in its worker).
	Unknown bool
}

// TaskSpec is a call as it is submitted, and what the node keeps of it as
// lineage once it has finished. The node keeps the slices: hand it memory
// of its own.
type TaskSpec struct {
	ID        wire.TaskID
	Kind      wire.SubmitKind
	Name      []byte
	Actor     wire.TaskID // method calls: the actor
	Args      []wire.Arg
	Contained []wire.ObjectID // references inside the arguments, held while the task lives
	Options   *Options
	Returns   int         // separate return values (a Pair's 2), 0 for one
	Parent    wire.TaskID // the task it was submitted from, if known: cancelled with it
	Deadline  int64       // unix nanoseconds, 0 for none; travels to the worker
	// Watched asks for Host.Finished when the task is done (the driver
	// stops watching the caller's context then).
	Watched bool
	// Placed marks a task the cluster placed on this node: it is never
	// spilled to another (at most one redirect per task).
	Placed bool
	// Fresh promises that no task with this ID was submitted to the node
	// before, so Submit need not look for one: true of the driver's calls,
	// whose IDs descend from a random root, and of a worker's until some
	// task has run twice (a task run again submits its calls' IDs again).
	Fresh bool
	// Attempt numbers the sending of a spilled task (Host.Spill), for its
	// answer (SpillDone, SpillFailed).
	Attempt uint32
	// Checkpoint is, for an actor's creation, the state its instance
	// restores (an actor made again on another node); nil: none.
	Checkpoint []byte
}

// Value is an object's value as a Put gives it: bytes, or a sealed object
// in the store.
type Value struct {
	Data   []byte
	Stored bool
	Slot   store.Slot
}

// Result is an object's outcome as Result reports it to the driver.
type Result struct {
	Value
	Err error // set for a failed, freed or unfinished object
}

// Waiter is a Get or Wait of the driver in progress. The host makes one
// (its Ch is the host's to use), registers it with Await, and is told
// through Host.Wake once enough of its objects are ready.
type Waiter struct {
	Ch chan struct{}
	// Yield is the host's: whether whoever wakes it should hand it the
	// CPU at once (a Get of one object, a round trip on the caller's
	// critical path).
	Yield bool
	need  int
	fired bool
}

// Fired reports whether the node is done with w (it woke it, or it was
// abandoned).
func (w *Waiter) Fired() bool { return w.fired }

// Node is the node manager's state machine: the objects of the node and
// their reference counts, the tasks and their dependencies, retries,
// actors and their queues, the worker processes and their lease slots,
// cancellation and lineage. It has no goroutines, clock or I/O: inputs are
// method calls, and what must happen outside goes through its Host. It is
// not safe for concurrent use: the host serializes calls.
type Node struct {
	cfg   Config
	host  Host
	sched *sched.Local
	// hasGPUs: the node's total has GPUs, which leases hold as devices.
	hasGPUs bool

	objects map[wire.ObjectID]*Object
	tasks   map[wire.TaskID]*task
	slab    []*task // sched.TaskRef -> task
	free    []sched.TaskRef
	classes map[string]classResult // resource key -> class

	actors  map[wire.TaskID]*actor
	named   map[string]*actor // live actors by name
	placing map[sched.ActorRef]*actor
	nextRef sched.ActorRef

	procs  map[ProcID]*proc
	slots  map[sched.WorkerID]*proc // every lease slot's process
	nextID sched.WorkerID
	// startFailures counts process starts that failed in a row.
	startFailures int
	started       int
	died          int // worker processes gone without being asked to go

	pins    map[PinToken]pinRequest
	nextPin PinToken
	// repins holds the pins of objects being made again (reconstruct),
	// asked for again once each is.
	repins    map[wire.ObjectID][]PinToken
	timers    map[TimerToken]*wwaiter
	delayed   map[TimerToken]*task // tasks held back by Config.InjectDelay
	nextTimer TimerToken

	lineage  lineage
	released int // objects released (Object.released)
	// Actors' logs (callLog): calls run again on restarted instances,
	// checkpoints recorded, checkpoints that failed to restore.
	replayed, checkpoints, rejected int

	acts   []sched.Action
	args   []wire.Arg // dispatch scratch
	msg    wire.Msg   // dispatch scratch: Host.Send must not keep it
	closed bool
	now    time.Duration
	// rerun is set once a task has run a second time (a retry, an actor's
	// restart). Only then can a worker submit or put an ID the node has
	// already, since IDs derive from the parent's ID and counters; until
	// then the node skips looking.
	rerun bool
}

type classResult struct {
	id  sched.ClassID
	err error
}

// New returns a node; host carries out what it decides.
func New(cfg Config, host Host) (*Node, error) {
	if cfg.Errors == nil {
		return nil, fmt.Errorf("node: Config.Errors is required")
	}
	if cfg.LineageBytes <= 0 {
		cfg.LineageBytes = 64 << 20
	}
	if cfg.DefaultRetries == 0 {
		cfg.DefaultRetries = 3
	}
	n := &Node{
		cfg:     cfg,
		host:    host,
		sched:   sched.New(cfg.Sched),
		objects: map[wire.ObjectID]*Object{},
		tasks:   map[wire.TaskID]*task{},
		classes: map[string]classResult{},
		actors:  map[wire.TaskID]*actor{},
		named:   map[string]*actor{},
		placing: map[sched.ActorRef]*actor{},
		procs:   map[ProcID]*proc{},
		slots:   map[sched.WorkerID]*proc{},
		pins:    map[PinToken]pinRequest{},
		timers:  map[TimerToken]*wwaiter{},
		delayed: map[TimerToken]*task{},
		lineage: lineage{cap: cfg.LineageBytes},
		hasGPUs: cfg.Sched.Total.Get("GPU") > 0,
	}
	n.lineage.ended = n.lineageEnded
	return n, nil
}

// Closed reports whether Shutdown was called.
func (n *Node) Closed() bool { return n.closed }

// Tick tells the node the time, for reaping idle workers.
func (n *Node) Tick(now time.Duration) {
	n.now = max(n.now, now)
	n.sched.Tick(n.now)
	n.processActions()
}

// Stats is a snapshot of a node.
type Stats struct {
	Objects int // objects held
	// LineageArgs counts objects no one holds whose records stay, without
	// their stored bytes, as arguments of kept lineage.
	LineageArgs  int
	Tasks        int // tasks submitted and not finished
	Workers      int // live worker processes, actors' included
	Started      int // worker processes started over the node's life
	Died         int // worker processes that died without being asked to exit
	Actors       int // actors alive or being created
	Lineage      int // finished tasks whose specification is kept
	LineageBytes int64
	Evicted      int // specifications evicted to stay within LineageBytes
	// Actors that replay (Options.Replay): calls run again on restarted
	// instances, checkpoints recorded, and checkpoints that failed to
	// restore (an older one was used).
	CallsReplayed, Checkpoints, CheckpointsRejected int
	Sched                                           sched.Stats
}

// Stats returns a snapshot; it allocates.
func (n *Node) Stats() Stats {
	s := Stats{Objects: len(n.objects) - n.released, LineageArgs: n.released, Tasks: len(n.tasks), Started: n.started, Died: n.died, Sched: n.sched.Stats(),
		Lineage: n.lineage.kept, LineageBytes: n.lineage.bytes, Evicted: n.lineage.evictions,
		CallsReplayed: n.replayed, Checkpoints: n.checkpoints, CheckpointsRejected: n.rejected}
	for _, p := range n.procs {
		if p.state != procStarting {
			s.Workers++
		}
	}
	for _, a := range n.actors {
		if a.state != actorDead {
			s.Actors++
		}
	}
	return s
}
