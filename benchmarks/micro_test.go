package benchmarks

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"manta/benchmarks/micro"
	"manta/benchmarks/peers"
)

func TestMicroFig9Fig12bTiny(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	env := &Env{Scale: Quick}
	var rows []micro.Row
	for _, r := range micro.Rows(2) {
		if r.Name == "single_client_tasks_async" || r.Name == "1_1_actor_calls_sync" {
			rows = append(rows, r)
		}
	}
	// No manta binary for the multi-node rows: the experiment fails, and
	// keeps the rows it measured.
	missing := &microCluster{Manta: filepath.Join(t.TempDir(), "no-manta"), GetBytes: []int{1e6}}
	ev := &eventsOverhead{Rows: []string{"1_1_actor_calls_sync"}, D: 50 * time.Millisecond, Samples: []int{micro.ControlSample, 4}}
	out, err := microTable(ctx, env, rows, 2, 5*time.Millisecond, 1000, missing, ev)
	if err == nil || !strings.Contains(err.Error(), "multi-node rows") || out == nil {
		t.Fatalf("multi-node rows without a manta binary: %v", err)
	}
	if len(out.Metrics) != 5 || len(out.Figures) != 1 || out.Metrics[0].Paper == nil || out.Metrics[0].N != 2 {
		t.Fatalf("micro outcome: %+v", out.Metrics)
	}
	for i, prefix := range []string{"events off ÷ off (the control", "events on ÷ off (1 task in 4"} {
		if m := out.Metrics[3+i]; !strings.HasPrefix(m.Name, prefix) || !strings.HasSuffix(m.Name, "1_1_actor_calls_sync") || m.Value <= 0 || m.N != 5 {
			t.Fatalf("events overhead metric: %+v", m)
		}
	}
	if err := out.Figures[0].Validate(); err != nil {
		t.Fatal(err)
	}
	out, err = fig9Run(ctx, env, []int64{1000, 1 << 16}, []int{1, 2}, 2, 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if err := resolve(out.Metrics, Paper()); err != nil {
		t.Fatal(err)
	}
	if m := out.Metrics[0]; m.Value <= 0 || m.Ratio == nil || m.Unit != "GB/s" || len(out.Figures) != 2 {
		t.Fatalf("fig9: %+v", m)
	}
	for _, f := range out.Figures {
		if err := f.Validate(); err != nil {
			t.Fatal(err)
		}
	}
	// Figure 12b scaled down from quick, which takes minutes under -race
	// beside the other packages' tests.
	out, err = fig12bRun(ctx, env, fig12bParams{Seq: 200, Rounds: 20, Ranks: 4, Bytes: 1 << 20, Turns: 1, PerTurn: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := resolve(out.Metrics, Paper()); err != nil {
		t.Fatal(err)
	}
	if m := out.Metrics[0]; m.Value <= 0 || !strings.HasPrefix(m.Name, "task ring allreduce") {
		t.Fatalf("fig12b's first metric: %+v", m)
	}
	slowdown := false
	for _, m := range out.Metrics {
		if m.Claim == "fig12b.slowdown" {
			slowdown = m.Value > 0 && m.Ratio != nil
		}
	}
	if !slowdown {
		t.Fatalf("fig12b has no slowdown compared with the paper's: %+v", out.Metrics)
	}
	for _, f := range out.Figures {
		if err := f.Validate(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestMicroClusterRows runs the multi-node rows briefly on a local
// cluster of node processes, with 1 MB objects for the Get row.
func TestMicroClusterRows(t *testing.T) {
	manta := buildManta(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rows := micro.ClusterRows(microClusterNodes, 1e6)
	seen := map[string]bool{}
	err := microOnCluster(ctx, &microCluster{Manta: manta, GetBytes: []int{1e6}}, rows, func(rows []micro.Row) error {
		began := time.Now()
		return micro.Run(ctx, rows, 20*time.Millisecond, nil, func(r micro.Result) {
			t.Logf("%s after %v: %+v", r.Name, time.Since(began), r)
			seen[r.Name] = true
			if r.Value <= 0 || r.Baseline <= 0 {
				t.Errorf("%+v", r)
			}
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != len(rows) {
		t.Fatalf("rows measured: %v", seen)
	}
}

// The table compares with Ray measured here once a `--peers` run left
// its rows, and with Ray's published figures until then.
func TestMicroComparesWithThePeerRun(t *testing.T) {
	out := t.TempDir()
	published, err := loadRayPeer(&Env{Out: out}, map[string]float64{"single_client_tasks_sync": 981})
	if err != nil || published.measured || published.rows["single_client_tasks_sync"] != 981 {
		t.Fatalf("without a peer run: %+v, %v", published, err)
	}
	run := &peers.RayResult{Version: peers.RayVersion, Machine: "here, 2 CPUs", Measured: time.Date(2026, 12, 6, 23, 0, 0, 0, time.UTC),
		Rows: map[string][2]float64{"single_client_tasks_sync": {553, 4}}}
	if err := run.Save(peerRayPath(out)); err != nil {
		t.Fatal(err)
	}
	measured, err := loadRayPeer(&Env{Out: out}, map[string]float64{"single_client_tasks_sync": 981})
	if err != nil || !measured.measured || measured.rows["single_client_tasks_sync"] != 553 || len(measured.rows) != 1 ||
		!strings.Contains(measured.source, "measured on here, 2 CPUs, 2026-12-06 23:00 UTC") {
		t.Fatalf("with a peer run: %+v, %v", measured, err)
	}
	if err := os.WriteFile(peerRayPath(out), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if p, err := loadRayPeer(&Env{Out: out}, map[string]float64{"single_client_tasks_sync": 981}); err == nil || p.measured {
		t.Fatalf("an unreadable peer run: %+v, %v", p, err)
	}
}
