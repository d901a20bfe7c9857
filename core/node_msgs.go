package core

import (
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/fxamacker/cbor/v2"

	"manta/rpc/wire"
	"manta/sched"
)

// handle applies one message from worker c; called under n.mu. Byte fields
// of m alias the ring buffer, so whatever is kept is copied.
func (n *node) handle(c *workerConn, m *wire.Msg) {
	switch m.Kind {
	case wire.KindDone:
		t := n.tasks[m.Task]
		if t == nil || t.worker != c {
			return // stale: the task was retried elsewhere or failed already
		}
		if t.kind == wire.SubmitActorCall {
			n.actorCallDone(t)
		} else {
			n.sched.TaskDone(t.slot, t.ref)
		}
		n.taskDone(c, t, m)
		n.processActions()
	case wire.KindSubmit:
		if n.closed {
			return
		}
		opts, err := n.decodeOptions(m.Opts)
		if err != nil {
			log.Printf("manta: worker %d sent bad call options (%v); killing it", c.id, err)
			c.kill()
			return
		}
		spec := taskSpec{id: m.Task, kind: m.Submit, name: bytesClone(m.Name), actor: m.Actor, args: cloneArgs(m.Args),
			contained: append([]wire.ObjectID(nil), m.IDs...), opts: opts, returns: int(m.Returns), parent: m.Parent, deadline: m.Deadline}
		n.submitLocked(&spec)
		c.borrows[wire.ReturnID(m.Task)]++
	case wire.KindGet:
		w := &waiter{conn: c, reqID: m.ReqID, ids: append([]wire.ObjectID(nil), m.IDs...)}
		if w.need = n.awaitLocked(w, w.ids); w.need == 0 || n.closed {
			n.fire(w)
		}
	case wire.KindWait:
		w := &waiter{conn: c, reqID: m.ReqID, ids: append([]wire.ObjectID(nil), m.IDs...), wait: true}
		ready := len(n.readyIndexes(w.ids))
		if ready >= int(m.K) || n.closed {
			n.fire(w)
			return
		}
		n.awaitLocked(w, w.ids)
		w.need = int(m.K) - ready
		if m.TimeoutNanos > 0 {
			w.timer = time.AfterFunc(time.Duration(m.TimeoutNanos), func() {
				n.mu.Lock()
				if !w.fired {
					n.fire(w)
				}
				n.mu.Unlock()
			})
		}
	case wire.KindPut:
		if !m.Stored {
			n.putLocked(m.Object, bytesClone(m.Data), m.IDs)
		} else if slot, err, granted := n.sealFromWorker(c, m.Object); !granted || err != nil {
			log.Printf("manta: worker %d cannot seal %v (granted %v, %v); killing it", c.id, m.Object, granted, err)
			c.kill()
			return
		} else {
			n.putStoredLocked(m.Object, slot, m.IDs)
		}
		c.borrows[m.Object]++
	case wire.KindCreate:
		n.createForWorker(c, m)
	case wire.KindBlocked, wire.KindUnblocked:
		slot := sched.WorkerID(m.Worker)
		if n.pool.conns[slot] != c {
			return // a slot that ended, or another process's
		}
		if m.Kind == wire.KindBlocked {
			n.sched.Blocked(slot)
		} else {
			n.sched.Unblocked(slot)
		}
		n.processActions()
	case wire.KindCancel:
		n.cancelLocked(m.Task, ErrCancelled)
	case wire.KindKillActor:
		if a := n.actors[m.Actor]; a != nil {
			n.killActorLocked(a, errors.New("killed"))
		}
	case wire.KindLookupActor:
		reply := wire.Msg{Kind: wire.KindLookupReply, ReqID: m.ReqID}
		if a, err := n.lookupActorLocked(string(m.Name)); err != nil {
			reply.Status, reply.Data = wire.StatusError, encodeError(err, "GetActor", wire.TaskID{})
		} else {
			reply.Task, reply.Name = a.id, a.create.name
		}
		c.send(&reply)
	case wire.KindAddRef:
		for _, id := range m.IDs {
			n.hold(id)
			c.borrows[id]++
		}
	case wire.KindDelRef:
		for _, id := range m.IDs {
			if c.borrows[id] <= 0 {
				continue
			}
			if c.borrows[id]--; c.borrows[id] == 0 {
				delete(c.borrows, id)
				if c.pins[id] > 0 {
					n.objs.st.Unpin(storeID(id))
					delete(c.pins, id)
				}
			}
			n.drop(id)
		}
	case wire.KindActorReady:
		n.onActorReady(c, m)
	default:
		log.Printf("manta: worker %d sent %v, which workers do not send; killing it", c.id, m.Kind)
		c.kill()
	}
}

// taskDone records what a worker reported for t: its value (or values),
// or its error; a cancelled task's result is dropped.
func (n *node) taskDone(c *workerConn, t *task, m *wire.Msg) {
	var dropErr error
	if m.Status == wire.StatusOK {
		var ok bool
		if ok, dropErr = n.sealResults(c, t, m); !ok {
			return // the worker was killed
		}
		if err := t.cancelled(); err != nil {
			dropErr = err
		}
		if dropErr != nil {
			n.deleteResults(t, m)
		}
	}
	switch {
	case t.cancelled() != nil:
		n.finish(t, nil, t.cancelled())
	case dropErr != nil:
		n.finish(t, nil, dropErr)
	case m.Status != wire.StatusOK:
		n.finish(t, nil, decodeError(m.Data))
	case len(t.parts()) != len(m.Results):
		n.finish(t, nil, fmt.Errorf("%w: %s returned %d values where its caller expects %d", ErrBadArguments, t.name, len(m.Results), len(t.parts())))
	case t.parts() != nil:
		for i, p := range t.parts() {
			r := &m.Results[i]
			p.stored, p.slot = r.Stored, fromSlot(r.Slot)
			n.resolve(p, objReady, bytesClone(r.Data), r.IDs)
		}
		n.finish(t, nil, nil)
	case m.Stored:
		t.ret.stored, t.ret.slot = true, fromSlot(m.Slot)
		n.finishWith(t, nil, m.IDs, nil)
	default:
		n.finishWith(t, bytesClone(m.Data), m.IDs, nil)
	}
}

// sealResults seals what the worker wrote into the store for t (its
// result, or the stored ones of its values) and notes in m where each is.
// ok is false if the worker sealed what it was never granted (it is
// killed); err says why a seal failed.
func (n *node) sealResults(c *workerConn, t *task, m *wire.Msg) (ok bool, err error) {
	seal := func(id wire.ObjectID) (wire.Slot, bool) {
		slot, sealErr, granted := n.sealFromWorker(c, id)
		if !granted {
			log.Printf("manta: worker %d sealed %v, which it was never granted; killing it", c.id, id)
			c.kill()
			return wire.Slot{}, false
		}
		if sealErr != nil && err == nil {
			err = fmt.Errorf("cannot seal %v: %w", id, sealErr)
		}
		return toSlot(slot), true
	}
	ok = true
	if m.Stored {
		m.Slot, ok = seal(t.ret.id)
	}
	for i := range m.Results {
		if r := &m.Results[i]; r.Stored && ok {
			r.Slot, ok = seal(partID(t.ret.id, i))
		}
	}
	return ok, err
}

// deleteResults frees what a dropped result had in the store.
func (n *node) deleteResults(t *task, m *wire.Msg) {
	if m.Stored {
		n.objs.st.Delete(storeID(t.ret.id))
	}
	for i, r := range m.Results {
		if r.Stored {
			n.objs.st.Delete(storeID(partID(t.ret.id, i)))
		}
	}
}

// decodeOptions decodes call options a worker sent, caching them by their
// bytes: the same options usually come with many calls.
func (n *node) decodeOptions(b []byte) (*callOptions, error) {
	if len(b) == 0 {
		return nil, nil
	}
	if o := n.optCache[string(b)]; o != nil {
		return o, nil
	}
	o := &callOptions{}
	if err := cbor.Unmarshal(b, o); err != nil {
		return nil, err
	}
	if len(n.optCache) < 1024 {
		n.optCache[string(b)] = o
	}
	return o, nil
}

// putLocked stores a value made by Put, held once by its maker.
func (n *node) putLocked(id wire.ObjectID, data []byte, contained []wire.ObjectID) *object {
	o := &object{id: id, refs: 1}
	n.objects[id] = o
	n.resolve(o, objReady, data, contained)
	return o
}

func bytesClone(b []byte) []byte { return append([]byte(nil), b...) }

// cloneArgs copies arguments out of a ring buffer into one allocation.
func cloneArgs(args []wire.Arg) []wire.Arg {
	size := 0
	for _, a := range args {
		size += len(a.Data)
	}
	buf := make([]byte, 0, size)
	out := make([]wire.Arg, len(args))
	for i, a := range args {
		out[i] = a
		if !a.IsRef {
			start := len(buf)
			buf = append(buf, a.Data...)
			out[i].Data = buf[start:len(buf):len(buf)]
		}
	}
	return out
}
