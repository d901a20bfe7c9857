package host

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"

	"manta/events"
	"manta/gpu"
	"manta/node"
	"manta/rpc/wire"
	"manta/shm"
	"manta/shm/store"
)

// Command is a worker process to start: the host adds to Env and
// ExtraFiles, and starts it.
type Command = *exec.Cmd

// thisExecutable runs this program again, with its arguments: the user's
// binary is its own worker.
func thisExecutable() (Command, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Env = os.Environ()
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	return cmd, nil
}

// proc is one worker process and its rings. The rings are its own; the
// other fields are guarded by the host's mutex.
type proc struct {
	h        *Host
	id       node.ProcID
	seg      *shm.Segment
	in, out  *shm.Ring // in: worker→host, out: host→worker
	ctl      *shm.Ring // host→worker control (cancellations)
	cmd      Command
	sendBuf  []byte
	overflow []pending // messages waiting for room in their ring, in order
	flushing bool
	// creating holds the store objects the worker may write, not sealed
	// yet: the host aborts them when the worker dies.
	creating map[wire.ObjectID]store.Slot
	dead     bool
	exited   chan struct{}
}

// spawn starts process p and reports it to the node.
func (h *Host) spawn(p node.ProcID) {
	c, err := h.launch(p)
	h.lock()
	defer h.unlock()
	if err != nil {
		h.log.Error("manta: cannot start worker", "worker", p, "err", err)
		h.n.ProcStartFailed(p, err)
		h.exits.Done()
		return
	}
	h.procs[p] = c
	h.publish()
	h.n.ProcStarted(p) // after Shutdown, the node tells it to exit
	go h.watch(c)
}

func (h *Host) launch(p node.ProcID) (*proc, error) {
	ring := h.cfg.RingBytes
	seg, err := shm.NewSegment("manta-worker", segmentSize(ring))
	if err != nil {
		return nil, err
	}
	c, err := h.connect(p, seg, ring)
	if err == nil {
		c.cmd, err = h.cfg.WorkerCommand()
	}
	if err == nil {
		c.cmd.Env = append(c.cmd.Env, EnvWorkerID+"="+strconv.Itoa(int(p)), EnvRingBytes+"="+strconv.Itoa(ring),
			EnvInlineBytes+"="+strconv.Itoa(h.cfg.InlineBytes))
		if h.cfg.EventsDir != "" {
			c.cmd.Env = append(c.cmd.Env, events.EnvDir+"="+h.cfg.EventsDir)
		}
		if len(h.cfg.GPUs) > 0 {
			c.cmd.Env = append(c.cmd.Env, gpu.EnvCPUs+"="+gpu.FormatCPUs(h.cfg.GPUs))
		}
		c.cmd.ExtraFiles = []*os.File{h.seg.File(), seg.File(), h.st.Segment().File()}
		// The kernel kills the worker if this process dies, so no worker
		// outlives its host.
		c.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err = c.cmd.Start(); err == nil {
			return c, nil
		}
	}
	seg.Close()
	return nil, err
}

// connect makes the host's end of the rings in seg.
func (h *Host) connect(p node.ProcID, seg *shm.Segment, ring int) (*proc, error) {
	l := cut(seg.Bytes(), ring)
	c := &proc{h: h, id: p, seg: seg, exited: make(chan struct{}), creating: map[wire.ObjectID]store.Slot{}}
	var err error
	if c.out, err = shm.NewRing(l.toWorker, ring, shm.NewDoorbell(l.bell)); err != nil {
		return nil, err
	}
	if c.ctl, err = shm.NewRing(l.control, controlRingBytes, shm.NewDoorbell(l.controlBell)); err != nil {
		return nil, err
	}
	if c.in, err = shm.NewRing(l.toHost, ring, h.bell); err != nil {
		return nil, err
	}
	return c, nil
}

// publish gives the inbound loop the current set of processes.
func (h *Host) publish() {
	live := make([]*proc, 0, len(h.procs))
	for _, c := range h.procs {
		live = append(live, c)
	}
	h.live.Store(&live)
	h.bell.Ring()
}

// watch waits for the process to exit and reports it to the node.
func (h *Host) watch(c *proc) {
	defer h.exits.Done()
	waitErr := c.cmd.Wait()
	h.lock()
	// What the worker sent before it died still counts.
	c.in.Close()
	h.drain(c)
	c.out.Close()
	c.ctl.Close()
	c.dead = true
	delete(h.procs, c.id)
	h.publish()
	// Only now that the process is gone: it cannot write into reused
	// memory.
	for id := range c.creating {
		h.st.Abort(StoreID(id))
	}
	c.creating = nil
	reason := "status 0"
	if waitErr != nil {
		reason = waitErr.Error()
	}
	h.n.ProcExited(c.id, fmt.Errorf("pid %d: %s", c.cmd.Process.Pid, reason))
	h.retired = append(h.retired, c)
	h.hasRetired.Store(true)
	h.unlock()
	h.bell.Ring()
	close(c.exited)
}

// kill ends the process at once; watch does the rest.
func (c *proc) kill() {
	if c.cmd != nil && c.cmd.Process != nil {
		_ = c.cmd.Process.Kill()
	}
}

// pending is a message waiting for room in its ring.
type pending struct {
	ring *shm.Ring
	msg  []byte
}

// send queues m on ring, under the host's mutex. It never blocks: when the
// ring is full the message waits in overflow, which a flusher goroutine
// pushes in order, so the host never stalls on one slow worker.
func (c *proc) send(ring *shm.Ring, m *wire.Msg) {
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
		c.h.flushers.Add(1)
		go c.flush()
	}
}

func (c *proc) flush() {
	defer c.h.flushers.Done()
	mu := &c.h.mu
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

// inboundLoop reads every worker's ring and hands the messages to the
// node, in batches under one lock; when all rings are empty it parks on
// the host's doorbell.
func (h *Host) inboundLoop() {
	defer close(h.loopDone)
	for !h.stopping.Load() {
		if h.hasRetired.Load() {
			h.unmapRetired()
		}
		got := false
		for _, c := range *h.live.Load() {
			if c.in.Empty() {
				continue
			}
			h.lock()
			if !c.dead {
				got = h.drain(c) > 0 || got
			}
			h.unlock()
		}
		if !got {
			h.bell.Wait(h.inboundReady, time.Second)
		}
	}
}

func (h *Host) inboundReady() bool {
	if h.stopping.Load() || h.hasRetired.Load() {
		return true
	}
	for _, c := range *h.live.Load() {
		if !c.in.Empty() {
			return true
		}
	}
	return false
}

// unmapRetired releases dead workers' segments; only the inbound loop
// (and Shutdown, after it) calls it, between passes over its snapshot. A
// process whose overflow flusher still runs keeps its segment until the
// flusher is gone: it may be about to push to the closed ring.
func (h *Host) unmapRetired() {
	h.mu.Lock()
	var dead, busy []*proc
	for _, c := range h.retired {
		if c.flushing {
			busy = append(busy, c)
		} else {
			dead = append(dead, c)
		}
	}
	h.retired = busy
	h.hasRetired.Store(len(busy) > 0)
	h.mu.Unlock()
	for _, c := range dead {
		c.seg.Close()
	}
}

// drain handles up to a batch of c's messages; called under h.mu.
func (h *Host) drain(c *proc) int {
	var m wire.Msg
	handled := 0
	for ; handled < 512; handled++ {
		msg, ok, err := c.in.TryPop(h.inBuf[:0])
		if !ok {
			if err != nil && !c.in.Closed() {
				h.log.Error("manta: bad ring from worker; killing it", "worker", c.id, "err", err)
				c.kill()
			}
			break
		}
		h.inBuf = msg
		if err := wire.Decode(msg, &m); err != nil {
			h.log.Error("manta: worker sent a bad message; killing it", "worker", c.id, "err", err)
			c.kill()
			break
		}
		if err := h.handle(c, &m); err != nil {
			h.log.Error("manta: worker broke the protocol; killing it", "worker", c.id, "kind", m.Kind, "err", err)
			c.kill()
			break
		}
	}
	return handled
}

// handle applies one message from worker c: what concerns the object
// store here, the rest in the node.
func (h *Host) handle(c *proc, m *wire.Msg) error {
	switch m.Kind {
	case wire.KindCreate:
		h.createForWorker(c, m)
		return nil
	case wire.KindPut:
		if m.Stored {
			if err := h.sealPut(c, m); err != nil {
				return err
			}
		}
	case wire.KindDone:
		if m.Status == wire.StatusOK {
			if err := h.sealResults(c, m); err != nil {
				return err
			}
		}
	}
	return h.n.Worker(c.id, m)
}

// createForWorker allocates an object a worker will write (a large Put or
// result), off the lock; the worker seals it by sending its Put or Done.
// An object the node has already (a task run again puts the same value
// again under the same ID) is answered StatusExists: nothing to write.
func (h *Host) createForWorker(c *proc, m *wire.Msg) {
	id, size, req := m.Object, int64(m.Slot.Size), m.ReqID
	if o := h.n.Lookup(id); o != nil && !o.Pending() {
		c.send(c.out, &wire.Msg{Kind: wire.KindCreateReply, ReqID: req, Status: wire.StatusExists})
		return
	}
	h.storeCalls.Add(1)
	go func() {
		defer h.storeCalls.Done()
		if h.cfg.StoreAllocated != nil {
			h.cfg.StoreAllocated(size)
		}
		slot, err := h.st.Create(context.Background(), StoreID(id), size)
		h.lock()
		defer h.unlock()
		if err == nil && c.dead {
			h.st.Abort(StoreID(id))
			return
		}
		reply := wire.Msg{Kind: wire.KindCreateReply, ReqID: req, Slot: node.ToSlot(slot)}
		if err != nil {
			reply.Status, reply.Data = wire.StatusError, h.cfg.Node.Errors.Encode(storeError(id, err), nil, id.Task)
		} else {
			c.creating[id] = slot
			events.RecordObject(events.ObjCreate, id, uint64(size))
		}
		c.send(c.out, &reply)
	}()
}

// seal seals an object worker c finished writing and returns where it is.
// granted is false if c was never given it to write.
func (h *Host) seal(c *proc, id wire.ObjectID) (slot wire.Slot, granted bool, err error) {
	s, ok := c.creating[id]
	if !ok {
		return wire.Slot{}, false, nil
	}
	delete(c.creating, id)
	events.RecordObject(events.ObjSeal, id, uint64(s.Size))
	return node.ToSlot(s), true, h.st.Seal(StoreID(id))
}

// sealPut seals a stored Put. One the host answered StatusExists for
// needs no seal: the node has the object already.
func (h *Host) sealPut(c *proc, m *wire.Msg) error {
	slot, granted, err := h.seal(c, m.Object)
	switch {
	case !granted && h.n.Lookup(m.Object) != nil && !h.n.Lookup(m.Object).Pending():
		m.Stored = false
		return nil
	case !granted:
		return fmt.Errorf("put %v, which it was never given to write", m.Object)
	case err != nil:
		return fmt.Errorf("cannot seal %v: %w", m.Object, err)
	}
	m.Slot = slot
	return nil
}

// sealResults seals what a worker wrote into the store for a task's
// result (or the stored ones of its values), noting in m where each is.
// A seal that fails turns the Done into the task's failure.
func (h *Host) sealResults(c *proc, m *wire.Msg) error {
	ret := wire.ReturnID(m.Task)
	var sealErr error
	var sealed []wire.ObjectID
	sealOne := func(id wire.ObjectID, slot *wire.Slot) error {
		s, granted, err := h.seal(c, id)
		if !granted {
			return fmt.Errorf("sealed %v, which it was never given to write", id)
		}
		if err != nil && sealErr == nil {
			sealErr = fmt.Errorf("cannot seal %v: %w", id, err)
		}
		*slot = s
		sealed = append(sealed, id)
		return nil
	}
	if m.Stored {
		if err := sealOne(ret, &m.Slot); err != nil {
			return err
		}
	}
	for i := range m.Results {
		if r := &m.Results[i]; r.Stored {
			if err := sealOne(node.PartID(ret, i), &r.Slot); err != nil {
				return err
			}
		}
	}
	if sealErr != nil {
		for _, id := range sealed {
			h.st.Delete(StoreID(id))
		}
		*m = wire.Msg{Kind: wire.KindDone, Task: m.Task, Status: wire.StatusError,
			Data: h.cfg.Node.Errors.Encode(sealErr, nil, m.Task)}
	}
	return nil
}
