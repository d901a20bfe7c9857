package benchmarks

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestFig8aCommand runs `manta bench --only fig8a --scale quick`, as
// `make bench` does: the driver and the nodes are one program (it runs
// beside the other tests: its cluster is in processes of its own). The
// result has its figure and its ratios against the paper's claim. Placed
// with locality, no task pulls a 100 MB input (its transfer term, 100 ms
// at the assumed 1 GB/s, outweighs the 40 tasks placed at most between
// two heartbeats); placed without, some do.
func TestFig8aCommand(t *testing.T) {
	manta := buildManta(t)
	t.Parallel()
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, manta, "bench", "--only", "fig8a", "--scale", "quick", "--out", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v:\n%s", err, b)
	}
	b, err := os.ReadFile(filepath.Join(out, "fig8a.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Status  Status    `json:"status"`
		Files   []string  `json:"files"`
		Metrics []Metric  `json:"metrics"`
		Data    fig8aData `json:"data"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	if r.Status != StatusOK || len(r.Data.Points) != 8 || len(r.Files) != 2 {
		t.Fatalf("status %s, %d points, files %v", r.Status, len(r.Data.Points), r.Files)
	}
	ratios := 0
	for _, m := range r.Metrics {
		if m.Claim == "fig8a.no_locality_slowdown" && m.Ratio != nil && m.Value > 0 {
			ratios++
		}
	}
	if ratios != 2 {
		t.Errorf("%d slowdowns against the paper's claim, want 2 (10 and 100 MB): %+v", ratios, r.Metrics)
	}
	for _, p := range r.Data.Points {
		t.Logf("%d bytes, aware %v: %d tasks, %d pulled, median %.2f ms", p.Bytes, p.Locality, len(p.LatencyMS), p.Pulled, medianOf(p.LatencyMS))
		if p.Bytes != 1e8 {
			continue
		}
		if p.Locality && p.Pulled != 0 {
			t.Errorf("locality-aware placement pulled %d inputs of 100 MB", p.Pulled)
		}
		if !p.Locality && p.Pulled == 0 {
			t.Errorf("locality-unaware placement pulled none of %d inputs of 100 MB", len(p.LatencyMS))
		}
	}
}

// The same placement with the driver a program the nodes never had (this
// test binary; the nodes run `manta`): tasks run in job nodes, and their
// results still count as on their nodes, so placed with locality no task
// pulls a 100 MB input.
func TestFig8aFromAnotherProgram(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	d, err := fig8aRun(ctx, &Env{}, fig8aParams{Manta: buildManta(t), Sizes: []int{1e8}, Tasks: []int{20}, Objects: 1, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range d.Points {
		t.Logf("aware %v: %d tasks, %d pulled", p.Locality, len(p.LatencyMS), p.Pulled)
		if p.Locality && p.Pulled != 0 {
			t.Errorf("locality-aware placement from another program pulled %d of %d inputs of 100 MB", p.Pulled, len(p.LatencyMS))
		}
	}
}
