package node

import (
	"errors"

	"manta/rpc/wire"
)

// Sentinel errors of a node. Package core exports the same values, so a
// user tests the errors Get returns with errors.Is against either.
var (
	// ErrShutdown: the node shut down.
	ErrShutdown = errors.New("manta: runtime shut down")
	// ErrUnknownFunction: no function, actor or method of that name is
	// registered in the process that was asked to run it.
	ErrUnknownFunction = errors.New("manta: unknown function")
	// ErrBadArguments: arguments (or results) do not match the registered
	// signature.
	ErrBadArguments = errors.New("manta: arguments do not match the registered signature")
	// ErrInfeasible: no node can ever satisfy the resource request.
	ErrInfeasible = errors.New("manta: infeasible resource request")
	// ErrWorkerDied: the worker process running the task died and the task
	// had no retries left.
	ErrWorkerDied = errors.New("manta: worker died")
	// ErrActorDied: the actor's process died with no restarts left, its
	// constructor failed, or it was killed.
	ErrActorDied = errors.New("manta: actor died")
	// ErrActorUnreachable: a handle's calls could not reach the actor
	// on the node the actor table named, and the table named no other
	// in time (its owner did not restart it elsewhere). It comes with
	// ErrActorDied.
	ErrActorUnreachable = errors.New("manta: the actor cannot be reached")
	// ErrObjectFreed: the object was released by every holder before it
	// was read.
	ErrObjectFreed = errors.New("manta: object freed or unknown")
	// ErrObjectLost: the object's bytes cannot be had any more (the node
	// holding its only copy died, its spill file is damaged) and nothing
	// can make it again: a Put's value, an actor's result, or a task's
	// whose lineage is gone (then ErrLineageEvicted too) or whose retries
	// are spent (then ErrRetriesExhausted too). A task's result that can be
	// made again is: its task runs again, and the reader waits for it.
	ErrObjectLost = errors.New("manta: object lost")
	// ErrStoreFull: the object store stayed full of pinned objects for
	// longer than its wait allows, so a value could not be stored or read
	// back from disk.
	ErrStoreFull = errors.New("manta: object store full")
	// ErrCancelled: the call was cancelled before it finished.
	ErrCancelled = errors.New("manta: cancelled")
	// ErrNameTaken: an actor of that name is already alive.
	ErrNameTaken = errors.New("manta: actor name taken")
	// ErrNotFound: no live actor has that name.
	ErrNotFound = errors.New("manta: no such actor")
	// ErrOwnerDied: an object's owner, the node that made it (and alone
	// keeps its lineage), died, and its value cannot be had from any
	// other: nothing can make it again (Ray's OwnerDiedError). It comes
	// with ErrObjectLost.
	ErrOwnerDied = errors.New("manta: the object's owner died")
	// ErrCheckpoint: an actor's saved state could not be restored (or
	// saved); its node restarts it from the checkpoint before, replaying
	// the calls since.
	ErrCheckpoint = errors.New("manta: actor checkpoint")
	// ErrDeviceLost: a GPU the call (or actor) held was lost, fell off the
	// bus or needs a reset; its worker process was ended with it.
	ErrDeviceLost = errors.New("manta: GPU lost")
	// ErrLineageEvicted: the specification of the task that made an object
	// was dropped to keep lineage within Config.LineageBytes, so the
	// object cannot be made again if it is lost.
	ErrLineageEvicted = errors.New("manta: lineage evicted")
	// ErrRetriesExhausted: an object was lost and the task that made it
	// has used up its retries (the same budget as its worker deaths), so
	// it is not run again (Ray's ObjectReconstructionFailedMaxAttempts).
	ErrRetriesExhausted = errors.New("manta: retries exhausted")
)

// ErrorCodec turns errors into the bytes a failed object holds (and workers
// receive) and back; package core provides it, with its TaskError.
type ErrorCodec interface {
	// Encode describes err as the error of task (named name).
	Encode(err error, name []byte, task wire.TaskID) []byte
	// Decode returns the error b describes; undecodable bytes give an
	// error that says so.
	Decode(b []byte) error
}
