package core

import (
	"bytes"
	"fmt"
	"log"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"manta/rpc/wire"
	"manta/sched"
	"manta/shm"
	"manta/shm/store"
)

// Environment of a worker process: its ID, the ring capacity, the inline
// threshold, and three shared segments as inherited file descriptors: 3
// (the node's doorbell), 4 (the worker's doorbell and rings) and 5 (the
// object store).
const (
	envWorkerID    = "MANTA_WORKER_ID"
	envRingBytes   = "MANTA_WORKER_RING_BYTES"
	envInlineBytes = "MANTA_WORKER_INLINE_BYTES"
)

// controlRingBytes is the capacity of the node→worker control ring, where
// cancellations go: they must not wait behind the calls in the main ring.
const controlRingBytes = 64 << 10

// Layout of a worker segment: the worker's doorbell, the node→worker ring,
// the worker→node ring, then the control ring's doorbell and the control
// ring.
func workerSegmentSize(ring int) int {
	return 2*shm.DoorbellSize + 2*shm.RingSize(ring) + shm.RingSize(controlRingBytes)
}

// workerLayout is a worker segment cut into its parts.
type workerLayout struct {
	bell, toWorker, toNode, controlBell, control []byte
}

func workerRings(mem []byte, ring int) workerLayout {
	r, d := shm.RingSize(ring), shm.DoorbellSize
	return workerLayout{
		bell:        mem[:d],
		toWorker:    mem[d : d+r],
		toNode:      mem[d+r : d+2*r],
		controlBell: mem[d+2*r : 2*d+2*r],
		control:     mem[2*d+2*r : 2*d+2*r+shm.RingSize(controlRingBytes)],
	}
}

// pool starts, watches and talks to the node's worker processes. The
// scheduler's workers are lease slots: a process has one (its primary,
// named by the process's ID) and may get more while its work waits in Get.
type pool struct {
	n             *node
	seg           *shm.Segment // holds the node's doorbell
	bell          *shm.Doorbell
	conns         map[sched.WorkerID]*workerConn // every slot's process; guarded by n.mu
	live          atomic.Pointer[[]*workerConn]  // the inbound loop's copy
	nextID        sched.WorkerID
	started       int // processes launched, over the node's life
	startFailures int
	stopping      atomic.Bool
	loopDone      chan struct{}
	exits         sync.WaitGroup // spawns and exit watchers in progress
	// retired holds dead workers' connections until the inbound loop,
	// which may still hold a snapshot naming them, unmaps their segments.
	retired    []*workerConn // guarded by n.mu
	hasRetired atomic.Bool
	flushers   sync.WaitGroup // overflow flushers running
}

// workerConn is one worker process and its rings. Fields other than the
// rings are guarded by the node's mutex.
type workerConn struct {
	id       sched.WorkerID   // its primary slot
	extra    []sched.WorkerID // its other slots
	n        *node
	seg      *shm.Segment
	in, out  *shm.Ring // in: worker→node, out: node→worker
	ctl      *shm.Ring // node→worker control (cancellations)
	cmd      *exec.Cmd
	sendBuf  []byte
	overflow []pending // messages waiting for room in their ring, in order
	flushing bool
	actor    *actor
	borrows  map[wire.ObjectID]int32      // holds the worker has on objects
	pins     map[wire.ObjectID]int32      // store pins taken for its Gets, one per object
	creating map[wire.ObjectID]store.Slot // store objects it may write, not yet sealed
	dead     bool
	exited   chan struct{}
}

func newPool(n *node) (*pool, error) {
	seg, err := shm.NewSegment("manta-node", shm.DoorbellSize)
	if err != nil {
		return nil, fmt.Errorf("manta: node segment: %w", err)
	}
	p := &pool{n: n, seg: seg, bell: shm.NewDoorbell(seg.Bytes()), conns: map[sched.WorkerID]*workerConn{}, loopDone: make(chan struct{})}
	p.live.Store(&[]*workerConn{})
	go p.inboundLoop()
	return p, nil
}

// start launches one worker process; called under n.mu.
func (p *pool) start() {
	p.nextID++
	id := p.nextID
	p.exits.Add(1) // done when the spawn fails or the worker's exit is handled
	go p.spawn(id)
}

func (p *pool) spawn(id sched.WorkerID) {
	c, err := p.launch(id)
	n := p.n
	n.mu.Lock()
	defer n.mu.Unlock()
	if err != nil {
		n.sched.WorkerStartFailed()
		p.startFailures++
		log.Printf("manta: cannot start worker %d: %v", id, err)
		if p.startFailures >= 3 {
			n.failQueued(fmt.Errorf("%w: %d worker starts failed in a row, last: %v", ErrWorkerDied, p.startFailures, err))
		}
		n.processActions()
		p.exits.Done()
		return
	}
	p.startFailures = 0
	p.started++
	if n.closed {
		c.kill()
	} else {
		p.conns[id] = c
		p.publish()
		n.sched.WorkerStarted(id)
		n.processActions()
	}
	go p.watch(c)
}

func (p *pool) launch(id sched.WorkerID) (*workerConn, error) {
	ring := p.n.cfg.RingBytes
	seg, err := shm.NewSegment("manta-worker", workerSegmentSize(ring))
	if err != nil {
		return nil, err
	}
	l := workerRings(seg.Bytes(), ring)
	out, err := shm.NewRing(l.toWorker, ring, shm.NewDoorbell(l.bell))
	var ctl *shm.Ring
	if err == nil {
		ctl, err = shm.NewRing(l.control, controlRingBytes, shm.NewDoorbell(l.controlBell))
	}
	if err == nil {
		var in *shm.Ring
		in, err = shm.NewRing(l.toNode, ring, p.bell)
		if err == nil {
			exe, exeErr := os.Executable()
			if exeErr != nil {
				err = exeErr
			} else {
				c := &workerConn{id: id, n: p.n, seg: seg, in: in, out: out, ctl: ctl, exited: make(chan struct{}),
					borrows: map[wire.ObjectID]int32{}, pins: map[wire.ObjectID]int32{}, creating: map[wire.ObjectID]store.Slot{}}
				c.cmd = exec.Command(exe, os.Args[1:]...)
				c.cmd.Env = append(os.Environ(), envWorkerID+"="+strconv.Itoa(int(id)), envRingBytes+"="+strconv.Itoa(ring),
					envInlineBytes+"="+strconv.Itoa(p.n.cfg.InlineBytes))
				c.cmd.ExtraFiles = []*os.File{p.seg.File(), seg.File(), p.n.objs.seg.File()}
				c.cmd.Stdout, c.cmd.Stderr = os.Stderr, os.Stderr
				// The kernel kills the worker if the driver dies, so no
				// worker outlives its driver.
				c.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
				if err = c.cmd.Start(); err == nil {
					return c, nil
				}
			}
		}
	}
	seg.Close()
	return nil, err
}

// publish gives the inbound loop the current set of processes.
func (p *pool) publish() {
	live := make([]*workerConn, 0, len(p.conns))
	for id, c := range p.conns {
		if id == c.id {
			live = append(live, c)
		}
	}
	p.live.Store(&live)
	p.bell.Ring()
}

// processes lists the live worker processes once each.
func (p *pool) processes() []*workerConn { return *p.live.Load() }

// addSlot gives the process of slot proc one more slot, for sched.
func (p *pool) addSlot(proc sched.WorkerID) {
	c := p.conns[proc]
	if c == nil || c.dead || c.id != proc {
		p.n.sched.SlotAddFailed()
		return
	}
	p.nextID++
	p.conns[p.nextID] = c
	c.extra = append(c.extra, p.nextID)
	p.n.sched.SlotAdded(p.nextID, proc)
}

// stopSlot carries out a StopWorker: an extra slot is only forgotten, a
// primary's process is asked to exit.
func (p *pool) stopSlot(id sched.WorkerID) {
	c := p.conns[id]
	switch {
	case c == nil:
	case id == c.id:
		c.send(&wire.Msg{Kind: wire.KindShutdown})
	default:
		delete(p.conns, id)
		c.extra = slices.DeleteFunc(c.extra, func(x sched.WorkerID) bool { return x == id })
	}
}

// watch waits for the worker to exit and cleans up after it.
func (p *pool) watch(c *workerConn) {
	defer p.exits.Done()
	waitErr := c.cmd.Wait()
	n := p.n
	n.mu.Lock()
	// What the worker sent before it died still counts.
	c.in.Close()
	p.drain(c)
	c.out.Close()
	c.ctl.Close()
	c.dead = true
	slots := append([]sched.WorkerID{c.id}, c.extra...)
	for _, id := range slots {
		delete(p.conns, id)
	}
	p.publish()
	cause := fmt.Errorf("%w: worker %d (pid %d) exited: %v", ErrWorkerDied, c.id, c.cmd.Process.Pid, exitReason(waitErr))
	var lost []sched.TaskRef
	hadActor := false
	for _, id := range slots {
		l, _, actor := n.sched.WorkerExited(id)
		lost, hadActor = append(lost, l...), hadActor || actor
	}
	n.releaseWorkerStore(c)
	for id, k := range c.borrows {
		for ; k > 0; k-- {
			n.drop(id)
		}
	}
	c.borrows = nil
	for _, ref := range lost {
		n.retryOrFail(n.slab[ref], cause)
	}
	if hadActor && c.actor != nil && c.actor.conn == c {
		n.actorWorkerDied(c.actor, cause)
	}
	n.processActions()
	p.retired = append(p.retired, c)
	p.hasRetired.Store(true)
	n.mu.Unlock()
	p.bell.Ring()
	close(c.exited)
}

func exitReason(err error) string {
	if err == nil {
		return "status 0"
	}
	return err.Error()
}

// retryOrFail re-queues a task whose worker died, or fails it when it has
// no retries left.
func (n *node) retryOrFail(t *task, cause error) {
	if t == nil || t.done {
		return
	}
	if err := t.cancelled(); err != nil {
		n.finish(t, nil, err) // cancelled while it was in flight: not run again
		return
	}
	if t.retriesLeft > 0 && !n.closed {
		t.retriesLeft--
		t.worker = nil
		n.sched.Submit(t.class, t.ref)
		return
	}
	n.finish(t, nil, fmt.Errorf("%s after %d attempts: %w", t.name, t.attempt, cause))
}

// failQueued fails every task still waiting for a worker.
func (n *node) failQueued(cause error) {
	for _, t := range n.slab {
		if t != nil && t.worker == nil && n.sched.Cancel(t.ref) {
			n.finish(t, nil, cause)
		}
	}
}

// kill ends the worker's process at once; watch does the rest.
func (c *workerConn) kill() {
	if c.cmd.Process != nil {
		_ = c.cmd.Process.Kill()
	}
}

// pending is a message waiting for room in its ring.
type pending struct {
	ring *shm.Ring
	msg  []byte
}

// send queues m for the worker; called under n.mu. It never blocks: when
// the ring is full the message waits in overflow, which a flusher goroutine
// pushes in order, so the node never stalls on one slow worker.
func (c *workerConn) send(m *wire.Msg) { c.sendOn(c.out, m) }

// sendControl queues m on the control ring, which the worker reads while
// it runs calls.
func (c *workerConn) sendControl(m *wire.Msg) { c.sendOn(c.ctl, m) }

func (c *workerConn) sendOn(ring *shm.Ring, m *wire.Msg) {
	if c.dead {
		return
	}
	c.sendBuf = wire.Append(c.sendBuf[:0], m)
	if len(c.overflow) == 0 && ring.TryPush(c.sendBuf) {
		return
	}
	c.overflow = append(c.overflow, pending{ring, bytes.Clone(c.sendBuf)})
	if !c.flushing {
		c.flushing = true
		c.n.pool.flushers.Add(1)
		go c.flush()
	}
}

func (c *workerConn) flush() {
	defer c.n.pool.flushers.Done()
	mu := &c.n.mu
	for {
		mu.Lock()
		if len(c.overflow) == 0 || c.dead {
			c.flushing, c.overflow = false, nil
			mu.Unlock()
			return
		}
		next := c.overflow[0]
		mu.Unlock()
		err := next.ring.Push(next.msg, 0)
		mu.Lock()
		c.overflow = c.overflow[1:]
		if err != nil {
			c.flushing, c.overflow = false, nil
			mu.Unlock()
			return
		}
		mu.Unlock()
	}
}

// inboundLoop reads every worker's ring and handles the messages, in
// batches under one lock; when all rings are empty it parks on the node's
// doorbell.
func (p *pool) inboundLoop() {
	defer close(p.loopDone)
	for !p.stopping.Load() {
		if p.hasRetired.Load() {
			p.unmapRetired()
		}
		got := false
		for _, c := range *p.live.Load() {
			if c.in.Empty() {
				continue
			}
			p.n.mu.Lock()
			if !c.dead {
				got = p.drain(c) > 0 || got
			}
			p.n.mu.Unlock()
		}
		if !got {
			p.bell.Wait(p.inboundReady, time.Second)
		}
	}
}

// unmapRetired releases dead workers' segments; only the inbound loop
// calls it, between passes over its snapshot.
//
// A connection whose overflow flusher is still running keeps its segment
// until the flusher is gone: it may be about to push to the closed ring.
func (p *pool) unmapRetired() {
	p.n.mu.Lock()
	var dead, busy []*workerConn
	for _, c := range p.retired {
		if c.flushing {
			busy = append(busy, c)
		} else {
			dead = append(dead, c)
		}
	}
	p.retired = busy
	p.hasRetired.Store(len(busy) > 0)
	p.n.mu.Unlock()
	for _, c := range dead {
		c.seg.Close()
	}
}

func (p *pool) inboundReady() bool {
	if p.stopping.Load() || p.hasRetired.Load() {
		return true
	}
	for _, c := range *p.live.Load() {
		if !c.in.Empty() {
			return true
		}
	}
	return false
}

// drain handles up to a batch of c's messages; called under n.mu.
func (p *pool) drain(c *workerConn) int {
	var m wire.Msg
	handled := 0
	for ; handled < 512; handled++ {
		msg, ok, err := c.in.TryPop(c.n.inBuf[:0])
		if !ok {
			if err != nil && !c.in.Closed() {
				log.Printf("manta: worker %d: %v; killing it", c.id, err)
				c.kill()
			}
			break
		}
		c.n.inBuf = msg
		if err := wire.Decode(msg, &m); err != nil {
			log.Printf("manta: worker %d sent a bad message (%v); killing it", c.id, err)
			c.kill()
			break
		}
		c.n.handle(c, &m)
	}
	return handled
}

// stop ends the inbound loop and releases the node segment.
func (p *pool) stop() {
	p.stopping.Store(true)
	p.bell.Ring()
	<-p.loopDone
	p.flushers.Wait() // their rings are closed: each returns at once
	p.unmapRetired()
	p.seg.Close()
}
