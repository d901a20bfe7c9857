package sched

import "time"

// Config describes a node and the worker pool policy. Zero fields take the
// defaults documented on each.
type Config struct {
	// Total is what the node offers to tasks and actors.
	Total Resources
	// MaxWorkers bounds the task worker processes (idle, leased and
	// starting); actor workers do not count, being bounded by the resources
	// they hold. While work in them waits in Get, lease slots are added to
	// these processes (AddSlot) rather than starting more, one per blocked
	// slot at most. Default: the whole CPUs in Total, at least 1.
	MaxWorkers int
	// MaxStartingWorkers bounds worker processes being started at once.
	// Default 2.
	MaxStartingWorkers int
	// PipelineDepth is how many tasks a leased worker may have assigned at
	// once: one running, the rest waiting on the worker to hide round trips.
	// Default 16.
	PipelineDepth int
	// IdleTimeout is how long a worker may stay idle before Tick stops it.
	// Default 10s.
	IdleTimeout time.Duration
	// MinIdleWorkers is how many idle workers Tick keeps however long idle.
	MinIdleWorkers int
}

func (c Config) withDefaults() Config {
	if c.MaxWorkers <= 0 {
		c.MaxWorkers = max(1, int(c.Total.cpu/Unit))
	}
	if c.MaxStartingWorkers <= 0 {
		c.MaxStartingWorkers = 2
	}
	if c.PipelineDepth <= 0 {
		c.PipelineDepth = 16
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = 10 * time.Second
	}
	c.MinIdleWorkers = max(0, c.MinIdleWorkers)
	return c
}
