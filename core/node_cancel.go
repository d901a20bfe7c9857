package core

import (
	"fmt"
	"slices"

	"manta/rpc/wire"
)

// cancelLocked cancels the call of task id, if it has not finished.
func (n *node) cancelLocked(id wire.TaskID, cause error) {
	if t := n.tasks[id]; t != nil {
		n.cancelTask(t, cause)
	}
}

// cancelTask drops t if it has not started, or has its worker cancel its
// context; its result becomes an error wrapping ErrCancelled either way.
// Calls t submitted with its context are cancelled with it. Actor
// creations are left alone (Kill ends actors).
func (n *node) cancelTask(t *task, cause error) {
	if t.done || t.cancelled() != nil || t.kind == wire.SubmitActor {
		return
	}
	e := t.more()
	e.cancelled = fmt.Errorf("%s: %w", t.name, cause)
	children := e.children
	e.children = nil
	switch {
	case t.worker != nil:
		// Sent: the worker may be running it, or have it queued. Its
		// result is an error from now on; its Done, whatever it carries,
		// retires it.
		t.worker.sendControl(&wire.Msg{Kind: wire.KindCancel, Task: t.id})
		n.resolveResult(t, nil, nil, e.cancelled)
	case t.actor != nil:
		if i := slices.Index(t.actor.queue, t); i >= 0 {
			t.actor.queue = slices.Delete(t.actor.queue, i, i+1)
		}
		n.finish(t, nil, e.cancelled)
		n.pumpActor(t.actor) // the call behind it may go now
	case t.pending > 0:
		// Waiting for arguments (or their pins): never started.
		n.finish(t, nil, e.cancelled)
	case n.sched.Cancel(t.ref):
		n.finish(t, nil, e.cancelled)
	}
	for _, c := range children {
		n.cancelTask(c, cause)
	}
	n.processActions()
}
