package metrics

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"manta/internal/httpserve"
	"manta/metrics/hist"
)

// Snapshot is a node's state at one scrape; Node fills it from core.Cluster.Stats.
type Snapshot struct {
	Node                                                        string // the node's ID in its cluster, "" for a single node (a const label when set)
	TasksQueued, TasksRunning, TasksBlocked, TasksPipelined     int    // the local scheduler's
	TasksPending                                                int    // tasks submitted and not finished (queued, waiting for arguments, running)
	Objects                                                     int
	Workers, WorkersStarted                                     int // live worker processes; started over the node's life (a counter)
	Actors                                                      int
	Lineage                                                     int
	LineageBytes                                                int64
	LineageEvicted                                              int // LineageEvicted is a counter
	StoreUsed, StoreCapacity, StorePinned                       int64
	StoreSpills, StoreSpillBytes, StoreRestores, StoreEvictions int64 // counters
	Lent                                                        int
	// QueuedByShape counts queued tasks by resource shape ("CPU=1,GPU=1").
	QueuedByShape map[string]int
	WorkerDeaths  int   // worker processes that died unasked (a counter)
	Pulls         int64 // objects pulled from other nodes (a counter)
	PulledBytes   int64 // their bytes (a counter)
	// Phases are the latencies of a task's phases that the node sees
	// whole (events.LocalPhases), by phase name; empty unless the node
	// records task-life events.
	Phases map[string]hist.Snapshot
	// GCSReads and GCSWrites are the latencies of the node's operations
	// on the GCS; zero without a cluster.
	GCSReads, GCSWrites hist.Snapshot
	// GPUs are the node's devices as last read (core reads them every
	// 500 ms).
	GPUs []GPU
}

// GPU is one device of the node at a scrape.
type GPU struct {
	Index                   int
	UUID, Name              string
	MemoryTotal, MemoryUsed uint64 // bytes
	Utilization             int    // percent busy over the device's last sample period
	// Lost: the device could not be read (fell off the bus, needs a
	// reset); its readings are then zero.
	Lost bool
}

// Config configures Serve.
type Config struct {
	// Addr to listen on; "" means 127.0.0.1:0 (loopback unless told otherwise).
	Addr string
	// Snapshot is called once per scrape, from the HTTP handler's goroutine; required.
	Snapshot func() Snapshot
}

// DefaultAddr is the address Serve listens on when Config.Addr is "":
// loopback, on a port the kernel picks.
const DefaultAddr = "127.0.0.1:0"

// Server serves /metrics until Close; Addr says where.
type Server struct{ *httpserve.Server }

// Serve listens on cfg.Addr and serves the node's metrics, the Go runtime's
// and the process's at /metrics, in Prometheus's text format (or
// OpenMetrics or protobuf where the scraper asks for them), until Close.
func Serve(cfg Config) (*Server, error) {
	if cfg.Snapshot == nil {
		return nil, errors.New("metrics: Config.Snapshot is required")
	}
	addr := cfg.Addr
	if addr == "" {
		addr = DefaultAddr
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		&collector{snapshot: cfg.Snapshot},
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	s, err := httpserve.Start(addr, mux)
	if err != nil {
		return nil, err
	}
	return &Server{s}, nil
}

// collector turns a Snapshot into metrics. It is unchecked (Describe sends
// no descriptors) because the node label is known only from a Snapshot.
type collector struct {
	snapshot func() Snapshot
}

func (c *collector) Describe(chan<- *prometheus.Desc) {}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	s := c.snapshot()
	var constLabels prometheus.Labels
	if s.Node != "" {
		constLabels = prometheus.Labels{"node": s.Node}
	}
	emit := func(name, help string, t prometheus.ValueType, v float64) {
		ch <- prometheus.MustNewConstMetric(prometheus.NewDesc(name, help, nil, constLabels), t, v)
	}
	gauge := func(name, help string, v float64) { emit(name, help, prometheus.GaugeValue, v) }
	counter := func(name, help string, v float64) { emit(name, help, prometheus.CounterValue, v) }

	tasks := prometheus.NewDesc("manta_tasks",
		"Tasks in the node's local scheduler by state: queued (waiting in a class queue for resources or a worker), running (on a worker, blocked ones included), blocked (running, but waiting in Get; its CPU is given back), pipelined (assigned to a worker behind the task it runs).",
		[]string{"state"}, constLabels)
	for _, st := range []struct {
		state string
		n     int
	}{{"queued", s.TasksQueued}, {"running", s.TasksRunning}, {"blocked", s.TasksBlocked}, {"pipelined", s.TasksPipelined}} {
		ch <- prometheus.MustNewConstMetric(tasks, prometheus.GaugeValue, float64(st.n), st.state)
	}
	gauge("manta_tasks_pending",
		"Tasks submitted to this node and not finished: queued, waiting for their arguments, or running. It includes what manta_tasks counts; do not add the two.",
		float64(s.TasksPending))
	shapes := prometheus.NewDesc("manta_sched_queued_tasks",
		"Tasks queued in the node's local scheduler by resource shape (\"CPU=1,GPU=1\"); their sum is manta_tasks{state=\"queued\"}. A shape that stays queued while others run is one the node lacks room for.",
		[]string{"shape"}, constLabels)
	for shape, n := range s.QueuedByShape {
		ch <- prometheus.MustNewConstMetric(shapes, prometheus.GaugeValue, float64(n), shape)
	}

	gauge("manta_objects", "Objects the node manager holds (results and puts referenced from this node).", float64(s.Objects))
	gauge("manta_workers", "Live worker processes of this node, actors' included.", float64(s.Workers))
	counter("manta_worker_starts_total", "Worker processes started by this node over its life; a rate that does not settle means workers die or are reaped and started again.", float64(s.WorkersStarted))
	gauge("manta_actors", "Actors on this node, alive or being created.", float64(s.Actors))
	gauge("manta_lineage_tasks", "Finished tasks whose specification is kept (lineage) while one of their results is held.", float64(s.Lineage))
	gauge("manta_lineage_bytes", "Bytes of the kept lineage, bounded by the node's LineageBytes setting.", float64(s.LineageBytes))
	counter("manta_lineage_evictions_total", "Task specifications dropped from lineage, oldest first, to stay within LineageBytes; their results can no longer be made again if lost.", float64(s.LineageEvicted))

	gauge("manta_store_used_bytes", "Bytes of the node's object store allocated to objects, sealed or being written (headers and padding included).", float64(s.StoreUsed))
	gauge("manta_store_capacity_bytes", "Size of the node's object store in bytes; past it, unpinned objects are spilled to disk.", float64(s.StoreCapacity))
	gauge("manta_store_pinned_bytes", "Bytes of pinned objects in the object store (in a Get, a View or a running task's arguments); they cannot be spilled.", float64(s.StorePinned))
	counter("manta_store_spills_total", "Spill files written: objects copied from the object store to disk to make room.", float64(s.StoreSpills))
	counter("manta_store_spilled_bytes_total", "Data bytes written to spill files.", float64(s.StoreSpillBytes))
	counter("manta_store_restores_total", "Spilled objects read back from disk into the object store; a high rate means the store is too small for the working set.", float64(s.StoreRestores))
	counter("manta_store_evictions_total", "Times an object's memory was freed because a spill file held it.", float64(s.StoreEvictions))
	counter("manta_worker_deaths_total", "Worker processes of this node that died without being asked to exit (crashes, kills); their tasks were retried or failed.", float64(s.WorkerDeaths))
	counter("manta_pulls_total", "Objects this node pulled from other nodes' stores (arguments and Gets of objects held elsewhere).", float64(s.Pulls))
	counter("manta_pulled_bytes_total", "Bytes this node pulled from other nodes' stores.", float64(s.PulledBytes))
	phases := prometheus.NewDesc("manta_task_phase_seconds",
		"Time tasks spent in each phase of their life that this node sees whole, from its task-life events (only while it records them: core.Config.EventsDir), over a sample of one task in 16 by ID: submit_to_queued, scheduler_queue, ring_push (with the worker's wake-up call), at_worker (its wake-up, run and reply), driver_wakeup (result seen to Get returning).",
		[]string{"phase"}, constLabels)
	for name, h := range s.Phases {
		ch <- prometheus.MustNewConstHistogram(phases, h.Count, h.Sum.Seconds(), buckets(h), name)
	}
	gcsOps := prometheus.NewDesc("manta_gcs_operation_seconds", "Latency of this node's operations on the GCS (heartbeats, the actor and node tables, the function table), by kind.", []string{"op"}, constLabels)
	for op, h := range map[string]hist.Snapshot{"read": s.GCSReads, "write": s.GCSWrites} {
		if h.Count > 0 {
			ch <- prometheus.MustNewConstHistogram(gcsOps, h.Count, h.Sum.Seconds(), buckets(h), op)
		}
	}
	gauge("manta_lent_objects", "Results of tasks this node ran for other nodes, kept here until their owners release them or leave.", float64(s.Lent))
	collectGPUs(ch, s.GPUs, constLabels)
}

// collectGPUs sends the per-device gauges, labelled by index, UUID and
// name.
func collectGPUs(ch chan<- prometheus.Metric, gpus []GPU, constLabels prometheus.Labels) {
	labels := []string{"gpu", "uuid", "name"}
	total := prometheus.NewDesc("manta_gpu_memory_total_bytes", "Memory of each of the node's GPUs.", labels, constLabels)
	used := prometheus.NewDesc("manta_gpu_memory_used_bytes", "Memory in use on each GPU, by any process, as NVML reads it.", labels, constLabels)
	util := prometheus.NewDesc("manta_gpu_utilization_ratio", "Share of NVML's last sample period during which each GPU was busy.", labels, constLabels)
	lost := prometheus.NewDesc("manta_gpu_lost", "1 for a GPU that could not be read (fell off the bus, or needs a reset): the calls on it fail.", labels, constLabels)
	for _, g := range gpus {
		lv := []string{strconv.Itoa(g.Index), g.UUID, g.Name}
		isLost := 0.0
		if g.Lost {
			isLost = 1
		}
		ch <- prometheus.MustNewConstMetric(total, prometheus.GaugeValue, float64(g.MemoryTotal), lv...)
		ch <- prometheus.MustNewConstMetric(used, prometheus.GaugeValue, float64(g.MemoryUsed), lv...)
		ch <- prometheus.MustNewConstMetric(util, prometheus.GaugeValue, float64(g.Utilization)/100, lv...)
		ch <- prometheus.MustNewConstMetric(lost, prometheus.GaugeValue, isLost, lv...)
	}
}

// buckets turns a histogram's cumulative counts into Prometheus's, upper
// bounds in seconds.
func buckets(h hist.Snapshot) map[float64]uint64 {
	b := make(map[float64]uint64, len(h.Bounds))
	for i, bound := range h.Bounds {
		b[bound.Seconds()] = h.Counts[i]
	}
	return b
}
