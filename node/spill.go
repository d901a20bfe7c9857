package node

import (
	"errors"
	"fmt"

	"manta/rpc/wire"
	"manta/shm/store"
)

// spills reports whether ready task t goes to the cluster rather than the
// local queue (Config.SpillQueue): a plain task with one return value,
// not placed here by the cluster, whose inputs are all made, when this
// node can never run it or its queue is full.
func (n *Node) spills(t *task) bool {
	if t.placed || t.kind != wire.SubmitTask || t.parts() != nil || t.failedDep() != nil || t.cancelled() != nil {
		return false
	}
	for _, c := range t.contained {
		if o := n.objects[c]; o == nil || o.state == objPending {
			return false // a reference inside an argument not made yet: its maker is here
		}
	}
	if _, err := n.classOf(t.opts); err != nil {
		return errors.Is(err, ErrInfeasible)
	}
	return n.sched.Queued() >= n.cfg.SpillQueue
}

// spill hands t to Host.Spill, its inline arguments' values in place of
// their references.
func (n *Node) spill(t *task) {
	t.spilled = true
	t.attempt++
	n.args = n.args[:0]
	for _, a := range t.args {
		if a.IsRef {
			if dep := n.objects[a.Ref]; !dep.stored {
				a = wire.Arg{Data: dep.data}
			}
		}
		n.args = append(n.args, a)
	}
	spec := TaskSpec{ID: t.id, Kind: t.kind, Name: t.name, Args: n.args, Contained: t.contained, Options: t.opts, Deadline: t.deadline()}
	n.host.Spill(&spec)
}

// spilledTask returns the task of id if it is running elsewhere.
func (n *Node) spilledTask(id wire.TaskID) *task {
	if t := n.tasks[id]; t != nil && t.spilled && !t.done {
		return t
	}
	return nil
}

// Spilled reports whether the task id was spilled by this node and has
// not come back: a node asked to run such a task would wait for itself.
func (n *Node) Spilled(id wire.TaskID) bool { return n.spilledTask(id) != nil }

// RunHere answers Host.Spill: the cluster placed the task on this node,
// which queues it (or fails it, if it can never run here).
func (n *Node) RunHere(id wire.TaskID) {
	t := n.spilledTask(id)
	if t == nil {
		return
	}
	t.spilled, t.placed = false, true
	n.ready(t)
	n.processActions()
}

// SpillDone answers Host.Spill: the task ran on another node. Its result
// is v (inline bytes, or a stored value whose Slot.Size is its size and
// whose bytes the host pulls when the object is pinned), holding the
// references contained, or the error failed encodes (Config.Errors). It
// reports whether the node took the result: false when the task was
// cancelled or the node shut down meanwhile, and the host gives back what
// it holds of it elsewhere.
func (n *Node) SpillDone(id wire.TaskID, v Value, contained []wire.ObjectID, failed []byte) bool {
	t := n.spilledTask(id)
	if t == nil {
		return false
	}
	t.spilled = false
	if failed != nil {
		n.complete(t, nil, nil, failed)
	} else {
		n.complete(t, &v, contained, nil)
	}
	n.processActions()
	return true
}

// SpillFailed answers Host.Spill: the node it was sent to died or could
// not be reached. The task is spilled or queued again while it has
// retries left, as if its worker had died.
func (n *Node) SpillFailed(id wire.TaskID, cause error) {
	t := n.spilledTask(id)
	if t == nil {
		return
	}
	t.spilled = false
	if t.retriesLeft > 0 && !n.closed {
		t.retriesLeft--
		n.ready(t)
	} else {
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
		o.refs++
		return o
	}
	return n.Put(id, Value{Stored: true, Slot: store.Slot{Size: size}}, nil)
}
