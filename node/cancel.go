package node

import (
	"fmt"
	"slices"

	"manta/rpc/wire"
)

// Cancel cancels the call of task id, if it has not finished: a call not
// started is dropped, a running one has its worker cancel its context.
// Its result becomes an error wrapping ErrCancelled (and cause) either
// way, and calls it submitted with its context are cancelled with it.
// Actor creations are left alone (KillActor ends actors).
func (n *Node) Cancel(id wire.TaskID, cause error) {
	if t := n.tasks[id]; t != nil {
		n.cancelTask(t, cause)
		n.processActions()
	}
}

func (n *Node) cancelTask(t *task, cause error) {
	if t.done || t.cancelled() != nil || t.kind == wire.SubmitActor {
		return
	}
	e := t.more()
	e.cancelled = cause
	err := fmt.Errorf("%s: %w", t.name, cause)
	children := e.children
	e.children = nil
	if t.spilled {
		n.host.CancelSpilled(t.id) // where it runs, it stops too
	}
	switch {
	case t.proc != nil:
		// Sent: the worker may be running it, or have it queued. Its result
		// is an error from now on; its Done, whatever it carries, retires it.
		n.host.SendControl(t.proc.id, &wire.Msg{Kind: wire.KindCancel, Task: t.id})
		n.resolveResult(t, nil, nil, n.cfg.Errors.Encode(err, t.name, t.id))
	case t.actor != nil:
		if i := slices.Index(t.actor.queue, t); i >= 0 {
			t.actor.queue = slices.Delete(t.actor.queue, i, i+1)
		}
		n.actorCallDone(t) // sent to a remote actor: no longer out, nor in its window
		n.dropEarly(t)     // its reply, if kept, is not taken
		n.finish(t, nil, nil, err)
		n.completeEarly(t.actor) // replies kept behind it are taken now
		n.pumpActor(t.actor)     // the call behind it may go now
	case t.pending > 0 || t.class == 0:
		// Waiting for arguments (or their pins), or not queued yet: never
		// started.
		n.finish(t, nil, nil, err)
	case n.sched.Cancel(t.ref):
		n.finish(t, nil, nil, err)
	}
	for _, c := range children {
		n.cancelTask(c, cause)
	}
}
