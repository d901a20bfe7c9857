package benchmarks

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestRollout(t *testing.T) {
	r, err := runRollout(7, 450)
	if err != nil || r.Steps != 450 || r.Episodes != 2 || r.Return >= 0 {
		t.Fatalf("%+v %v", r, err)
	}
	again, _ := runRollout(7, 450)
	if again != r {
		t.Fatalf("not deterministic: %+v %+v", r, again)
	}
	if _, err := runRollout(-2, 10); err == nil {
		t.Fatal("bad seed accepted")
	}
	if a := fixedPolicy().act([]float32{1, 0, 0}); math.Abs(a) > 2 || a == 0 {
		t.Fatalf("action %v", a)
	}
}

func TestRolloutSpecsAndModel(t *testing.T) {
	specs := rolloutSpecs(4, 3, 200, 20000)
	if len(specs) != 12 {
		t.Fatal(len(specs))
	}
	seeds := map[int64]bool{}
	for _, s := range specs {
		if s.Steps < 200 || s.Steps > 20000 || seeds[s.Seed] {
			t.Fatalf("%+v", s)
		}
		seeds[s.Seed] = true
	}
	if r := modelRatio(1, rolloutSpecs(1, 0, 200, 20000)); r != 1 {
		t.Fatalf("one worker: model ratio %v", r)
	}
	// Rounds {10, 1}, {1, 10}, {10, 1}: BSP takes 30. Handing each to
	// the first free worker: w0 runs 10 then 10 (20), w1 runs 1, 1, 10, 1
	// (13): a makespan of 20.
	fixed := []rolloutSpec{{Steps: 10}, {Steps: 1}, {Steps: 1}, {Steps: 10}, {Steps: 10}, {Steps: 1}}
	if r := modelRatio(2, fixed); r != 1.5 {
		t.Fatalf("model ratio %v, want 1.5", r)
	}
}

// TestTable4Tiny runs Table 4 end to end at a tiny scale through the
// runner: worker processes, both programs, the pipelined node, the
// goroutine limits, the JSON and both figures.
func TestTable4Tiny(t *testing.T) {
	tiny := table4Experiment
	tiny.Run = func(ctx context.Context, env *Env) (*Outcome, error) {
		return table4(ctx, env, table4Params{Workers: []int{1, 2}, Reps: 2, MinSteps: 20, MaxSteps: 200})
	}
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sum, err := Run(ctx, Options{Out: out, Experiments: []Experiment{tiny}})
	if err != nil {
		t.Fatal(err)
	}
	r := sum.Results[0]
	if r.Status != StatusOK || len(r.Files) != 4 {
		t.Fatalf("%s %s %v", r.Status, r.Error, r.Files)
	}
	b, err := os.ReadFile(filepath.Join(out, "table4.json"))
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Metrics []Metric `json:"metrics"`
		Data    struct {
			Rates map[string]map[string][]float64 `json:"timesteps_per_s"`
		} `json:"data"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	for _, m := range []mode{modeBSP, modeAsync, modePipelined, modeGoAsync, modeGoBSP} {
		for _, n := range []string{"1", "2"} {
			rates := got.Data.Rates[m.key][n]
			if len(rates) != 2 || rates[0] <= 0 || rates[1] <= 0 {
				t.Errorf("%s, %s workers: %v", m.key, n, rates)
			}
		}
	}
	var headline int
	for _, m := range got.Metrics {
		if m.Headline {
			headline++
		}
		if m.Claim == "table4.ray_1cpu" && (m.Ratio == nil || *m.Ratio <= 0) {
			t.Errorf("no ratio against Ray's 22.3K: %+v", m)
		}
	}
	if headline != 3 {
		t.Errorf("%d headline metrics", headline)
	}
	for _, f := range []string{"table4.png", "table4.svg", "table4_ratio.png", "table4_ratio.svg", "REPORT.md"} {
		if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
}
