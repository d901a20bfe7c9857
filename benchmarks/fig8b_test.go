package benchmarks

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestFig8bTiny runs Figure 8b's simulation through the runner at 1 and 2
// nodes over a short window: the JSON, the figure and the labels.
func TestFig8bTiny(t *testing.T) {
	tiny := fig8bExperiment
	tiny.Run = func(ctx context.Context, env *Env) (*Outcome, error) {
		return fig8b(ctx, env, fig8bParams{Nodes: []int{1, 2}, Window: 2 * time.Millisecond, Seeds: []int64{1, 2}})
	}
	out := t.TempDir()
	sum, err := Run(context.Background(), Options{Out: out, Experiments: []Experiment{tiny}})
	if err != nil {
		t.Fatal(err)
	}
	if r := sum.Results[0]; r.Status != StatusOK || len(r.Files) != 2 {
		t.Fatalf("%s %s %v", r.Status, r.Error, r.Files)
	}
	b, err := os.ReadFile(filepath.Join(out, "fig8b.json"))
	if err != nil {
		t.Fatal(err)
	}
	var got Result
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(got.Data)
	var d fig8bData
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	if len(d.Points) != 2 || len(d.Points[0].TasksPerS) != 2 {
		t.Fatalf("points %+v", d.Points)
	}
	one, two := d.Points[0].TasksPerS[0], d.Points[1].TasksPerS[0]
	if r := two / one; one <= 0 || r < 1.8 || r > 2.2 {
		t.Fatalf("1 node %.0f tasks/s, 2 nodes %.0f", one, two)
	}
	if !strings.Contains(got.Figures[0].Title, "simulated") || !strings.Contains(got.Setup, "Simulated") {
		t.Errorf("not labelled simulated: %q / %q", got.Figures[0].Title, got.Setup)
	}
}

// TestFig8bMetricsAtPaperSizes: the rates at 60 and 100 nodes are compared
// with the paper's claims.
func TestFig8bMetricsAtPaperSizes(t *testing.T) {
	var d fig8bData
	for _, n := range []int{1, 60, 100} {
		d.Points = append(d.Points, fig8bPoint{Nodes: n, TasksPerS: []float64{float64(n) * 1000}, Spilled: []uint64{0}, Remote: []uint64{0}, RealSeconds: []float64{1}})
	}
	o := fig8bOutcome(d)
	if err := resolve(o.Metrics, Paper()); err != nil {
		t.Fatal(err)
	}
	claims := map[string]float64{}
	for _, m := range o.Metrics {
		if m.Claim != "" {
			claims[m.Claim] = m.Value
		}
	}
	want := map[string]float64{"fig8b.tasks_per_s_60_nodes": 60000, "fig8b.tasks_per_s_100_nodes": 100000, "fig8b.100m_tasks_s": 1000}
	for id, v := range want {
		if claims[id] != v {
			t.Errorf("%s: %v, want %v (%v)", id, claims[id], v, claims)
		}
	}
	if err := o.Figures[0].Validate(); err != nil {
		t.Fatal(err)
	}
}

// TestFig8bRealTiny runs the real half on a local cluster of 2 node
// processes with one short run, and draws it beside a simulated point.
func TestFig8bRealTiny(t *testing.T) {
	manta := buildManta(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var statuses []string
	pts, err := fig8bReal(ctx, manta, []int{2}, 2, 1, func(s string) { statuses = append(statuses, s) })
	if err != nil {
		t.Fatal(err)
	}
	if len(pts) != 1 || len(statuses) != 1 {
		t.Fatalf("points %+v, progress %q", pts, statuses)
	}
	for _, p := range pts {
		if len(p.TasksPerS) != 1 || p.TasksPerS[0] <= 0 {
			t.Errorf("%d nodes: %v", p.Nodes, p.TasksPerS)
		}
	}
	o := fig8bOutcome(fig8bData{Points: []fig8bPoint{{Nodes: 1, TasksPerS: []float64{1000}, Spilled: []uint64{0}, Remote: []uint64{0}, RealSeconds: []float64{1}}}, Real: pts})
	if err := o.Figures[0].Validate(); err != nil {
		t.Fatal(err)
	}
	if s := o.Figures[0].Series; !strings.Contains(s[len(s)-1].Label, "real") {
		t.Errorf("last series %q", s[len(s)-1].Label)
	}
}
