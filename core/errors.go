package core

import (
	"context"
	"errors"
	"fmt"

	"github.com/fxamacker/cbor/v2"

	"manta/node"
	"manta/node/peer"
	"manta/rpc/wire"
)

// Sentinel errors. Errors returned by Get wrap one of these where one
// applies, so callers test them with errors.Is. Those a node reports are
// the same values as package node's.
var (
	// ErrNotInitialized: a remote call, Put or Get before Init.
	ErrNotInitialized = errors.New("manta: not initialized (call core.Init first)")
	// ErrShutdown: the runtime that owns the reference has shut down.
	ErrShutdown = node.ErrShutdown
	// ErrUnknownFunction: no function, actor or method of that name is
	// registered in the process that was asked to run it.
	ErrUnknownFunction = node.ErrUnknownFunction
	// ErrBadArguments: arguments do not match the registered signature.
	ErrBadArguments = node.ErrBadArguments
	// ErrInfeasible: no node can ever satisfy the resource request.
	ErrInfeasible = node.ErrInfeasible
	// ErrTaskFailed: the task returned an error or panicked.
	ErrTaskFailed = errors.New("manta: task failed")
	// ErrWorkerDied: the worker process running the task died and the task
	// had no retries left.
	ErrWorkerDied = node.ErrWorkerDied
	// ErrActorDied: the actor's process died with no restarts left, its
	// constructor failed, or it was killed.
	ErrActorDied = node.ErrActorDied
	// ErrObjectFreed: the object was released by every holder before it
	// was read (a reference forged from an ID, or read after release).
	ErrObjectFreed = node.ErrObjectFreed
	// ErrObjectLost: the object's bytes cannot be had any more (the node
	// that held its only copy died, its spill file is damaged) and nothing
	// can make it again: a Put's value, an actor's result, or a task's
	// whose lineage was evicted (with ErrLineageEvicted) or whose retries
	// are spent (with ErrRetriesExhausted). A task's result that can be
	// made again is: Get waits while its task runs again.
	ErrObjectLost = node.ErrObjectLost
	// ErrLineageEvicted: the specification of the task that made a lost
	// object was dropped to keep lineage within Config.LineageBytes, so the
	// object cannot be made again; it comes with ErrObjectLost.
	ErrLineageEvicted = node.ErrLineageEvicted
	// ErrRetriesExhausted: an object was lost and the task that made it
	// has no retries left (WithMaxRetries: the budget its worker deaths
	// spend too); it comes with ErrObjectLost.
	ErrRetriesExhausted = node.ErrRetriesExhausted
	// ErrOwnerDied: an object lost with the node that held it, whose
	// owner (the node whose task made it, or that Put it: it alone keeps
	// its lineage) left the cluster or died too, so nothing can make it
	// again; it comes with ErrObjectLost. Ray's OwnerDiedError.
	ErrOwnerDied = node.ErrOwnerDied
	// ErrStoreFull: the object store stayed full of pinned objects for
	// longer than Config.StoreWait.
	ErrStoreFull = node.ErrStoreFull
	// ErrBinaryUnavailable: a node of the cluster that runs another
	// program could not get this program's binary from the GCS function
	// table (missing, or not matching its hash), so it cannot run its
	// tasks.
	ErrBinaryUnavailable = peer.ErrProgramUnavailable
	// ErrCheckpoint: an actor's checkpoint could not be loaded (see
	// Checkpointer).
	ErrCheckpoint = node.ErrCheckpoint
	// ErrDeviceLost: a GPU the call (or actor) held was lost (it fell off
	// the bus or needs a reset; gpu.ErrLost); its worker was ended, and
	// calls that no GPU left can serve fail with ErrInfeasible.
	ErrDeviceLost = node.ErrDeviceLost
	// ErrDecode: a value could not be decoded into the requested type.
	ErrDecode = errors.New("manta: cannot decode value")
	// ErrCancelled: the call was cancelled (Cancel, or its caller's
	// context ended) before it finished. The error also wraps the
	// context's error when that is why.
	ErrCancelled = node.ErrCancelled
	// ErrInvalidArgument: an API call that cannot be carried out as asked,
	// such as Wait for more references than it was given.
	ErrInvalidArgument = errors.New("manta: invalid argument")
	// ErrNameTaken: an actor of that name is already alive.
	ErrNameTaken = node.ErrNameTaken
	// ErrNotFound: no live actor has that name (GetActor).
	ErrNotFound = node.ErrNotFound
)

// errKind is how a sentinel crosses a process boundary inside a TaskError.
type errKind uint8

const (
	kindTaskFailed errKind = iota
	kindUnknownFunction
	kindBadArguments
	kindWorkerDied
	kindActorDied
	kindInfeasible
	kindShutdown
	kindObjectFreed
	kindDecode
	kindObjectLost
	kindCancelled
	kindInvalidArgument
	kindNameTaken
	kindNotFound
	kindDeadline // ErrCancelled because a deadline passed
	kindLineageEvicted
	kindStoreFull
	kindBinaryUnavailable
	kindRetriesExhausted
	kindCheckpoint
	kindOwnerDied
	kindDeviceLost
	kindActorInfeasible // an actor no node can place
	kindActorUnknown    // an actor of a type its node's binary lacks
)

var sentinelOf = [...]error{
	kindTaskFailed:        ErrTaskFailed,
	kindUnknownFunction:   ErrUnknownFunction,
	kindBadArguments:      ErrBadArguments,
	kindWorkerDied:        ErrWorkerDied,
	kindActorDied:         ErrActorDied,
	kindInfeasible:        ErrInfeasible,
	kindShutdown:          ErrShutdown,
	kindObjectFreed:       ErrObjectFreed,
	kindDecode:            ErrDecode,
	kindObjectLost:        ErrObjectLost,
	kindCancelled:         ErrCancelled,
	kindInvalidArgument:   ErrInvalidArgument,
	kindNameTaken:         ErrNameTaken,
	kindNotFound:          ErrNotFound,
	kindDeadline:          ErrCancelled,
	kindLineageEvicted:    ErrLineageEvicted,
	kindStoreFull:         ErrStoreFull,
	kindBinaryUnavailable: ErrBinaryUnavailable,
	kindRetriesExhausted:  ErrRetriesExhausted,
	kindCheckpoint:        ErrCheckpoint,
	kindOwnerDied:         ErrOwnerDied,
	kindDeviceLost:        ErrDeviceLost,
	kindActorInfeasible:   ErrActorDied,
	kindActorUnknown:      ErrActorDied,
}

// TaskError is the error Get returns for a task that failed remotely: it
// names the function and task, carries the remote error text or panic value
// with the worker's stack, and unwraps to the matching sentinel (usually
// ErrTaskFailed).
type TaskError struct {
	Kind    errKind `cbor:"1,keyasint"`
	Func    string  `cbor:"2,keyasint"`
	Task    string  `cbor:"3,keyasint"`
	Message string  `cbor:"4,keyasint"`
	Panic   string  `cbor:"5,keyasint,omitempty"` // the panic value, if the task panicked
	Stack   string  `cbor:"6,keyasint,omitempty"` // the worker goroutine's stack at the panic
}

// Error describes the failure; for a panic, with the worker's stack.
func (e *TaskError) Error() string {
	msg := fmt.Sprintf("manta: task %s (%s) failed: %s", e.Task, e.Func, e.Message)
	if e.Panic != "" {
		msg = fmt.Sprintf("manta: task %s (%s) panicked: %s\n%s", e.Task, e.Func, e.Panic, e.Stack)
	}
	return msg
}

// Unwrap returns the sentinel for the failure's kind, and for a call
// cancelled by its deadline also context.DeadlineExceeded.
func (e *TaskError) Unwrap() []error {
	switch {
	case e.Kind == kindDeadline:
		return []error{ErrCancelled, context.DeadlineExceeded}
	case e.Kind == kindLineageEvicted:
		return []error{ErrObjectLost, ErrLineageEvicted}
	case e.Kind == kindRetriesExhausted:
		return []error{ErrObjectLost, ErrRetriesExhausted}
	case e.Kind == kindOwnerDied:
		return []error{ErrObjectLost, ErrOwnerDied}
	case e.Kind == kindActorInfeasible:
		return []error{ErrActorDied, ErrInfeasible}
	case e.Kind == kindActorUnknown:
		return []error{ErrActorDied, ErrUnknownFunction}
	case int(e.Kind) < len(sentinelOf):
		return []error{sentinelOf[e.Kind]}
	}
	return []error{ErrTaskFailed}
}

// kindOf finds the kind of a local error so it can be sent as a TaskError.
func kindOf(err error) errKind {
	var te *TaskError
	if errors.As(err, &te) {
		return te.Kind
	}
	switch {
	case errors.Is(err, ErrCancelled) && errors.Is(err, context.DeadlineExceeded):
		return kindDeadline
	case errors.Is(err, ErrLineageEvicted):
		return kindLineageEvicted
	case errors.Is(err, ErrRetriesExhausted):
		return kindRetriesExhausted
	case errors.Is(err, ErrOwnerDied):
		return kindOwnerDied
	case errors.Is(err, ErrActorDied) && errors.Is(err, ErrInfeasible):
		return kindActorInfeasible
	case errors.Is(err, ErrActorDied) && errors.Is(err, ErrUnknownFunction):
		return kindActorUnknown
	}
	for k, s := range sentinelOf {
		if errors.Is(err, s) {
			return errKind(k)
		}
	}
	return kindTaskFailed
}

// encodeError turns err into the bytes stored for a failed object.
func encodeError(err error, fn string, task fmt.Stringer) []byte {
	te, ok := err.(*TaskError)
	if !ok {
		te = &TaskError{Kind: kindOf(err), Func: fn, Task: task.String(), Message: err.Error()}
	}
	b, encErr := cbor.Marshal(te)
	if encErr != nil {
		panic(fmt.Sprintf("BUG: cannot encode a TaskError: %v", encErr))
	}
	return b
}

// errorCodec is how a node encodes the errors it stores in failed objects:
// as TaskErrors, which cross process boundaries with their sentinel.
type errorCodec struct{}

func (errorCodec) Encode(err error, name []byte, task wire.TaskID) []byte {
	return encodeError(err, string(name), task)
}

func (errorCodec) Decode(b []byte) error { return decodeError(b) }

// decodeError is encodeError's inverse; undecodable bytes still give an
// error that says so rather than a nil.
func decodeError(b []byte) error {
	var te TaskError
	if err := cbor.Unmarshal(b, &te); err != nil {
		return fmt.Errorf("%w: undecodable remote error (%v)", ErrTaskFailed, err)
	}
	return &te
}
