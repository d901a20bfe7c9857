package host

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"

	"manta/events"
	"manta/gpu"
	"manta/node"
	"manta/node/peer"
	"manta/rpc/wire"
	"manta/shm"
	"manta/shm/store"
)

// Config configures a Host. Zero fields take the defaults given.
type Config struct {
	// Node configures the state machine. Node.Errors is required.
	Node node.Config
	// Store configures the object store the host makes and owns.
	Store store.Config
	// RingBytes is each main ring's capacity (a power of two >= 4096).
	// Default 4 MiB.
	RingBytes int
	// InlineBytes is the largest value that travels inline, passed to the
	// workers. Default 100 KiB.
	InlineBytes int
	// ShutdownGrace is how long Shutdown lets workers exit before killing
	// them. Default 100 ms.
	ShutdownGrace time.Duration
	// TickEvery is how often the node is told the time, for reaping idle
	// workers. Default 1 s.
	TickEvery time.Duration
	// Clock is the host's time: worker Wait timeouts, ticks, the driver's
	// Wait timeouts, the shutdown grace. Default: the real clock.
	Clock clockwork.Clock
	// Logger receives what goes wrong with workers. Default slog.Default().
	Logger *slog.Logger
	// WorkerCommand makes the command of a new worker process; the host
	// adds the environment and file descriptors of its connection (see
	// Attach). Default: this executable, with this process's arguments.
	WorkerCommand func() (Command, error)
	// Cluster, if set, makes the node a member of a cluster: New calls it
	// once the store exists, with the host as the Executor of the tasks
	// peers send. The node then spills tasks (Node.SpillQueue, default 8
	// here) and pulls the objects other nodes hold. Nil: a single node.
	Cluster func(st *store.Store, exec peer.Executor) (Cluster, error)
	// StoreAllocated, if set, is called (off the lock) before the host
	// allocates size bytes of the store for a worker: core runs the
	// garbage collector from it, since store memory is not Go heap.
	StoreAllocated func(size int64)
	// EventsDir, if set, turns on the node's task-life events (package
	// events): the host gives the node an Observe, passes the directory
	// to its workers, and shares with them its switch, which this
	// process attaches (so events.Enable reaches every worker). The
	// caller starts this process's own recorder (events.Open).
	EventsDir string
	// GPUs are the node's devices, by index, whose local CPUs the workers
	// bind to when a lease gives them a device (gpu.EnvCPUs). The node's
	// GPU resource (Node.Sched.Total) is set apart.
	GPUs []gpu.Device
}

func (c Config) withDefaults() (Config, error) {
	if c.Node.Errors == nil {
		return c, errors.New("host: Config.Node.Errors is required")
	}
	if c.RingBytes <= 0 {
		c.RingBytes = 4 << 20
	}
	if c.RingBytes&(c.RingBytes-1) != 0 || c.RingBytes < 4096 {
		return c, fmt.Errorf("host: RingBytes %d is not a power of two >= 4096", c.RingBytes)
	}
	if c.InlineBytes <= 0 {
		c.InlineBytes = 100 << 10
	}
	if c.ShutdownGrace <= 0 {
		c.ShutdownGrace = 100 * time.Millisecond
	}
	if c.TickEvery <= 0 {
		c.TickEvery = time.Second
	}
	if c.Clock == nil {
		c.Clock = clockwork.NewRealClock()
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Cluster != nil && c.Node.SpillQueue == 0 {
		c.Node.SpillQueue = 8
	}
	if c.WorkerCommand == nil {
		c.WorkerCommand = thisExecutable
	}
	return c, nil
}

// Host runs a node.Node in this process: it serializes the node's inputs
// under one mutex, and carries out its effects with worker processes,
// shared-memory rings, the object store and the clock. The driver's own
// calls (Submit, Get, ...) are method calls under the same mutex: no
// socket and no extra hop.
//
// Lock order: Host.mu, then the store's own lock. The host never calls
// the store's blocking operations (Create, Pin) under mu; their results
// come back under mu from a goroutine.
type Host struct {
	cfg   Config
	clock clockwork.Clock
	log   *slog.Logger
	start time.Time

	mu     sync.Mutex
	n      *node.Node
	st     *store.Store
	write  *store.View // the store's writable view, for the driver's Puts
	procs  map[node.ProcID]*proc
	timers map[node.TimerToken]clockwork.Timer
	// watching holds, per task submitted with a context, what stops
	// watching that context.
	watching map[wire.TaskID]func() bool
	pinQueue []pinRequest // pins asked for under mu, started at unlock
	retired  []*proc      // exited, their segments unmapped by the loop
	closed   bool
	// woke says a driver goroutine that should run at once was woken
	// under mu (effects.Wake): unlock then yields the P to it. Beside
	// closed, in its padding: the fields after it keep their places.
	woke bool

	// With Config.Cluster: objects other nodes hold, objects lent to
	// peers, peers' runs waiting for their task, and the spills in flight
	// (ended by ctx at Shutdown).
	cluster Cluster
	remote  map[wire.ObjectID]remoteObject
	lent    map[lentKey]*lentObject
	serving map[wire.TaskID]*servedRun
	// Actors on other nodes: where they live, and the numbers of the
	// calls sent to them; calls from other nodes: the last number of each
	// caller's calls submitted, and a channel closed when one is.
	actorAt map[wire.TaskID]string
	// moved are the actors their calls could not reach, being found
	// again (locateActor).
	moved map[wire.TaskID]movedActor
	// gone are the members that left the cluster or died (MembersGone):
	// an object they own cannot be made again.
	gone        map[string]bool
	sendSeq     map[wire.TaskID]uint64
	sendEpoch   map[wire.TaskID]uint32 // the attempt of each actor's last creation sent
	recvEpoch   map[callKey]uint32     // likewise, of the actors created here, by owner
	recvSeq     map[callKey]uint64
	seqAdvanced chan struct{}
	spills      sync.WaitGroup
	ctx         context.Context
	cancel      context.CancelFunc

	seg        *shm.Segment // the host's doorbell
	bell       *shm.Doorbell
	live       atomic.Pointer[[]*proc] // the inbound loop's snapshot
	hasRetired atomic.Bool
	stopping   atomic.Bool
	loopDone   chan struct{}
	stopTick   chan struct{}
	inBuf      []byte // the inbound loop's scratch; under mu

	storeCalls sync.WaitGroup // store calls off the lock, and driver reads
	writers    sync.WaitGroup // driver Puts writing into the store
	exits      sync.WaitGroup // spawns and exit watchers in progress
	flushers   sync.WaitGroup // overflow flushers running

	pulls, pulledBytes atomic.Int64 // objects pulled from other nodes

	held heldEvent // under mu; see heldEvent

	// With Config.Cluster, under mu: the spills in flight, by task (for
	// node.Host.CancelSpilled); early, the cancels that came for peers'
	// tasks before their runs did. Last: the fields before them keep
	// the places the task path was measured with.
	spilling map[wire.TaskID]*spillRun
	early    peer.EarlyCancels
}

type pinRequest struct {
	id  wire.ObjectID
	tok node.PinToken
}

// New makes the object store and the node, and starts the host's loops.
func New(cfg Config) (*Host, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	h := &Host{cfg: cfg, clock: cfg.Clock, log: cfg.Logger, procs: map[node.ProcID]*proc{},
		timers: map[node.TimerToken]clockwork.Timer{}, watching: map[wire.TaskID]func() bool{},
		loopDone: make(chan struct{}), stopTick: make(chan struct{}),
		remote: map[wire.ObjectID]remoteObject{}, lent: map[lentKey]*lentObject{}, serving: map[wire.TaskID]*servedRun{},
		spilling: map[wire.TaskID]*spillRun{},
		actorAt:  map[wire.TaskID]string{}, moved: map[wire.TaskID]movedActor{}, gone: map[string]bool{}, sendSeq: map[wire.TaskID]uint64{}, recvSeq: map[callKey]uint64{},
		sendEpoch: map[wire.TaskID]uint32{}, recvEpoch: map[callKey]uint32{}, seqAdvanced: make(chan struct{})}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	h.start = h.clock.Now()
	if cfg.EventsDir != "" {
		h.cfg.Node.Observe = h.observe
		cfg.Store.Spilled = storeEvent(events.ObjSpill)
		cfg.Store.Restored = storeEvent(events.ObjRestore)
	}
	if h.n, err = node.New(h.cfg.Node, (*effects)(h)); err != nil {
		return nil, err
	}
	if h.st, err = store.New(cfg.Store); err != nil {
		return nil, fmt.Errorf("manta: object store: %w", err)
	}
	if h.write, err = store.NewView(h.st.Segment()); err != nil {
		h.st.Close()
		return nil, fmt.Errorf("manta: object store: %w", err)
	}
	if h.seg, err = shm.NewSegment("manta-node", hostSegmentSize); err != nil {
		h.st.Close()
		return nil, fmt.Errorf("manta: node segment: %w", err)
	}
	h.bell = shm.NewDoorbell(h.seg.Bytes())
	if cfg.EventsDir != "" {
		events.Attach(eventSwitch(h.seg))
	}
	h.live.Store(&[]*proc{})
	if cfg.Cluster != nil {
		if h.cluster, err = cfg.Cluster(h.st, h); err != nil {
			if cfg.EventsDir != "" {
				events.Detach()
			}
			h.seg.Close()
			h.st.Close()
			return nil, err
		}
	}
	go h.inboundLoop()
	go h.tick()
	return h, nil
}

// Store is the node's object store; the host owns it (Shutdown closes
// it).
func (h *Host) Store() *store.Store { return h.st }

// lock takes the host's mutex; unlock starts the store pins the node
// asked for meanwhile, releases it, and yields to a driver goroutine the
// node woke. Every input to the node goes between the two.
func (h *Host) lock() { h.mu.Lock() }

func (h *Host) unlock() {
	if len(h.pinQueue) > 0 {
		pins := h.pinQueue
		h.pinQueue = nil
		h.storeCalls.Add(1)
		go h.pin(pins)
	}
	if h.held.kind != 0 {
		h.appendHeld()
	}
	woke := h.woke
	h.woke = false
	h.mu.Unlock()
	if woke {
		// The woken goroutine waits in this P's next slot: yielding runs
		// it now, where it would wait for the inbound loop's next yield
		// or for another P to steal it (microseconds either way).
		runtime.Gosched()
	}
}

// pin pins what the node asked for, off the lock (a pin may read a spill
// file or wait for room), and answers the node under it.
func (h *Host) pin(pins []pinRequest) {
	defer h.storeCalls.Done()
	slots := make([]store.Slot, len(pins))
	errs := make([]error, len(pins))
	for i, p := range pins {
		slots[i], errs[i] = h.pinObject(h.ctx, p.id, false)
	}
	h.lock()
	defer h.unlock()
	for i, p := range pins {
		h.n.PinDone(p.tok, slots[i], errs[i])
	}
}

func (h *Host) tick() {
	t := h.clock.NewTicker(h.cfg.TickEvery)
	defer t.Stop()
	for {
		select {
		case <-h.stopTick:
			return
		case <-t.Chan():
			h.lock()
			h.n.Tick(h.clock.Since(h.start))
			h.unlock()
		}
	}
}

// Submit submits a call of the driver; the result is held once for the
// caller. With ctx, whose end cancels the call, the host watches ctx
// until the call is done.
func (h *Host) Submit(spec *node.TaskSpec, ctx context.Context) (*node.Object, error) {
	h.lock()
	defer h.unlock()
	if h.closed {
		return nil, node.ErrShutdown
	}
	if ctx != nil && ctx.Done() != nil {
		// Watched before it is submitted: the node reports Finished even
		// for a call that fails at once.
		spec.Watched = true
		id := spec.ID
		h.watching[id] = context.AfterFunc(ctx, func() {
			h.lock()
			defer h.unlock()
			delete(h.watching, id)
			h.n.Cancel(id, fmt.Errorf("%w: %w", node.ErrCancelled, context.Cause(ctx)))
		})
	}
	return h.n.Submit(spec), nil
}

// Put records a value of the driver, inline (v.Data) or already sealed
// in the store (see PutStored).
func (h *Host) Put(id wire.ObjectID, v node.Value, contained []wire.ObjectID) (*node.Object, error) {
	h.lock()
	defer h.unlock()
	if h.closed {
		if v.Stored {
			h.st.Delete(StoreID(id))
		}
		return nil, node.ErrShutdown
	}
	return h.n.Put(id, v, contained), nil
}

// PutStored stores a value of size bytes, which fill writes into its
// place in the store, and records it. It may wait for room (up to the
// store's PutTimeout, then ErrStoreFull).
func (h *Host) PutStored(id wire.ObjectID, size int, fill func(dst []byte) error, contained []wire.ObjectID) (*node.Object, error) {
	sid := StoreID(id)
	slot, err := h.st.Create(context.Background(), sid, int64(size))
	if err != nil {
		return nil, storeError(id, err)
	}
	// Shutdown unmaps the store only once no fill is writing into it.
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		h.st.Abort(sid)
		return nil, node.ErrShutdown
	}
	h.writers.Add(1)
	h.mu.Unlock()
	dst, err := h.write.Writable(slot)
	if err == nil {
		err = fill(dst)
	}
	h.writers.Done()
	if err != nil {
		h.st.Abort(sid)
		return nil, err
	}
	if err := h.st.Seal(sid); err != nil {
		return nil, storeError(id, err)
	}
	return h.Put(id, node.Value{Stored: true, Slot: slot}, contained)
}

// storeError says why a value could not be stored.
func storeError(id wire.ObjectID, err error) error {
	switch {
	case errors.Is(err, store.ErrFull):
		return fmt.Errorf("cannot store %v: %w: %w", id, node.ErrStoreFull, err)
	case errors.Is(err, store.ErrClosed):
		return fmt.Errorf("cannot store %v: %w", id, node.ErrShutdown)
	}
	return fmt.Errorf("cannot store %v: %w", id, err)
}

// Hold takes one more hold on id for the driver; nil if the node does not
// hold it.
func (h *Host) Hold(id wire.ObjectID) *node.Object {
	h.lock()
	defer h.unlock()
	return h.n.Hold(id)
}

// Release gives back a hold of the driver's; it returns the size of the
// object's value in the store (0 for an inline one).
func (h *Host) Release(o *node.Object) (storedSize int64) {
	h.lock()
	defer h.unlock()
	storedSize = o.StoredSize()
	h.n.Release(o)
	return storedSize
}

// DeviceLost takes GPU index out of service (node.Node.DeviceLost): the
// processes holding it are killed and their calls fail with
// node.ErrDeviceLost.
func (h *Host) DeviceLost(index int, cause error) {
	h.lock()
	defer h.unlock()
	if !h.closed {
		h.n.DeviceLost(index, cause)
	}
}

// Cancel cancels the call of task id, and the calls it made.
func (h *Host) Cancel(id wire.TaskID, cause error) error {
	h.lock()
	defer h.unlock()
	if h.closed {
		return node.ErrShutdown
	}
	h.n.Cancel(id, cause)
	return nil
}

// KillActor ends actor id at once, without restarts.
func (h *Host) KillActor(id wire.TaskID) error {
	h.lock()
	defer h.unlock()
	if h.closed {
		return node.ErrShutdown
	}
	err := h.n.KillActor(id)
	// An actor on another node lives while this node holds its creation
	// there: give that hold back now.
	h.freeRemoteLocked(wire.ReturnID(id))
	return err
}

// LookupActor finds the live actor named name: its ID and type name.
func (h *Host) LookupActor(name string) (wire.TaskID, string, error) {
	h.lock()
	defer h.unlock()
	if h.closed {
		return wire.TaskID{}, "", node.ErrShutdown
	}
	id, typ, err := h.n.LookupActor(name)
	return id, string(typ), err
}

// Stats is a snapshot of the host's node and store.
type Stats struct {
	Node  node.Stats
	Store store.Stats
	// Pulls counts the objects pulled from other nodes into the store,
	// PulledBytes their bytes.
	Pulls, PulledBytes int64
}

// Stats returns a snapshot.
func (h *Host) Stats() Stats {
	h.lock()
	defer h.unlock()
	return Stats{Node: h.n.Stats(), Store: h.st.Stats(), Pulls: h.pulls.Load(), PulledBytes: h.pulledBytes.Load()}
}

// Shutdown stops the node: unfinished calls fail with ErrShutdown,
// workers are asked to exit and killed after the grace period, the store
// is closed and every segment released. Driver reads in progress finish
// first. It is safe to call more than once.
func (h *Host) Shutdown() error {
	h.lock()
	if h.closed {
		h.unlock()
		return nil
	}
	h.closed = true
	h.cancel() // spills in flight end
	close(h.stopTick)
	h.n.Shutdown()
	for tok, t := range h.timers {
		t.Stop()
		delete(h.timers, tok)
	}
	for id, stop := range h.watching {
		stop()
		delete(h.watching, id)
	}
	procs := *h.live.Load()
	h.unlock()
	h.spills.Wait()

	deadline := h.clock.NewTimer(h.cfg.ShutdownGrace)
	defer deadline.Stop()
	for _, p := range procs {
		select {
		case <-p.exited:
		case <-deadline.Chan():
			h.lock()
			for _, p := range procs {
				p.kill()
			}
			h.unlock()
		}
	}
	h.exits.Wait()
	h.stopping.Store(true)
	h.bell.Ring()
	<-h.loopDone
	h.flushers.Wait() // their rings are closed: each returns at once
	h.unmapRetired()
	h.writers.Wait()
	h.st.Close() // releases store calls still waiting, with ErrClosed
	h.storeCalls.Wait()
	if h.cfg.EventsDir != "" {
		events.Detach() // the switch is in the segment
	}
	h.seg.Close()
	return nil
}
