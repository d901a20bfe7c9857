package core

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"manta/rpc/wire"
	"manta/sched"
	"manta/shm/store"
)

// node is the node manager of the embedded cluster: it owns every object
// and task of the node (the owner in Ray's ownership design, here one per
// node), resolves dependencies, drives the local scheduler and talks to
// worker processes over shared-memory rings. All its state is guarded by mu;
// the worker pool and the inbound loop only take mu, never hold it across a
// blocking call.
type node struct {
	mu         sync.Mutex
	cfg        Config
	sched      *sched.Local
	objects    map[wire.ObjectID]*object
	tasks      map[wire.TaskID]*task
	slab       []*task // sched.TaskRef -> task
	free       []sched.TaskRef
	classes    map[string]classResult // resource request key -> class
	fnClasses  map[*funcInfo]classResult
	actors     map[wire.TaskID]*actor
	named      map[string]*actor // live actors by name
	placing    map[sched.ActorRef]*actor
	optCache   map[string]*callOptions // options as they came from workers, decoded
	nextRef    sched.ActorRef
	pool       *pool
	objs       *objectStore
	storeCalls sync.WaitGroup // store calls running off the lock
	acts       []sched.Action
	args       []wire.Arg // dispatch scratch
	inBuf      []byte     // inbound message scratch
	closed     bool
	start      time.Time
}

type classResult struct {
	id  sched.ClassID
	err error
}

type objState uint8

const (
	objPending objState = iota
	objReady
	objFailed
)

// object is one value of the node. refs counts every hold on it: driver
// handles, worker borrows, tasks that take it as an argument and objects
// that contain it; at zero it is freed.
type object struct {
	id         wire.ObjectID
	state      objState
	stored     bool // the value is in the object store at slot, not in data
	freed      bool
	creation   bool       // an actor's creation result: its holders hold the actor
	lostErr    error      // set when a pin for a worker found the bytes gone
	slot       store.Slot // where, when stored
	refs       int32
	data       []byte // the value, or the encoded error when failed
	contained  []wire.ObjectID
	waiter     *waiter   // the first Get or Wait on it: usually the only one
	waiters    []*waiter // any others
	dependents []*task
}

// await registers w to be told when o is no longer pending.
func (o *object) await(w *waiter) {
	if o.waiter == nil {
		o.waiter = w
	} else {
		o.waiters = append(o.waiters, w)
	}
}

// taskSpec is a call as it is submitted to the node.
type taskSpec struct {
	id        wire.TaskID
	kind      wire.SubmitKind
	name      []byte
	fn        *funcInfo // the registered function, when the caller knew it
	actor     wire.TaskID
	args      []wire.Arg
	contained []wire.ObjectID
	opts      *callOptions // nil: the registered ones
	returns   int          // separate return values, or 0
	parent    wire.TaskID  // the task it was submitted from, if known
	deadline  int64        // unix nanoseconds, 0 for none
}

// task is a submitted task, actor creation or actor method call that has
// not finished.
type task struct {
	id          wire.TaskID
	ref         sched.TaskRef
	name        []byte
	fn          *funcInfo
	args        []wire.Arg
	contained   []wire.ObjectID
	depErr      error // the first dependency that failed
	worker      *workerConn
	actor       *actor
	ret         *object
	ext         *taskExt // what few tasks have; nil for the others
	class       sched.ClassID
	slot        sched.WorkerID // the scheduler's worker it was sent to
	attempt     uint32
	pending     int32 // dependencies not yet ready
	retriesLeft int32
	kind        wire.SubmitKind
	pinned      bool // pinArgs has run
	resolved    bool // its result was set before it finished (cancelled in flight)
	done        bool
}

// taskExt holds what only some tasks have, apart so that a million queued
// plain tasks stay small.
type taskExt struct {
	opts       *callOptions
	deadline   int64     // unix nanoseconds
	parts      []*object // a multiple return's values, beside ret
	parent     *task     // cancelled with it
	children   []*task   // calls submitted from it, cancelled with it
	cancelled  error     // why it was cancelled; its result is dropped
	stopCancel func() bool
	pins       []wire.ObjectID // stored arguments pinned while the task lives
}

// more returns t's extension, making it if needed.
func (t *task) more() *taskExt {
	if t.ext == nil {
		t.ext = &taskExt{}
	}
	return t.ext
}

func (t *task) opts() *callOptions {
	if t.ext == nil {
		return nil
	}
	return t.ext.opts
}

func (t *task) deadline() int64 {
	if t.ext == nil {
		return 0
	}
	return t.ext.deadline
}

func (t *task) parts() []*object {
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

// waiter is a Get or Wait in progress: the driver's (ch) or a worker's
// (conn and reqID).
type waiter struct {
	need  int
	fired bool
	ch    chan struct{}
	conn  *workerConn
	reqID uint64
	ids   []wire.ObjectID
	wait  bool
	timer *time.Timer
}

func newNode(cfg Config) (*node, error) {
	total, err := sched.NewResources(cfg.Resources)
	if err != nil {
		return nil, fmt.Errorf("manta: node resources: %w", err)
	}
	n := &node{
		cfg: cfg,
		sched: sched.New(sched.Config{
			Total:         total,
			MaxWorkers:    cfg.MaxWorkers,
			PipelineDepth: cfg.PipelineDepth,
			IdleTimeout:   cfg.IdleTimeout,
		}),
		objects:   map[wire.ObjectID]*object{},
		tasks:     map[wire.TaskID]*task{},
		classes:   map[string]classResult{},
		fnClasses: map[*funcInfo]classResult{},
		actors:    map[wire.TaskID]*actor{},
		named:     map[string]*actor{},
		placing:   map[sched.ActorRef]*actor{},
		optCache:  map[string]*callOptions{},
		start:     time.Now(),
	}
	if n.objs, err = newNodeStore(cfg); err != nil {
		return nil, err
	}
	if n.pool, err = newPool(n); err != nil {
		n.objs.close()
		return nil, err
	}
	return n, nil
}

// taskClass is classOf for a function's tasks, cached by function; a
// function unknown here gets the default of one CPU.
func (n *node) taskClass(fn *funcInfo) (sched.ClassID, error) {
	if c, ok := n.fnClasses[fn]; ok {
		return c.id, c.err
	}
	res := map[string]float64{"CPU": 1}
	if fn != nil {
		res = fn.opts.Resources
	}
	id, err := n.classOf(res)
	n.fnClasses[fn] = classResult{id, err}
	return id, err
}

// classOf interns a resource request; the error is immediate for requests
// no node can ever satisfy.
func (n *node) classOf(res map[string]float64) (sched.ClassID, error) {
	key := fmt.Sprint(res) // maps print sorted
	if c, ok := n.classes[key]; ok {
		return c.id, c.err
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

// submitLocked records a call made on this node (by the driver, or by a
// worker on behalf of conn) and starts it once its dependencies are ready.
func (n *node) submitLocked(spec *taskSpec) *task {
	t := &task{id: spec.id, kind: spec.kind, name: spec.name, fn: spec.fn, args: spec.args,
		contained: spec.contained, retriesLeft: DefaultMaxRetries}
	if spec.opts != nil || spec.deadline != 0 {
		t.more().opts, t.ext.deadline = spec.opts, spec.deadline
	}
	t.ret = &object{id: wire.ReturnID(spec.id), refs: 1}
	n.objects[t.ret.id] = t.ret
	n.tasks[spec.id] = t
	for i := range spec.returns {
		o := &object{id: partID(t.ret.id, i)}
		t.more().parts = append(t.ext.parts, o)
		n.objects[o.id] = o
	}
	for _, c := range spec.contained {
		n.hold(c)
	}
	if !spec.parent.IsZero() {
		n.adoptChild(t, spec.parent)
	}
	for _, a := range spec.args {
		if a.IsRef && n.objects[a.Ref] == nil {
			t.args = nil // no holds were taken on them
			n.finish(t, nil, fmt.Errorf("argument %v: %w", a.Ref, ErrObjectFreed))
			return t
		}
	}
	// From here on t holds its arguments, so finish releases them.
	for _, a := range spec.args {
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
			if t.depErr == nil {
				t.depErr = decodeError(dep.data)
			}
		}
	}
	switch spec.kind {
	case wire.SubmitTask:
		if t.fn == nil {
			t.fn = lookupFunc(spec.name)
		}
		if o := t.opts(); o != nil {
			t.retriesLeft = int32(o.MaxRetries)
		} else if t.fn != nil {
			t.retriesLeft = int32(t.fn.opts.MaxRetries)
		}
	case wire.SubmitActor:
		if err := n.newActor(t); err != nil {
			n.finish(t, nil, err)
			return t
		}
	case wire.SubmitActorCall:
		t.retriesLeft = 0
		a := n.actors[spec.actor]
		if a == nil {
			n.finish(t, nil, n.noActor(spec.actor))
			return t
		}
		t.actor = a // its pending calls keep it alive, as a handle does (actorOutOfScope)
		a.queue = append(a.queue, t)
	}
	if t.ext != nil && t.ext.parent != nil && t.ext.parent.cancelled() != nil {
		n.cancelTask(t, t.ext.parent.cancelled())
		return t
	}
	if t.pending == 0 {
		n.ready(t)
	}
	return t
}

// noActor says why a call to an actor the node does not know fails: its
// creation failed (its error), or it is long gone.
func (n *node) noActor(id wire.TaskID) error {
	if o := n.objects[wire.ReturnID(id)]; o != nil && o.state == objFailed {
		return decodeError(o.data)
	}
	return fmt.Errorf("%w: no actor %v on this node", ErrActorDied, id)
}

// adoptChild makes t a child of the live task parent, to be cancelled with it.
func (n *node) adoptChild(t *task, parent wire.TaskID) {
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
func (n *node) ready(t *task) {
	if n.pinArgs(t) {
		return // back here once the stored arguments are pinned
	}
	switch t.kind {
	case wire.SubmitActorCall:
		n.pumpActor(t.actor)
		return
	case wire.SubmitActor:
		if t.depErr != nil {
			n.actorFailed(t.actor, t.depErr)
			return
		}
		n.placeActor(t.actor)
		return
	}
	if t.depErr != nil {
		n.finish(t, nil, t.depErr)
		return
	}
	var class sched.ClassID
	var err error
	if o := t.opts(); o != nil {
		class, err = n.classOf(o.Resources)
	} else {
		class, err = n.taskClass(t.fn)
	}
	if err != nil {
		n.finish(t, nil, fmt.Errorf("%s: %w", t.name, err))
		return
	}
	n.enqueue(t, class)
}

func (n *node) enqueue(t *task, class sched.ClassID) {
	if len(n.free) > 0 {
		t.ref = n.free[len(n.free)-1]
		n.free = n.free[:len(n.free)-1]
		n.slab[t.ref] = t
	} else {
		t.ref = sched.TaskRef(len(n.slab))
		n.slab = append(n.slab, t)
	}
	t.class = class
	n.sched.Submit(class, t.ref)
	n.processActions()
}

func (n *node) unslab(t *task) {
	if int(t.ref) < len(n.slab) && n.slab[t.ref] == t {
		n.slab[t.ref] = nil
		n.free = append(n.free, t.ref)
	}
}

// processActions carries out what the scheduler decided.
func (n *node) processActions() {
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
				t, c := n.slab[a.Task], n.pool.conns[a.Worker]
				if t == nil || c == nil {
					panic(fmt.Sprintf("BUG: dispatch of task %d to worker %d that the node does not know", a.Task, a.Worker))
				}
				n.dispatch(t, c, a.Worker, wire.TaskID{})
			case sched.StartWorker:
				n.pool.start()
			case sched.AddSlot:
				n.pool.addSlot(a.Worker)
			case sched.StopWorker:
				n.pool.stopSlot(a.Worker)
			case sched.PlaceActor:
				act, c := n.placing[a.Actor], n.pool.conns[a.Worker]
				delete(n.placing, a.Actor)
				if act != nil && c != nil {
					n.actorPlaced(act, c)
				}
			}
		}
	}
}

// dispatch sends t to worker c, for its slot, with its dependencies'
// values: inline, or as slots of the object store.
func (n *node) dispatch(t *task, c *workerConn, slot sched.WorkerID, actor wire.TaskID) {
	t.worker, t.slot = c, slot
	t.attempt++
	n.args = n.args[:0]
	for _, a := range t.args {
		if a.IsRef {
			if dep := n.objects[a.Ref]; dep.stored {
				a = wire.Arg{Stored: true, Slot: toSlot(dep.slot)} // pinned by pinArgs
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
	m := wire.Msg{Kind: kind, Task: t.id, Actor: actor, Attempt: t.attempt, Worker: uint32(slot), Deadline: t.deadline(), Name: t.name, Args: n.args}
	if t.actor != nil && kind == wire.KindCreateActor {
		m.MaxConcurrency = uint32(t.actor.opts.MaxConcurrency)
	}
	c.send(&m)
}

// unpinArgs releases the pins a dispatch took on stored arguments.
func (n *node) unpinArgs(t *task) {
	if t.ext == nil {
		return
	}
	for _, id := range t.ext.pins {
		n.objs.st.Unpin(storeID(id))
	}
	t.ext.pins = nil
}

// finish records t's outcome: data on success, err on failure, and
// releases what t held.
func (n *node) finish(t *task, data []byte, err error) { n.finishWith(t, data, nil, err) }

// finishWith is finish for a result that contains references. A task with
// several returns has its parts resolved first; its own object then holds
// them.
func (n *node) finishWith(t *task, data []byte, contained []wire.ObjectID, err error) {
	if t.done {
		return
	}
	t.done = true
	delete(n.tasks, t.id)
	n.unslab(t)
	n.unpinArgs(t)
	if e := t.ext; e != nil {
		if e.stopCancel != nil {
			e.stopCancel()
		}
		e.children, e.parent = nil, nil
	}
	if !t.resolved {
		n.resolveResult(t, data, contained, err)
	}
	for _, a := range t.args {
		if a.IsRef {
			n.drop(a.Ref)
		}
	}
	for _, c := range t.contained {
		n.drop(c)
	}
	if t.ret.refs <= 0 {
		n.freeObject(t.ret)
	}
	if a := t.actor; a != nil && t.kind == wire.SubmitActorCall && a.orphaned {
		n.actorOutOfScope(a)
	}
}

// resolveResult sets t's result, and its parts'.
func (n *node) resolveResult(t *task, data []byte, contained []wire.ObjectID, err error) {
	t.resolved = true
	var e []byte
	if err != nil {
		e = encodeError(err, string(t.name), t.id)
	}
	if parts := t.parts(); parts != nil {
		contained = make([]wire.ObjectID, len(parts))
		for i, p := range parts {
			contained[i] = p.id
			switch {
			case err != nil:
				n.resolve(p, objFailed, e, nil)
			case p.state == objPending:
				panic(fmt.Sprintf("BUG: task %v finished before its part %v", t.id, p.id))
			}
		}
	}
	if err != nil {
		n.resolve(t.ret, objFailed, e, contained)
	} else {
		n.resolve(t.ret, objReady, data, contained)
	}
}

// resolve makes o ready or failed, wakes who waits for it and starts the
// tasks that depended on it.
func (n *node) resolve(o *object, state objState, data []byte, contained []wire.ObjectID) {
	o.state, o.data = state, data
	if len(contained) > 0 {
		o.contained = append([]wire.ObjectID(nil), contained...)
		for _, c := range o.contained {
			n.hold(c)
		}
	}
	if o.waiter != nil {
		n.satisfy(o.waiter)
	}
	for _, w := range o.waiters {
		n.satisfy(w)
	}
	o.waiter, o.waiters = nil, nil
	deps := o.dependents
	o.dependents = nil
	for _, t := range deps {
		if t.done {
			continue
		}
		if state == objFailed && t.depErr == nil {
			t.depErr = decodeError(data)
		}
		if t.pending--; t.pending == 0 {
			n.ready(t)
		}
	}
}

// hold takes one more hold on id, if the object still exists.
// satisfy counts one awaited object of w as done.
func (n *node) satisfy(w *waiter) {
	if !w.fired {
		if w.need--; w.need <= 0 {
			n.fire(w)
		}
	}
}

func (n *node) hold(id wire.ObjectID) *object {
	o := n.objects[id]
	if o != nil {
		o.refs++
	}
	return o
}

// drop releases one hold on id.
func (n *node) drop(id wire.ObjectID) {
	if o := n.objects[id]; o != nil {
		n.dropObject(o)
	}
}

// dropObject releases one hold on o, freeing it at zero unless its task is
// still running (it is freed when the task finishes).
func (n *node) dropObject(o *object) {
	if o.refs--; o.refs <= 0 && o.state != objPending {
		n.freeObject(o)
	}
}

func (n *node) freeObject(o *object) {
	if o.freed {
		return
	}
	o.freed = true
	if n.objects[o.id] == o {
		delete(n.objects, o.id)
	}
	if o.stored {
		n.objs.st.Delete(storeID(o.id))
	}
	for _, c := range o.contained {
		n.drop(c)
	}
	if o.creation {
		if a := n.actors[o.id.Task]; a != nil && a.create.ret == o {
			n.actorOutOfScope(a)
		}
	}
}

// fire completes a Get or Wait whose objects are ready (or whose time ran
// out).
func (n *node) fire(w *waiter) {
	w.fired = true
	if w.timer != nil {
		w.timer.Stop()
	}
	if w.ch != nil {
		close(w.ch)
		return
	}
	if w.conn.dead {
		return
	}
	if w.wait {
		w.conn.send(&wire.Msg{Kind: wire.KindWaitReply, ReqID: w.reqID, Ready: n.readyIndexes(w.ids)})
		return
	}
	n.replyStored(w)
}

func (n *node) resultOf(id wire.ObjectID) wire.Result { return n.resultOfObject(id, n.objects[id]) }

func (n *node) resultOfObject(id wire.ObjectID, o *object) wire.Result {
	switch {
	case o == nil:
		return wire.Result{Status: wire.StatusError, Data: encodeError(fmt.Errorf("object %v: %w", id, ErrObjectFreed), "", id.Task)}
	case o.state == objFailed:
		return wire.Result{Status: wire.StatusError, Data: o.data}
	case o.state == objPending:
		return wire.Result{Status: wire.StatusError, Data: encodeError(fmt.Errorf("object %v: %w", id, ErrShutdown), "", id.Task)}
	case o.lostErr != nil:
		return wire.Result{Status: wire.StatusError, Data: encodeError(o.lostErr, "", id.Task)}
	}
	return wire.Result{Data: o.data}
}

// readyIndexes lists which of ids are no longer pending; zero IDs (failed
// references) count as ready.
func (n *node) readyIndexes(ids []wire.ObjectID) []uint32 {
	var out []uint32
	for i, id := range ids {
		if o := n.objects[id]; id.IsZero() || o == nil || o.state != objPending {
			out = append(out, uint32(i))
		}
	}
	return out
}

// awaitLocked registers w on the pending ones of ids and returns how many
// it waits for.
func (n *node) awaitLocked(w *waiter, ids []wire.ObjectID) int {
	pending := 0
	for _, id := range ids {
		if o := n.objects[id]; o != nil && o.state == objPending {
			o.await(w)
			pending++
		}
	}
	return pending
}

// get is the driver's Get: it waits for the objects and hands out their
// bytes without copying them; stored ones are pinned for the read, until
// doneReading.
func (n *node) get(ctx context.Context, hs []hold, out []result) error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return ErrShutdown
	}
	var w *waiter
	for i := range hs {
		if hs[i].obj == nil {
			hs[i].obj = n.objects[hs[i].id]
		}
		if o := hs[i].obj; o != nil && o.state == objPending {
			if w == nil {
				w = &waiter{ch: make(chan struct{})}
			}
			o.await(w)
			w.need++
		}
	}
	n.mu.Unlock()
	if w != nil {
		select {
		case <-w.ch:
		case <-ctx.Done():
			n.mu.Lock()
			w.fired = true
			n.mu.Unlock()
			return fmt.Errorf("manta: get: %w", ctx.Err())
		}
	}
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return ErrShutdown
	}
	stored := 0
	for i, h := range hs {
		out[i] = result{id: h.id}
		if o := h.obj; o != nil && o.stored && o.state == objReady {
			out[i].stored = true
			if stored == 0 {
				// Shutdown unmaps the store only after this read is done.
				n.storeCalls.Add(1)
				out[i].guard = true
			}
			stored++
			continue
		}
		r := n.resultOfObject(h.id, h.obj)
		out[i].data = r.Data
		if r.Status == wire.StatusError {
			out[i].data = nil
			out[i].err = errorBytes(r.Data)
		}
	}
	n.mu.Unlock()
	for i := range out {
		if eb, ok := out[i].err.(errorBytes); ok {
			out[i].err = decodeError(eb)
		}
	}
	if stored > 0 {
		n.readStored(out)
	}
	return nil
}

// readStored pins the stored objects among out and points each at its
// bytes in the read-only mapping; called without n.mu (a pin may have to
// read a spill file).
func (n *node) readStored(out []result) {
	for i := range out {
		r := &out[i]
		if !r.stored {
			continue
		}
		slot, err := n.objs.st.Pin(context.Background(), storeID(r.id))
		if err != nil {
			r.stored, r.err = false, n.pinError(r.id, err)
			continue
		}
		r.pinned, r.slot = true, slot
		if r.data, r.err = n.objs.view(r.id, slot); r.err != nil {
			n.objs.st.Unpin(storeID(r.id))
			r.stored, r.pinned, r.data = false, false, nil
		}
	}
}

// doneReading gives back the pins a get took.
func (n *node) doneReading(out []result) {
	for i := range out {
		r := &out[i]
		if r.pinned {
			r.pinned = false
			n.objs.st.Unpin(storeID(r.id))
		}
		if r.guard {
			r.guard = false
			n.storeCalls.Done()
		}
	}
}

// errorBytes carries an encoded error out of the lock to be decoded there.
type errorBytes []byte

func (e errorBytes) Error() string { return "encoded error" }

// wait is the driver's Wait; zero holds (failed references) count as
// ready.
func (n *node) wait(ctx context.Context, hs []hold, k int, timeout time.Duration) ([]int, error) {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil, ErrShutdown
	}
	ready := 0
	for i := range hs {
		if hs[i].obj == nil && !hs[i].id.IsZero() {
			hs[i].obj = n.objects[hs[i].id]
		}
		if o := hs[i].obj; o == nil || o.state != objPending {
			ready++
		}
	}
	w := &waiter{ch: make(chan struct{}), need: k - ready}
	if ready < k {
		for _, h := range hs {
			if h.obj != nil && h.obj.state == objPending {
				h.obj.await(w)
			}
		}
	}
	n.mu.Unlock()
	if ready < k {
		var timeoutC <-chan time.Time
		if timeout > 0 {
			t := time.NewTimer(timeout)
			defer t.Stop()
			timeoutC = t.C
		}
		select {
		case <-w.ch:
		case <-timeoutC:
		case <-ctx.Done():
			return nil, fmt.Errorf("manta: wait: %w", ctx.Err())
		}
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	w.fired = true
	out := make([]int, 0, k)
	for i, h := range hs {
		if h.obj == nil || h.obj.state != objPending {
			out = append(out, i)
		}
	}
	return out, nil
}
