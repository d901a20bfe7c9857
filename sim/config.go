package sim

import (
	"errors"
	"fmt"
	"math/rand"
	"time"
)

// The defaults of Config; the package documentation says where each
// comes from.
const (
	// DefaultNodeTaskCost is Config.NodeTaskCost's: node's
	// BenchmarkSubmitDispatchDone.
	DefaultNodeTaskCost = 1100 * time.Nanosecond
	// DefaultWorkerCost is Config.WorkerCost's: an estimate.
	DefaultWorkerCost = 2 * time.Microsecond
	// DefaultWorkerStart is Config.WorkerStart's: an exec of manta here.
	DefaultWorkerStart = 5 * time.Millisecond
	// DefaultLatency is Config.Latency's: an assumption.
	DefaultLatency = 100 * time.Microsecond
	// DefaultHeartbeat is Config.Heartbeat's: Ray's.
	DefaultHeartbeat = 100 * time.Millisecond
	// DefaultSpillThreshold is Config.SpillThreshold's: the paper gives
	// none.
	DefaultSpillThreshold = 1000
	// DefaultJitter is Config.Jitter's.
	DefaultJitter = 0.1
)

// Config describes a simulated cluster and what its parts cost. Zero
// fields take the defaults documented on each.
type Config struct {
	// Nodes are the cluster's nodes, one entry each (Uniform makes n
	// alike). At least one.
	Nodes []NodeConfig

	// NodeTaskCost is the node manager's own time for one task: Submit,
	// the worker's Done and the driver's Release, a third each. The node
	// manager is one server, serving its inputs one at a time in arrival
	// order; every other input (a worker started or stopped, a timer, a
	// heartbeat, the decision to spill a task) also costs a third.
	// Default DefaultNodeTaskCost.
	NodeTaskCost time.Duration
	// WorkerCost is a worker process's time per task besides the task's
	// own: taking the Execute off its ring, decoding it, calling the
	// function and pushing Done. A worker runs its tasks one at a time.
	// Default DefaultWorkerCost.
	WorkerCost time.Duration
	// TaskTime is how long each task runs in its worker; 0 (the default)
	// is an empty task.
	TaskTime time.Duration
	// WorkerStart is how long a worker process takes from StartProc to
	// ProcStarted. Default DefaultWorkerStart.
	WorkerStart time.Duration
	// Latency is the one-way network delay between two nodes and between a
	// node and the global scheduler. Default DefaultLatency. The
	// simulation advances in steps of the shortest delay, so a tiny one
	// makes it slow.
	Latency time.Duration
	// Heartbeat is the period at which each node reports its load to the
	// global scheduler (Ray's raylet_report_resources_period_milliseconds).
	// Nodes start at random phases. Default DefaultHeartbeat.
	Heartbeat time.Duration
	// SpillThreshold is the node's queue length (sched.Stats.Queued) at
	// which a driver's task goes to the global scheduler instead
	// (global.Spill). Default DefaultSpillThreshold: the paper gives no
	// number.
	SpillThreshold int
	// PipelineDepth is each node's sched.Config.PipelineDepth; 0 is
	// sched's default.
	PipelineDepth int
	// Jitter spreads every modelled cost and delay d uniformly over
	// [d(1-Jitter), d(1+Jitter)], drawn from Rand, so that nodes do not
	// run in lockstep. Default DefaultJitter; negative: none. Below 1.
	Jitter float64
	// Rand draws the jitter and the heartbeats' phases. The simulation
	// owns it: it must not be shared with another. Default: seeded with 1.
	// The same Config and seed give the same run.
	Rand *rand.Rand
}

// NodeConfig describes one simulated node and its driver.
type NodeConfig struct {
	// CPUs the node offers; a node with none runs no task of the
	// workload, whose tasks each need one CPU.
	CPUs float64
	// MaxWorkers bounds its worker processes; 0 is sched's default (the
	// whole CPUs, at least one).
	MaxWorkers int
	// InFlight is how many tasks the node's driver keeps submitted and not
	// yet finished: it submits a new one each time one finishes. 0: the
	// node has no driver.
	InFlight int
}

// Uniform returns n nodes configured alike.
func Uniform(n int, c NodeConfig) []NodeConfig {
	nodes := make([]NodeConfig, n)
	for i := range nodes {
		nodes[i] = c
	}
	return nodes
}

func (c Config) withDefaults() (Config, error) {
	if len(c.Nodes) == 0 {
		return c, errors.New("sim: no nodes")
	}
	for i, n := range c.Nodes {
		if n.CPUs < 0 || n.MaxWorkers < 0 || n.InFlight < 0 {
			return c, fmt.Errorf("sim: node %d: negative CPUs, workers or tasks in flight: %+v", i, n)
		}
	}
	defaults := []struct {
		v *time.Duration
		d time.Duration
	}{
		{&c.NodeTaskCost, DefaultNodeTaskCost}, {&c.WorkerCost, DefaultWorkerCost}, {&c.WorkerStart, DefaultWorkerStart},
		{&c.Latency, DefaultLatency}, {&c.Heartbeat, DefaultHeartbeat},
	}
	for _, f := range defaults {
		if *f.v == 0 {
			*f.v = f.d
		}
		if *f.v < 0 {
			return c, fmt.Errorf("sim: negative cost or delay %v", *f.v)
		}
	}
	if c.TaskTime < 0 {
		return c, fmt.Errorf("sim: negative task time %v", c.TaskTime)
	}
	if c.SpillThreshold <= 0 {
		c.SpillThreshold = DefaultSpillThreshold
	}
	switch {
	case c.Jitter == 0:
		c.Jitter = DefaultJitter
	case c.Jitter < 0:
		c.Jitter = 0
	case c.Jitter >= 1:
		return c, fmt.Errorf("sim: jitter %v, want below 1", c.Jitter)
	}
	if c.Rand == nil {
		c.Rand = rand.New(rand.NewSource(1))
	}
	return c, nil
}
