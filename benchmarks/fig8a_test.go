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

// TestFig8aTiny runs Figure 8a through the runner on a local cluster of
// two node processes with few tasks: every task reports where it ran, and
// the figure and the claim's ratios come out. (This test binary is not
// the nodes' program, so its tasks run in job nodes; see
// TestFig8aCommand for the placement itself.)
func TestFig8aTiny(t *testing.T) {
	manta := buildManta(t)
	tiny := fig8a
	var data fig8aData
	tiny.Run = func(ctx context.Context, env *Env) (*Outcome, error) {
		var err error
		data, err = fig8aRun(ctx, env, fig8aParams{Manta: env.Manta, Sizes: []int{1e5, 1e7}, Tasks: []int{4, 4}, Objects: 1, Seed: 1})
		if err != nil {
			return nil, err
		}
		return fig8aOutcome(data), nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sum, err := Run(ctx, Options{Out: t.TempDir(), Experiments: []Experiment{tiny}, Manta: manta})
	if err != nil {
		t.Fatal(err)
	}
	r := sum.Results[0]
	if r.Status != StatusOK || len(r.Files) != 2 {
		t.Fatalf("%s %s %v", r.Status, r.Error, r.Files)
	}
	if len(data.Points) != 4 {
		t.Fatalf("points: %+v", data.Points)
	}
	for _, p := range data.Points {
		if len(p.LatencyMS) != 4 {
			t.Errorf("%d bytes, aware %v: %d tasks", p.Bytes, p.Locality, len(p.LatencyMS))
		}
		t.Logf("%d bytes, aware %v: %v ms, %d pulled", p.Bytes, p.Locality, p.LatencyMS, p.Pulled)
	}
	var ratio bool
	for _, m := range r.Metrics {
		if m.Claim == "fig8a.no_locality_slowdown" {
			ratio = m.Ratio != nil && m.Value > 0
		}
	}
	if !ratio {
		t.Errorf("no slowdown metric against the paper: %+v", r.Metrics)
	}
}

// TestFig8aCommand runs `manta bench --only fig8a --scale quick`, as
// `make bench` does: the driver and the nodes are one program. Placed
// with locality, no task pulls a 100 MB input (its transfer term, 100 ms
// at the assumed 1 GB/s, outweighs the 40 tasks placed at most between
// two heartbeats); placed without, some do.
func TestFig8aCommand(t *testing.T) {
	manta := buildManta(t)
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
		Status Status    `json:"status"`
		Data   fig8aData `json:"data"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	if r.Status != StatusOK || len(r.Data.Points) != 8 {
		t.Fatalf("status %s, %d points", r.Status, len(r.Data.Points))
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
