package node

import (
	"cmp"
	"fmt"
	"maps"
	"slices"

	"manta/events"
	"manta/rpc/wire"
	"manta/sched"
)

// task is a submitted task, actor creation or actor method call. Once it
// has finished it stays, as its results' lineage, while one of them is
// held.
type task struct {
	id          wire.TaskID
	ref         sched.TaskRef
	name        []byte
	args        []wire.Arg
	contained   []wire.ObjectID
	proc        *proc // the worker process it was sent to
	actor       *actor
	ret         *Object
	ext         *taskExt // what few tasks have; nil for the others
	opts        *Options
	class       sched.ClassID
	slot        sched.WorkerID // the scheduler's worker it was sent to
	attempt     uint32
	pending     int32 // dependencies not yet ready
	retriesLeft int32
	kind        wire.SubmitKind
	pinned      bool // pinArgs has run
	resolved    bool // its result was set before it finished (cancelled in flight)
	done        bool
	placed      bool // placed by the cluster: never spilled again
	held        bool // Config.InjectDelay has held it back once
	spilled     bool // running on another node (Host.Spill) until SpillDone
	verifying   bool // pinning its arguments here before it is placed anew (verifyArgs)
	replay      bool // a call run again to rebuild a restarted actor's state (replayTask)
	lin         linState
}

// taskRecord puts a task and its result in one allocation.
type taskRecord struct {
	t   task
	ret Object
}

// taskExt holds what only some tasks have, apart so that a million queued
// plain tasks stay small.
type taskExt struct {
	deadline  int64     // unix nanoseconds
	depErr    []byte    // the first failed dependency's encoded error
	parts     []*Object // a multiple return's values, beside ret
	parent    *task     // cancelled with it
	children  []*task   // calls submitted from it, cancelled with it
	cancelled error     // why it was cancelled (the cause); its result is dropped
	pins      []wire.ObjectID
	watched   bool
	returns   int
	callSeq   uint64      // a call to an actor that logs its calls: its number (numberCall)
	early     *earlyReply // its reply, kept until the calls before it are done
}

func (t *task) more() *taskExt {
	if t.ext == nil {
		t.ext = &taskExt{}
	}
	return t.ext
}

// failedDep returns the encoded error of its first failed dependency, if
// one failed.
func (t *task) failedDep() []byte {
	if t.ext == nil {
		return nil
	}
	return t.ext.depErr
}

// depFailed records a failed dependency's encoded error, unless one was
// recorded before.
func (t *task) depFailed(encoded []byte) {
	if e := t.more(); e.depErr == nil {
		e.depErr = encoded
	}
}

func (t *task) deadline() int64 {
	if t.ext == nil {
		return 0
	}
	return t.ext.deadline
}

func (t *task) parts() []*Object {
	if t.ext == nil {
		return nil
	}
	return t.ext.parts
}

func (t *task) cancelled() error {
	if t.ext == nil {
		return nil
	}
	return t.ext.cancelled
}

// Submit records a call made on this node (by the driver; workers' come
// through Worker) and starts it once its dependencies are ready. It
// returns the call's result object, held once for the submitter. A spec
// whose ID the node already knows (a task re-executed submits the same
// calls again) takes one more hold on the result it has instead.
func (n *Node) Submit(spec *TaskSpec) *Object {
	var record *Object // a copy record of the result, which this run makes
	if !spec.Fresh {
		if o := n.objects[wire.ReturnID(spec.ID)]; o != nil {
			if o.made != nil || !spec.Placed || spec.Returns > 0 {
				n.holdAgain(o)
				return o
			}
			// This node holds the result only as a record of a copy
			// elsewhere (PutRemote): its owner found it lost and has the
			// task run here again, so the record becomes the run's result.
			record = o
		}
	}
	if n.closed {
		return n.failedObject(spec, ErrShutdown)
	}
	rec := &taskRecord{}
	t := &rec.t
	*t = task{id: spec.ID, kind: spec.Kind, name: spec.Name, args: spec.Args, contained: spec.Contained, opts: spec.Options, placed: spec.Placed}
	if spec.Placed && spec.Attempt > 1 {
		// Sent again by its owner (run again to make a lost result, or
		// after its node died): its runs count on from the owner's.
		t.attempt = spec.Attempt - 1
	}
	if n.cfg.Observe != nil {
		n.cfg.Observe(events.Submit, spec.ID, spec.Name, uint64(spec.Kind))
	}
	if spec.Deadline != 0 || spec.Returns > 0 || spec.Watched {
		e := t.more()
		e.deadline, e.watched, e.returns = spec.Deadline, spec.Watched, spec.Returns
	}
	t.retriesLeft = int32(n.cfg.DefaultRetries)
	if t.opts != nil && t.opts.MaxRetries >= 0 {
		t.retriesLeft = int32(t.opts.MaxRetries)
	}
	if record != nil {
		n.dropValue(record) // the copy it named is lost
		n.unrelease(record)
		record.state, record.made = objPending, t
		record.refs++
		t.ret = record
	} else {
		t.ret = &rec.ret
		*t.ret = Object{id: wire.ReturnID(spec.ID), refs: 1, made: t}
		before := len(n.objects)
		n.objects[t.ret.id] = t.ret
		if len(n.objects) == before {
			panic(fmt.Sprintf("BUG: a task %v submitted as fresh, which the node has", spec.ID))
		}
	}
	n.tasks[spec.ID] = t
	for i := range spec.Returns {
		o := &Object{id: PartID(t.ret.id, i), made: t}
		t.ext.parts = append(t.ext.parts, o)
		n.objects[o.id] = o
	}
	for _, c := range spec.Contained {
		n.Hold(c)
	}
	if !spec.Parent.IsZero() {
		n.adoptChild(t, spec.Parent)
	}
	for _, a := range spec.Args {
		if a.IsRef && n.objects[a.Ref] == nil {
			t.args = nil // no holds were taken on them
			n.finish(t, nil, nil, fmt.Errorf("argument %v: %w", a.Ref, ErrObjectFreed))
			return t.ret
		}
	}
	// From here on t holds its arguments, so finish releases them.
	n.holdArgs(t)
	switch spec.Kind {
	case wire.SubmitActor:
		if err := n.newActor(t, spec.Checkpoint); err != nil {
			n.finish(t, nil, nil, err)
			return t.ret
		}
	case wire.SubmitActorCall:
		a := n.actors[spec.Actor]
		if a == nil && n.cfg.SpillQueue > 0 {
			a = n.remoteStub(spec.Actor) // a handle to an actor on another node
		}
		if a == nil {
			t.retriesLeft = 0
			n.finishBytes(t, n.noActor(t, spec.Actor))
			return t.ret
		}
		t.retriesLeft = callRetries(a.opts.MaxTaskRetries)
		t.actor = a // its pending calls keep it alive, as a handle does (actorOutOfScope)
		a.queue = append(a.queue, t)
	}
	if e := t.ext; e != nil && e.parent != nil && e.parent.cancelled() != nil {
		n.cancelTask(t, e.parent.cancelled())
		return t.ret
	}
	if t.pending == 0 {
		n.ready(t)
	}
	return t.ret
}

// holdArgs takes t's holds on its arguments' objects, which exist: t
// waits for those pending, and takes on the error of the first that
// failed.
func (n *Node) holdArgs(t *task) {
	for _, a := range t.args {
		if !a.IsRef {
			continue
		}
		dep := n.objects[a.Ref]
		dep.refs++
		switch dep.state {
		case objPending:
			t.pending++
			dep.dependents = append(dep.dependents, t)
		case objFailed:
			t.depFailed(dep.data)
		}
	}
}

// failedObject is the result of a call the node cannot take at all.
func (n *Node) failedObject(spec *TaskSpec, err error) *Object {
	o := &Object{id: wire.ReturnID(spec.ID), refs: 1, state: objFailed, data: n.cfg.Errors.Encode(err, spec.Name, spec.ID)}
	n.objects[o.id] = o
	return o
}

// PartID is the ID of the i-th of a task's several return values; the
// task's ReturnID stands for all of them.
func PartID(ret wire.ObjectID, i int) wire.ObjectID {
	return wire.ObjectID{Task: ret.Task, Index: ret.Index + 1 + uint32(i)}
}

// noActor says why a call to an actor the node does not know fails: its
// creation failed (its error), or it is long gone.
func (n *Node) noActor(t *task, id wire.TaskID) []byte {
	if o := n.objects[wire.ReturnID(id)]; o != nil && o.state == objFailed {
		return o.data
	}
	return n.cfg.Errors.Encode(fmt.Errorf("%w: no actor %v on this node", ErrActorDied, id), t.name, t.id)
}

// adoptChild makes t a child of the live task parent, to be cancelled with
// it.
func (n *Node) adoptChild(t *task, parent wire.TaskID) {
	p := n.tasks[parent]
	if p == nil || p.done {
		return
	}
	t.more().parent = p
	pe := p.more()
	if len(pe.children) == cap(pe.children) {
		// Forget finished children before growing: a long-lived parent may
		// submit without end.
		pe.children = slices.DeleteFunc(pe.children, func(c *task) bool { return c.done })
	}
	pe.children = append(pe.children, t)
}

// ready is called once a task's dependencies are all resolved.
func (n *Node) ready(t *task) {
	if n.closed {
		n.finish(t, nil, nil, ErrShutdown)
		return
	}
	if t.verifying {
		// Its arguments are all here (or failed): place it anew, where
		// its inputs are.
		t.verifying = false
		n.unpinArgs(t)
	}
	if n.cfg.SpillQueue > 0 && !t.pinned {
		if n.spills(t) {
			n.spill(t)
			return
		}
		if t.kind == wire.SubmitActorCall && t.actor.remote {
			n.pumpActor(t.actor) // its arguments are pinned where the actor is
			return
		}
	}
	if n.pinArgs(t) {
		return // back here once the stored arguments are pinned
	}
	switch t.kind {
	case wire.SubmitActorCall:
		n.pumpActor(t.actor)
		return
	case wire.SubmitActor:
		if failed := t.failedDep(); failed != nil {
			n.actorFailed(t.actor, n.cfg.Errors.Decode(failed))
			return
		}
		n.placeActor(t.actor)
		return
	}
	if failed := t.failedDep(); failed != nil {
		n.finishBytes(t, failed)
		return
	}
	class, err := n.classOf(t.opts)
	if err != nil {
		n.finish(t, nil, nil, fmt.Errorf("%s: %w", t.name, err))
		return
	}
	if d := n.cfg.InjectDelay; d > 0 && !t.held {
		t.held = true // its class stays unset: cancelTask sees it never queued
		n.nextTimer++
		n.delayed[n.nextTimer] = t
		n.host.SetTimer(n.nextTimer, d)
		return
	}
	n.enqueue(t, class)
}

// classOf interns the resources of opts (one CPU for none); the error is
// immediate for requests no node can ever satisfy.
func (n *Node) classOf(opts *Options) (sched.ClassID, error) {
	key, res := "", map[string]float64(nil)
	if opts != nil {
		key, res = opts.Key, opts.Resources
	}
	if key == "" {
		key = fmt.Sprint(res) // maps print sorted
	}
	if c, ok := n.classes[key]; ok {
		return c.id, c.err
	}
	if res == nil {
		res = map[string]float64{"CPU": 1}
	}
	r, err := sched.NewResources(res)
	var id sched.ClassID
	if err == nil {
		id, err = n.sched.Class(r)
	}
	if err != nil {
		err = fmt.Errorf("%w: %v", ErrInfeasible, err)
	}
	n.classes[key] = classResult{id, err}
	return id, err
}

func (n *Node) enqueue(t *task, class sched.ClassID) {
	if len(n.free) > 0 {
		t.ref = n.free[len(n.free)-1]
		n.free = n.free[:len(n.free)-1]
		n.slab[t.ref] = t
	} else {
		t.ref = sched.TaskRef(len(n.slab))
		n.slab = append(n.slab, t)
	}
	t.class = class
	if n.cfg.Observe != nil {
		n.cfg.Observe(events.Queued, t.id, nil, 0)
	}
	n.sched.Submit(class, t.ref)
	n.processActions()
}

func (n *Node) unslab(t *task) {
	if int(t.ref) < len(n.slab) && n.slab[t.ref] == t {
		n.slab[t.ref] = nil
		n.free = append(n.free, t.ref)
	}
}

// processActions carries out what the scheduler decided; a node that
// shut down starts nothing more.
func (n *Node) processActions() {
	if n.closed {
		n.sched.ClearActions()
		return
	}
	for {
		acts := n.sched.Actions()
		if len(acts) == 0 {
			return
		}
		n.acts = append(n.acts[:0], acts...)
		n.sched.ClearActions()
		for _, a := range n.acts {
			switch a.Kind {
			case sched.Dispatch:
				t, p := n.slab[a.Task], n.slots[a.Worker]
				if t == nil || p == nil {
					panic(fmt.Sprintf("BUG: dispatch of task %d to worker %d that the node does not know", a.Task, a.Worker))
				}
				n.dispatch(t, p, a.Worker, wire.TaskID{})
			case sched.StartWorker:
				n.startProc()
			case sched.AddSlot:
				n.addSlot(a.Worker)
			case sched.StopWorker:
				n.stopSlot(a.Worker)
			case sched.Refuse:
				n.refuse(a)
			case sched.PlaceActor:
				act, p := n.placing[a.Actor], n.slots[a.Worker]
				delete(n.placing, a.Actor)
				if act != nil && p != nil {
					n.actorPlaced(act, p)
				}
			}
		}
	}
}

// refuse fails a call or actor the scheduler can no longer serve here.
func (n *Node) refuse(a sched.Action) {
	err := fmt.Errorf("%w: %v", ErrInfeasible, n.sched.Infeasible(a.Class))
	if a.Actor != 0 {
		if act := n.placing[a.Actor]; act != nil {
			delete(n.placing, a.Actor)
			n.actorFailed(act, err)
		}
		return
	}
	if t := n.slab[a.Task]; t != nil && !t.done {
		n.finish(t, nil, nil, err)
	}
}

// dispatch sends t to process p, for its lease slot, with its
// dependencies' values: inline, or as slots of the object store.
func (n *Node) dispatch(t *task, p *proc, slot sched.WorkerID, actor wire.TaskID) {
	t.proc, t.slot = p, slot
	if t.attempt++; t.attempt > 1 {
		n.rerun = true
	}
	n.args = n.args[:0]
	for _, a := range t.args {
		if a.IsRef {
			if dep := n.objects[a.Ref]; dep.stored {
				a = wire.Arg{Stored: true, Slot: ToSlot(dep.slot)} // pinned by pinArgs
			} else {
				a = wire.Arg{Data: dep.data}
			}
		}
		n.args = append(n.args, a)
	}
	kind := wire.KindExecute
	if t.kind == wire.SubmitActor {
		kind = wire.KindCreateActor
	}
	n.msg = wire.Msg{Kind: kind, Task: t.id, Actor: actor, Attempt: t.attempt, Worker: uint32(slot), Deadline: t.deadline(), Name: t.name, Args: n.args}
	if a := t.actor; a != nil && kind == wire.KindCreateActor {
		n.msg.MaxConcurrency = uint32(max(1, a.opts.MaxConcurrency))
		n.msg.CheckpointEvery, n.msg.Data = uint32(max(0, a.opts.CheckpointEvery)), a.restoreState()
	}
	if n.cfg.Observe != nil {
		n.cfg.Observe(events.Dispatch, t.id, nil, uint64(p.id))
	}
	n.giveDevices(p, slot)
	n.host.Send(p.id, &n.msg)
}

// finish records t's outcome, from a value or an error, and releases what
// t held.
func (n *Node) finish(t *task, v *Value, contained []wire.ObjectID, err error) {
	var e []byte
	if err != nil {
		e = n.cfg.Errors.Encode(err, t.name, t.id)
	}
	n.complete(t, v, contained, e)
}

// finishBytes is finish with an error already encoded.
func (n *Node) finishBytes(t *task, encoded []byte) { n.complete(t, nil, nil, encoded) }

// complete retires t: its result is v, or the error encoded in failed. A
// task with several returns has its parts resolved first; its own object
// then holds them.
func (n *Node) complete(t *task, v *Value, contained []wire.ObjectID, failed []byte) {
	if t.replay {
		n.endReplay(t)
		return
	}
	if t.done {
		return
	}
	t.done = true
	if n.cfg.Observe != nil {
		failedBit := uint64(0)
		if failed != nil {
			failedBit = 1
		}
		n.cfg.Observe(events.Done, t.id, nil, failedBit)
	}
	delete(n.tasks, t.id)
	n.unslab(t)
	n.unpinArgs(t)
	if e := t.ext; e != nil {
		if e.watched {
			n.host.Finished(t.id)
		}
		e.children, e.parent = nil, nil
	}
	if !t.resolved {
		n.resolveResult(t, v, contained, failed)
	}
	args, contained := t.args, t.contained // keep may evict t at once, clearing them
	// A task the cluster placed here is its owner's lineage, not this
	// node's: the owner runs it again if its result is lost, and its
	// arguments, often copies of others' values, are let go at once.
	if !t.placed && n.lineage.keep(t) {
		n.lineageArgs(t) // before its holds go, so that its arguments' records stay
	}
	for _, a := range args {
		if a.IsRef {
			n.drop(a.Ref)
		}
	}
	for _, c := range contained {
		n.drop(c)
	}
	t.proc = nil
	if t.ret.refs <= 0 {
		n.freeObject(t.ret)
	}
	if a := t.actor; a != nil && t.kind == wire.SubmitActorCall {
		switch {
		case a.orphaned:
			n.actorOutOfScope(a)
		case a.create == nil && len(a.queue) == 0 && len(a.inflight) == 0 && n.actors[a.id] == a:
			// A stub keeps nothing between calls, and the node does not
			// see its handles: it goes with its last call, and the next
			// call makes it again.
			delete(n.actors, a.id)
		}
	}
}

// resolveResult sets t's result, and its parts'.
func (n *Node) resolveResult(t *task, v *Value, contained []wire.ObjectID, failed []byte) {
	t.resolved = true
	if parts := t.parts(); parts != nil {
		contained = make([]wire.ObjectID, len(parts))
		for i, p := range parts {
			contained[i] = p.id
			switch {
			case failed != nil:
				n.resolve(p, objFailed, failed, nil)
			case p.state == objPending:
				panic(fmt.Sprintf("BUG: task %v finished before its part %v", t.id, p.id))
			}
		}
	}
	if failed != nil {
		n.resolve(t.ret, objFailed, failed, contained)
		return
	}
	if v != nil {
		t.ret.stored, t.ret.slot = v.Stored, v.Slot
		n.resolve(t.ret, objReady, v.Data, contained)
		return
	}
	n.resolve(t.ret, objReady, nil, contained)
}

// retryOrFail re-queues a task whose worker died, or fails it when it has
// no retries left.
func (n *Node) retryOrFail(t *task, cause error) {
	if t == nil || t.done {
		return
	}
	if err := t.cancelled(); err != nil {
		n.finish(t, nil, nil, err) // cancelled while it was in flight: not run again
		return
	}
	if t.retriesLeft > 0 && !n.closed {
		t.retriesLeft--
		t.proc = nil
		n.sched.Submit(t.class, t.ref)
		return
	}
	n.finish(t, nil, nil, fmt.Errorf("%s after %d attempts: %w", t.name, t.attempt, cause))
}

// failQueued fails every task still waiting for a worker.
func (n *Node) failQueued(cause error) {
	for _, t := range n.slab {
		if t != nil && t.proc == nil && n.sched.Cancel(t.ref) {
			n.finish(t, nil, nil, cause)
		}
	}
}

// Shutdown fails every unfinished call with ErrShutdown and asks every
// worker process to exit; the node takes no more work.
func (n *Node) Shutdown() {
	if n.closed {
		return
	}
	n.closed = true
	// In ID order, so that the effects are the same every time.
	tasks := slices.SortedFunc(maps.Values(n.tasks), func(a, b *task) int { return wire.CompareTaskIDs(a.id, b.id) })
	for _, t := range tasks {
		n.finish(t, nil, nil, ErrShutdown)
	}
	for _, a := range n.actors {
		a.state, a.err = actorDead, ErrShutdown
	}
	clear(n.placing)
	for _, id := range slices.Sorted(maps.Keys(n.procs)) {
		if p := n.procs[id]; p.state != procStarting {
			n.host.Send(p.id, &wire.Msg{Kind: wire.KindShutdown})
		}
	}
}

// sortedIDs lists the keys of m in ID order: the node's effects must not
// depend on map order.
func sortedIDs[V any](m map[wire.ObjectID]V) []wire.ObjectID {
	return slices.SortedFunc(maps.Keys(m), func(a, b wire.ObjectID) int {
		return cmp.Or(wire.CompareTaskIDs(a.Task, b.Task), cmp.Compare(a.Index, b.Index))
	})
}
