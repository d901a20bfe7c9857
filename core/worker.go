package core

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"manta/rpc/wire"
	"manta/shm"
)

// WorkerMain turns this process into a worker when a node started it as
// one, and then never returns; otherwise it returns at once. Init calls it
// first thing; a test binary that runs remote functions calls it at the
// top of TestMain, before m.Run.
func WorkerMain() {
	idStr, ok := os.LookupEnv(envWorkerID)
	if !ok {
		return
	}
	err := runWorker(os.Getenv(envRingBytes))
	fmt.Fprintf(os.Stderr, "manta: worker %s: %v\n", idStr, err)
	os.Exit(1)
}

// workerProc is a worker process's side of its node: it runs the tasks
// and actor calls the node sends, and forwards the API calls its tasks make
// (nested submits, Get, Put) to the node.
//
// One goroutine at a time reads the ring from the node (the reader), and it
// runs plain tasks inline: no hand-off per task. When a task blocks in Get
// the reader role passes to a new goroutine, so replies still arrive, and
// the old one exits once its task is done. Lock order: mu, then sendMu.
type workerProc struct {
	in, out *shm.Ring
	objs    *objectStore
	ppid    int

	sendMu  sync.Mutex
	sendBuf []byte

	mu        sync.Mutex
	reqs      map[uint64]chan reply
	nextReq   uint64
	holds     map[wire.ObjectID]int32
	readerGen uint64
	busy      bool // the reader is running user code
	executing int  // tasks in progress
	blocked   int  // goroutines waiting in Get or Wait
	reported  bool // the node was told this worker is blocked

	actorWorker bool // this worker hosts an actor
	instance    any  // the actor, once constructed
	actorLimit  int
	actorActive int
	actorQueue  []*wire.Msg
}

func runWorker(ringStr string) error {
	w, err := attachWorker(ringStr)
	if err != nil {
		return err
	}
	w.readLoop(0)
	select {} // the reader role moved to another goroutine, which exits the process
}

// attachWorker maps the segments the node passed and makes this process's
// runtime a worker.
func attachWorker(ringStr string) (*workerProc, error) {
	os.Unsetenv(envWorkerID) // processes this worker starts are not workers
	ring, err := strconv.Atoi(ringStr)
	if err != nil {
		return nil, fmt.Errorf("bad %s %q", envRingBytes, ringStr)
	}
	nodeSeg, err := shm.MapSegment(os.NewFile(3, "manta-node"))
	if err != nil {
		return nil, err
	}
	seg, err := shm.MapSegment(os.NewFile(4, "manta-worker"))
	if err != nil {
		return nil, err
	}
	if len(seg.Bytes()) < workerSegmentSize(ring) {
		return nil, fmt.Errorf("worker segment of %d bytes, want %d", len(seg.Bytes()), workerSegmentSize(ring))
	}
	bellMem, toWorker, toNode := workerRings(seg.Bytes(), ring)
	w := &workerProc{ppid: os.Getppid(), reqs: map[uint64]chan reply{}, holds: map[wire.ObjectID]int32{}}
	if w.in, err = shm.AttachRing(toWorker, ring, shm.NewDoorbell(bellMem)); err != nil {
		return nil, err
	}
	if w.out, err = shm.AttachRing(toNode, ring, shm.NewDoorbell(nodeSeg.Bytes()[:shm.DoorbellSize])); err != nil {
		return nil, err
	}
	storeSeg, err := shm.MapSegment(os.NewFile(5, "manta-store"))
	if err != nil {
		return nil, err
	}
	inline, err := strconv.Atoi(os.Getenv(envInlineBytes))
	if err != nil {
		return nil, fmt.Errorf("bad %s: %v", envInlineBytes, err)
	}
	if w.objs, err = mapStore(storeSeg, inline); err != nil {
		return nil, err
	}
	current.Store(newRuntimeState(w, w.objs))
	return w, nil
}

// readLoop is the reader: it handles messages until the role moves on.
func (w *workerProc) readLoop(gen uint64) {
	var buf []byte
	var m wire.Msg
	for {
		msg, err := w.in.Pop(buf[:0], time.Second)
		if errors.Is(err, shm.ErrTimeout) {
			if os.Getppid() != w.ppid {
				os.Exit(0) // the node is gone
			}
			continue
		}
		if err != nil {
			os.Exit(0) // the node closed the ring
		}
		buf = msg
		if err := wire.Decode(msg, &m); err != nil {
			fmt.Fprintf(os.Stderr, "manta: worker got a bad message from its node: %v\n", err)
			os.Exit(2)
		}
		switch m.Kind {
		case wire.KindExecute, wire.KindCreateActor:
			if !w.handleCall(&m, gen) {
				return
			}
		case wire.KindGetReply, wire.KindWaitReply, wire.KindCreateReply:
			w.deliver(&m)
		case wire.KindShutdown:
			os.Exit(0)
		default:
			fmt.Fprintf(os.Stderr, "manta: worker got %v, which nodes do not send\n", m.Kind)
			os.Exit(2)
		}
	}
}

// handleCall runs or queues a call; it reports whether this goroutine is
// still the reader afterwards.
func (w *workerProc) handleCall(m *wire.Msg, gen uint64) bool {
	if m.Kind == wire.KindExecute && !m.Actor.IsZero() {
		w.mu.Lock()
		if w.actorActive >= w.actorLimit || len(w.actorQueue) > 0 {
			w.actorQueue = append(w.actorQueue, cloneMsg(m))
			w.mu.Unlock()
			return true
		}
		w.actorActive++
		if w.actorLimit > 1 {
			w.mu.Unlock()
			go w.runActorCalls(cloneMsg(m))
			return true
		}
		w.busy = true
		w.mu.Unlock()
		return w.runActorCalls(m) && w.stillReader(gen)
	}
	w.mu.Lock()
	w.busy = true
	if m.Kind == wire.KindCreateActor {
		w.actorWorker = true
	}
	w.mu.Unlock()
	w.execute(m)
	return w.stillReader(gen)
}

// stillReader ends an inline run: it reports whether the role stayed here.
func (w *workerProc) stillReader(gen uint64) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.readerGen != gen {
		return false
	}
	w.busy = false
	return true
}

// runActorCalls runs m and then the queued calls: the goroutine holding an
// actor slot keeps it until the queue is empty, reader or not.
func (w *workerProc) runActorCalls(m *wire.Msg) bool {
	for {
		w.execute(m)
		w.mu.Lock()
		if len(w.actorQueue) == 0 {
			w.actorActive--
			w.mu.Unlock()
			return true
		}
		m = w.actorQueue[0]
		w.actorQueue = w.actorQueue[1:]
		w.mu.Unlock()
	}
}

// execute runs one task, actor creation or method call and reports its
// outcome to the node. A panic becomes the task's error, with the stack.
func (w *workerProc) execute(m *wire.Msg) {
	w.mu.Lock()
	w.executing++
	w.mu.Unlock()
	var out []byte
	var contained []wire.ObjectID
	err := w.invoke(m, &out, &contained)
	w.mu.Lock()
	w.executing--
	w.reportBlocked()
	w.mu.Unlock()

	reply := wire.Msg{Kind: wire.KindDone, Task: m.Task, Data: out, IDs: contained}
	if m.Kind == wire.KindCreateActor {
		reply = wire.Msg{Kind: wire.KindActorReady, Task: m.Task}
	} else if err == nil && len(out) > w.objs.inline {
		if err = w.storeValue(wire.ReturnID(m.Task), encoded{data: out}); err == nil {
			reply.Stored, reply.Data = true, nil
		}
	}
	if err != nil {
		reply.Status, reply.Data, reply.IDs = wire.StatusError, encodeError(err, string(m.Name), m.Task), nil
	}
	w.send(&reply)
}

func (w *workerProc) invoke(m *wire.Msg, out *[]byte, contained *[]wire.ObjectID) (err error) {
	name := string(m.Name)
	for i := range m.Args {
		if a := &m.Args[i]; a.Stored {
			// Pinned by the node until this task is done; decoding copies.
			if a.Data, err = w.objs.read.Bytes(fromSlot(a.Slot)); err != nil {
				return fmt.Errorf("%s argument %d: %w", name, i, err)
			}
		}
	}
	defer func() {
		if r := recover(); r != nil {
			err = &TaskError{Kind: kindTaskFailed, Func: name, Task: m.Task.String(),
				Message: "panic", Panic: fmt.Sprint(r), Stack: string(debug.Stack())}
		}
	}()
	switch {
	case m.Kind == wire.KindCreateActor:
		ai := lookupActor(m.Name)
		if ai == nil {
			return fmt.Errorf("%w: actor type %q is not registered in this binary", ErrUnknownFunction, name)
		}
		inst, err := ai.construct(m.Args)
		if err != nil {
			return err
		}
		w.mu.Lock()
		w.instance, w.actorLimit = inst, max(1, int(m.MaxConcurrency))
		w.mu.Unlock()
		return nil
	case !m.Actor.IsZero():
		method := lookupMethod(m.Name)
		if method == nil {
			return fmt.Errorf("%w: method %q is not registered in this binary", ErrUnknownFunction, name)
		}
		*out, *contained, err = method(w.instance, m.Args, nil)
		return err
	}
	fi := lookupFunc(m.Name)
	if fi == nil {
		return fmt.Errorf("%w: %q is not registered in this binary", ErrUnknownFunction, name)
	}
	*out, *contained, err = fi.invoke(m.Args, nil)
	return err
}

// send pushes a message to the node, waiting for room if the ring is full.
func (w *workerProc) send(m *wire.Msg) {
	w.sendMu.Lock()
	w.sendBuf = wire.Append(w.sendBuf[:0], m)
	err := w.out.Push(w.sendBuf, 0)
	w.sendMu.Unlock()
	if err != nil {
		os.Exit(0) // the node closed the ring: it is shutting down or gone
	}
}

// reportBlocked tells the node when this worker has no task making progress
// (all are waiting in Get), so its CPU can go to others; under mu.
func (w *workerProc) reportBlocked() {
	want := !w.actorWorker && w.executing > 0 && w.blocked >= w.executing
	if want == w.reported {
		return
	}
	w.reported = want
	kind := wire.KindUnblocked
	if want {
		kind = wire.KindBlocked
	}
	w.send(&wire.Msg{Kind: kind})
}

// blockBegin is called before waiting for the node: if the reader is the
// one about to wait (or is busy in user code), a new reader takes over.
func (w *workerProc) blockBegin() {
	w.mu.Lock()
	if w.busy {
		w.busy = false
		w.readerGen++
		go w.readLoop(w.readerGen)
	}
	w.blocked++
	w.reportBlocked()
	w.mu.Unlock()
}

func (w *workerProc) blockEnd() {
	w.mu.Lock()
	w.blocked--
	w.reportBlocked()
	w.mu.Unlock()
}

// reply is a Get's results or a Wait's ready indexes, copied off the ring.
type reply struct {
	results []wire.Result
	ready   []uint32
}

// request sends a Get or Wait and returns the channel its reply comes on.
func (w *workerProc) request(m *wire.Msg) (uint64, chan reply) {
	ch := make(chan reply, 1)
	w.mu.Lock()
	w.nextReq++
	m.ReqID = w.nextReq
	w.reqs[m.ReqID] = ch
	w.mu.Unlock()
	w.send(m)
	return m.ReqID, ch
}

func (w *workerProc) await(ctx context.Context, id uint64, ch chan reply) (reply, error) {
	w.blockBegin()
	defer w.blockEnd()
	select {
	case r := <-ch:
		return r, nil
	case <-ctx.Done():
		w.mu.Lock()
		delete(w.reqs, id)
		w.mu.Unlock()
		return reply{}, ctx.Err()
	}
}

// deliver hands a reply to the goroutine waiting for it; the bytes are
// copied out of the ring buffer, which the reader reuses.
func (w *workerProc) deliver(m *wire.Msg) {
	w.mu.Lock()
	ch := w.reqs[m.ReqID]
	delete(w.reqs, m.ReqID)
	w.mu.Unlock()
	if ch == nil {
		return // its caller gave up
	}
	var r reply
	switch m.Kind {
	case wire.KindWaitReply:
		r.ready = append([]uint32(nil), m.Ready...)
	case wire.KindCreateReply:
		r.results = []wire.Result{{Status: m.Status, Slot: m.Slot, Data: bytesClone(m.Data)}}
	default:
		r.results = make([]wire.Result, len(m.Results))
		for i, x := range m.Results {
			r.results[i] = wire.Result{Status: x.Status, Stored: x.Stored, Slot: x.Slot, Data: bytesClone(x.Data)}
		}
	}
	ch <- r
}

func (w *workerProc) submit(task wire.TaskID, c submission) (hold, error) {
	id := wire.ReturnID(task)
	w.mu.Lock()
	w.holds[id]++ // the node counts this worker's hold on the result
	w.mu.Unlock()
	w.send(&wire.Msg{Kind: wire.KindSubmit, Task: task, Actor: c.actor, Submit: c.kind, Name: c.wireName, Args: c.args, IDs: c.contained})
	return hold{id: id}, nil
}

func (w *workerProc) get(ctx context.Context, hs []hold, out []result) error {
	ids := make([]wire.ObjectID, len(hs))
	for i, h := range hs {
		ids[i] = h.id
	}
	id, ch := w.request(&wire.Msg{Kind: wire.KindGet, IDs: ids})
	rep, err := w.await(ctx, id, ch)
	if err != nil {
		return fmt.Errorf("manta: get: %w", err)
	}
	for i, r := range rep.results {
		switch {
		case r.Status != wire.StatusOK:
			out[i].err = decodeError(r.Data)
		case r.Stored:
			// Pinned by the node for this worker until it drops its hold.
			out[i].data, out[i].err = w.objs.view(ids[i], fromSlot(r.Slot))
			out[i].stored, out[i].id, out[i].slot = out[i].err == nil, ids[i], fromSlot(r.Slot)
		default:
			out[i].data = r.Data
		}
	}
	return nil
}

// doneReading has nothing to give back: the node pins what a worker reads
// for as long as the worker holds it.
func (w *workerProc) doneReading([]result) {}

func (w *workerProc) holdForView(id wire.ObjectID) func() {
	h := w.adopt(id)
	return func() { w.release(h) }
}

func (w *workerProc) wait(ctx context.Context, hs []hold, k int, timeout time.Duration) ([]int, error) {
	ids := make([]wire.ObjectID, len(hs))
	for i, h := range hs {
		ids[i] = h.id
	}
	id, ch := w.request(&wire.Msg{Kind: wire.KindWait, IDs: ids, K: uint32(k), TimeoutNanos: int64(timeout)})
	rep, err := w.await(ctx, id, ch)
	if err != nil {
		return nil, fmt.Errorf("manta: wait: %w", err)
	}
	ready := make([]int, len(rep.ready))
	for i, r := range rep.ready {
		ready[i] = int(r)
	}
	return ready, nil
}

func (w *workerProc) put(id wire.ObjectID, v encoded, contained []wire.ObjectID) (hold, error) {
	m := wire.Msg{Kind: wire.KindPut, Object: id, IDs: contained}
	if v.len() > w.objs.inline {
		if err := w.storeValue(id, v); err != nil {
			return hold{}, err
		}
		m.Stored = true
	} else {
		var err error
		if m.Data, err = v.bytes(); err != nil {
			return hold{}, err
		}
	}
	w.mu.Lock()
	w.holds[id]++
	w.mu.Unlock()
	w.send(&m)
	return hold{id: id}, nil
}

// storeValue writes data into the object store as id: the node allocates
// (Create), this worker copies; the Put or Done that follows seals it.
func (w *workerProc) storeValue(id wire.ObjectID, v encoded) error {
	w.objs.collect(int64(v.len()))
	req, ch := w.request(&wire.Msg{Kind: wire.KindCreate, Object: id, Slot: wire.Slot{Size: uint64(v.len())}})
	rep, err := w.await(context.Background(), req, ch)
	if err != nil {
		return err
	}
	r := rep.results[0]
	if r.Status != wire.StatusOK {
		return decodeError(r.Data)
	}
	return w.objs.fill(fromSlot(r.Slot), v)
}

func (w *workerProc) adopt(id wire.ObjectID) hold {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.holds[id]++; w.holds[id] == 1 {
		w.send(&wire.Msg{Kind: wire.KindAddRef, IDs: []wire.ObjectID{id}})
	}
	return hold{id: id}
}

func (w *workerProc) release(h hold) {
	id := h.id
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.holds[id]--; w.holds[id] <= 0 {
		delete(w.holds, id)
		w.send(&wire.Msg{Kind: wire.KindDelRef, IDs: []wire.ObjectID{id}})
	}
}

func (w *workerProc) killActor(wire.TaskID) error {
	return errors.New("manta: killing an actor from inside a worker is not supported yet; kill it from the driver")
}

// cloneMsg copies a call out of the ring buffer so it can wait in a queue.
func cloneMsg(m *wire.Msg) *wire.Msg {
	c := &wire.Msg{Kind: m.Kind, Task: m.Task, Actor: m.Actor, Attempt: m.Attempt, Name: bytesClone(m.Name), MaxConcurrency: m.MaxConcurrency}
	c.Args = cloneArgs(m.Args)
	return c
}
