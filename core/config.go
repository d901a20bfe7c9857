package core

import (
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jonboulle/clockwork"

	"manta/events"
	"manta/gpu"
	"manta/node/host"
)

// Config configures the embedded cluster that Init starts. Zero fields take
// defaults; every field can also be set by the environment variable named
// in envConfig, which wins over the value in code (as Ray's RAY_ vars do).
type Config struct {
	// Resources this node offers, e.g. {"CPU": 8, "GPU": 1, "ssd": 2}.
	// "CPU" and "memory" (bytes) are detected (host.DetectResources: the
	// CPUs this process may run on and the memory it may use, cgroup
	// limits included) unless given here, and "GPU" is the count of GPUs;
	// a quantity given here wins, and 0 removes a resource.
	Resources map[string]float64
	// GPUs is where the node's GPUs come from: nil asks NVML
	// (gpu.Discover) at Init, and a machine without NVML or a GPU has
	// none, with a debug log line saying why; gpu.Fake gives made-up
	// ones. Calls
	// that ask for GPUs get devices of it by index (TaskInfo.Devices).
	// The Cluster closes it at Shutdown.
	GPUs gpu.Source
	// MaxWorkers caps the worker processes that run tasks; actors have
	// processes of their own, bounded by the resources they hold. Tasks
	// that come while others wait in Get run on goroutines of these
	// processes rather than in new ones. Default: the node's CPUs
	// (Resources["CPU"]), at least 1.
	MaxWorkers int
	// PipelineDepth is how many tasks may be queued on one leased worker to
	// hide the round trip. Default 16.
	PipelineDepth int
	// RingBytes is the capacity of each ring between the node and a worker,
	// per direction (a power of two). Default 4 MiB.
	RingBytes int
	// IdleTimeout stops task workers idle this long. Default 10 s.
	IdleTimeout time.Duration
	// InlineBytes is the largest encoded value that travels inline in
	// messages; larger ones (Put values, arguments, results) go through the
	// node's shared-memory object store. Default 100 KiB, as in Ray.
	InlineBytes int
	// StoreBytes is the object store's capacity. Default: a quarter of RAM,
	// bounded by the free space of /dev/shm (see shm/store).
	StoreBytes int64
	// StoreWait is how long a Put waits for room when the store is full of
	// pinned objects before it fails. Default 10 s.
	StoreWait time.Duration
	// SpillDir receives objects spilled when the store is full. Default: a
	// fresh directory in spill/ under $MANTA_DIR (or the system temp
	// directory's manta-<uid>), removed at Shutdown; a node starting
	// removes those that nodes killed before they could left there.
	SpillDir string
	// ShutdownGrace is how long Shutdown lets workers exit before killing
	// them; work in flight has already failed by then. Default 100 ms.
	ShutdownGrace time.Duration
	// LineageBytes caps the memory kept for the specifications of finished
	// tasks whose results are still referenced, to run them again if a
	// result is lost; past it the oldest are dropped (ErrLineageEvicted).
	// Default 64 MiB.
	LineageBytes int64
	// Clock is the node's time: timeouts of workers' Waits, the idle
	// timeout's ticks, the store's waits, the shutdown grace. Default: the
	// real clock; tests may pass a clockwork.FakeClock.
	Clock clockwork.Clock
	// Logger receives what goes wrong with worker processes. Default
	// slog.Default().
	Logger *slog.Logger
	// Address, if set, is a cluster head's GCS monitor (HOST:PORT, what
	// `manta start --head` prints): the driver's node joins that cluster,
	// reports its load in heartbeats, and shows in `manta status`; the
	// cluster token comes from $MANTA_GCS_TOKEN or the head's token file in
	// $MANTA_DIR. Init fails if the head cannot be reached within 10 s.
	//
	// In a cluster the node schedules bottom up (paper §4.2.2): a task
	// runs here unless this node can never fit it or SpillQueue tasks
	// already wait here; then the cluster places it on the node with the
	// lowest estimated wait, which runs it and keeps its stored result
	// until this node pulls it (on Get, or as another task's argument).
	Address string
	// Bind is the host this node's peer and transfer servers listen on,
	// in a cluster. Default 127.0.0.1: set it to an address the other
	// nodes reach.
	Bind string
	// Heartbeat is how often, in a cluster, the node reports its load and
	// reads the other nodes'. Default 500 ms.
	Heartbeat time.Duration
	// SpillQueue is how many tasks may wait in this node's queue before
	// the next goes to the cluster. Default 8.
	SpillQueue int
	// NoLocality places spilled tasks on the shortest queue wherever
	// their inputs are (Figure 8a's locality-unaware placement).
	NoLocality bool
	// MetricsAddr, if set, is where the node serves Prometheus metrics at
	// /metrics (package metrics): "127.0.0.1:0" for a free loopback port
	// (Cluster.MetricsAddr says which). They are not behind the cluster
	// token: keep them on loopback unless they must be reached.
	MetricsAddr string
	// JobIdleTimeout is how long a job node (a node's process of another
	// program, see WorkerMain) may run nothing and hold nothing for
	// anyone before its node stops it. Default 5 minutes.
	JobIdleTimeout time.Duration
	// WaitForNodes makes a task or actor no live node can fit wait for a
	// node that can to join (it shows in `manta status` as a demand),
	// instead of failing at once with ErrInfeasible.
	WaitForNodes bool
	// EventsDir, if set, records the task-life events of this node and
	// its workers (package events), a file per process in this
	// directory, from Init on; Cluster.RecordEvents turns recording off
	// and on again, and `manta timeline` makes a Chrome trace of the
	// files. Off, the recording points cost one load each.
	EventsDir string
	// EventsSample, with EventsDir, records the events of one task in
	// this many (a power of two; by task ID, each sampled task whole),
	// for workloads too fast to afford every task's. Default 1: all.
	EventsSample int
	// InjectSchedulerDelay, for experiments only (Figure 12b), holds
	// every plain task that is ready to run this long before the local
	// scheduler sees it.
	InjectSchedulerDelay time.Duration

	// member is set in a job node: its node's peer address.
	member string
}

// envConfig is the typed table of environment overrides.
var envConfig = []struct {
	name  string
	apply func(c *Config, v string) error
}{
	{"MANTA_RESOURCES", func(c *Config, v string) error { // "CPU=4,GPU=1,foo=2"
		r, err := parseResources(v)
		c.Resources = r
		return err
	}},
	{"MANTA_MAX_WORKERS", func(c *Config, v string) (err error) { c.MaxWorkers, err = strconv.Atoi(v); return }},
	{"MANTA_PIPELINE_DEPTH", func(c *Config, v string) (err error) { c.PipelineDepth, err = strconv.Atoi(v); return }},
	{"MANTA_RING_BYTES", func(c *Config, v string) (err error) { c.RingBytes, err = strconv.Atoi(v); return }},
	{"MANTA_IDLE_TIMEOUT", func(c *Config, v string) (err error) { c.IdleTimeout, err = time.ParseDuration(v); return }},
	{"MANTA_SHUTDOWN_GRACE", func(c *Config, v string) (err error) { c.ShutdownGrace, err = time.ParseDuration(v); return }},
	{"MANTA_INLINE_BYTES", func(c *Config, v string) (err error) { c.InlineBytes, err = strconv.Atoi(v); return }},
	{"MANTA_STORE_BYTES", func(c *Config, v string) (err error) { c.StoreBytes, err = strconv.ParseInt(v, 10, 64); return }},
	{"MANTA_SPILL_DIR", func(c *Config, v string) error { c.SpillDir = v; return nil }},
	{"MANTA_STORE_WAIT", func(c *Config, v string) (err error) { c.StoreWait, err = time.ParseDuration(v); return }},
	{"MANTA_ADDRESS", func(c *Config, v string) error { c.Address = v; return nil }},
	{"MANTA_BIND", func(c *Config, v string) error { c.Bind = v; return nil }},
	{"MANTA_HEARTBEAT", func(c *Config, v string) (err error) { c.Heartbeat, err = time.ParseDuration(v); return }},
	{"MANTA_METRICS_ADDR", func(c *Config, v string) error { c.MetricsAddr = v; return nil }},
	{"MANTA_JOB_IDLE_TIMEOUT", func(c *Config, v string) (err error) { c.JobIdleTimeout, err = time.ParseDuration(v); return }},
	{"MANTA_WAIT_FOR_NODES", func(c *Config, v string) (err error) { c.WaitForNodes, err = strconv.ParseBool(v); return }},
	{events.EnvDir, func(c *Config, v string) error { c.EventsDir = v; return nil }},
	{"MANTA_EVENTS_SAMPLE", func(c *Config, v string) (err error) { c.EventsSample, err = strconv.Atoi(v); return }},
	{"MANTA_SPILL_QUEUE", func(c *Config, v string) (err error) { c.SpillQueue, err = strconv.Atoi(v); return }},
	{"MANTA_LINEAGE_BYTES", func(c *Config, v string) (err error) { c.LineageBytes, err = strconv.ParseInt(v, 10, 64); return }},
}

func parseResources(s string) (map[string]float64, error) {
	out := map[string]float64{}
	for _, kv := range strings.Split(s, ",") {
		name, val, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("resource %q is not NAME=QUANTITY", kv)
		}
		q, err := strconv.ParseFloat(val, 64)
		if err != nil {
			return nil, fmt.Errorf("resource %s: %v", name, err)
		}
		out[name] = q
	}
	return out, nil
}

// withDefaults applies the environment, then fills defaults and checks the
// result.
func (c Config) withDefaults() (Config, error) {
	for _, e := range envConfig {
		if v, ok := os.LookupEnv(e.name); ok {
			if err := e.apply(&c, v); err != nil {
				return c, fmt.Errorf("manta: bad %s=%q: %v", e.name, v, err)
			}
		}
	}
	detected := host.DetectResources()
	if c.GPUs == nil {
		src, err := gpu.Discover()
		if err != nil {
			// At debug level: a program's output is the user's; `manta
			// start` prints the reason with its node's start.
			c.logger().Debug("manta: this node has no GPUs", "why", err)
		} else {
			c.GPUs = src
		}
	}
	if c.GPUs != nil {
		detected["GPU"] = float64(len(c.GPUs.Devices()))
	}
	for name, q := range c.Resources {
		detected[name] = q
	}
	c.Resources = detected
	if c.MaxWorkers <= 0 {
		c.MaxWorkers = max(1, int(c.Resources["CPU"]))
	}
	if c.PipelineDepth <= 0 {
		c.PipelineDepth = 16
	}
	if c.RingBytes <= 0 {
		c.RingBytes = 4 << 20
	}
	if c.RingBytes&(c.RingBytes-1) != 0 || c.RingBytes < 4096 {
		return c, fmt.Errorf("manta: RingBytes %d is not a power of two >= 4096", c.RingBytes)
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = 10 * time.Second
	}
	if c.InlineBytes <= 0 {
		c.InlineBytes = 100 << 10
	}
	if c.ShutdownGrace <= 0 {
		c.ShutdownGrace = 100 * time.Millisecond
	}
	if c.Bind == "" {
		c.Bind = "127.0.0.1"
	}
	if c.Heartbeat <= 0 {
		c.Heartbeat = 500 * time.Millisecond
	}
	if c.SpillQueue <= 0 {
		c.SpillQueue = 8
	}
	if c.JobIdleTimeout <= 0 {
		c.JobIdleTimeout = 5 * time.Minute
	}
	return c, nil
}

// logger is Logger, or slog's default.
func (c Config) logger() *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return slog.Default()
}
