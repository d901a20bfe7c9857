package core

import (
	"fmt"
	"log"
	"time"

	"manta/rpc/wire"
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
			n.sched.TaskDone(c.id, t.ref)
		}
		switch {
		case m.Status != wire.StatusOK:
			n.finish(t, nil, decodeError(m.Data))
		case m.Stored:
			slot, err, granted := n.sealFromWorker(c, t.ret.id)
			if !granted {
				log.Printf("manta: worker %d sealed %v, which it was never granted; killing it", c.id, t.ret.id)
				c.kill()
				return
			}
			if err != nil {
				n.finish(t, nil, fmt.Errorf("cannot seal the result: %w", err))
				break
			}
			t.ret.stored, t.ret.slot = true, slot
			n.finishWith(t, nil, m.IDs, nil)
		default:
			n.finishWith(t, bytesClone(m.Data), m.IDs, nil)
		}
		n.processActions()
	case wire.KindSubmit:
		if n.closed {
			return
		}
		args, contained := cloneArgs(m.Args), append([]wire.ObjectID(nil), m.IDs...)
		n.submitLocked(m.Task, m.Submit, bytesClone(m.Name), nil, m.Actor, args, contained)
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
	case wire.KindBlocked:
		n.sched.Blocked(c.id)
		n.processActions()
	case wire.KindUnblocked:
		n.sched.Unblocked(c.id)
		n.processActions()
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
