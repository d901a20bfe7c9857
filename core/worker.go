package core

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/fxamacker/cbor/v2"

	"manta/events"
	"manta/gpu"
	"manta/node"
	"manta/node/host"
	"manta/rpc/wire"
	"manta/shm"
)

// WorkerMain turns this process into a worker when a node started it as
// one, or into a job node when the node of another program started it to
// run this program's tasks on its machine (the binary reached that node
// through the cluster's function table), and then never returns;
// otherwise it returns at once. Init calls it
// first thing; a test binary that runs remote functions calls it at the
// top of TestMain, before m.Run.
func WorkerMain() {
	if !host.IsWorker() {
		if os.Getenv(envJobNode) != "" {
			runJobNode()
		}
		return
	}
	err := runWorker()
	fmt.Fprintf(os.Stderr, "manta: worker %d: %v\n", os.Getpid(), err)
	exit(1)
}

// workerEvents is this worker's events recorder, when its node records
// events: exit writes what it holds.
var workerEvents *events.Recorder

// exit ends the worker process, with its last events written.
func exit(code int) {
	if workerEvents != nil {
		workerEvents.Close()
	}
	os.Exit(code)
}

// workerProcess is set in a process a node started as a worker.
var workerProcess = host.IsWorker()

// IsWorker reports whether this process is a worker that a node started
// (the user's binary, run again to execute tasks) rather than the driver.
// Everything before Init, package-level variables and init functions
// included, runs again in every worker, and Init never returns there: code
// that must run once, in the driver only, either follows Init or checks
// IsWorker.
func IsWorker() bool { return workerProcess }

// workerProc is a worker process's side of its node: it runs the tasks
// and actor calls the node sends, and forwards the API calls its tasks make
// (nested submits, Get, Put) to the node.
//
// One goroutine at a time reads the ring from the node (the reader), and it
// runs plain tasks inline: no hand-off per task. When a task blocks in Get
// the reader role passes to a new goroutine, so replies and more tasks
// still arrive, and the old one exits once its task is done. A second
// goroutine reads the control ring, where cancellations come, so they
// arrive while the reader runs user code. Lock order: mu, then sendMu.
type workerProc struct {
	id      string // its node's name for it (node.ProcID)
	in, out *shm.Ring
	ctl     *shm.Ring // node→worker control messages
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

	active    []*running           // calls executing, oldest first
	slots     []*slotLoad          // per scheduler worker (lease slot): a few
	cancelled map[wire.TaskID]bool // cancellations of calls not started yet

	instance any // the actor, once constructed
	// checkpointer is the actor if its state saves checkpoints; set with
	// instance. checkpointEvery is its WithCheckpointEvery;
	// sinceCheckpoint counts its calls since the last save, under mu.
	checkpointer                     Checkpointer
	checkpointEvery, sinceCheckpoint int
	actorLimit                       int
	actorActive                      int
	actorQueue                       []*wire.Msg

	// pinner pins the process to the GPUs the node gives it; devices are
	// the last given, which the calls after see in their TaskInfo. The
	// reader role alone writes it (KindDevices comes before its call).
	pinner  *gpu.Pinner
	devices []int
}

// slotLoad counts one lease slot's calls: the node's scheduler gets the
// slot's CPU back while every one of them waits in Get.
type slotLoad struct {
	slot               uint32
	executing, blocked int
	reported           bool // the node was told the slot is blocked
}

// loadOf returns slot's counts, making them if needed; under mu. Slots
// come and go (extra ones live for one lease), so idle entries are
// dropped once there are many.
func (w *workerProc) loadOf(slot uint32) *slotLoad {
	for _, sl := range w.slots {
		if sl.slot == slot {
			return sl
		}
	}
	if len(w.slots) >= 16 {
		w.slots = slices.DeleteFunc(w.slots, func(sl *slotLoad) bool { return sl.executing == 0 && !sl.reported })
	}
	sl := &slotLoad{slot: slot}
	w.slots = append(w.slots, sl)
	return sl
}

// maxCancelled bounds the cancellations kept for calls not seen yet: one
// that raced with its call's end is never claimed.
const maxCancelled = 4096

func runWorker() error {
	w, err := attachWorker()
	if err != nil {
		return err
	}
	if dir := os.Getenv(events.EnvDir); dir != "" {
		if workerEvents, err = events.Open(dir, events.RoleWorker, "worker "+w.id); err != nil {
			return err
		}
	}
	go w.controlLoop()
	w.readLoop(0)
	select {} // the reader role moved to another goroutine, which exits the process
}

// attachWorker maps what the node passed and makes this process's runtime
// a worker.
func attachWorker() (*workerProc, error) {
	end, err := host.Attach()
	if err != nil {
		return nil, err
	}
	events.Attach(end.EventSwitch)
	w := &workerProc{id: end.ID, in: end.In, out: end.Out, ctl: end.Control, ppid: os.Getppid(), reqs: map[uint64]chan reply{},
		holds: map[wire.ObjectID]int32{}, cancelled: map[wire.TaskID]bool{}}
	if w.objs, err = mapStore(end.Store, end.InlineBytes); err != nil {
		return nil, err
	}
	if w.pinner, err = gpu.NewPinner(); err != nil {
		return nil, err
	}
	rt := newRuntimeState(w, w.objs)
	rt.numberer = w
	current.Store(rt)
	return w, nil
}

// pin makes devs this process's GPUs, for the calls that follow. A
// binding that fails leaves the calls to run unbound, with a log line:
// the devices are still theirs.
func (w *workerProc) pin(devs []uint32) {
	w.devices = nil
	for _, d := range devs {
		w.devices = append(w.devices, int(d))
	}
	if err := w.pinner.Pin(w.devices); err != nil {
		fmt.Fprintf(os.Stderr, "manta: worker %s: pinning to GPUs %v: %v\n", w.id, w.devices, err)
	}
}

// nextTaskID numbers a call made with ctx (nil if none) from the
// invocation it comes from: the one ctx belongs to, else the only call here
// that is not waiting in Get (Go has no goroutine-local state to tell
// more). ok is false when that is ambiguous.
func (w *workerProc) nextTaskID(ctx context.Context) (id wire.TaskID, ok bool) {
	if run := runningOf(ctx); run != nil {
		return run.ids.nextTask(), true // a record with a context is never reused
	}
	w.mu.Lock()
	defer w.mu.Unlock() // the call stays active, its record its own, meanwhile
	if run := w.soleRunnerLocked(); run != nil {
		return run.ids.nextTask(), true
	}
	return id, false
}

// nextPutID is nextTaskID's counterpart for Put, which has no context.
func (w *workerProc) nextPutID() (id wire.ObjectID, ok bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if run := w.soleRunnerLocked(); run != nil {
		return run.ids.nextPut(), true
	}
	return id, false
}

// soleRunnerLocked returns the only call executing here that is not
// waiting in Get or Wait, or nil; under mu.
func (w *workerProc) soleRunnerLocked() *running {
	var only *running
	for _, run := range w.active {
		if run.blocked > 0 {
			continue
		}
		if only != nil {
			return nil
		}
		only = run
	}
	return only
}

// readLoop is the reader: it handles messages until the role moves on.
func (w *workerProc) readLoop(gen uint64) {
	var buf []byte
	var m wire.Msg
	var spare *running // a call record kept for this goroutine's next call
	for {
		msg, err := w.in.Pop(buf[:0], time.Second)
		if errors.Is(err, shm.ErrTimeout) {
			if os.Getppid() != w.ppid {
				exit(0) // the node is gone
			}
			continue
		}
		if err != nil {
			exit(0) // the node closed the ring
		}
		buf = msg
		if err := wire.Decode(msg, &m); err != nil {
			fmt.Fprintf(os.Stderr, "manta: worker got a bad message from its node: %v\n", err)
			exit(2)
		}
		switch m.Kind {
		case wire.KindExecute, wire.KindCreateActor:
			events.Record(events.Pop, m.Task, 0)
			if !w.handleCall(&m, gen, &spare) {
				return
			}
		case wire.KindGetReply, wire.KindWaitReply, wire.KindCreateReply, wire.KindLookupReply:
			w.deliver(&m)
		case wire.KindDevices:
			w.pin(m.Devices)
		case wire.KindShutdown:
			exit(0)
		default:
			fmt.Fprintf(os.Stderr, "manta: worker got %v, which nodes do not send\n", m.Kind)
			exit(2)
		}
	}
}

// controlLoop reads the control ring: cancellations, which must reach a
// call while the reader is busy running it.
func (w *workerProc) controlLoop() {
	var buf []byte
	var m wire.Msg
	for {
		msg, err := w.ctl.Pop(buf[:0], time.Second)
		if errors.Is(err, shm.ErrTimeout) {
			continue
		}
		if err != nil {
			return // the node closed the ring
		}
		buf = msg
		if err := wire.Decode(msg, &m); err != nil || m.Kind != wire.KindCancel {
			fmt.Fprintf(os.Stderr, "manta: worker got a bad control message from its node: %v %v\n", m.Kind, err)
			exit(2)
		}
		w.cancelCall(m.Task)
	}
}

// cancelCall cancels the context of a call running here, or remembers the
// cancellation for when the call arrives.
func (w *workerProc) cancelCall(id wire.TaskID) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, run := range w.active { // few: the calls executing right now
		if run.info.ID == id {
			run.cancelLocked()
			return
		}
	}
	if len(w.cancelled) >= maxCancelled {
		clear(w.cancelled)
	}
	w.cancelled[id] = true
}

// handleCall runs or queues a call; it reports whether this goroutine is
// still the reader afterwards.
func (w *workerProc) handleCall(m *wire.Msg, gen uint64, spare **running) bool {
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
			go w.runActorCalls(cloneMsg(m), false, new(*running))
			return true
		}
		w.mu.Unlock()
		return w.runActorCalls(m, true, spare) && w.stillReader(gen)
	}
	w.execute(m, true, spare)
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
// actor slot keeps it until the queue is empty, reader or not; inline says
// it is the reader.
func (w *workerProc) runActorCalls(m *wire.Msg, inline bool, spare **running) bool {
	for {
		w.execute(m, inline, spare)
		inline = false
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
// inline says the reader runs it (it is busy in user code meanwhile);
// *spare is the goroutine's record kept from its last call, for reuse.
func (w *workerProc) execute(m *wire.Msg, inline bool, spare **running) {
	run, cancelled := w.begin(m, inline, *spare)
	*spare = nil
	out := &run.out
	var err error
	if cancelled {
		err = run.cancelError()
	} else {
		var start events.Stamp
		if events.Sampled(m.Task) {
			start = events.Now()
		}
		err = w.invoke(m, run, out)
		if start != 0 {
			events.RecordPair(events.Start, events.End, m.Task, 0, start)
		}
	}
	err = run.classify(err)
	save := false
	if w.checkpointer != nil && m.Kind == wire.KindExecute && !m.Actor.IsZero() && !cancelled {
		w.mu.Lock()
		save = w.checkpointDue(run)
		w.mu.Unlock()
	}
	reuse := w.settle(run)
	if save {
		w.saveCheckpoint(m.Task, m.Name)
	}

	reply := wire.Msg{Kind: wire.KindDone, Task: m.Task}
	switch {
	case m.Kind == wire.KindCreateActor:
		reply.Kind = wire.KindActorReady
	case err == nil && out.parts != nil:
		err = w.storeParts(wire.ReturnID(m.Task), out.parts, &reply)
	case err == nil:
		reply.Data, reply.IDs = out.data, out.contained
		if len(out.data) > w.objs.inline {
			if err = w.storeValue(wire.ReturnID(m.Task), encoded{data: out.data}); err == nil {
				reply.Stored, reply.Data = true, nil
			}
		}
	}
	if err != nil {
		reply.Status, reply.Data, reply.IDs, reply.Stored, reply.Results = wire.StatusError, encodeError(err, string(m.Name), m.Task), nil, false, nil
	}
	w.send(&reply)
	runtime.KeepAlive(out.held) // the node holds their objects for the result now
	if reuse {
		run.recycle()
		*spare = run
	}
}

// storeParts puts the values of a call with several returns into reply,
// the large ones through the store.
func (w *workerProc) storeParts(ret wire.ObjectID, parts []part, reply *wire.Msg) error {
	reply.Results = make([]wire.Result, len(parts))
	for i, p := range parts {
		r := &reply.Results[i]
		r.Data, r.IDs = p.data, p.contained
		if len(p.data) > w.objs.inline {
			if err := w.storeValue(partID(ret, i), encoded{data: p.data}); err != nil {
				return err
			}
			r.Stored, r.Data = true, nil
		}
	}
	return nil
}

func (w *workerProc) invoke(m *wire.Msg, run *running, out *output) (err error) {
	for i := range m.Args {
		if a := &m.Args[i]; a.Stored {
			// Pinned by the node until this task is done.
			if a.Data, err = w.objs.read.Bytes(node.FromSlot(a.Slot)); err != nil {
				return fmt.Errorf("%s argument %d: %w", m.Name, i, err)
			}
		}
	}
	f := &run.frame
	*f = frame{name: m.Name, args: m.Args, run: run, objs: w.objs, views: f.views[:0]}
	defer func() {
		f.releaseViews()
		if r := recover(); r != nil {
			err = &TaskError{Kind: kindTaskFailed, Func: string(m.Name), Task: m.Task.String(),
				Message: "panic", Panic: fmt.Sprint(r), Stack: string(debug.Stack())}
		}
	}()
	switch {
	case m.Kind == wire.KindCreateActor:
		ai := lookupActor(m.Name)
		if ai == nil {
			return fmt.Errorf("%w: actor type %q is not registered in this binary", ErrUnknownFunction, m.Name)
		}
		inst, err := ai.construct(f)
		if err != nil {
			return err
		}
		if err := restoreActor(inst, m); err != nil {
			return err
		}
		w.mu.Lock()
		w.instance, w.actorLimit, w.checkpointEvery = inst, max(1, int(m.MaxConcurrency)), int(m.CheckpointEvery)
		w.checkpointer, _ = inst.(Checkpointer)
		w.mu.Unlock()
		return nil
	case !m.Actor.IsZero():
		mi := lookupMethod(m.Name)
		if mi == nil {
			return fmt.Errorf("%w: method %q is not registered in this binary", ErrUnknownFunction, m.Name)
		}
		return mi.invoke(w.instance, f, out)
	}
	fi := lookupFunc(m.Name)
	if fi == nil {
		return fmt.Errorf("%w: %q is not registered in this binary", ErrUnknownFunction, m.Name)
	}
	return fi.invoke(f, out)
}

// begin records a call that starts executing here, in run if it is a
// record to reuse, and reports whether it was cancelled before it came.
func (w *workerProc) begin(m *wire.Msg, inline bool, run *running) (_ *running, cancelled bool) {
	if run == nil {
		run = &running{w: w}
	}
	run.info = TaskInfo{ID: m.Task, Actor: m.Actor, Attempt: m.Attempt, Devices: w.devices}
	run.ids.reset(m.Task)
	run.name, run.deadline, run.live = m.Name, m.Deadline, true
	w.mu.Lock()
	if inline {
		w.busy = true
	}
	if len(w.cancelled) > 0 && w.cancelled[m.Task] {
		delete(w.cancelled, m.Task)
		run.cancelled = true
	}
	w.active = append(w.active, run)
	run.load = w.loadOf(m.Worker)
	run.load.executing++
	w.reportSlot(run.load)
	cancelled = run.cancelled // read under mu: the control loop cancels from now on
	w.mu.Unlock()
	return run, cancelled
}

// settle forgets a call whose user code has returned. It reports whether
// the record may be reused once the reply is sent: not if user code may
// still hold it (through its context, or a goroutine still in Get).
func (w *workerProc) settle(run *running) (reuse bool) {
	w.mu.Lock()
	run.live = false
	for i, r := range w.active {
		if r == run {
			w.active = append(w.active[:i], w.active[i+1:]...)
			break
		}
	}
	if run.stopTimer != nil {
		run.stopTimer()
	}
	sl := run.load
	sl.executing--
	if run.blocked > 0 {
		sl.blocked-- // a goroutine of the call still waits; the call is over
	}
	w.reportSlot(sl)
	reuse = run.ctx == nil && run.blocked == 0
	w.mu.Unlock()
	return reuse
}

// recycle readies a finished call's record for the next call.
func (run *running) recycle() {
	run.cancelled, run.checkpoint, run.name, run.stopTimer = false, false, nil, nil
	run.out.contained, run.out.parts, run.out.held = nil, nil, nil
	run.frame.args, run.frame.name = nil, nil
}

// reportSlot tells the node when a slot has no call making progress
// (every one waits in Get), so its CPU can go to others, and when one
// runs again; under mu.
func (w *workerProc) reportSlot(sl *slotLoad) {
	want := sl.executing > 0 && sl.blocked >= sl.executing
	if want == sl.reported {
		return
	}
	sl.reported = want
	kind := wire.KindUnblocked
	if want {
		kind = wire.KindBlocked
	}
	w.send(&wire.Msg{Kind: kind, Worker: sl.slot})
}

// send pushes a message to the node, waiting for room if the ring is full.
func (w *workerProc) send(m *wire.Msg) {
	w.sendMu.Lock()
	w.sendBuf = wire.Append(w.sendBuf[:0], m)
	err := w.out.Push(w.sendBuf, 0)
	w.sendMu.Unlock()
	if err != nil {
		exit(0) // the node closed the ring: it is shutting down or gone
	}
}

// blockBegin is called before waiting for the node: if the reader is the
// one about to wait (or is busy in user code), a new reader takes over.
// When charge is set the wait counts against the call that ctx belongs to
// (or, without a task context, the newest call still making progress),
// whose lease slot may then give its CPU back; it returns the call charged.
func (w *workerProc) blockBegin(ctx context.Context, charge bool) *running {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.busy {
		w.busy = false
		w.readerGen++
		go w.readLoop(w.readerGen)
	}
	if !charge {
		return nil
	}
	run := runningOf(ctx)
	if run == nil || !run.live {
		run = nil
		for i := len(w.active) - 1; i >= 0; i-- {
			if w.active[i].blocked == 0 {
				run = w.active[i]
				break
			}
		}
	}
	if run != nil {
		if run.blocked++; run.blocked == 1 {
			run.load.blocked++
			w.reportSlot(run.load)
		}
	}
	return run
}

func (w *workerProc) blockEnd(run *running) {
	if run == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if run.blocked--; run.blocked == 0 && run.live {
		run.load.blocked--
		w.reportSlot(run.load)
	}
}

// reply is a Get's results, a Wait's ready indexes or a lookup's answer,
// copied off the ring.
type reply struct {
	results []wire.Result
	ready   []uint32
	task    wire.TaskID
	name    string
}

// request sends a request and returns the channel its reply comes on.
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

// await waits for the reply to request id; see blockBegin for charge.
func (w *workerProc) await(ctx context.Context, id uint64, ch chan reply, charge bool) (reply, error) {
	run := w.blockBegin(ctx, charge)
	defer w.blockEnd(run)
	select {
	case r := <-ch:
		return r, nil
	case <-ctx.Done():
		w.mu.Lock()
		delete(w.reqs, id)
		w.mu.Unlock()
		return reply{}, context.Cause(ctx)
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
		r.results = []wire.Result{{Status: m.Status, Slot: m.Slot, Data: bytes.Clone(m.Data)}}
	case wire.KindLookupReply:
		r.results = []wire.Result{{Status: m.Status, Data: bytes.Clone(m.Data)}}
		r.task, r.name = m.Task, string(m.Name)
	default:
		r.results = make([]wire.Result, len(m.Results))
		for i, x := range m.Results {
			r.results[i] = wire.Result{Status: x.Status, Stored: x.Stored, Slot: x.Slot, Data: bytes.Clone(x.Data)}
		}
	}
	ch <- r
}

func (w *workerProc) submit(task wire.TaskID, c submission) (hold, error) {
	id := wire.ReturnID(task)
	m := wire.Msg{Kind: wire.KindSubmit, Task: task, Actor: c.actor, Submit: c.kind, Returns: uint32(c.returns),
		Name: c.wireName, Args: c.args, IDs: c.contained}
	if c.opts != nil {
		var err error
		if m.Opts, err = cbor.Marshal(c.opts); err != nil {
			return hold{}, fmt.Errorf("manta: cannot encode options: %w", err)
		}
	}
	if c.ctx != nil {
		if run := runningOf(c.ctx); run != nil {
			m.Parent = run.info.ID // the node cancels it with its parent
		}
		if d, ok := c.ctx.Deadline(); ok {
			m.Deadline = d.UnixNano()
		}
		if _, own := c.ctx.(*taskContext); !own && c.ctx.Done() != nil {
			context.AfterFunc(c.ctx, func() { w.send(&wire.Msg{Kind: wire.KindCancel, Task: task}) })
		}
	}
	w.mu.Lock()
	w.holds[id]++ // the node counts this worker's hold on the result
	w.mu.Unlock()
	w.send(&m)
	return hold{ID: id}, nil
}

func (w *workerProc) get(ctx context.Context, hs []hold, out []result) error {
	ids := make([]wire.ObjectID, len(hs))
	for i, h := range hs {
		ids[i] = h.ID
	}
	id, ch := w.request(&wire.Msg{Kind: wire.KindGet, IDs: ids})
	rep, err := w.await(ctx, id, ch, true)
	if err != nil {
		return fmt.Errorf("manta: get: %w", err)
	}
	for i, r := range rep.results {
		out[i] = result{ID: ids[i]}
		switch {
		case r.Status != wire.StatusOK:
			out[i].Err = decodeError(r.Data)
		case r.Stored:
			// Pinned by the node for this worker until it drops its hold.
			out[i].Data, out[i].Err = w.objs.view(ids[i], node.FromSlot(r.Slot))
			out[i].Stored, out[i].Slot = out[i].Err == nil, node.FromSlot(r.Slot)
		default:
			out[i].Data = r.Data
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
		ids[i] = h.ID
	}
	id, ch := w.request(&wire.Msg{Kind: wire.KindWait, IDs: ids, K: uint32(k), TimeoutNanos: int64(timeout)})
	rep, err := w.await(ctx, id, ch, true)
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
	return hold{ID: id}, nil
}

// storeValue writes data into the object store as id: the node allocates
// (Create), this worker copies; the Put or Done that follows seals it.
func (w *workerProc) storeValue(id wire.ObjectID, v encoded) error {
	w.objs.collect(int64(v.len()))
	req, ch := w.request(&wire.Msg{Kind: wire.KindCreate, Object: id, Slot: wire.Slot{Size: uint64(v.len())}})
	// The node answers at once (or fails after StoreWait): not a Get, so
	// no call is charged.
	rep, err := w.await(context.Background(), req, ch, false)
	if err != nil {
		return err
	}
	switch r := rep.results[0]; r.Status {
	case wire.StatusExists:
		return nil // a re-run task's value, which the node has: nothing to write
	case wire.StatusOK:
		return w.objs.fill(node.FromSlot(r.Slot), v)
	default:
		return decodeError(r.Data)
	}
}

func (w *workerProc) adopt(id wire.ObjectID) hold {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.holds[id]++; w.holds[id] == 1 {
		w.send(&wire.Msg{Kind: wire.KindAddRef, IDs: []wire.ObjectID{id}})
	}
	return hold{ID: id}
}

func (w *workerProc) release(h hold) {
	id := h.ID
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.holds[id]--; w.holds[id] <= 0 {
		delete(w.holds, id)
		w.send(&wire.Msg{Kind: wire.KindDelRef, IDs: []wire.ObjectID{id}})
	}
}

func (w *workerProc) cancel(task wire.TaskID) error {
	w.send(&wire.Msg{Kind: wire.KindCancel, Task: task})
	return nil
}

func (w *workerProc) killActor(id wire.TaskID) error {
	w.send(&wire.Msg{Kind: wire.KindKillActor, Actor: id})
	return nil
}

func (w *workerProc) lookupActor(ctx context.Context, name string) (wire.TaskID, string, error) {
	id, ch := w.request(&wire.Msg{Kind: wire.KindLookupActor, Name: []byte(name)})
	rep, err := w.await(ctx, id, ch, true)
	if err != nil {
		return wire.TaskID{}, "", fmt.Errorf("manta: get actor %q: %w", name, err)
	}
	if r := rep.results[0]; r.Status != wire.StatusOK {
		return wire.TaskID{}, "", decodeError(r.Data)
	}
	return rep.task, rep.name, nil
}

// cloneMsg copies a call out of the ring buffer so it can wait in a queue.
func cloneMsg(m *wire.Msg) *wire.Msg {
	c := &wire.Msg{Kind: m.Kind, Task: m.Task, Actor: m.Actor, Attempt: m.Attempt, Worker: m.Worker, Deadline: m.Deadline,
		Name: bytes.Clone(m.Name), MaxConcurrency: m.MaxConcurrency}
	c.Args = wire.CloneArgs(m.Args)
	return c
}
