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
	var toks []PinToken
	for _, a := range t.args {
		if !a.IsRef {
			continue
		}
		if o := n.objects[a.Ref]; o != nil && o.stored {
			n.nextPin++
			n.pins[n.nextPin] = pinRequest{task: t, arg: a.Ref}
			toks = append(toks, n.nextPin)
		}
	}
	if len(toks) == 0 {
		t.pinned = true
		return false
	}
	t.pending += int32(len(toks))
	for _, tok := range toks {
		n.host.Pin(n.pins[tok].arg, tok)
	}
	return true
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
		t.pinned = true
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
