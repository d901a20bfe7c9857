package sim

import (
	"errors"
	"fmt"
	"math/rand"
	"time"

	"manta/node"
	"manta/rpc/wire"
	"manta/sched"
	"manta/sched/global"
)

// Sim is a simulated cluster: its nodes, their drivers and the global
// scheduler, and the events still to happen. It is not safe for
// concurrent use.
type Sim struct {
	cfg Config
	rng *rand.Rand
	now time.Duration
	// window is the shortest network delay. Each node and the global
	// scheduler keep their own events, and nothing one of them does
	// reaches another sooner, so the simulation runs each in turn through
	// a window of this length (conservative lookahead): a node's events
	// and tables stay in cache while it runs.
	window time.Duration
	hosts  []*host
	global *global.Scheduler
	gq     queue // the global scheduler's events
	demand sched.Resources
	spec   node.TaskSpec // the workload's task; Submit copies what it keeps
	// inputCost is what one input costs a node manager.
	inputCost time.Duration
	draining  bool
	stats     Stats
}

// flight is one task of a driver, from its submission until the driver
// learns how it ended.
type flight struct {
	w      node.Waiter // on the task's result, on the node it runs on
	id     wire.TaskID
	origin int32 // the driver's node
	exec   int32 // the node it was submitted to; -1 before
	obj    *node.Object
	failed bool
	done   bool
}

// Stats counts what happened since the simulation began.
type Stats struct {
	// Now is the virtual time.
	Now time.Duration
	// Submitted counts the tasks drivers submitted; Completed those whose
	// driver got a value back, Failed those it got an error for.
	Submitted, Completed, Failed uint64
	// Spilled counts tasks a node sent to the global scheduler instead of
	// queuing them; Remote, finished tasks that ran on another node than
	// their driver's.
	Spilled, Remote uint64
	// InFlight is how many tasks are submitted and not finished.
	InFlight int
	// Events counts the events simulated: the simulation's own work.
	Events uint64
}

// Rate is the throughput between two snapshots: tasks completed per
// virtual second from since to s.
func (s Stats) Rate(since Stats) float64 {
	if s.Now <= since.Now {
		return 0
	}
	return float64(s.Completed-since.Completed) / (s.Now - since.Now).Seconds()
}

// NodeStats describes one node.
type NodeStats struct {
	// Submitted counts the tasks its driver submitted, Spilled those of
	// them it sent to the global scheduler, Ran the tasks its workers ran
	// (its driver's and placed ones).
	Submitted, Spilled, Ran uint64
	// Node is the node manager's own snapshot (queue lengths, workers,
	// objects and tasks held).
	Node node.Stats
}

// errStopped is why a worker process that was asked to exit is gone.
var errStopped = errors.New("sim: worker stopped")

// New builds the cluster at virtual time 0: every node joins the global
// scheduler, every driver submits its first InFlight tasks, and the
// heartbeats start at random phases. Nothing runs until Run.
func New(cfg Config) (*Sim, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Sim{cfg: cfg, rng: cfg.Rand, inputCost: cfg.NodeTaskCost / 3,
		window: cfg.Latency - time.Duration(cfg.Jitter*float64(cfg.Latency))}
	need := map[string]float64{"CPU": 1}
	if s.demand, err = sched.NewResources(need); err != nil {
		return nil, err
	}
	s.spec = node.TaskSpec{Kind: wire.SubmitTask, Name: []byte("empty"), Fresh: true,
		Options: &node.Options{Resources: need, Key: "sim.empty", MaxRetries: -1}}
	if s.global, err = global.New(global.Config{}); err != nil {
		return nil, err
	}
	for i, nc := range cfg.Nodes {
		total, err := sched.NewResources(map[string]float64{"CPU": nc.CPUs})
		if err != nil {
			return nil, fmt.Errorf("sim: node %d: %w", i, err)
		}
		h := &host{s: s, i: int32(i), total: total, procs: map[node.ProcID]time.Duration{}, waiting: map[*node.Waiter]*flight{}}
		ncfg := node.Config{Errors: codec{}, Sched: sched.Config{Total: total, MaxWorkers: nc.MaxWorkers, PipelineDepth: cfg.PipelineDepth}}
		if h.n, err = node.New(ncfg, h); err != nil {
			return nil, err
		}
		if err := s.global.AddNode(global.NodeID(i+1), total); err != nil {
			return nil, err
		}
		s.hosts = append(s.hosts, h)
		h.input(event{at: time.Duration(s.rng.Int63n(int64(cfg.Heartbeat))), in: inHeartbeat})
	}
	for i, nc := range cfg.Nodes {
		for range nc.InFlight {
			s.submit(int32(i), 0)
		}
	}
	return s, nil
}

// Run simulates every event before virtual time until (counted from the
// start), which becomes the time.
func (s *Sim) Run(until time.Duration) {
	for s.now < until {
		s.advance(min(s.now+s.window, until))
	}
}

// Drain ends the workload: drivers submit no more, and the simulation
// runs until every submitted task has finished, for at most within of
// virtual time. It then checks that the node managers hold no task and
// no object; a task still in flight or anything left behind is an
// error. Heartbeats go on if Run is called again.
func (s *Sim) Drain(within time.Duration) error {
	s.draining = true
	deadline := s.now + within
	for s.stats.InFlight > 0 {
		if s.now >= deadline {
			return fmt.Errorf("sim: %d tasks still in flight at %v", s.stats.InFlight, s.now)
		}
		s.advance(min(s.now+s.window, deadline))
	}
	for i, h := range s.hosts {
		if st := h.n.Stats(); st.Tasks != 0 || st.Objects != 0 || len(h.waiting) != 0 {
			return fmt.Errorf("sim: node %d holds %d tasks, %d objects and %d waits after draining", i, st.Tasks, st.Objects, len(h.waiting))
		}
	}
	return nil
}

// Stats returns the cluster's counters.
func (s *Sim) Stats() Stats {
	st := s.stats
	st.Now = s.now
	return st
}

// Node returns node i's counters (i indexes Config.Nodes).
func (s *Sim) Node(i int) NodeStats {
	h := s.hosts[i]
	return NodeStats{Submitted: h.submitted, Spilled: h.spilled, Ran: h.ran, Node: h.n.Stats()}
}

// advance simulates every event before end, one node after another,
// then the global scheduler's. end is at most a window away, so what
// one sends another in the meantime arrives at end or later.
func (s *Sim) advance(end time.Duration) {
	for _, h := range s.hosts {
		h.runUntil(end)
	}
	for s.gq.len() > 0 && s.gq.next().at < end {
		s.stats.Events++
		s.schedule(s.gq.pop())
	}
	s.now = end
}

// schedule handles an event of the global scheduler: a spilled task to
// place, or a node's heartbeat.
func (s *Sim) schedule(ev event) {
	switch ev.kind {
	case evPlace:
		at := ev.at + s.jitter(s.cfg.Latency)
		p, err := s.global.Place(s.demand, nil)
		if err != nil {
			ev.f.failed = true
			s.hosts[ev.f.origin].q.push(event{at: at, kind: evComplete, f: ev.f})
			return
		}
		s.hosts[p.Node-1].input(event{at: at, in: inPlaced, f: ev.f})
	case evReport:
		s.global.Report(global.NodeID(ev.node+1), *ev.load)
	}
}

// submit has node origin's driver submit a new task at time at.
func (s *Sim) submit(origin int32, at time.Duration) {
	h := s.hosts[origin]
	h.next++
	h.submitted++
	s.stats.Submitted++
	s.stats.InFlight++
	f := &flight{id: wire.TaskID{Hi: uint64(origin) + 1, Lo: h.next}, origin: origin, exec: -1}
	h.input(event{at: at, in: inSubmit, f: f})
}

// finished is f's driver learning, at time at, that f ended; the driver
// submits its next task then, unless the workload is draining.
func (s *Sim) finished(f *flight, at time.Duration) {
	if f.done {
		panic(fmt.Sprintf("BUG: task %v finished twice", f.id))
	}
	f.done = true
	s.stats.InFlight--
	if f.failed {
		s.stats.Failed++
	} else {
		s.stats.Completed++
	}
	if f.exec >= 0 && f.exec != f.origin {
		s.stats.Remote++
	}
	if !s.draining {
		s.submit(f.origin, at)
	}
}

// jitter draws a cost or delay around d (Config.Jitter).
func (s *Sim) jitter(d time.Duration) time.Duration {
	if s.cfg.Jitter == 0 || d == 0 {
		return d
	}
	return d + time.Duration((2*s.rng.Float64()-1)*s.cfg.Jitter*float64(d))
}

// codec encodes a failed task's error as its message.
type codec struct{}

func (codec) Encode(err error, _ []byte, _ wire.TaskID) []byte { return []byte(err.Error()) }
func (codec) Decode(b []byte) error                            { return errors.New(string(b)) }
