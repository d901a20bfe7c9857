package host

import (
	"time"

	"manta/events"
	"manta/node"
	"manta/rpc/wire"
	"manta/shm/store"
)

// effects is the Host as the node sees it: the node calls these under
// h.mu, from inside its own methods, so none of them blocks or calls back
// into the node.
type effects Host

func (e *effects) h() *Host { return (*Host)(e) }

func (e *effects) Send(p node.ProcID, m *wire.Msg) {
	if c := e.procs[p]; c != nil {
		c.send(c.out, m)
		if events.On() && (m.Kind == wire.KindExecute || m.Kind == wire.KindCreateActor) {
			events.Record(events.Push, m.Task, uint64(p))
		}
	}
}

// observe is the node's Observe when events are on: it names a
// submission's call once, and stamps the event.
func observe(k events.Kind, task wire.TaskID, name []byte, aux uint64) {
	if k == events.Submit && events.Sampled(task) {
		aux = events.NameKind(events.Name(name), wire.SubmitKind(aux))
	}
	events.Record(k, task, aux) // records only a sampled task's
}

// storeEvent records the store's spills or restores as object events.
func storeEvent(k events.Kind) func(store.ID, int64) {
	return func(id store.ID, size int64) {
		if oid, ok := wire.ObjectIDFromBytes(id[:]); ok {
			events.RecordObject(k, oid, uint64(size))
		}
	}
}

func (e *effects) SendControl(p node.ProcID, m *wire.Msg) {
	if c := e.procs[p]; c != nil {
		c.send(c.ctl, m)
	}
}

func (e *effects) StartProc(p node.ProcID) {
	e.exits.Add(1) // done when the start fails or the process's exit is handled
	go e.h().spawn(p)
}

func (e *effects) KillProc(p node.ProcID) {
	if c := e.procs[p]; c != nil {
		c.kill()
	}
}

func (e *effects) Pin(id wire.ObjectID, tok node.PinToken) {
	e.pinQueue = append(e.pinQueue, pinRequest{id, tok})
}

func (e *effects) Unpin(id wire.ObjectID) { e.st.Unpin(StoreID(id)) }

func (e *effects) Free(id wire.ObjectID) {
	if e.h().freeRemoteLocked(id) {
		// A copy pulled from another node stays while memory allows: the
		// next task here that needs it, or a peer whose holders died,
		// finds it.
		e.st.Cache(StoreID(id))
		return
	}
	e.st.Delete(StoreID(id))
}

func (e *effects) Wake(w *node.Waiter) {
	close(w.Ch)
	if w.Yield {
		e.woke = true
	}
}

func (e *effects) SetTimer(tok node.TimerToken, d time.Duration) {
	h := e.h()
	e.timers[tok] = e.clock.AfterFunc(d, func() {
		h.lock()
		defer h.unlock()
		if _, ok := h.timers[tok]; ok {
			delete(h.timers, tok)
			h.n.TimerFired(tok)
		}
	})
}

func (e *effects) CancelTimer(tok node.TimerToken) {
	if t, ok := e.timers[tok]; ok {
		t.Stop()
		delete(e.timers, tok)
	}
}

func (e *effects) Finished(task wire.TaskID) {
	if stop, ok := e.watching[task]; ok {
		stop()
		delete(e.watching, task)
	}
	e.h().finishedLocked(task)
}
