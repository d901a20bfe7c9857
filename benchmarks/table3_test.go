package benchmarks

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestTable3Tiny runs Table 3 end to end at a tiny scale through the
// runner: client actors, the model actor, the REST server, the in-process
// batcher, both workloads, the JSON and the figure.
func TestTable3Tiny(t *testing.T) {
	tiny := table3
	tiny.Run = func(ctx context.Context, env *Env) (*Outcome, error) {
		return table3Run(ctx, env, table3Params{Clients: 2, Batch: 4, MaxWait: time.Millisecond, Streams: 3, Window: 100 * time.Millisecond, Reps: 2})
	}
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sum, err := Run(ctx, Options{Out: out, Experiments: []Experiment{tiny}})
	if err != nil {
		t.Fatal(err)
	}
	r := sum.Results[0]
	if r.Status != StatusOK {
		t.Fatalf("%s %s", r.Status, r.Error)
	}
	b, err := os.ReadFile(filepath.Join(out, "table3.json"))
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Metrics []Metric `json:"metrics"`
		Data    struct {
			Rates map[string]map[string][]float64 `json:"states_per_s"`
		} `json:"data"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	for _, f := range []table3Front{frontActor, frontREST, frontProcess} {
		for _, sh := range []table3Shape{shapePaper, shapeSingle} {
			for _, w := range table3Workloads {
				rates := got.Data.Rates[f.key+sh.key][w.key]
				if len(rates) != 2 || rates[0] <= 0 || rates[1] <= 0 {
					t.Errorf("%s%s, %s: %v", f.key, sh.key, w.key, rates)
				}
			}
		}
	}
	claims := map[string]bool{}
	for _, m := range got.Metrics {
		if m.Claim != "" && m.Ratio != nil && *m.Ratio > 0 {
			claims[m.Claim] = true
		}
	}
	if len(claims) != 4 {
		t.Errorf("metrics compared with the paper's four claims: %v", claims)
	}
	for _, f := range []string{"table3.png", "table3.svg", "REPORT.md"} {
		if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
}
