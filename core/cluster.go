package core

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"

	"manta/cluster"
	"manta/events"
	"manta/gpu"
	"manta/metrics"
	"manta/node"
	"manta/node/host"
	"manta/node/peer"
	"manta/rpc/wire"
	"manta/sched"
	"manta/shm/store"
	"manta/state"
)

// Cluster is the embedded single-node cluster Init starts inside the
// driver: the node manager (package node, run by node/host), its
// scheduler, its object store and the worker child processes.
type Cluster struct {
	rt *runtimeState
	h  *host.Host
	// With Config.Address: this node's part in the cluster.
	net *clusterNode
	// With Config.MetricsAddr: the /metrics server.
	metrics *metrics.Server
	// In a cluster: the state API's server (see StateAddr).
	state *state.Server
	// With Config.EventsDir: this process's events recorder, and the
	// sampling period RecordEvents(true) sets.
	events       *events.Recorder
	eventsSample int
	// gpus is Config.GPUs, closed at Shutdown; watchGPUs reads it until
	// stopGPUs closes, and closes gpusWatched. gpuState is its last
	// reading, which heartbeats and /metrics show.
	gpus                  gpu.Source
	stopGPUs, gpusWatched chan struct{}
	gpuState              atomic.Pointer[[]metrics.GPU]
	// spill is the default spill directory, nil with Config.SpillDir.
	spill *spillDir
	// shutdown makes Shutdown's work happen once.
	shutdown sync.Once
}

// Init starts manta in this process. In a worker process started by a
// node it never returns (see WorkerMain). It fails if manta is already
// running here.
func Init(cfg Config) (*Cluster, error) {
	WorkerMain()
	return initNode(cfg)
}

// initNode starts this process's node: Init's, or a job node's (which
// is not a member of the cluster of its own, see Config.member).
func initNode(cfg Config) (c *Cluster, err error) {
	cfg, err = cfg.withDefaults()
	defer func() {
		if err != nil && cfg.GPUs != nil {
			cfg.GPUs.Close() // the Cluster that would have closed it is not made
		}
	}()
	if err != nil {
		return nil, err
	}
	total, err := sched.NewResources(cfg.Resources)
	if err != nil {
		return nil, fmt.Errorf("manta: node resources: %w", err)
	}
	var spill *spillDir
	if cfg.SpillDir == "" {
		if spill, err = openSpillDir(); err != nil {
			return nil, err
		}
		cfg.SpillDir = spill.path
		defer func() {
			if err != nil {
				spill.remove()
			}
		}()
	}
	var net *clusterNode
	var attach func(*store.Store, peer.Executor) (host.Cluster, error)
	spillQueue := 0
	if cfg.Address != "" {
		if net, err = dialCluster(cfg); err != nil {
			return nil, err
		}
		attach, spillQueue = net.attach, cfg.SpillQueue
	}
	var rec *events.Recorder
	if cfg.EventsDir != "" {
		label := "driver"
		if cfg.member != "" {
			label = "job node"
		}
		if rec, err = events.Open(cfg.EventsDir, events.RoleNode, label); err != nil {
			return nil, fmt.Errorf("manta: %w", err)
		}
	}
	var objs *objectStore // the host's store, mapped for the driver below
	h, err := host.New(host.Config{
		Node: node.Config{
			Sched:        sched.Config{Total: total, MaxWorkers: cfg.MaxWorkers, PipelineDepth: cfg.PipelineDepth, IdleTimeout: cfg.IdleTimeout},
			Errors:       errorCodec{},
			Resolve:      newResolver().resolve,
			LineageBytes: cfg.LineageBytes,
			SpillQueue:   spillQueue,
			InjectDelay:  cfg.InjectSchedulerDelay,
		},
		Cluster:        attach,
		Store:          store.Config{Capacity: cfg.StoreBytes, SpillDir: cfg.SpillDir, PutTimeout: cfg.StoreWait, Clock: cfg.Clock},
		RingBytes:      cfg.RingBytes,
		InlineBytes:    cfg.InlineBytes,
		ShutdownGrace:  cfg.ShutdownGrace,
		Clock:          cfg.Clock,
		Logger:         cfg.Logger,
		StoreAllocated: func(size int64) { objs.collect(size) },
		EventsDir:      cfg.EventsDir,
		GPUs:           devicesOf(cfg.GPUs),
	})
	if err != nil {
		if net != nil {
			net.close()
		}
		if rec != nil {
			rec.Close()
		}
		return nil, err
	}
	// abandon undoes what is started from here on, for a failed Init.
	abandon := func() {
		if net != nil {
			net.leave()
		}
		h.Shutdown()
		if net != nil {
			net.close()
		}
		if rec != nil {
			rec.Close()
		}
	}
	if objs, err = mapStore(h.Store().Segment(), cfg.InlineBytes); err != nil {
		abandon()
		return nil, err
	}
	objs.st = h.Store()
	rt := newRuntimeState(&driver{h: h, objs: objs}, objs)
	if !current.CompareAndSwap(nil, rt) {
		abandon()
		objs.close()
		return nil, errors.New("manta: already initialized in this process")
	}
	c = &Cluster{rt: rt, h: h, net: net, events: rec, eventsSample: cfg.EventsSample, gpus: cfg.GPUs, spill: spill}
	if devs := devicesOf(cfg.GPUs); len(devs) > 0 {
		c.stopGPUs, c.gpusWatched = make(chan struct{}), make(chan struct{})
		clock := cfg.Clock
		if clock == nil {
			clock = clockwork.NewRealClock()
		}
		c.readGPUs(make([]bool, len(devs)))
		go c.watchGPUs(len(devs), clock)
	}
	c.RecordEvents(true)
	if net != nil {
		net.host = h
		if err := net.join(c.load); err != nil {
			c.Shutdown()
			return nil, err
		}
		if net.member != nil {
			if err := c.serveState(); err != nil {
				c.Shutdown()
				return nil, fmt.Errorf("manta: state API: %w", err)
			}
		}
	}
	if cfg.MetricsAddr != "" {
		if c.metrics, err = metrics.Serve(metrics.Config{Addr: cfg.MetricsAddr, Snapshot: c.metricsSnapshot}); err != nil {
			c.Shutdown()
			return nil, fmt.Errorf("manta: metrics: %w", err)
		}
	}
	return c, nil
}

// RecordEvents turns the recording of task-life events on (of one task
// in Config.EventsSample) or off, in this process and its workers; it
// does nothing without Config.EventsDir.
func (c *Cluster) RecordEvents(on bool) {
	if c.events == nil {
		return
	}
	every := 0
	if on {
		every = max(1, c.eventsSample)
	}
	events.Sample(every)
}

// NodeID is this node's ID in its cluster; empty without Config.Address.
func (c *Cluster) NodeID() string {
	if c.net == nil || c.net.member == nil {
		return ""
	}
	return string(c.net.member.ID())
}

// load is what the node's heartbeats report.
func (c *Cluster) load() cluster.Load {
	s := c.Stats()
	l := cluster.Load{Free: s.Sched.Available.Map(), Room: s.Sched.TaskRoom.Map(), Queued: s.Sched.Queued, Running: s.Sched.Running,
		StoreUsed: s.Store.Used, StoreCapacity: s.Store.Capacity, Lent: c.h.Lent()}
	for _, g := range c.lastGPUs() {
		l.GPUs = append(l.GPUs, cluster.GPULoad{Index: g.Index, MemoryUsed: g.MemoryUsed, MemoryTotal: g.MemoryTotal, Utilization: g.Utilization, Lost: g.Lost})
	}
	for _, cs := range s.Sched.Classes {
		if n := cs.Queued + cs.PendingActors; n > 0 {
			l.Demands = append(l.Demands, cluster.Demand{Shape: string(cluster.AppendResources(nil, cs.Request.Map())), Count: n, Reason: cluster.DemandBusy})
		}
	}
	if c.net == nil {
		return l
	}
	// The job nodes of other programs on this machine share its
	// resources: what they use is used here. A resource used up is
	// reported as 0 rather than left out (sched.Resources.Map drops
	// zeros), so that the node a job node reports to counts it used.
	total := c.net.cfg.Resources
	for name := range total {
		if _, ok := l.Free[name]; !ok {
			l.Free[name] = 0
		}
		if _, ok := l.Room[name]; !ok {
			l.Room[name] = 0
		}
	}
	for _, jl := range c.net.router.jobLoads() {
		l.Queued += jl.Queued
		l.Running += jl.Running
		l.Lent += jl.Lent
		l.Demands = append(l.Demands, jl.Demands...)
		for name, free := range jl.Free {
			if used := total[name] - free; used > 0 {
				l.Free[name] = max(0, l.Free[name]-used)
			}
		}
		for name, room := range jl.Room {
			if held := total[name] - room; held > 0 {
				l.Room[name] = max(0, l.Room[name]-held)
			}
		}
	}
	if c.net.net != nil {
		waiting := c.net.net.Waiting()
		for _, shape := range slices.Sorted(maps.Keys(waiting)) {
			l.Demands = append(l.Demands, cluster.Demand{Shape: strings.ReplaceAll(shape, " ", ","), Count: waiting[shape], Reason: cluster.DemandNoNode})
		}
	}
	return l
}

// Shutdown stops the cluster: unfinished calls fail with ErrShutdown,
// workers are asked to exit and killed after the grace period, and every
// shared-memory segment is released. References made by this cluster fail
// with ErrShutdown from then on. Init may be called again afterwards.
// Calling Shutdown again does nothing and returns nil.
func (c *Cluster) Shutdown() (err error) {
	c.shutdown.Do(func() { err = c.stop() })
	return err
}

// stop is Shutdown's work.
func (c *Cluster) stop() error {
	if c.state != nil {
		c.state.Close()
	}
	if c.metrics != nil {
		c.metrics.Close()
	}
	if c.net != nil {
		c.net.leave()
	}
	err := c.h.Shutdown()
	if c.net != nil {
		c.net.close()
	}
	if c.spill != nil {
		err = errors.Join(err, c.spill.remove())
	}
	if c.events != nil {
		err = errors.Join(err, c.events.Close())
	}
	if c.stopGPUs != nil {
		close(c.stopGPUs)
		<-c.gpusWatched
	}
	if c.gpus != nil {
		err = errors.Join(err, c.gpus.Close())
	}
	c.rt.objs.close()
	current.CompareAndSwap(c.rt, nil)
	return err
}

// Stats is a snapshot of the node, for status output and tests.
type Stats struct {
	Objects int // objects held
	Tasks   int // tasks submitted and not finished
	Workers int // live worker processes, actors' included
	// WorkersStarted counts the worker processes started so far;
	// WorkersDied, those that died without being asked to exit.
	WorkersStarted int
	WorkersDied    int
	Actors         int // actors alive or being created
	// Lineage counts finished tasks whose specification is kept, in
	// LineageBytes; LineageEvicted, those dropped to stay within
	// Config.LineageBytes.
	Lineage        int
	LineageBytes   int64
	LineageEvicted int
	// LineageArgs counts the objects no one holds whose records stay,
	// without their stored bytes, as arguments of kept lineage: made
	// again should a task that took them run again.
	LineageArgs int
	// CallsReplayed counts the calls run again on this node's restarted
	// actors that replay (ActorOptions.Replay), and on those they own
	// restarted on other nodes; Checkpoints the checkpoints recorded;
	// CheckpointsRejected those that did not load (an older one was).
	CallsReplayed, Checkpoints, CheckpointsRejected int
	Sched                                           sched.Stats
	Store                                           store.Stats
	// Pulls counts the objects pulled from other nodes, PulledBytes
	// their bytes.
	Pulls, PulledBytes int64
}

// String summarises the node in one line, object store included.
func (s Stats) String() string {
	st := s.Store
	return fmt.Sprintf("objects %d, tasks %d, workers %d, actors %d, lineage %d (%s, %d evicted, %d arguments); object store: used %s of %s, pinned %s, "+
		"spilled %d (%s), restored %d, evicted %d, hit rate %.2f",
		s.Objects, s.Tasks, s.Workers, s.Actors, s.Lineage, mib(s.LineageBytes), s.LineageEvicted, s.LineageArgs, mib(st.Used), mib(st.Capacity), mib(st.Pinned),
		st.SpillWrites, mib(st.SpillWriteBytes), st.Restores, st.Evicted, st.HitRate())
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// Stats returns a snapshot of the node's tables.
func (c *Cluster) Stats() Stats {
	s := c.h.Stats()
	n := s.Node
	return Stats{Objects: n.Objects, Tasks: n.Tasks, Workers: n.Workers, WorkersStarted: n.Started, WorkersDied: n.Died, Actors: n.Actors,
		Lineage: n.Lineage, LineageBytes: n.LineageBytes, LineageEvicted: n.Evicted, LineageArgs: n.LineageArgs,
		CallsReplayed: n.CallsReplayed, Checkpoints: n.Checkpoints, CheckpointsRejected: n.CheckpointsRejected, Sched: n.Sched, Store: s.Store,
		Pulls: s.Pulls, PulledBytes: s.PulledBytes}
}

// driver is the backend of the driver process: the node runs in this
// process, and each call is a method call on its host.
type driver struct {
	h    *host.Host
	objs *objectStore
}

func (d *driver) submit(task wire.TaskID, c submission) (hold, error) {
	spec := node.TaskSpec{ID: task, Kind: c.kind, Name: c.wireName, Actor: c.actor, Args: c.args,
		Contained: c.contained, Options: c.nopts, Returns: c.returns, Fresh: true}
	var ctx context.Context
	if c.ctx != nil {
		if dl, ok := c.ctx.Deadline(); ok {
			spec.Deadline = dl.UnixNano()
		}
		ctx = c.ctx
	}
	o, err := d.h.Submit(&spec, ctx)
	if err != nil {
		return hold{}, err
	}
	return hold{ID: wire.ReturnID(task), Obj: o}, nil
}

func (d *driver) cancel(task wire.TaskID) error { return d.h.Cancel(task, ErrCancelled) }

func (d *driver) lookupActor(_ context.Context, name string) (wire.TaskID, string, error) {
	return d.h.LookupActor(name)
}

// get reads through the host; stored values are viewed in the driver's
// read-only mapping of the store.
func (d *driver) get(ctx context.Context, hs []hold, out []result) error {
	if err := d.h.Get(ctx, hs, out); err != nil {
		return err
	}
	for i := range out {
		if r := &out[i]; r.Stored && r.Err == nil {
			r.Data, r.Err = d.objs.view(r.ID, r.Slot)
		}
	}
	return nil
}

func (d *driver) doneReading(out []result) { d.h.DoneReading(out) }

func (d *driver) holdForView(id wire.ObjectID) func() { return d.h.PinForView(id) }

func (d *driver) wait(ctx context.Context, hs []hold, k int, timeout time.Duration) ([]int, error) {
	return d.h.Wait(ctx, hs, k, timeout)
}

func (d *driver) put(id wire.ObjectID, v encoded, contained []wire.ObjectID) (hold, error) {
	var o *node.Object
	var err error
	if v.len() <= d.objs.inline {
		var data []byte
		if data, err = v.bytes(); err != nil {
			return hold{}, err
		}
		o, err = d.h.Put(id, node.Value{Data: data}, contained)
	} else {
		d.objs.collect(int64(v.len()))
		o, err = d.h.PutStored(id, v.len(), v.writeTo, contained)
	}
	if err != nil {
		return hold{}, err
	}
	return hold{ID: id, Obj: o}, nil
}

func (d *driver) adopt(id wire.ObjectID) hold { return hold{ID: id, Obj: d.h.Hold(id)} }

func (d *driver) release(h hold) {
	if o := h.Obj; o != nil {
		if size := d.h.Release(o); size > 0 {
			d.objs.released(size)
		}
	}
}

func (d *driver) killActor(id wire.TaskID) error {
	if err := d.h.KillActor(id); err != nil {
		return fmt.Errorf("cannot kill actor: %w", err)
	}
	return nil
}

// devicesOf lists src's devices (none for a nil src).
func devicesOf(src gpu.Source) []gpu.Device {
	if src == nil {
		return nil
	}
	return src.Devices()
}

// gpuCheckEvery is how often a node reads its GPUs' state, for its
// heartbeats and /metrics and to find one that was lost.
const gpuCheckEvery = 500 * time.Millisecond

// watchGPUs reads the node's n GPUs every gpuCheckEvery until stopGPUs
// closes.
func (c *Cluster) watchGPUs(n int, clock clockwork.Clock) {
	defer close(c.gpusWatched)
	lost := make([]bool, n)
	t := clock.NewTicker(gpuCheckEvery)
	defer t.Stop()
	for {
		select {
		case <-c.stopGPUs:
			return
		case <-t.Chan():
		}
		c.readGPUs(lost)
	}
}

// readGPUs reads the node's GPUs into gpuState and takes one newly found
// lost (gpu.ErrLost) out of service; lost marks those taken out already.
func (c *Cluster) readGPUs(lost []bool) {
	var out []metrics.GPU
	for _, d := range c.gpus.Devices() {
		st := c.gpus.Status(d.Index)
		g := metrics.GPU{Index: d.Index, UUID: d.UUID, Name: d.Name, MemoryTotal: d.MemoryTotal,
			MemoryUsed: st.MemoryUsed, Utilization: st.Utilization, Lost: errors.Is(st.Err, gpu.ErrLost)}
		if g.Lost && d.Index < len(lost) && !lost[d.Index] {
			lost[d.Index] = true
			c.h.DeviceLost(d.Index, st.Err)
		}
		out = append(out, g)
	}
	c.gpuState.Store(&out)
}

// lastGPUs is the GPUs' last reading (none for a node without GPUs).
func (c *Cluster) lastGPUs() []metrics.GPU {
	if p := c.gpuState.Load(); p != nil {
		return *p
	}
	return nil
}
