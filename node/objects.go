package node

import (
	"fmt"

	"manta/events"
	"manta/rpc/wire"
	"manta/shm/store"
)

type objState uint8

const (
	objPending objState = iota
	objReady
	objFailed
)

// Object is one value of the node. refs counts every hold on it: the
// driver's, worker borrows, tasks that take it as an argument, objects
// that contain it; at zero it is freed. The driver keeps *Object as its
// hold, so its Get and Release skip the object table.
type Object struct {
	id       wire.ObjectID
	state    objState
	stored   bool // the value is in the object store at slot, not in data
	freed    bool
	creation bool // an actor's creation result: its holders hold the actor
	// released: no one holds it, but kept lineage names it as an
	// argument (lineageRefs), so its record stays, without its stored
	// bytes, and it is made again if that task must run again.
	released bool
	// borrowed: a record of a value another node made and stored
	// (PutRemote); that node, its owner, alone could make it again.
	borrowed bool
	slot     store.Slot
	refs     int32
	// lineageRefs counts the kept lineage records that take it as an
	// argument.
	lineageRefs int32
	data        []byte // the value, or the encoded error when failed
	// made is the task that made the object, kept while the object is
	// (its lineage); nil for a Put.
	made       *task
	contained  []wire.ObjectID
	waiter     waitRef   // the first Get or Wait on it: usually the only one
	waiters    []waitRef // any others
	dependents []*task
}

// ID returns the object's ID.
func (o *Object) ID() wire.ObjectID { return o.id }

// waitRef is one registration on an object: the driver's or a worker's.
type waitRef struct {
	driver *Waiter
	worker *wwaiter
}

func (o *Object) await(w waitRef) {
	if o.waiter == (waitRef{}) {
		o.waiter = w
	} else {
		o.waiters = append(o.waiters, w)
	}
}

// Lookup returns the object id, or nil if the node does not hold it.
func (n *Node) Lookup(id wire.ObjectID) *Object { return n.objects[id] }

// Hold takes one more hold on id and returns it; nil if it is not held by
// anyone (freed or never made).
func (n *Node) Hold(id wire.ObjectID) *Object {
	o := n.objects[id]
	if o != nil {
		n.holdAgain(o)
	}
	return o
}

// holdAgain takes one more hold on o. A released o is held again: its
// value, if it stayed, is read as it is; one whose stored bytes went is
// made again (its readers wait, or get why it cannot be).
func (n *Node) holdAgain(o *Object) {
	o.refs++
	switch {
	case !o.released:
	case o.keepsValue():
		n.unrelease(o)
	default:
		n.remake(o)
	}
}

// Release gives back one hold on o, freeing it at zero unless its task is
// still running (it is freed when the task finishes).
func (n *Node) Release(o *Object) {
	if o.refs--; o.refs <= 0 && o.state != objPending {
		n.freeObject(o)
	}
}

func (n *Node) drop(id wire.ObjectID) {
	if o := n.objects[id]; o != nil {
		n.Release(o)
	}
}

// Put records a value the driver made with Put, held once by the driver;
// contained are the references inside it, held while it lives. The
// driver's IDs descend from its random root, so id is new to the node
// (puts of workers, whose re-run tasks put again, come through Worker).
func (n *Node) Put(id wire.ObjectID, v Value, contained []wire.ObjectID) *Object {
	o := &Object{id: id, refs: 1, stored: v.Stored, slot: v.Slot}
	before := len(n.objects)
	n.objects[id] = o
	if len(n.objects) == before {
		panic(fmt.Sprintf("BUG: %v put as new, which the node has", id))
	}
	n.resolve(o, objReady, v.Data, contained)
	return o
}

// putAgain is Put for a worker: an id the node already holds (a
// re-executed task puts the same values again under the same IDs) takes
// one more hold on the object it has, and v is ignored; the host answers
// such a worker's request to store v's bytes with StatusExists. Until a
// task has run twice no ID can come again, and it does not look.
func (n *Node) putAgain(id wire.ObjectID, v Value, contained []wire.ObjectID) *Object {
	if n.rerun {
		if o := n.objects[id]; o != nil {
			n.holdAgain(o)
			return o
		}
	}
	return n.Put(id, v, contained)
}

// Result returns o's outcome: its value, or the error a Get of it gets.
// Stored bytes must be pinned before they are read.
func (n *Node) Result(o *Object) Result {
	switch {
	case o == nil:
		return Result{Err: fmt.Errorf("%w: object unknown", ErrObjectFreed)}
	case o.freed || o.released:
		return Result{Err: fmt.Errorf("object %v: %w", o.id, ErrObjectFreed)}
	case o.state == objFailed:
		return Result{Err: n.cfg.Errors.Decode(o.data)}
	case o.state == objPending && n.closed:
		return Result{Err: fmt.Errorf("object %v: %w", o.id, ErrShutdown)}
	case o.state == objPending:
		return Result{Err: fmt.Errorf("object %v is not done yet", o.id)}
	}
	return Result{Value: Value{Data: o.data, Stored: o.stored, Slot: o.slot}}
}

// StoredSize is the size of o's value in the object store, 0 for a value
// held inline (or not made yet).
func (o *Object) StoredSize() int64 {
	if !o.stored {
		return 0
	}
	return o.slot.Size
}

// Pending reports whether o's task has not finished.
func (o *Object) Pending() bool { return o.state == objPending }

// Await registers w on o if o is pending, and reports whether it is:
// Host.Wake(w) comes once every object registered on w is done, or, after
// Need, once that many are. A nil o (an object the node does not hold)
// counts as done.
func (n *Node) Await(w *Waiter, o *Object) bool {
	if o == nil || o.state != objPending {
		return false
	}
	o.await(waitRef{driver: w})
	w.need++
	return true
}

// Need makes w wait for k of the objects registered on it rather than
// all: a Wait that needs k results, some of which were done already. At
// k <= 0 it is fired at once, without a Wake.
func (n *Node) Need(w *Waiter, k int) {
	w.need = k
	if k <= 0 {
		w.fired = true
	}
}

// Abandon stops w from being woken: its caller gave up.
func (n *Node) Abandon(w *Waiter) { w.fired = true }

// resolve makes o ready or failed, wakes who waits for it and starts the
// tasks that depended on it.
func (n *Node) resolve(o *Object, state objState, data []byte, contained []wire.ObjectID) {
	if o.freed {
		return // a task run again (reconstruct) for another of its results
	}
	o.state, o.data = state, data
	if len(contained) > 0 {
		o.contained = append([]wire.ObjectID(nil), contained...)
		for _, c := range o.contained {
			n.Hold(c)
		}
	}
	if o.waiter != (waitRef{}) {
		n.satisfy(o.waiter)
	}
	for _, w := range o.waiters {
		n.satisfy(w)
	}
	o.waiter, o.waiters = waitRef{}, nil
	if len(n.repins) > 0 {
		n.repinned(o)
	}
	deps := o.dependents
	o.dependents = nil
	for _, t := range deps {
		if t.done {
			continue
		}
		if state == objFailed {
			t.depFailed(data)
		}
		if t.pending--; t.pending == 0 {
			// Ready is recorded only for a task that waited for its
			// arguments: for the others it is their Submit.
			if n.cfg.Observe != nil {
				n.cfg.Observe(events.Ready, t.id, nil, 0)
			}
			n.ready(t)
		}
	}
}

// satisfy counts one awaited object of w as done.
func (n *Node) satisfy(w waitRef) {
	if d := w.driver; d != nil {
		if !d.fired {
			if d.need--; d.need <= 0 {
				d.fired = true
				n.host.Wake(d)
			}
		}
		return
	}
	if ww := w.worker; !ww.fired {
		if ww.need--; ww.need <= 0 {
			n.fireWorker(ww)
		}
	}
}

func (n *Node) freeObject(o *Object) {
	if o.freed {
		return
	}
	if o.lineageRefs > 0 {
		n.releaseValue(o)
		return
	}
	o.freed = true
	if n.objects[o.id] == o {
		delete(n.objects, o.id)
	}
	// As dropValue, without clearing what goes with o: every task's
	// result comes here, and each pointer store costs a write barrier
	// while the collector runs.
	if o.holdsBytes() {
		n.host.Free(o.id)
	}
	for _, c := range o.contained {
		n.drop(c)
	}
	n.unrelease(o)
	if o.made != nil {
		n.lineage.outputFreed(o.made)
	}
	if o.creation {
		if a := n.actors[o.id.Task]; a != nil && a.create != nil && a.create.ret == o {
			n.actorOutOfScope(a)
		}
	}
}

// releaseValue lets go of the value of o, which no one holds any more
// but which kept lineage names as an argument: a task's stored bytes go
// (o.stored stays set: the value must be made again before it is read);
// see keepsValue for the values that stay.
func (n *Node) releaseValue(o *Object) {
	if o.released {
		return
	}
	o.released = true
	n.released++
	if !o.keepsValue() {
		n.host.Free(o.id)
		n.dropContained(o)
	}
}

// keepsValue reports whether o's value stays when it is released: an
// inline value (small, and never lost) or a Put's (which nothing could
// make again), as Ray keeps the values a Put makes while lineage needs
// them.
func (o *Object) keepsValue() bool { return !o.stored || o.made == nil }

// holdsBytes reports whether o has bytes in the store (or a copy
// elsewhere) to free: stored, and not released already without them.
func (o *Object) holdsBytes() bool { return o.stored && (!o.released || o.keepsValue()) }

// dropValue frees o's value: its bytes in the store (or the node's entry
// for a copy elsewhere), unless released freed them already, and its
// holds on the references inside it.
func (n *Node) dropValue(o *Object) {
	if o.holdsBytes() {
		n.host.Free(o.id)
	}
	o.stored, o.data = false, nil
	n.dropContained(o)
}

// unrelease ends o's released state: it is held again, or freed.
func (n *Node) unrelease(o *Object) {
	if o.released {
		o.released = false
		n.released--
	}
}

func (n *Node) dropContained(o *Object) {
	for _, c := range o.contained {
		n.drop(c)
	}
	o.contained = nil
}

// readyIndexes lists which of ids are no longer pending; zero IDs count as
// ready.
func (n *Node) readyIndexes(ids []wire.ObjectID) []uint32 {
	var out []uint32
	for i, id := range ids {
		if o := n.objects[id]; id.IsZero() || o == nil || o.state != objPending {
			out = append(out, uint32(i))
		}
	}
	return out
}

// resultMsg is o's outcome as a worker's GetReply carries it, for an
// object whose bytes are not (or cannot be) pinned for the worker.
func (n *Node) resultMsg(id wire.ObjectID, o *Object) wire.Result {
	switch {
	case o == nil:
		return wire.Result{Status: wire.StatusError, Data: n.cfg.Errors.Encode(fmt.Errorf("object %v: %w", id, ErrObjectFreed), nil, id.Task)}
	case o.state == objFailed:
		return wire.Result{Status: wire.StatusError, Data: o.data}
	case o.state == objPending:
		return wire.Result{Status: wire.StatusError, Data: n.cfg.Errors.Encode(fmt.Errorf("object %v: %w", id, ErrShutdown), nil, id.Task)}
	}
	return wire.Result{Data: o.data}
}
