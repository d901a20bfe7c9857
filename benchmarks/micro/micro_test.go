package micro

import (
	"context"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"manta/core"
	"manta/events"
)

func TestMain(m *testing.M) {
	core.WorkerMain()
	os.Exit(m.Run())
}

// TestEveryRowRuns runs each row briefly: each must complete its work and
// report a positive rate for manta and its baseline, and Ray's figure
// where Ray publishes one.
func TestEveryRowRuns(t *testing.T) {
	c, err := core.Init(core.Config{Resources: map[string]float64{"CPU": 2}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Shutdown()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	seen := map[string]bool{}
	publishes := map[string]bool{}
	for _, r := range Rows(2) {
		publishes[r.Name] = r.Ray != 0
	}
	err = Run(ctx, Rows(2), 20*time.Millisecond, nil, func(r Result) {
		seen[r.Name] = true
		if r.Value <= 0 || r.Baseline <= 0 || (r.Ray != nil) != publishes[r.Name] {
			t.Errorf("%s: %+v", r.Name, r)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != len(Rows(2)) {
		t.Fatalf("reported %d rows, want %d", len(seen), len(Rows(2)))
	}
	err = RunQueued(ctx, 20000, func(r Result) {
		if r.Name != QueuedRow || r.Value <= 0 || r.Ray != nil {
			t.Errorf("queued row: %+v", r)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestClusterRowsBaselines: the multi-node rows say what their baselines
// are, and the baselines do their work over loopback. (The rows
// themselves need a cluster; package benchmarks runs them on one.)
func TestClusterRowsBaselines(t *testing.T) {
	rows := ClusterRows(2, MultiNodeGetBytes, 1e9)
	names := map[string]bool{}
	for _, r := range rows {
		if r.Baseline == "" || names[r.Name] || !strings.HasPrefix(r.Name, "multi_node_") || r.Ray != 0 {
			t.Errorf("row %+v", r)
		}
		names[r.Name] = true
	}
	if len(rows) != 4 || rows[1].Name != MultiNodeGetRow || rows[2].Name != "multi_node_get_gigabytes_1gb" || rows[3].Name != MultiNodeActorRow || len(ClusterRows(2)) != 3 {
		t.Fatalf("rows %v", rows)
	}
	if n := GetRowName(1 << 20); n != "multi_node_get_gigabytes_1048576b" {
		t.Errorf("name for 1 MiB: %s", n)
	}
	if n := tcpRequests(1001, 2); n != 1001 {
		t.Fatalf("requests: %d", n)
	}
	if n := tcpPingPong(101); n != 101 {
		t.Fatalf("ping-pong: %d", n)
	}
	if n := tcpStream(3, 1<<20); n != 3<<20 {
		t.Fatalf("stream: %d bytes", n)
	}
}

func TestMedianInterval(t *testing.T) {
	for _, c := range []struct {
		xs                []float64
		median, low, high float64
	}{
		{[]float64{3, 1, 2}, 2, 1, 3},                   // too few for an interval: the range
		{[]float64{4, 1, 3, 2}, 2.5, 1, 4},              // even: the middle two's mean
		{[]float64{6, 5, 4, 3, 2, 1}, 3.5, 1, 6},        // P(Bin(6,½) = 0) = 1.6%: k = 1
		{[]float64{9, 8, 7, 6, 5, 4, 3, 2, 1}, 5, 2, 8}, // P(Bin(9,½) < 2) = 2.0%: k = 2
	} {
		xs := append([]float64(nil), c.xs...)
		m, lo, hi := medianInterval(xs)
		if m != c.median || lo != c.low || hi != c.high {
			t.Errorf("medianInterval(%v) = %v, %v, %v; want %v, %v, %v", c.xs, m, lo, hi, c.median, c.low, c.high)
		}
	}
}

// TestEventsOverheadControl: the control (ControlSample) runs the same
// alternation with recording off in every slice; sampling 1 turns it on
// in half of them.
func TestEventsOverheadControl(t *testing.T) {
	for _, tc := range []struct {
		sample int
		wantOn bool
	}{{ControlSample, false}, {1, true}} {
		var sawOn atomic.Bool
		probe := Row{Name: "probe", Unit: "ops/s", batch: 1, manta: func(context.Context, int) (int, error) {
			if events.On() {
				sawOn.Store(true)
			}
			return 1, nil
		}}
		var got []Overhead
		err := MeasureEventsOverhead(context.Background(), []Row{probe}, 50*time.Millisecond, nil, tc.sample, func(o Overhead) { got = append(got, o) })
		if err != nil {
			t.Fatal(err)
		}
		if sawOn.Load() != tc.wantOn || len(got) != 1 || got[0].Off <= 0 || got[0].On <= 0 || got[0].Pairs != 5 {
			t.Fatalf("sample %d: recording seen on %v, want %v; reported %+v", tc.sample, sawOn.Load(), tc.wantOn, got)
		}
	}
	if err := MeasureEventsOverhead(context.Background(), nil, time.Millisecond, nil, -1, func(Overhead) {}); err == nil {
		t.Fatal("a negative sample was accepted")
	}
}
