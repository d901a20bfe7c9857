package core

import (
	"context"
	"errors"
	"fmt"
	"time"

	"manta/rpc/wire"
	"manta/sched"
	"manta/shm/store"
)

// Cluster is the embedded single-node cluster Init starts inside the
// driver: the node manager, its scheduler, and worker child processes.
type Cluster struct {
	rt       *runtimeState
	n        *node
	stopTick chan struct{}
}

// Init starts manta in this process. In a worker process started by a
// node it never returns (see WorkerMain). It fails if manta is already
// running here.
func Init(cfg Config) (*Cluster, error) {
	WorkerMain()
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	n, err := newNode(cfg)
	if err != nil {
		return nil, err
	}
	rt := newRuntimeState(&driver{n}, n.objs)
	if !current.CompareAndSwap(nil, rt) {
		n.pool.stop()
		return nil, errors.New("manta: already initialized in this process")
	}
	c := &Cluster{rt: rt, n: n, stopTick: make(chan struct{})}
	go c.tick()
	return c, nil
}

// tick feeds the scheduler its clock, for reaping idle workers.
func (c *Cluster) tick() {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-c.stopTick:
			return
		case <-t.C:
			c.n.mu.Lock()
			c.n.sched.Tick(time.Since(c.n.start))
			c.n.processActions()
			c.n.mu.Unlock()
		}
	}
}

// Shutdown stops the cluster: unfinished calls fail with ErrShutdown,
// workers are asked to exit and killed after the grace period, and every
// shared-memory segment is released. References made by this cluster fail
// with ErrShutdown from then on. Init may be called again afterwards.
func (c *Cluster) Shutdown() error {
	n := c.n
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	close(c.stopTick)
	for _, t := range n.tasks {
		n.finish(t, nil, ErrShutdown)
	}
	conns := n.pool.processes()
	for _, w := range conns {
		w.send(&wire.Msg{Kind: wire.KindShutdown})
	}
	n.mu.Unlock()

	deadline := time.NewTimer(n.cfg.ShutdownGrace)
	defer deadline.Stop()
	for _, w := range conns {
		select {
		case <-w.exited:
		case <-deadline.C:
			n.mu.Lock()
			for _, w := range conns {
				w.kill()
			}
			n.mu.Unlock()
		}
	}
	n.pool.exits.Wait()
	n.pool.stop()
	n.objs.st.Close() // releases store calls still waiting, with ErrClosed
	n.storeCalls.Wait()
	n.objs.close()
	current.CompareAndSwap(c.rt, nil)
	return nil
}

// Stats is a snapshot of the node, for status output and tests.
type Stats struct {
	Objects int // objects held
	Tasks   int // tasks submitted and not finished
	Workers int // live worker processes, actors' included
	// WorkersStarted counts the worker processes started so far.
	WorkersStarted int
	Actors         int // actors alive or being created
	Sched          sched.Stats
	Store          store.Stats
}

// String summarises the node in one line, object store included.
func (s Stats) String() string {
	st := s.Store
	return fmt.Sprintf("objects %d, tasks %d, workers %d, actors %d; object store: used %s of %s, pinned %s, "+
		"spilled %d (%s), restored %d, evicted %d, hit rate %.2f",
		s.Objects, s.Tasks, s.Workers, s.Actors, mib(st.Used), mib(st.Capacity), mib(st.Pinned),
		st.SpillWrites, mib(st.SpillWriteBytes), st.Restores, st.Evicted, st.HitRate())
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// Stats returns a snapshot of the node's tables.
func (c *Cluster) Stats() Stats {
	n := c.n
	n.mu.Lock()
	defer n.mu.Unlock()
	s := Stats{Objects: len(n.objects), Tasks: len(n.tasks), Workers: len(n.pool.processes()), WorkersStarted: n.pool.started,
		Sched: n.sched.Stats(), Store: n.objs.st.Stats()}
	for _, a := range n.actors {
		if a.state != actorDead {
			s.Actors++
		}
	}
	return s
}

// driver is the backend of the driver process: the node is in-process.
type driver struct{ n *node }

func (d *driver) submit(task wire.TaskID, c submission) (hold, error) {
	n := d.n
	spec := taskSpec{id: task, kind: c.kind, name: c.wireName, fn: c.fn, actor: c.actor, args: c.args,
		contained: c.contained, opts: c.opts, returns: c.returns}
	if c.ctx != nil {
		if dl, ok := c.ctx.Deadline(); ok {
			spec.deadline = dl.UnixNano()
		}
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return hold{}, ErrShutdown
	}
	t := n.submitLocked(&spec)
	if c.ctx != nil && c.ctx.Done() != nil && !t.done {
		ctx := c.ctx
		t.more().stopCancel = context.AfterFunc(ctx, func() {
			n.mu.Lock()
			defer n.mu.Unlock()
			n.cancelLocked(task, fmt.Errorf("%w: %w", ErrCancelled, context.Cause(ctx)))
		})
	}
	return hold{id: wire.ReturnID(task), obj: t.ret}, nil
}

func (d *driver) cancel(task wire.TaskID) error {
	d.n.mu.Lock()
	defer d.n.mu.Unlock()
	if d.n.closed {
		return ErrShutdown
	}
	d.n.cancelLocked(task, ErrCancelled)
	return nil
}

func (d *driver) lookupActor(_ context.Context, name string) (wire.TaskID, string, error) {
	d.n.mu.Lock()
	defer d.n.mu.Unlock()
	if d.n.closed {
		return wire.TaskID{}, "", ErrShutdown
	}
	a, err := d.n.lookupActorLocked(name)
	if err != nil {
		return wire.TaskID{}, "", err
	}
	return a.id, string(a.create.name), nil
}

func (d *driver) get(ctx context.Context, hs []hold, out []result) error {
	return d.n.get(ctx, hs, out)
}

func (d *driver) doneReading(out []result) { d.n.doneReading(out) }

func (d *driver) holdForView(id wire.ObjectID) func() {
	h := d.adopt(id)
	_, err := d.n.objs.st.Pin(context.Background(), storeID(id))
	return func() {
		if err == nil {
			d.n.objs.st.Unpin(storeID(id))
		}
		d.release(h)
	}
}

func (d *driver) wait(ctx context.Context, hs []hold, k int, timeout time.Duration) ([]int, error) {
	return d.n.wait(ctx, hs, k, timeout)
}

func (d *driver) put(id wire.ObjectID, v encoded, contained []wire.ObjectID) (hold, error) {
	n := d.n
	if v.len() <= n.cfg.InlineBytes {
		data, err := v.bytes()
		if err != nil {
			return hold{}, err
		}
		n.mu.Lock()
		defer n.mu.Unlock()
		if n.closed {
			return hold{}, ErrShutdown
		}
		return hold{id: id, obj: n.putLocked(id, data, contained)}, nil
	}
	slot, err := n.objs.put(context.Background(), id, v) // off the lock: it may wait for memory
	if err != nil {
		return hold{}, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		n.objs.st.Delete(storeID(id))
		return hold{}, ErrShutdown
	}
	return hold{id: id, obj: n.putStoredLocked(id, slot, contained)}, nil
}

func (d *driver) adopt(id wire.ObjectID) hold {
	d.n.mu.Lock()
	defer d.n.mu.Unlock()
	return hold{id: id, obj: d.n.hold(id)}
}

func (d *driver) release(h hold) {
	d.n.mu.Lock()
	if o := h.obj; o != nil {
		if o.stored {
			d.n.objs.released(o.slot.Size)
		}
		d.n.dropObject(o)
	}
	d.n.mu.Unlock()
}

func (d *driver) killActor(id wire.TaskID) error {
	if err := d.n.killActor(id); err != nil {
		return fmt.Errorf("cannot kill actor: %w", err)
	}
	return nil
}
