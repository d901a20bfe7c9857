// Package node is a node manager's state machine: the objects of a node
// and their reference counts, the tasks and their dependencies, retries,
// actors and their queues, the worker processes and their lease slots,
// waiters, cancellation and kept lineage. It decides; it does nothing
// itself. There are no goroutines, locks, clock or I/O inside, the way
// etcd's raft separates RawNode from the loop that runs it.
//
// Inputs are method calls: Submit, Put, Hold and Release from the driver;
// Worker for each message a worker process sends; ProcStarted,
// ProcStartFailed and ProcExited for processes; PinDone and TimerFired
// answering earlier requests; Tick for the time; in a cluster
// (Config.SpillQueue), RunHere, SpillDone and SpillFailed answering a
// spill, and PutRemote for an object another node holds. Outputs are
// calls on the Host it was made with: Send and SendControl to a worker,
// StartProc and KillProc, Pin, Unpin and Free on the object store, Wake
// for a waiting driver goroutine, SetTimer and CancelTimer, Finished, and
// Spill, which hands a task to the cluster (bottom-up scheduling). The
// same inputs give the same outputs, in the same order.
//
// Package node/host is the loop that runs a Node in a real process: it
// serializes the inputs under one mutex, owns the rings, worker processes,
// object store and clock, and carries out the effects. Tests drive a Node
// directly with a Host that records (see testdata: each script is a
// scenario of the failure table and its expected effects).
//
// # Lifetimes
//
// A Node keeps the slices of a TaskSpec it is given, and the Options
// pointer; byte fields of a Worker message are copied where kept. An
// *Object returned by Submit, Put or Hold is a hold on the object: the
// holder gives it back with Release exactly once.
//
// # Lineage
//
// A finished task's specification is kept while one of its results is
// held, so a lost result can be made again by running the task again
// (with its lost arguments first: kept lineage keeps its arguments'
// records); the memory this takes is capped by Config.LineageBytes,
// evicting the oldest first (see Lineage and ErrLineageEvicted). A host
// whose pin finds a value's bytes lost calls PinDone (or Remake, for its
// own reads) and the node runs the task again, or says why it cannot
// (ErrObjectLost with ErrLineageEvicted or ErrRetriesExhausted). Task IDs are derived
// by the submitter (a child's ID from its parent's ID and the parent's
// submit counter, see wire.TaskID.Child), so a task run again submits
// the same IDs, and the node recognises the calls and Puts it already
// has instead of running them twice.
//
// # Actor replay
//
// An actor with Options.Replay keeps its last two restore points (its
// constructor, then the checkpoints its worker sends with
// wire.KindCheckpoint, or that a peer's reply gives CallCheckpointed) and
// the calls it ran since the older one. A restart creates the instance
// with the newest point's state and runs those calls again, ahead of the
// others, dropping their results; an instance that cannot load its
// checkpoint (ErrCheckpoint) is made again from the point before.
package node
