package core

import (
	"context"
	"fmt"
	"os"
	"slices"

	"manta/rpc/wire"
)

// Checkpointer is implemented by the state type (its pointer) of an actor
// that saves checkpoints (WithCheckpointEvery, Checkpoint). After a
// restart the new instance is constructed, loads the last checkpoint, and
// runs again the calls made since (ActorOptions.Replay).
//
// SaveCheckpoint runs in the actor's process after a call returned and
// before the next one starts (with MaxConcurrency > 1, beside the calls
// still running: it must synchronize with them). LoadCheckpoint runs
// once, after the constructor, before any call; state is its own. An
// error from LoadCheckpoint (a checkpoint that does not decode) makes the
// node restart the actor from the checkpoint before, replaying the calls
// since; the error is logged by the worker and counted in the node's
// Stats.CheckpointsRejected.
type Checkpointer interface {
	SaveCheckpoint() ([]byte, error)
	LoadCheckpoint(state []byte) error
}

// Checkpoint asks, from inside a method call of an actor that replays,
// for the actor's state to be saved once the call returns: a restart then
// replays only the calls after it. ctx is the call's context.
func Checkpoint(ctx context.Context) error {
	run := runningOf(ctx)
	if run == nil || run.info.Actor.IsZero() {
		return fmt.Errorf("%w: Checkpoint outside an actor's method call", ErrInvalidArgument)
	}
	w := run.w
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.checkpointer == nil {
		return fmt.Errorf("%w: actor state %T does not implement core.Checkpointer", ErrInvalidArgument, w.instance)
	}
	run.checkpoint = true
	return nil
}

// restoreActor loads state into the instance just constructed for m, an
// actor's creation: its checkpoint to restore, if any (m.Data).
func restoreActor(inst any, m *wire.Msg) error {
	cp, ok := inst.(Checkpointer)
	switch {
	case !ok && m.CheckpointEvery > 0:
		return fmt.Errorf("%w: actor %s saves checkpoints, but its state %T does not implement core.Checkpointer", ErrBadArguments, m.Name, inst)
	case len(m.Data) == 0:
		return nil
	case !ok:
		return fmt.Errorf("%w: actor %s has a checkpoint to load, but its state %T does not implement core.Checkpointer", ErrCheckpoint, m.Name, inst)
	}
	if err := cp.LoadCheckpoint(slices.Clone(m.Data)); err != nil {
		fmt.Fprintf(os.Stderr, "manta: actor %v (%s): its checkpoint does not load (its node restarts it from the one before): %v\n", m.Task, m.Name, err)
		return fmt.Errorf("%w: actor %s could not load its checkpoint: %w", ErrCheckpoint, m.Name, err)
	}
	return nil
}

// checkpointDue reports whether the actor's state is saved after call
// run: every w.checkpointEvery calls, or when the call asked. Under w.mu.
func (w *workerProc) checkpointDue(run *running) bool {
	w.sinceCheckpoint++
	if run.checkpoint || (w.checkpointEvery > 0 && w.sinceCheckpoint >= w.checkpointEvery) {
		w.sinceCheckpoint = 0
		return true
	}
	return false
}

// saveCheckpoint sends the actor's state, saved once call task returned,
// to the node (before the call's Done). A failed save is logged; the
// actor keeps its last checkpoint.
func (w *workerProc) saveCheckpoint(task wire.TaskID, name []byte) {
	state, err := w.checkpointer.SaveCheckpoint()
	if err != nil {
		fmt.Fprintf(os.Stderr, "manta: actor call %v (%s): saving a checkpoint: %v\n", task, name, err)
		return
	}
	w.send(&wire.Msg{Kind: wire.KindCheckpoint, Task: task, Data: state})
}
