package global

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"

	"manta/sched"
)

// NodeID names a node of the cluster.
type NodeID uint32

// Config tunes a Scheduler. The zero value is usable.
type Config struct {
	// NoLocality drops the transfer term from the estimate: tasks go where
	// the queue is shortest, wherever their inputs are (Figure 8a's
	// "locality-unaware" placement).
	NoLocality bool
	// Smoothing is the weight of a new sample in the exponential averages
	// of task time and bandwidth, in (0, 1]. Default 0.3.
	Smoothing float64
	// TaskTime and Bandwidth (bytes per second) are assumed until a node
	// has reported its own. Defaults 1 ms and 1e9.
	TaskTime  time.Duration
	Bandwidth float64
	// WaitForNodes makes a request no live node can satisfy answer
	// ErrNoNodeYet (retry once a node joins) instead of failing with
	// sched.ErrInfeasible.
	WaitForNodes bool
}

func (c Config) withDefaults() (Config, error) {
	if c.Smoothing == 0 {
		c.Smoothing = 0.3
	}
	if c.TaskTime == 0 {
		c.TaskTime = time.Millisecond
	}
	if c.Bandwidth == 0 {
		c.Bandwidth = 1e9
	}
	if !(c.Smoothing > 0 && c.Smoothing <= 1) || c.TaskTime < 0 || !(c.Bandwidth > 0) {
		return c, fmt.Errorf("global: bad config: smoothing %v, task time %v, bandwidth %v", c.Smoothing, c.TaskTime, c.Bandwidth)
	}
	return c, nil
}

// ErrNoNodeYet answers a request that no live node can satisfy, when the
// scheduler is configured to wait for one that could join.
var ErrNoNodeYet = errors.New("global: no node can run it yet")

// ErrNoRoomYet answers PlaceActor when live nodes' totals fit the actor
// but their actors leave none of them room for it: retry once a report
// shows room (an actor ended, a node joined).
var ErrNoRoomYet = errors.New("global: no node has room for the actor yet")

// Load is what a node reports in its heartbeat.
type Load struct {
	// Available is what the node has free now.
	Available sched.Resources
	// Room is what tasks can ever get there while its actors live: its
	// totals less what they hold (sched.Stats.TaskRoom). A demand that does
	// not fit it is not placed there. Nil: not reported, the totals.
	Room *sched.Resources
	// Queued counts its tasks waiting for resources or a worker.
	Queued int
	// TaskTime is the mean run time of the tasks it finished since its
	// last report; 0 if none finished.
	TaskTime time.Duration
	// Bandwidth is the rate, in bytes per second, of the transfers into
	// its store that ended since its last report; 0 if none did.
	Bandwidth float64
}

// Input is one stored argument of a task: its size and the nodes that
// have a copy (from the object table).
type Input struct {
	Bytes int64
	On    []NodeID
}

// Placement is the scheduler's answer.
type Placement struct {
	Node NodeID
	// Wait is the estimate the choice was made on: queue length × average
	// task time + remote input bytes ÷ average bandwidth.
	Wait time.Duration
	// Remote counts the input bytes the node must pull.
	Remote int64
}

type node struct {
	id    NodeID
	total sched.Resources
	avail sched.Resources
	room  sched.Resources // total less what actors hold; total until reported
	// queued is the last report's; placed counts the tasks placed on it
	// since, which that report did not know of.
	queued, placed int
	taskTime       float64 // seconds, exponentially averaged; 0 until reported
	bandwidth      float64 // bytes per second, likewise
}

// Scheduler is the cluster's global scheduler. It is not safe for
// concurrent use: its owner serializes the calls.
type Scheduler struct {
	cfg   Config
	nodes []*node // by ID
	// The cluster-wide averages, for nodes that have not reported theirs.
	taskTime, bandwidth float64
}

// New returns a scheduler with no nodes.
func New(cfg Config) (*Scheduler, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Scheduler{cfg: cfg}, nil
}

func (s *Scheduler) find(id NodeID) (int, bool) {
	return slices.BinarySearchFunc(s.nodes, id, func(n *node, id NodeID) int { return cmp.Compare(n.id, id) })
}

// AddNode records a node that joined, with its total resources; all of
// them are free until it reports otherwise. A node already known is an
// error: a restarted node joins under a new ID.
func (s *Scheduler) AddNode(id NodeID, total sched.Resources) error {
	i, found := s.find(id)
	if found {
		return fmt.Errorf("global: node %d joined twice", id)
	}
	s.nodes = slices.Insert(s.nodes, i, &node{id: id, total: total, avail: total, room: total})
	return nil
}

// RemoveNode forgets a node that died or left.
func (s *Scheduler) RemoveNode(id NodeID) {
	if i, found := s.find(id); found {
		s.nodes = slices.Delete(s.nodes, i, i+1)
	}
}

// Report takes a node's heartbeat. Reports of unknown nodes (one removed
// meanwhile) are ignored.
func (s *Scheduler) Report(id NodeID, load Load) {
	i, found := s.find(id)
	if !found {
		return
	}
	n := s.nodes[i]
	n.avail, n.queued, n.placed, n.room = load.Available, max(load.Queued, 0), 0, n.total
	if load.Room != nil {
		n.room = *load.Room
	}
	if load.TaskTime > 0 {
		n.taskTime = s.average(n.taskTime, load.TaskTime.Seconds())
		s.taskTime = s.average(s.taskTime, load.TaskTime.Seconds())
	}
	if load.Bandwidth > 0 {
		n.bandwidth = s.average(n.bandwidth, load.Bandwidth)
		s.bandwidth = s.average(s.bandwidth, load.Bandwidth)
	}
}

// average folds a sample into an exponential average; the first sample
// is taken as it is.
func (s *Scheduler) average(avg, sample float64) float64 {
	if avg == 0 {
		return sample
	}
	return avg + s.cfg.Smoothing*(sample-avg)
}

// Place picks the node with the lowest estimated wait for a task needing
// demand, with inputs stored where the object table says: among the live
// nodes whose totals fit demand, the wait is the tasks it would wait
// behind × the node's average task time, plus the input bytes it lacks ÷
// its average bandwidth (no transfer term with Config.NoLocality). It
// waits behind the node's reported queue, and behind the tasks placed
// there since unless what was free fits them and it too. Ties go to fewer
// remote bytes (with locality), then the lower ID. The task counts on the
// node until its next report.
//
// Nodes whose actors leave the demand no room (Load.Room) are passed
// over while another node has room: a task sent there would wait for an
// actor to end. A demand no live node's totals fit fails at once with an
// error wrapping sched.ErrInfeasible that names what is lacking, or
// ErrNoNodeYet with Config.WaitForNodes.
func (s *Scheduler) Place(demand sched.Resources, inputs []Input) (Placement, error) {
	p, ok := s.place(demand, inputs, true)
	if !ok {
		p, ok = s.place(demand, inputs, false)
	}
	if !ok {
		return Placement{}, s.unschedulable(demand)
	}
	return p, nil
}

// PlaceActor picks the node for an actor needing demand, as Place does
// among the nodes with room for it, and counts it there as holding
// demand until the node's next report. With no such node it fails with
// ErrNoRoomYet if some node's totals fit (an actor sent where it has no
// room would wait there for good, though room may come elsewhere), else
// as Place does.
func (s *Scheduler) PlaceActor(demand sched.Resources) (Placement, error) {
	p, ok := s.place(demand, nil, true)
	if !ok {
		for _, n := range s.nodes {
			if demand.Lacking(n.total) == "" {
				return Placement{}, fmt.Errorf("%w: %s", ErrNoRoomYet, demand)
			}
		}
		return Placement{}, s.unschedulable(demand)
	}
	i, _ := s.find(p.Node)
	n := s.nodes[i]
	left := n.room.Map()
	for name, q := range demand.Map() {
		left[name] -= q
	}
	if room, err := sched.NewResources(left); err == nil {
		n.room = room
	}
	return p, nil
}

// place picks the best node whose totals, and if needRoom its room, fit
// demand.
func (s *Scheduler) place(demand sched.Resources, inputs []Input, needRoom bool) (Placement, bool) {
	var best *node
	var bestWait float64
	var bestRemote int64
	for _, n := range s.nodes {
		if demand.Lacking(n.total) != "" || needRoom && demand.Lacking(n.room) != "" {
			continue
		}
		// The tasks placed since the report take what was free first;
		// beyond that this one waits behind them and the node's queue.
		behind := n.queued + max(0, n.placed+1-demand.CopiesIn(n.avail))
		wait := float64(behind) * s.taskTimeOf(n)
		remote := remoteBytes(n.id, inputs)
		if !s.cfg.NoLocality {
			wait += float64(remote) / s.bandwidthOf(n)
		}
		if best == nil || wait < bestWait || wait == bestWait && remote < bestRemote && !s.cfg.NoLocality {
			best, bestWait, bestRemote = n, wait, remote
		}
	}
	if best == nil {
		return Placement{}, false
	}
	best.placed++
	return Placement{Node: best.id, Wait: time.Duration(bestWait * float64(time.Second)), Remote: bestRemote}, true
}

// Spill reports whether a node should send a task to the global scheduler
// instead of queuing it itself (the paper's bottom-up scheduling): when
// its totals cannot fit demand, or queued tasks have reached threshold. A
// task the global scheduler placed is never spilled again.
func Spill(total, demand sched.Resources, queued, threshold int) bool {
	return demand.Lacking(total) != "" || queued >= threshold
}

func (s *Scheduler) taskTimeOf(n *node) float64 {
	switch {
	case n.taskTime > 0:
		return n.taskTime
	case s.taskTime > 0:
		return s.taskTime
	}
	return s.cfg.TaskTime.Seconds()
}

func (s *Scheduler) bandwidthOf(n *node) float64 {
	switch {
	case n.bandwidth > 0:
		return n.bandwidth
	case s.bandwidth > 0:
		return s.bandwidth
	}
	return s.cfg.Bandwidth
}

// remoteBytes counts the input bytes node id has no copy of.
func remoteBytes(id NodeID, inputs []Input) int64 {
	var b int64
	for _, in := range inputs {
		if !slices.Contains(in.On, id) {
			b += in.Bytes
		}
	}
	return b
}

// unschedulable says why no node can take demand.
func (s *Scheduler) unschedulable(demand sched.Resources) error {
	if s.cfg.WaitForNodes {
		return fmt.Errorf("%w: %s fits none of the %d live nodes", ErrNoNodeYet, demand, len(s.nodes))
	}
	if len(s.nodes) == 0 {
		return fmt.Errorf("%w: no live node for %s", sched.ErrInfeasible, demand)
	}
	first := s.nodes[0]
	return fmt.Errorf("%w: no node of %d can run %s (node %d lacks %s)", sched.ErrInfeasible, len(s.nodes), demand, first.id, demand.Lacking(first.total))
}

// Stats is a snapshot of one node as the scheduler sees it.
type Stats struct {
	Node             NodeID
	Total, Available sched.Resources
	Queued, Placed   int
	TaskTime         time.Duration // its average; 0 until reported
	Bandwidth        float64       // its average; 0 until reported
}

// Nodes returns every live node's state, by ID.
func (s *Scheduler) Nodes() []Stats {
	out := make([]Stats, len(s.nodes))
	for i, n := range s.nodes {
		out[i] = Stats{Node: n.id, Total: n.total, Available: n.avail, Queued: n.queued, Placed: n.placed,
			TaskTime: time.Duration(n.taskTime * float64(time.Second)), Bandwidth: n.bandwidth}
	}
	return out
}
