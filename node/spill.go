package node

import (
	"errors"
	"fmt"
	"slices"

	"manta/rpc/wire"
	"manta/shm/store"
)

// spills reports whether ready task t goes to the cluster rather than
// this node (Config.SpillQueue): one not placed here by the cluster,
// whose inputs are all made, that this node can never run; else a plain
// task with one return value when the queue is full, or an actor when
// the actors here leave no room for it. (A remote actor's calls go to its
// node from pumpActor.)
func (n *Node) spills(t *task) bool {
	if t.placed || t.parts() != nil || t.failedDep() != nil || t.cancelled() != nil {
		return false
	}
	var opts *Options
	switch t.kind {
	case wire.SubmitTask:
		opts = t.opts
	case wire.SubmitActor:
		if t.actor.opts.Unknown {
			return false // it fails here, at once
		}
		opts = &t.actor.opts
	default:
		return false
	}
	for _, c := range t.contained {
		if o := n.objects[c]; o == nil || o.state != objReady {
			return false // a reference inside an argument not made (or failed): its maker is here
		}
	}
	class, err := n.classOf(opts)
	switch {
	case err != nil:
		return errors.Is(err, ErrInfeasible)
	case t.kind == wire.SubmitActor:
		return !n.sched.ActorRoom(class)
	}
	return n.sched.Queued() >= n.cfg.SpillQueue
}

// remoteStub records a remote actor this node has a handle to but did not
// create.
func (n *Node) remoteStub(id wire.TaskID) *actor {
	a := &actor{id: id, state: actorAlive, remote: true}
	n.actors[id] = a
	return a
}

// spill hands t to Host.Spill, its inline arguments' values in place of
// their references.
func (n *Node) spill(t *task) {
	if t.kind == wire.SubmitActor {
		t.actor.remote = true
	}
	t.spilled = true
	t.attempt++
	n.args = n.args[:0]
	for _, a := range t.args {
		if a.IsRef {
			dep := n.objects[a.Ref]
			if dep.state == objPending {
				panic(fmt.Sprintf("BUG: task %v spilled before its argument %v was made", t.id, a.Ref))
			}
			if !dep.stored {
				a = wire.Arg{Data: dep.data}
			}
		}
		n.args = append(n.args, a)
	}
	spec := TaskSpec{ID: t.id, Kind: t.kind, Name: t.name, Args: n.args, Contained: t.contained, Options: t.opts, Deadline: t.deadline(),
		Attempt: t.attempt}
	switch t.kind {
	case wire.SubmitActorCall:
		spec.Actor = t.actor.id
	case wire.SubmitActor:
		spec.Checkpoint = t.actor.restoreState()
	}
	n.host.Spill(&spec)
}

// spilledTask returns the task of id if it is running elsewhere, sent
// as attempt (0: any): the answer to an earlier attempt (an actor's call
// sent again after its node died) is not this one's.
func (n *Node) spilledTask(id wire.TaskID, attempt uint32) *task {
	if t := n.tasks[id]; t != nil && t.spilled && !t.done && (attempt == 0 || t.attempt == attempt) {
		return t
	}
	return nil
}

// Spilled reports whether the task id was spilled by this node and has
// not come back: a node asked to run such a task would wait for itself.
func (n *Node) Spilled(id wire.TaskID) bool { return n.spilledTask(id, 0) != nil }

// RunHere answers Host.Spill: the cluster placed the task on this node,
// which queues it (or fails it, if it can never run here).
func (n *Node) RunHere(id wire.TaskID) {
	t := n.spilledTask(id, 0)
	if t == nil {
		return
	}
	t.spilled, t.placed = false, true
	n.ready(t)
	n.processActions()
}

// SpillDone answers Host.Spill of spec.Attempt attempt: the task ran on
// another node. Its result
// is v (inline bytes, or a stored value whose Slot.Size is its size and
// whose bytes the host pulls when the object is pinned), holding the
// references contained, or the error failed encodes (Config.Errors). It
// reports whether the node took the result: false when the task was
// cancelled or the node shut down meanwhile, and the host gives back what
// it holds of it elsewhere. An error saying that the node it ran on shut
// down (ErrShutdown) is that node's loss, as SpillFailed. A call to an
// actor that replays is taken in call order (earlyReply).
func (n *Node) SpillDone(id wire.TaskID, attempt uint32, v Value, contained []wire.ObjectID, failed []byte) bool {
	t := n.spilledTask(id, attempt)
	if t == nil {
		return false
	}
	if failed != nil && !n.closed {
		if err := n.cfg.Errors.Decode(failed); errors.Is(err, ErrShutdown) {
			// The node that ran it shut down under it (as a job node does
			// once its node is killed): it did not finish there, as when
			// that node is lost, and is not this task's own failure.
			n.SpillFailed(id, attempt, err)
			return false
		}
	}
	t.spilled = false
	a := t.actor
	if t.replay {
		n.actorCallDone(t)
		n.replayDone(t)
		n.completeEarly(a)
		n.pumpActor(a)
		n.processActions()
		return false // its result is its callers' already
	}
	if failed != nil && n.argLostElsewhere(t, failed) {
		// It could not get an argument where it ran (its copies' node
		// died, say): this node fetches them, making a lost one again,
		// and places it anew.
		n.verifyArgs(t)
		n.processActions()
		return true
	}
	switch {
	case t.kind == wire.SubmitActorCall:
		if n.holdEarly(a, t, v, contained, failed) {
			n.processActions()
			return true
		}
		if cp := t.takeEarly(); cp != nil { // its checkpoint, come just before
			n.checkpointed(a, t.id, cp.checkpoint)
		}
		n.actorCallDone(t)
		n.logCall(a, t, failed)
	case t.kind == wire.SubmitActor && failed != nil:
		err := n.cfg.Errors.Decode(failed)
		if n.restoreFailed(a, err) {
			n.ready(t) // placed anew, from the checkpoint before
		} else {
			n.actorFailed(a, restoreError(err))
		}
		n.processActions()
		return true
	}
	n.completeReply(t, v, contained, failed)
	switch {
	case t.kind == wire.SubmitActor && a.state == actorPending:
		a.state = actorAlive
		n.pumpActor(a)
	case t.kind == wire.SubmitActorCall:
		n.completeEarly(a)
		n.pumpActor(a) // room in its window
	}
	n.processActions()
	return true
}

// earlyReply is the reply to a call to a remote actor that logs its calls
// (Options.Replay) and runs one at a time, come while a call sent before
// it to the same instance is still out: each call has its own request, and their replies come in
// any order. It is taken in call order, once the calls before are done
// (completeEarly), so that the log and the restore points hold only calls
// that ran after every call logged before them. Taken at once, the
// instance's death could lose the earlier call's reply: a restart would
// run that call again after the later one it logged (or on top of a
// checkpoint that has it), on the wrong state.
type earlyReply struct {
	checkpoint []byte // the state saved after the call, if it carried one
	done       bool   // the reply itself came (not just its checkpoint)
	v          Value
	contained  []wire.ObjectID // held by the node until the reply is taken
	failed     []byte
}

// waitsForEarlier reports whether t, a call to remote actor a, must wait
// for calls sent before it to a's instance (earlyReply). Only an actor
// that runs one call at a time waits: there a later call's reply means
// the earlier ones ran and their replies are on their way, while calls
// that run at once finish in any order, and a quick one would wait for a
// slow one.
func waitsForEarlier(a *actor, t *task) bool {
	if !a.remote || a.log == nil || a.opts.MaxConcurrency > 1 || !slices.Contains(a.inflight, t) {
		return false
	}
	first := firstOut(a)
	return first != nil && first != t
}

// firstOut is the first of a's calls out, nil if none: each awaits its
// reply (a call cancelled while out is out no longer).
func firstOut(a *actor) *task {
	if len(a.inflight) == 0 {
		return nil
	}
	return a.inflight[0]
}

// holdEarly keeps t's reply for later if t waits for earlier calls, and
// reports whether it did.
func (n *Node) holdEarly(a *actor, t *task, v Value, contained []wire.ObjectID, failed []byte) bool {
	if !waitsForEarlier(a, t) {
		return false
	}
	e := t.more()
	if e.early == nil {
		e.early = &earlyReply{}
	}
	r := e.early
	r.done, r.failed, r.contained = true, slices.Clone(failed), slices.Clone(contained)
	r.v = v
	r.v.Data = slices.Clone(v.Data)
	for _, id := range contained {
		n.Hold(id)
	}
	return true
}

// takeEarly removes and returns t's kept reply, if any.
func (t *task) takeEarly() *earlyReply {
	if t.ext == nil || t.ext.early == nil {
		return nil
	}
	r := t.ext.early
	t.ext.early = nil
	return r
}

// completeEarly takes the kept replies of a's calls now first among those
// out, in call order.
func (n *Node) completeEarly(a *actor) {
	for {
		t := firstOut(a)
		if t == nil || t.ext == nil || t.ext.early == nil || !t.ext.early.done {
			return
		}
		r := t.takeEarly()
		if r.checkpoint != nil {
			n.checkpointed(a, t.id, r.checkpoint)
		}
		n.actorCallDone(t)
		n.logCall(a, t, r.failed)
		n.takeKept(t, r)
	}
}

// takeKept completes t with its kept reply r and lets go of r's holds.
func (n *Node) takeKept(t *task, r *earlyReply) {
	n.completeReply(t, r.v, r.contained, r.failed)
	n.dropKept(r)
}

// completeReply completes t with a reply from another node: its value
// and the references it holds, or its encoded error.
func (n *Node) completeReply(t *task, v Value, contained []wire.ObjectID, failed []byte) {
	if failed != nil {
		n.complete(t, nil, nil, failed)
		return
	}
	n.complete(t, &v, contained, nil)
}

// dropEarly lets go of t's kept reply, if any: t runs again, or its
// result is no one's.
func (n *Node) dropEarly(t *task) {
	if r := t.takeEarly(); r != nil {
		n.dropKept(r)
	}
}

// dropKept lets go of what kept reply r holds.
func (n *Node) dropKept(r *earlyReply) {
	for _, id := range r.contained {
		n.drop(id)
	}
}

// CallCheckpointed records, before SpillDone of the call id's attempt,
// the state its actor's node saved once it ran (RunReply.Checkpoint): a
// restart on another node restores it.
func (n *Node) CallCheckpointed(id wire.TaskID, attempt uint32, state []byte) {
	t := n.spilledTask(id, attempt)
	switch {
	case t == nil || t.actor == nil || t.replay:
	case waitsForEarlier(t.actor, t):
		t.more().early = &earlyReply{checkpoint: slices.Clone(state)} // its reply follows
	default:
		n.checkpointed(t.actor, id, slices.Clone(state))
	}
}

// CheckpointAfter returns the state actor saved once its call ran, if
// that is one of its restore points: what the call's reply carries to the
// actor's owner.
func (n *Node) CheckpointAfter(actor, call wire.TaskID) []byte {
	a := n.actors[actor]
	if a == nil || a.log == nil {
		return nil
	}
	for _, p := range a.log.points {
		if p.call == call {
			return p.state
		}
	}
	return nil
}

// argLostElsewhere reports whether spilled t, which failed with failed,
// should be placed anew after its arguments are fetched here: the
// failure is a lost object and t may run again, a task spending a retry,
// an actor's creation (run again for a restart) a restart.
func (n *Node) argLostElsewhere(t *task, failed []byte) bool {
	if n.closed || !errors.Is(n.cfg.Errors.Decode(failed), ErrObjectLost) {
		return false
	}
	switch {
	case t.kind == wire.SubmitTask && t.retriesLeft > 0:
		t.retriesLeft--
		return true
	case t.kind == wire.SubmitActor && t.actor.restartsLeft > 0:
		t.actor.restartsLeft--
		return true
	}
	return false
}

// SpillFailed answers Host.Spill: the node it was sent to died or could
// not be reached. The task is spilled or queued again while it has
// retries left, as if its worker had died: once its arguments are here
// again (verifyArgs), for while it was away an argument may have been
// lost and be in the making again, or have had its only copy on the
// node that died.
func (n *Node) SpillFailed(id wire.TaskID, attempt uint32, cause error) {
	t := n.spilledTask(id, attempt)
	if t == nil {
		return
	}
	t.spilled = false
	switch {
	case t.kind != wire.SubmitTask:
		// An actor and its calls live where it was placed: that node is
		// gone, and with it the actor's state.
		n.remoteActorLost(t.actor, cause)
	case t.retriesLeft > 0 && !n.closed:
		t.retriesLeft--
		n.verifyArgs(t)
	default:
		n.finish(t, nil, nil, fmt.Errorf("%s after %d attempts: %w", t.name, t.attempt, cause))
	}
	n.processActions()
}

// Failure is a failed object's encoded error (Config.Errors), nil for
// any other.
func (o *Object) Failure() []byte {
	if o.state != objFailed {
		return nil
	}
	return o.data
}

// Contained lists the references held inside o's value; the node owns
// the slice.
func (o *Object) Contained() []wire.ObjectID { return o.contained }

// PutRemote records an object whose value is stored on another node,
// size bytes, held once: the argument of a task the cluster placed here.
// Pinning it (Host.Pin) must first pull its bytes into this node's store;
// the host knows from where. An object the node has already takes one
// more hold instead.
func (n *Node) PutRemote(id wire.ObjectID, size int64) *Object {
	if o := n.objects[id]; o != nil {
		n.holdAgain(o)
		return o
	}
	o := n.Put(id, Value{Stored: true, Slot: store.Slot{Size: size}}, nil)
	o.borrowed = true
	return o
}
