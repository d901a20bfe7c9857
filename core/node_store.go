package core

import (
	"context"
	"errors"
	"fmt"

	"manta/rpc/wire"
	"manta/shm/store"
)

// The object store's Create and Pin may read spill files or wait for
// memory, and what frees memory (Unpin, Delete) runs under n.mu: so the node
// never calls them under n.mu. It runs them in a goroutine and comes back
// under the lock; n.storeCalls lets Shutdown wait for those goroutines.

// pinInBackground pins ids off the lock, then calls then under n.mu with
// each one's slot or error, and carries out the scheduler's actions.
func (n *node) pinInBackground(ids []wire.ObjectID, then func(slots []store.Slot, errs []error)) {
	n.storeCalls.Add(1)
	go func() {
		defer n.storeCalls.Done()
		slots, errs := n.pinAll(ids)
		n.mu.Lock()
		defer n.mu.Unlock()
		then(slots, errs)
		n.processActions()
	}()
}

// pinAll pins each of ids; called without n.mu.
func (n *node) pinAll(ids []wire.ObjectID) ([]store.Slot, []error) {
	slots, errs := make([]store.Slot, len(ids)), make([]error, len(ids))
	for i, id := range ids {
		var err error
		if slots[i], err = n.objs.st.Pin(context.Background(), storeID(id)); err != nil {
			errs[i] = n.pinError(id, err)
		}
	}
	return slots, errs
}

// pinError says why a stored object could not be pinned: freed meanwhile,
// the node shut down, or its bytes are lost.
func (n *node) pinError(id wire.ObjectID, err error) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("%v: %w: %v", id, ErrObjectFreed, err)
	case errors.Is(err, store.ErrClosed):
		return fmt.Errorf("%v: %w", id, ErrShutdown)
	}
	return fmt.Errorf("%v: %w: %v", id, ErrObjectLost, err)
}

// storedArgs lists t's reference arguments that live in the object store.
func (n *node) storedArgs(t *task) []wire.ObjectID {
	var ids []wire.ObjectID
	for _, a := range t.args {
		if a.IsRef {
			if o := n.objects[a.Ref]; o != nil && o.stored {
				ids = append(ids, a.Ref)
			}
		}
	}
	return ids
}

// pinArgs pins t's stored arguments for as long as t lives (it may be
// retried on another worker), counting the pinning as one more dependency;
// it reports whether t must wait for it.
func (n *node) pinArgs(t *task) bool {
	if t.depErr != nil || t.pinned {
		return false
	}
	ids := n.storedArgs(t)
	if len(ids) == 0 {
		return false
	}
	t.pending++
	n.pinInBackground(ids, func(slots []store.Slot, errs []error) {
		t.pinned = true
		for i, id := range ids {
			if errs[i] != nil {
				if t.depErr == nil {
					t.depErr = errs[i]
				}
				continue
			}
			if t.done {
				n.objs.st.Unpin(storeID(id))
				continue
			}
			t.more().pins = append(t.ext.pins, id)
			n.objects[id].slot = slots[i]
		}
		if t.pending--; t.pending == 0 && !t.done {
			n.ready(t)
		}
	})
	return true
}

// replyStored answers a worker's Get whose objects include stored ones:
// each is pinned once per worker, until the worker drops its hold.
func (n *node) replyStored(w *waiter) {
	var need []wire.ObjectID
	for _, id := range w.ids {
		if o := n.objects[id]; o != nil && o.stored && o.state == objReady && w.conn.pins[id] == 0 {
			need = append(need, id)
		}
	}
	if len(need) == 0 {
		n.sendGetReply(w)
		return
	}
	n.pinInBackground(need, func(slots []store.Slot, errs []error) {
		c := w.conn
		for i, id := range need {
			switch {
			case errs[i] != nil:
				if o := n.objects[id]; o != nil {
					o.lostErr = errs[i]
				}
			case c.dead || c.pins[id] > 0:
				n.objs.st.Unpin(storeID(id))
			default:
				c.pins[id] = 1
				n.objects[id].slot = slots[i]
			}
		}
		if !c.dead {
			n.sendGetReply(w)
		}
	})
}

func (n *node) sendGetReply(w *waiter) {
	results := make([]wire.Result, len(w.ids))
	for i, id := range w.ids {
		o := n.objects[id]
		if o != nil && o.stored && o.state == objReady && w.conn.pins[id] > 0 {
			results[i] = wire.Result{Stored: true, Slot: toSlot(o.slot)}
			continue
		}
		results[i] = n.resultOf(id)
	}
	w.conn.send(&wire.Msg{Kind: wire.KindGetReply, ReqID: w.reqID, Results: results})
}

// createForWorker allocates an object a worker will write (a large Put or
// result), off the lock; the worker seals it by sending the Put or Done.
func (n *node) createForWorker(c *workerConn, m *wire.Msg) {
	id, size, req := m.Object, int64(m.Slot.Size), m.ReqID
	n.storeCalls.Add(1)
	go func() {
		defer n.storeCalls.Done()
		n.objs.collect(size)
		slot, err := n.objs.st.Create(context.Background(), storeID(id), size)
		n.mu.Lock()
		defer n.mu.Unlock()
		if err == nil && c.dead {
			n.objs.st.Abort(storeID(id))
			return
		}
		reply := wire.Msg{Kind: wire.KindCreateReply, ReqID: req, Slot: toSlot(slot)}
		if err != nil {
			reply.Status, reply.Data = wire.StatusError, encodeError(fmt.Errorf("cannot store %v: %w", id, err), "", id.Task)
		} else {
			c.creating[id] = slot
		}
		c.send(&reply)
	}()
}

// sealFromWorker seals an object a worker finished writing and returns
// where it is; false if the worker was never granted it.
func (n *node) sealFromWorker(c *workerConn, id wire.ObjectID) (store.Slot, error, bool) {
	slot, ok := c.creating[id]
	if !ok {
		return slot, nil, false
	}
	delete(c.creating, id)
	return slot, n.objs.st.Seal(storeID(id)), true
}

// putStoredLocked records a sealed stored object, held once by its maker.
func (n *node) putStoredLocked(id wire.ObjectID, slot store.Slot, contained []wire.ObjectID) *object {
	o := &object{id: id, refs: 1, stored: true, slot: slot}
	n.objects[id] = o
	n.resolve(o, objReady, nil, contained)
	return o
}

// releaseWorkerStore undoes what a dead worker had in the store: objects it
// was writing are aborted, pins taken for it released. Only after the
// process is gone, so it cannot write into reused memory.
func (n *node) releaseWorkerStore(c *workerConn) {
	for id := range c.creating {
		n.objs.st.Abort(storeID(id))
	}
	for id := range c.pins {
		n.objs.st.Unpin(storeID(id))
	}
	c.creating, c.pins = nil, nil
}
