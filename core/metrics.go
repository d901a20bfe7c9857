package core

import (
	"manta/cluster"
	"manta/events"
	"manta/metrics"
	"manta/metrics/hist"
)

// MetricsAddr is where the node serves its Prometheus metrics
// (Config.MetricsAddr), "" when it does not.
func (c *Cluster) MetricsAddr() string {
	if c.metrics == nil {
		return ""
	}
	return c.metrics.Addr()
}

// metricsSnapshot is what a scrape of /metrics reads.
func (c *Cluster) metricsSnapshot() metrics.Snapshot {
	s := c.Stats()
	st := s.Store
	m := metrics.Snapshot{Node: c.NodeID(),
		TasksQueued: s.Sched.Queued, TasksRunning: s.Sched.Running, TasksBlocked: s.Sched.Blocked, TasksPipelined: s.Sched.Pipelined,
		TasksPending: s.Tasks, Objects: s.Objects, Workers: s.Workers, WorkersStarted: s.WorkersStarted, Actors: s.Actors,
		Lineage: s.Lineage, LineageBytes: s.LineageBytes, LineageEvicted: s.LineageEvicted,
		StoreUsed: st.Used, StoreCapacity: st.Capacity, StorePinned: st.Pinned,
		StoreSpills: st.SpillWrites, StoreSpillBytes: st.SpillWriteBytes, StoreRestores: st.Restores, StoreEvictions: st.Evicted,
		Lent: c.h.Lent(), QueuedByShape: map[string]int{}, WorkerDeaths: s.WorkersDied, Pulls: s.Pulls, PulledBytes: s.PulledBytes}
	if hs := events.PhaseHistograms(); hs != nil {
		m.Phases = map[string]hist.Snapshot{}
		for i, h := range hs {
			m.Phases[events.LocalPhases[i].Name] = h
		}
	}
	if c.net != nil {
		m.GCSReads, m.GCSWrites = c.net.api.reads.Snapshot(), c.net.api.writes.Snapshot()
	}
	m.GPUs = c.lastGPUs()
	for _, cs := range s.Sched.Classes {
		if cs.Queued > 0 {
			m.QueuedByShape[string(cluster.AppendResources(nil, cs.Request.Map()))] += cs.Queued
		}
	}
	return m
}
