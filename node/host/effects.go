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
			if !e.h().pairHeld(events.Dispatch, events.Push, m.Task) {
				events.Record(events.Push, m.Task, uint64(p))
			}
		}
	}
}

// heldEvent is a Submit or Dispatch the host stamped but has not yet
// recorded: the task's next event, Queued or Push, usually follows in
// the same call into the node, and then the two take one slot of the
// ring (events.RecordPair): a recording a third smaller.
// Any other event first records what is held, as does unlock, so an
// event is held only while the host's mutex is.
type heldEvent struct {
	kind events.Kind // zero: none
	task wire.TaskID
	aux  uint64
	at   events.Stamp
}

// observe is the node's Observe when events are on: it names a
// submission's call once, and stamps the event. Under h.mu.
func (h *Host) observe(k events.Kind, task wire.TaskID, name []byte, aux uint64) {
	if !events.Sampled(task) {
		return
	}
	if k == events.Queued && h.pairHeld(events.Submit, events.Queued, task) {
		return
	}
	if h.held.kind != 0 {
		h.appendHeld()
	}
	switch k {
	case events.Submit:
		h.held = heldEvent{kind: k, task: task, aux: events.NameKind(events.Name(name), wire.SubmitKind(aux)), at: events.Now()}
	case events.Dispatch:
		h.held = heldEvent{kind: k, task: task, aux: aux, at: events.Now()}
	default:
		events.Record(k, task, aux)
	}
}

// pairHeld records the held event and second, now, as one pair, if what
// is held is task's first; it reports whether it did. Under h.mu.
func (h *Host) pairHeld(first, second events.Kind, task wire.TaskID) bool {
	if h.held.kind != first || h.held.task != task {
		return false
	}
	events.RecordPair(first, second, task, h.held.aux, h.held.at)
	h.held = heldEvent{}
	return true
}

// appendHeld records the held event alone. Under h.mu.
func (h *Host) appendHeld() {
	events.RecordAt(h.held.kind, h.held.task, h.held.aux, h.held.at)
	h.held = heldEvent{}
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

// CancelSpilled asks the peer that runs a cancelled spilled task to
// cancel it too; a task not sent yet is not sent (Host.runAt).
func (e *effects) CancelSpilled(task wire.TaskID) {
	h := e.h()
	r := h.spilling[task]
	if r == nil {
		return
	}
	delete(h.spilling, task)
	r.mu.Lock()
	r.cancelled = true
	addr := r.addr
	r.mu.Unlock()
	if addr != "" {
		h.cluster.Cancel(addr, task)
	}
}
