package node

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"manta/rpc/wire"
	"manta/sched"
	"manta/shm/store"
)

type procState uint8

const (
	procStarting procState = iota
	procLive
	procExiting // asked to stop; its exit is still to be reported
)

// proc is one worker process: its lease slots, and what it holds of the
// node's objects.
type proc struct {
	id      ProcID
	state   procState
	extra   []sched.WorkerID        // its lease slots beside its primary (id)
	actor   *actor                  // the actor it hosts
	borrows map[wire.ObjectID]int32 // holds it has on objects
	pins    map[wire.ObjectID]bool  // store pins taken for its Gets, one per object
	devices []uint32                // the GPUs it was last given (KindDevices)
	// deviceLost, once a GPU it holds is lost (DeviceLost), is what its
	// calls and actor fail with when it exits: they are not run again.
	deviceLost error
}

// DeviceLost takes GPU index out of service (cause says why): no call
// gets it again, the processes holding it are ended and their calls and
// actors fail with an error wrapping ErrDeviceLost, and calls that no
// GPU left can serve fail with ErrInfeasible, now and later.
func (n *Node) DeviceLost(index int, cause error) {
	err := fmt.Errorf("%w: GPU %d: %v", ErrDeviceLost, index, cause)
	for _, w := range n.sched.DeviceLost(index) {
		if p := n.slots[w]; p != nil && p.deviceLost == nil {
			p.deviceLost = err
			n.host.KillProc(p.id)
		}
	}
	clear(n.classes) // calls from now on ask the scheduler again
	n.processActions()
}

// giveDevices sends p the GPUs of its lease slot's next call, if they
// differ from those it has: a process reused for a lease of other
// devices is pinned to them again. On a node without GPUs it costs a
// check.
func (n *Node) giveDevices(p *proc, slot sched.WorkerID) {
	if !n.hasGPUs {
		return
	}
	devs := n.sched.Devices(slot)
	if slices.EqualFunc(devs, p.devices, func(d int, have uint32) bool { return uint32(d) == have }) {
		return
	}
	p.devices = p.devices[:0]
	for _, d := range devs {
		p.devices = append(p.devices, uint32(d))
	}
	n.host.Send(p.id, &wire.Msg{Kind: wire.KindDevices, Devices: p.devices})
}

// startProc asks the host for one more worker process.
func (n *Node) startProc() {
	n.nextID++
	p := &proc{id: n.nextID, borrows: map[wire.ObjectID]int32{}, pins: map[wire.ObjectID]bool{}}
	n.procs[p.id] = p
	n.host.StartProc(p.id)
}

// ProcStarted reports that worker process p, which the node asked for, is
// up.
func (n *Node) ProcStarted(p ProcID) {
	pr := n.procs[p]
	if pr == nil || pr.state != procStarting {
		return
	}
	n.startFailures = 0
	n.started++
	if n.closed {
		pr.state = procExiting
		n.host.Send(p, &wire.Msg{Kind: wire.KindShutdown})
		return
	}
	pr.state = procLive
	n.slots[p] = pr
	n.sched.WorkerStarted(p)
	n.processActions()
}

// ProcStartFailed reports that process p could not be started. After three
// failures in a row the tasks waiting for a worker fail.
func (n *Node) ProcStartFailed(p ProcID, err error) {
	if pr := n.procs[p]; pr == nil || pr.state != procStarting {
		return
	}
	delete(n.procs, p)
	if n.startFailures++; n.startFailures >= 3 {
		// First, so that the scheduler starts no process for them.
		n.failQueued(fmt.Errorf("%w: %d worker starts failed in a row, last: %v", ErrWorkerDied, n.startFailures, err))
	}
	n.sched.WorkerStartFailed()
	n.processActions()
}

// ProcExited reports that process p is gone, whatever the cause: its
// tasks are retried or fail, its actor restarts or dies, what it held is
// released. The host must have passed on every message p sent first.
func (n *Node) ProcExited(p ProcID, cause error) {
	pr := n.procs[p]
	if pr == nil {
		return
	}
	delete(n.procs, p)
	if pr.state == procStarting {
		n.sched.WorkerStartFailed()
		n.processActions()
		return
	}
	if pr.state != procExiting && !n.closed {
		n.died++
	}
	slots := append([]sched.WorkerID{p}, pr.extra...)
	for _, s := range slots {
		delete(n.slots, s)
	}
	err := fmt.Errorf("%w: worker %d exited: %v", ErrWorkerDied, p, cause)
	var lost []sched.TaskRef
	hadActor := false
	for _, s := range slots {
		l, _, actor := n.sched.WorkerExited(s)
		lost, hadActor = append(lost, l...), hadActor || actor
	}
	for _, id := range sortedIDs(pr.pins) {
		n.host.Unpin(id)
	}
	for _, id := range sortedIDs(pr.borrows) {
		for k := pr.borrows[id]; k > 0; k-- {
			n.drop(id)
		}
	}
	pr.borrows, pr.pins = nil, nil
	for _, ref := range lost {
		if pr.deviceLost != nil {
			if t := n.slab[ref]; t != nil && !t.done {
				n.finish(t, nil, nil, pr.deviceLost)
			}
			continue
		}
		n.retryOrFail(n.slab[ref], err)
	}
	if hadActor && pr.actor != nil && pr.actor.proc == pr {
		if pr.deviceLost != nil {
			pr.actor.restartsLeft = 0
			err = pr.deviceLost
		}
		n.actorProcDied(pr.actor, err)
	}
	n.processActions()
}

// addSlot gives process proc one more lease slot, for the scheduler.
func (n *Node) addSlot(proc sched.WorkerID) {
	p := n.procs[proc]
	if p == nil || p.state != procLive {
		n.sched.SlotAddFailed()
		return
	}
	n.nextID++
	n.slots[n.nextID] = p
	p.extra = append(p.extra, n.nextID)
	n.sched.SlotAdded(n.nextID, proc)
}

// stopSlot carries out a StopWorker: an extra slot is only forgotten, a
// primary's process is asked to exit.
func (n *Node) stopSlot(id sched.WorkerID) {
	p := n.slots[id]
	switch {
	case p == nil:
	case id == p.id:
		p.state = procExiting
		n.host.Send(p.id, &wire.Msg{Kind: wire.KindShutdown})
	default:
		delete(n.slots, id)
		p.extra = slices.DeleteFunc(p.extra, func(x sched.WorkerID) bool { return x == id })
	}
}

// wwaiter is a worker's Get or Wait in progress.
type wwaiter struct {
	proc  *proc
	reqID uint64
	ids   []wire.ObjectID
	wait  bool
	need  int
	fired bool
	timer TimerToken
	// pinErrs holds why objects of a Get could not be pinned, for its
	// reply only: a full store may have room for the next Get.
	pinErrs map[wire.ObjectID]error
}

// pinRequest is what a Host.Pin was for: one stored argument of a task,
// or one stored object of a worker's Get.
type pinRequest struct {
	task   *task
	worker *wwaiter
	arg    wire.ObjectID
}

// Worker applies one message that process p sent. Byte fields of m may
// alias the host's buffer: what is kept is copied. Stored values (Done and
// Put with Stored) are sealed by the host first, which records where in
// m.Slot (or each Results[i].Slot); the node never sees the store's
// Create and Seal.
func (n *Node) Worker(p ProcID, m *wire.Msg) error {
	pr := n.procs[p]
	if pr == nil || pr.borrows == nil {
		return nil // gone: what it sent after its exit was handled counts for nothing
	}
	switch m.Kind {
	case wire.KindDone:
		t := n.tasks[m.Task]
		if t == nil || t.proc != pr {
			n.freeStored(m) // stale: the task was retried elsewhere or failed already
			return nil
		}
		if t.kind == wire.SubmitActorCall {
			n.actorCallDone(t)
			switch {
			case t.replay:
				n.replayRan(t, m)
				n.processActions()
				return nil
			case t.actor.log == nil: // the common case: nothing to log
			case m.Status != wire.StatusOK:
				n.logCall(t.actor, t, m.Data)
			default:
				n.logCall(t.actor, t, nil)
			}
		} else {
			n.sched.TaskDone(t.slot, t.ref)
		}
		n.taskDone(t, m)
		n.processActions()
	case wire.KindCheckpoint:
		if t := n.tasks[m.Task]; t != nil && t.proc == pr && t.actor != nil && !t.replay {
			n.checkpointed(t.actor, t.id, clone(m.Data))
		}
	case wire.KindSubmit:
		if n.closed {
			return nil
		}
		opts, err := n.cfg.Resolve(m.Submit, m.Name, m.Opts)
		if err != nil {
			return fmt.Errorf("bad call options: %w", err)
		}
		spec := TaskSpec{ID: m.Task, Kind: m.Submit, Name: clone(m.Name), Actor: m.Actor, Args: wire.CloneArgs(m.Args),
			Contained: slices.Clone(m.IDs), Options: opts, Returns: int(m.Returns), Parent: m.Parent, Deadline: m.Deadline, Fresh: !n.rerun}
		n.Submit(&spec)
		pr.borrows[wire.ReturnID(m.Task)]++
	case wire.KindGet:
		w := &wwaiter{proc: pr, reqID: m.ReqID, ids: slices.Clone(m.IDs)}
		if w.need = n.awaitWorker(w); w.need == 0 || n.closed {
			n.fireWorker(w)
		}
	case wire.KindWait:
		w := &wwaiter{proc: pr, reqID: m.ReqID, ids: slices.Clone(m.IDs), wait: true}
		ready := len(n.readyIndexes(w.ids))
		if ready >= int(m.K) || n.closed {
			n.fireWorker(w)
			return nil
		}
		n.awaitWorker(w)
		w.need = int(m.K) - ready
		if m.TimeoutNanos > 0 {
			n.nextTimer++
			w.timer = n.nextTimer
			n.timers[w.timer] = w
			n.host.SetTimer(w.timer, time.Duration(m.TimeoutNanos))
		}
	case wire.KindPut:
		n.putAgain(m.Object, Value{Data: clone(m.Data), Stored: m.Stored, Slot: FromSlot(m.Slot)}, m.IDs)
		pr.borrows[m.Object]++
	case wire.KindBlocked, wire.KindUnblocked:
		slot := sched.WorkerID(m.Worker)
		if n.slots[slot] != pr {
			return nil // a slot that ended, or another process's
		}
		if m.Kind == wire.KindBlocked {
			n.sched.Blocked(slot)
		} else {
			n.sched.Unblocked(slot)
		}
		n.processActions()
	case wire.KindCancel:
		n.Cancel(m.Task, ErrCancelled)
	case wire.KindKillActor:
		if a := n.actors[m.Actor]; a != nil {
			n.killActor(a, "killed")
		}
	case wire.KindLookupActor:
		reply := wire.Msg{Kind: wire.KindLookupReply, ReqID: m.ReqID}
		if id, typ, err := n.LookupActor(string(m.Name)); err != nil {
			reply.Status, reply.Data = wire.StatusError, n.cfg.Errors.Encode(err, []byte("GetActor"), wire.TaskID{})
		} else {
			reply.Task, reply.Name = id, typ
		}
		n.host.Send(p, &reply)
	case wire.KindAddRef:
		for _, id := range m.IDs {
			n.Hold(id)
			pr.borrows[id]++
		}
	case wire.KindDelRef:
		for _, id := range m.IDs {
			if pr.borrows[id] <= 0 {
				continue
			}
			if pr.borrows[id]--; pr.borrows[id] == 0 {
				delete(pr.borrows, id)
				if pr.pins[id] {
					n.host.Unpin(id)
					delete(pr.pins, id)
				}
			}
			n.drop(id)
		}
	case wire.KindActorReady:
		n.onActorReady(pr, m)
	default:
		return fmt.Errorf("workers do not send %v", m.Kind)
	}
	return nil
}

// taskDone records what a worker reported for t: its value (or values),
// or its error; a cancelled task's result is dropped.
func (n *Node) taskDone(t *task, m *wire.Msg) {
	parts := t.parts()
	switch {
	case t.cancelled() != nil:
		n.freeStored(m)
		n.finish(t, nil, nil, t.cancelled())
	case m.Status != wire.StatusOK:
		n.finishBytes(t, clone(m.Data))
	case len(parts) != len(m.Results):
		n.freeStored(m)
		n.finish(t, nil, nil, fmt.Errorf("%w: %s returned %d values where its caller expects %d", ErrBadArguments, t.name, len(m.Results), len(parts)))
	case parts != nil:
		for i, p := range parts {
			r := &m.Results[i]
			if p.freed { // a run again (reconstruct) remakes the parts still held
				if r.Stored {
					n.host.Free(p.id)
				}
				continue
			}
			p.stored, p.slot = r.Stored, FromSlot(r.Slot)
			n.resolve(p, objReady, clone(r.Data), r.IDs)
		}
		n.complete(t, nil, nil, nil)
	case m.Stored:
		n.complete(t, &Value{Stored: true, Slot: FromSlot(m.Slot)}, m.IDs, nil)
	default:
		n.complete(t, &Value{Data: clone(m.Data)}, m.IDs, nil)
	}
}

// freeStored deletes what a Done that is not kept had put in the store,
// but for an ID whose object here is made and holds its bytes: the store
// kept that first value under the ID (a call replayed, or run again after
// a stale run, stores the same ID), and it is the object's.
func (n *Node) freeStored(m *wire.Msg) {
	if m.Status != wire.StatusOK {
		return
	}
	ret := wire.ReturnID(m.Task)
	if m.Stored {
		n.freeUnheld(ret)
	}
	for i, r := range m.Results {
		if r.Stored {
			n.freeUnheld(PartID(ret, i))
		}
	}
}

// freeUnheld frees id in the store unless its object here holds those
// bytes.
func (n *Node) freeUnheld(id wire.ObjectID) {
	if o := n.objects[id]; o == nil || o.state != objReady || !o.holdsBytes() {
		n.host.Free(id)
	}
}

// awaitWorker registers w on the pending ones of its objects and returns
// how many there are.
func (n *Node) awaitWorker(w *wwaiter) int {
	pending := 0
	for _, id := range w.ids {
		if o := n.objects[id]; o != nil && o.state == objPending {
			o.await(waitRef{worker: w})
			pending++
		}
	}
	return pending
}

// TimerFired ends the worker Wait the timer was for, or lets a task held
// back by Config.InjectDelay go to the scheduler.
func (n *Node) TimerFired(token TimerToken) {
	if t, ok := n.delayed[token]; ok {
		delete(n.delayed, token)
		if !t.done {
			class, _ := n.classOf(t.opts) // cached when it was held: no error
			n.enqueue(t, class)
		}
		return
	}
	w := n.timers[token]
	delete(n.timers, token)
	if w != nil && !w.fired {
		n.fireWorker(w)
	}
}

// fireWorker answers a worker's Get or Wait whose objects are ready (or
// whose time ran out).
func (n *Node) fireWorker(w *wwaiter) {
	w.fired = true
	if w.timer != 0 {
		if _, set := n.timers[w.timer]; set {
			delete(n.timers, w.timer)
			n.host.CancelTimer(w.timer)
		}
	}
	if w.proc.borrows == nil {
		return // its process is gone
	}
	if w.wait {
		n.host.Send(w.proc.id, &wire.Msg{Kind: wire.KindWaitReply, ReqID: w.reqID, Ready: n.readyIndexes(w.ids)})
		return
	}
	n.replyGet(w)
}

// replyGet answers a worker's Get; each stored object in it is pinned
// once per worker, until the worker drops its hold.
func (n *Node) replyGet(w *wwaiter) {
	var toks []PinToken
	for _, id := range w.ids {
		if o := n.objects[id]; o != nil && o.stored && o.state == objReady && !w.proc.pins[id] {
			n.nextPin++
			n.pins[n.nextPin] = pinRequest{worker: w, arg: id}
			toks = append(toks, n.nextPin)
		}
	}
	if len(toks) == 0 {
		n.sendGetReply(w)
		return
	}
	w.need = len(toks) // pins still out, now that the wait is over
	for _, tok := range toks {
		n.host.Pin(n.pins[tok].arg, tok)
	}
}

func (n *Node) sendGetReply(w *wwaiter) {
	results := make([]wire.Result, len(w.ids))
	for i, id := range w.ids {
		o := n.objects[id]
		if o != nil && o.stored && o.state == objReady && w.proc.pins[id] {
			results[i] = wire.Result{Stored: true, Slot: ToSlot(o.slot)}
			continue
		}
		if err := w.pinErrs[id]; err != nil {
			results[i] = wire.Result{Status: wire.StatusError, Data: n.cfg.Errors.Encode(err, nil, id.Task)}
			continue
		}
		results[i] = n.resultMsg(id, o)
	}
	n.host.Send(w.proc.id, &wire.Msg{Kind: wire.KindGetReply, ReqID: w.reqID, Results: results})
}

// PinDone answers a Host.Pin: the object is pinned at slot, or err is
// the store's error (store.ErrNotFound: freed meanwhile; store.ErrClosed:
// shut down; store.ErrFull: no room to read it back; any other: its bytes
// are lost).
func (n *Node) PinDone(token PinToken, slot store.Slot, err error) {
	r, ok := n.pins[token]
	if !ok {
		return
	}
	if err == nil && n.rerun && n.remaking(r.arg) {
		// Found lost meanwhile (another pin failed) and being made again:
		// these bytes are not to be trusted; pin it again once it is.
		n.host.Unpin(r.arg)
		n.addRepin(r.arg, token)
		return
	}
	if err != nil {
		again, lost := n.repin(n.objects[r.arg], token, err)
		if again {
			n.processActions()
			return // pinned once it is made again
		}
		if lost != nil {
			err = lost
		} else {
			err = n.PinError(r.arg, err)
		}
	}
	delete(n.pins, token)
	n.pinSettled(r, slot, err, err == nil)
	n.processActions()
}

// remaking reports whether id, which a pin found, is being made again
// (only once some task ran again, n.rerun, can it be).
func (n *Node) remaking(id wire.ObjectID) bool {
	o := n.objects[id]
	return o != nil && o.state == objPending
}

// pinSettled hands a pin's outcome to whoever asked for it: pinned at
// slot, or not (err; or, with neither, a value made again inline, which
// needs no pin).
func (n *Node) pinSettled(r pinRequest, slot store.Slot, err error, pinned bool) {
	switch {
	case r.task != nil:
		n.argPinned(r.task, r.arg, slot, err, pinned)
	case r.worker != nil:
		n.getPinned(r.worker, r.arg, slot, err, pinned)
	}
}

// PinError says why stored object id could not be pinned, from the
// store's error: freed meanwhile (ErrObjectFreed), the node shut down
// (ErrShutdown), no room to read it back from disk (ErrStoreFull), its
// spill file could not be read this time (store.ErrIO: it is kept, and a
// later read may succeed), or its bytes are lost (ErrObjectLost, and
// whether its lineage could make it again). Hosts use it for pins of
// their own.
func (n *Node) PinError(id wire.ObjectID, err error) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("%v: %w: %v", id, ErrObjectFreed, err)
	case errors.Is(err, store.ErrClosed):
		return fmt.Errorf("%v: %w", id, ErrShutdown)
	case errors.Is(err, store.ErrFull):
		return fmt.Errorf("%v: %w: %v", id, ErrStoreFull, err)
	case errors.Is(err, store.ErrIO):
		return fmt.Errorf("%v: cannot read it back from disk now, its spill file is kept: %w", id, err)
	}
	return n.lostError(id, fmt.Errorf("%v: %w: %v", id, ErrObjectLost, err))
}

func (n *Node) getPinned(w *wwaiter, id wire.ObjectID, slot store.Slot, err error, pinned bool) {
	p := w.proc
	o := n.objects[id]
	switch {
	case err != nil:
		if w.pinErrs == nil {
			w.pinErrs = map[wire.ObjectID]error{}
		}
		w.pinErrs[id] = err
	case !pinned: // made again inline: the reply carries its value
	case p.borrows == nil || p.pins[id] || o == nil:
		n.host.Unpin(id) // its process is gone, it was pinned meanwhile, or freed
	default:
		p.pins[id] = true
		o.slot = slot
	}
	if w.need--; w.need == 0 && p.borrows != nil {
		n.sendGetReply(w)
	}
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }

// ToSlot is where a store slot is, as messages carry it.
func ToSlot(s store.Slot) wire.Slot { return wire.Slot{Offset: uint64(s.Offset), Size: uint64(s.Size)} }

// FromSlot is ToSlot's inverse.
func FromSlot(s wire.Slot) store.Slot {
	return store.Slot{Offset: int64(s.Offset), Size: int64(s.Size)}
}
