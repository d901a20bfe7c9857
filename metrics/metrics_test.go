package metrics

import (
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"manta/metrics/hist"
)

// sample is one metric family's value for a label set, as parsed.
type sample struct {
	typ    string // GAUGE, COUNTER, ...
	labels map[string]string
	value  float64 // a histogram's: its count
	// A histogram's sum and cumulative buckets by upper bound.
	sum     float64
	buckets map[float64]uint64
}

func scrape(t *testing.T, addr string) map[string][]sample {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET /metrics: %s\n%s", resp.Status, b)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]sample{}
	for name, f := range fams {
		for _, m := range f.GetMetric() {
			s := sample{typ: f.GetType().String(), labels: map[string]string{}}
			for _, l := range m.GetLabel() {
				s.labels[l.GetName()] = l.GetValue()
			}
			switch {
			case m.GetGauge() != nil:
				s.value = m.GetGauge().GetValue()
			case m.GetCounter() != nil:
				s.value = m.GetCounter().GetValue()
			case m.GetUntyped() != nil:
				s.value = m.GetUntyped().GetValue()
			case m.GetHistogram() != nil:
				h := m.GetHistogram()
				s.value, s.sum = float64(h.GetSampleCount()), h.GetSampleSum()
				s.buckets = map[float64]uint64{}
				for _, b := range h.GetBucket() {
					s.buckets[b.GetUpperBound()] = b.GetCumulativeCount()
				}
			}
			out[name] = append(out[name], s)
		}
	}
	return out
}

func fullSnapshot() Snapshot {
	return Snapshot{
		Node:        "node-a",
		TasksQueued: 3, TasksRunning: 4, TasksBlocked: 1, TasksPipelined: 2,
		TasksPending: 11, Objects: 7, Workers: 5, WorkersStarted: 9, Actors: 2,
		Lineage: 6, LineageBytes: 1234, LineageEvicted: 8,
		StoreUsed: 1 << 20, StoreCapacity: 1 << 30, StorePinned: 4096,
		StoreSpills: 12, StoreSpillBytes: 1 << 25, StoreRestores: 13, StoreEvictions: 14,
		Lent:          15,
		QueuedByShape: map[string]int{"CPU=1": 2, "CPU=1,GPU=1": 1},
		WorkerDeaths:  16, Pulls: 17, PulledBytes: 1 << 26,
		Phases:    map[string]hist.Snapshot{"scheduler_queue": histOf(3*time.Microsecond, 40*time.Microsecond), "ring_push": histOf(500 * time.Nanosecond)},
		GCSWrites: histOf(2 * time.Millisecond),
		GPUs: []GPU{{Index: 0, UUID: "GPU-a", Name: "fake", MemoryTotal: 16 << 30, MemoryUsed: 1 << 30, Utilization: 40},
			{Index: 1, UUID: "GPU-b", Name: "fake", MemoryTotal: 16 << 30, Lost: true}},
	}
}

func histOf(ds ...time.Duration) hist.Snapshot {
	var h hist.Histogram
	for _, d := range ds {
		h.Observe(d)
	}
	return h.Snapshot()
}

func serve(t *testing.T, snap func() Snapshot) *Server {
	t.Helper()
	srv, err := Serve(Config{Snapshot: snap})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

func TestMetrics(t *testing.T) {
	var calls atomic.Int32
	srv := serve(t, func() Snapshot { calls.Add(1); return fullSnapshot() })
	got := scrape(t, srv.Addr())
	if n := calls.Load(); n != 1 {
		t.Errorf("Snapshot called %d times in one scrape, want 1", n)
	}

	const gauge, counter = "GAUGE", "COUNTER"
	single := []struct {
		name  string
		typ   string
		value float64
	}{
		{"manta_tasks_pending", gauge, 11},
		{"manta_objects", gauge, 7},
		{"manta_workers", gauge, 5},
		{"manta_worker_starts_total", counter, 9},
		{"manta_actors", gauge, 2},
		{"manta_lineage_tasks", gauge, 6},
		{"manta_lineage_bytes", gauge, 1234},
		{"manta_lineage_evictions_total", counter, 8},
		{"manta_store_used_bytes", gauge, 1 << 20},
		{"manta_store_capacity_bytes", gauge, 1 << 30},
		{"manta_store_pinned_bytes", gauge, 4096},
		{"manta_store_spills_total", counter, 12},
		{"manta_store_spilled_bytes_total", counter, 1 << 25},
		{"manta_store_restores_total", counter, 13},
		{"manta_store_evictions_total", counter, 14},
		{"manta_lent_objects", gauge, 15},
		{"manta_worker_deaths_total", counter, 16},
		{"manta_pulls_total", counter, 17},
		{"manta_pulled_bytes_total", counter, 1 << 26},
	}
	for _, w := range single {
		ss := got[w.name]
		if len(ss) != 1 {
			t.Errorf("%s: %d samples, want 1", w.name, len(ss))
			continue
		}
		s := ss[0]
		if s.typ != w.typ || s.value != w.value || len(s.labels) != 1 || s.labels["node"] != "node-a" {
			t.Errorf("%s = %s %v %v, want %s %v {node=node-a}", w.name, s.typ, s.value, s.labels, w.typ, w.value)
		}
	}

	labelled := []struct {
		name, label string
		want        map[string]float64
	}{
		{"manta_tasks", "state", map[string]float64{"queued": 3, "running": 4, "blocked": 1, "pipelined": 2}},
		{"manta_sched_queued_tasks", "shape", map[string]float64{"CPU=1": 2, "CPU=1,GPU=1": 1}},
	}
	for _, w := range labelled {
		ss := got[w.name]
		if len(ss) != len(w.want) {
			t.Errorf("%s: %d samples, want %d", w.name, len(ss), len(w.want))
		}
		for _, s := range ss {
			v, ok := w.want[s.labels[w.label]]
			if !ok || s.typ != gauge || s.value != v || len(s.labels) != 2 || s.labels["node"] != "node-a" {
				t.Errorf("%s%v = %s %v, want gauge %v", w.name, s.labels, s.typ, s.value, v)
			}
		}
	}

	// Histograms: microsecond buckets, in seconds; the GCS's reads, never
	// made, are not reported.
	phases := got["manta_task_phase_seconds"]
	if len(phases) != 2 {
		t.Errorf("manta_task_phase_seconds: %d phases, want 2", len(phases))
	}
	for _, s := range phases {
		switch s.labels["phase"] {
		case "scheduler_queue":
			if s.typ != "HISTOGRAM" || s.value != 2 || s.buckets[5e-6] != 1 || s.buckets[50e-6] != 2 || s.sum < 42.9e-6 || s.sum > 43.1e-6 {
				t.Errorf("scheduler_queue: %+v", s)
			}
		case "ring_push":
			if s.value != 1 || s.buckets[1e-6] != 1 {
				t.Errorf("ring_push: %+v", s)
			}
		default:
			t.Errorf("phase %q", s.labels["phase"])
		}
	}
	if ops := got["manta_gcs_operation_seconds"]; len(ops) != 1 || ops[0].labels["op"] != "write" || ops[0].buckets[2e-3] != 1 || ops[0].buckets[1e-3] != 0 {
		t.Errorf("manta_gcs_operation_seconds: %+v", ops)
	}

	// GPUs: one sample per device, labelled by index, UUID and name.
	gpus := map[string]map[string]float64{
		"manta_gpu_memory_total_bytes": {"0": 16 << 30, "1": 16 << 30},
		"manta_gpu_memory_used_bytes":  {"0": 1 << 30, "1": 0},
		"manta_gpu_utilization_ratio":  {"0": 0.4, "1": 0},
		"manta_gpu_lost":               {"0": 0, "1": 1},
	}
	for name, want := range gpus {
		ss := got[name]
		if len(ss) != 2 {
			t.Errorf("%s: %d samples, want 2", name, len(ss))
		}
		for _, s := range ss {
			if v, ok := want[s.labels["gpu"]]; !ok || s.typ != gauge || s.value != v || s.labels["name"] != "fake" || s.labels["uuid"] == "" {
				t.Errorf("%s%v = %s %v, want gauge %v", name, s.labels, s.typ, s.value, v)
			}
		}
	}

	// Every manta_ family is one the test knows, so a new one is tested.
	for name := range got {
		if !strings.HasPrefix(name, "manta_") {
			continue
		}
		_, gpu := gpus[name]
		known := gpu || name == "manta_tasks" || name == "manta_sched_queued_tasks" || name == "manta_task_phase_seconds" || name == "manta_gcs_operation_seconds"
		for _, w := range single {
			known = known || w.name == name
		}
		if !known {
			t.Errorf("untested metric %s", name)
		}
	}
	// The Go runtime's and the process's collectors.
	for _, name := range []string{"go_goroutines", "process_cpu_seconds_total"} {
		if len(got[name]) == 0 {
			t.Errorf("no %s", name)
		}
	}
}

// A single node has no node label, and an empty shape map gives no
// samples of manta_sched_queued_tasks.
func TestNoNodeLabel(t *testing.T) {
	srv := serve(t, func() Snapshot { return Snapshot{WorkersStarted: 1} })
	got := scrape(t, srv.Addr())
	for name, ss := range got {
		if !strings.HasPrefix(name, "manta_") {
			continue
		}
		for _, s := range ss {
			if _, ok := s.labels["node"]; ok {
				t.Errorf("%s%v has a node label", name, s.labels)
			}
		}
	}
	if ss := got["manta_worker_starts_total"]; len(ss) != 1 || ss[0].value != 1 {
		t.Errorf("manta_worker_starts_total = %v", ss)
	}
	if len(got["manta_sched_queued_tasks"]) != 0 {
		t.Errorf("manta_sched_queued_tasks = %v, want no samples", got["manta_sched_queued_tasks"])
	}
}

func TestDefaultAddrIsLoopback(t *testing.T) {
	srv := serve(t, fullSnapshot)
	host, port, err := net.SplitHostPort(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		t.Errorf("default address %s is not loopback", srv.Addr())
	}
	if port == "0" {
		t.Errorf("Addr %s does not name the port picked", srv.Addr())
	}
}

func TestAddr(t *testing.T) {
	srv, err := Serve(Config{Addr: "127.0.0.1:0", Snapshot: fullSnapshot})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if _, err := Serve(Config{Addr: srv.Addr(), Snapshot: fullSnapshot}); err == nil {
		t.Error("Serve on an address in use succeeded")
	}
	if _, err := Serve(Config{}); err == nil {
		t.Error("Serve without Snapshot succeeded")
	}
}

func TestClose(t *testing.T) {
	srv, err := Serve(Config{Snapshot: fullSnapshot})
	if err != nil {
		t.Fatal(err)
	}
	addr := srv.Addr()
	scrape(t, addr)
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get("http://" + addr + "/metrics")
	if err == nil {
		resp.Body.Close()
		t.Fatal("GET /metrics after Close succeeded")
	}
	var opErr *net.OpError
	if !errors.As(err, &opErr) {
		t.Errorf("GET after Close: %v, want a connection error", err)
	}
	// The port is free again.
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen on %s after Close: %v", addr, err)
	}
	ln.Close()
}
