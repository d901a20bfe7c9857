package node

import (
	"manta/rpc/wire"
	"manta/shm/store"
)

// pinArgs pins t's stored arguments for as long as t lives (it may be
// retried on another worker), counting the pinning as one more dependency;
// it reports whether t must wait for it.
func (n *Node) pinArgs(t *task) bool {
	if t.failedDep() != nil || t.pinned {
		return false
	}
	if !n.pinStoredArgs(t) {
		t.pinned = true
		return false
	}
	return true
}

// pinStoredArgs asks the host to pin t's stored arguments, each one more
// dependency of t, and reports whether there were any.
func (n *Node) pinStoredArgs(t *task) bool {
	first := n.nextPin + 1
	for _, a := range t.args {
		if !a.IsRef {
			continue // no look-up for an inline argument: this is every task's path
		}
		if o := n.objects[a.Ref]; o != nil && o.stored {
			n.nextPin++
			n.pins[n.nextPin] = pinRequest{task: t, arg: a.Ref}
			t.pending++
		}
	}
	for tok := first; tok <= n.nextPin; tok++ {
		n.host.Pin(n.pins[tok].arg, tok)
	}
	return n.nextPin >= first
}

// argPinned records one pinned argument of t (not pinned: failed with
// err, or made again inline).
func (n *Node) argPinned(t *task, id wire.ObjectID, slot store.Slot, err error, pinned bool) {
	switch {
	case err != nil:
		if t.failedDep() == nil {
			t.depFailed(n.cfg.Errors.Encode(err, t.name, t.id))
		}
	case !pinned:
	case t.done:
		n.host.Unpin(id)
	default:
		t.more().pins = append(t.ext.pins, id)
		if o := n.objects[id]; o != nil {
			o.slot = slot
		}
	}
	if t.pending--; t.pending == 0 && !t.done {
		if !t.verifying { // verifying, ready gives the pins back and places it anew
			t.pinned = true
		}
		n.ready(t)
	}
}

// verifyArgs pins t's stored arguments on this node, which pulls each
// from a node that holds it and makes one that is lost again, and waits
// for those being made again meanwhile; then ready gives the pins back
// and places t anew: a task that another node could not run because an
// argument was lost there.
func (n *Node) verifyArgs(t *task) {
	t.verifying = true
	for _, a := range t.args {
		if !a.IsRef {
			continue
		}
		if o := n.objects[a.Ref]; o != nil && o.state == objPending {
			t.pending++
			o.dependents = append(o.dependents, t)
		}
	}
	n.pinStoredArgs(t)
	if t.pending == 0 {
		n.ready(t)
	}
}

// unpinArgs releases the pins taken on t's stored arguments.
func (n *Node) unpinArgs(t *task) {
	if t.ext == nil {
		return
	}
	for _, id := range t.ext.pins {
		n.host.Unpin(id)
	}
	t.ext.pins = nil
}
