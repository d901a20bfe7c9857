package benchmarks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"manta/plots"
)

func TestPaperNumbers(t *testing.T) {
	p, err := loadPaper()
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, e := range All() {
		ids[e.ID] = true
	}
	for _, c := range p.Claims {
		if !ids[c.Experiment] {
			t.Errorf("claim %s: unknown experiment %q", c.ID, c.Experiment)
		}
		if c.Page < 561 || c.Page > 577 || c.Where == "" || c.Section == "" || c.Text == "" || c.Unit == "" || c.Quantity == "" {
			t.Errorf("claim %s lacks its source: %+v", c.ID, c)
		}
		if c.PageSource != "summary" && c.PageSource != "inferred" {
			t.Errorf("claim %s: page_source %q", c.ID, c.PageSource)
		}
		switch c.Kind {
		case "exact", "lower bound", "upper bound", "about", "range":
		default:
			t.Errorf("claim %s: kind %q", c.ID, c.Kind)
		}
	}
	// The numbers the issues quote.
	for id, want := range map[string]float64{
		"table4.ray_1cpu": 22300, "table4.ray_16cpu": 290000, "table4.ray_256cpu": 4030000,
		"table4.mpi_1cpu": 22600, "table4.mpi_16cpu": 208000, "table4.mpi_256cpu": 2160000,
		"fig9.write_throughput": 15, "fig9.iops": 18000, "fig10a.max_latency": 30,
		"fig10b.tasks": 50e6, "fig8b.tasks_per_s_100_nodes": 1.8e6,
	} {
		if c, ok := p.Claim(id); !ok || c.Value != want {
			t.Errorf("claim %s = %+v, want %v", id, c, want)
		}
	}
}

func TestRegistry(t *testing.T) {
	seen := map[string]bool{}
	paper := Paper()
	want := []string{"micro", "fig8a", "fig8b", "fig9", "fig10a", "fig10b", "fig11a", "fig11b", "fig12a", "fig12b", "table3", "table4", "fig13", "fig14a", "fig14b"}
	if got := IDs(All()); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("ids %v, want %v", got, want)
	}
	for _, e := range All() {
		if seen[e.ID] {
			t.Errorf("repeated id %s", e.ID)
		}
		seen[e.ID] = true
		if e.Title == "" || e.Paper == "" || e.Setup == "" {
			t.Errorf("%s: missing title, paper or setup", e.ID)
		}
		if (e.State == NotBuilt) != (e.Run == nil) {
			t.Errorf("%s: state %q but Run set: %v", e.ID, e.State, e.Run != nil)
		}
		if e.Run != nil && (e.QuickEstimate <= 0 || e.FullEstimate <= 0) {
			t.Errorf("%s: no estimates", e.ID)
		}
		if e.ID != "micro" && len(paper.ClaimsOf(e.ID)) == 0 {
			t.Errorf("%s: no claim from the paper", e.ID)
		}
	}
}

func TestSelect(t *testing.T) {
	got, err := Select(All(), []string{"table4", "micro"})
	if err != nil || len(got) != 2 || got[0].ID != "micro" || got[1].ID != "table4" {
		t.Fatalf("Select: %v %v", IDs(got), err)
	}
	_, err = Select(All(), []string{"fig99"})
	if !errors.Is(err, ErrUnknownExperiment) || !strings.Contains(err.Error(), "fig99") {
		t.Fatalf("unknown id: %v", err)
	}
	for _, id := range IDs(All()) {
		if !strings.Contains(err.Error(), id) {
			t.Errorf("error does not list %s: %v", id, err)
		}
	}
	if _, err := ParseScale("huge"); err == nil {
		t.Fatal("scale huge accepted")
	}
}

// fakes returns experiments that succeed, fail, panic and are not built,
// and a counter of the runs.
func fakes(runs *int) []Experiment {
	ok := func(ctx context.Context, env *Env) (*Outcome, error) {
		*runs++
		env.Progress(0.5, "half")
		return &Outcome{
			Metrics: []Metric{{Name: "speed", Value: 44600, Unit: "timesteps/s", Claim: "table4.mpi_1cpu", Headline: true}},
			Figures: []plots.Figure{{Name: "okfig", Kind: plots.KindBars, Title: "ok", YLabel: "y", Categories: []string{"a"},
				Series: []plots.Series{{Label: "s", Y: []float64{1}}}}},
			Notes: []string{"a note"},
		}, nil
	}
	return []Experiment{
		{ID: "good", Title: "Good", Paper: "Table 4", State: Reproduced, Setup: "setup", QuickEstimate: time.Second, FullEstimate: time.Second, Run: ok},
		{ID: "bad", Title: "Bad", Paper: "Figure 9", State: Partial, Setup: "setup", QuickEstimate: time.Second, FullEstimate: time.Second,
			Run: func(context.Context, *Env) (*Outcome, error) { *runs++; return nil, errors.New("the store exploded") }},
		{ID: "panics", Title: "Panics", Paper: "Figure 10a", State: Partial, Setup: "setup", QuickEstimate: time.Second, FullEstimate: time.Second,
			Run: func(context.Context, *Env) (*Outcome, error) { *runs++; panic("boom") }},
		{ID: "later", Title: "Later", Paper: "Figure 14a", State: NotBuilt, Setup: "needs rl"},
		{ID: "good2", Title: "Good again", Paper: "Table 4", State: Reproduced, Setup: "setup", QuickEstimate: time.Second, FullEstimate: time.Second, Run: ok},
	}
}

func TestRunBadInputFailsBeforeRunning(t *testing.T) {
	runs := 0
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Run(context.Background(), Options{Out: filepath.Join(file, "results"), Experiments: fakes(&runs)})
	if err == nil || !strings.Contains(err.Error(), "cannot write to output directory") {
		t.Fatalf("unwritable out: %v", err)
	}
	_, err = Run(context.Background(), Options{Out: t.TempDir(), Only: []string{"good", "nope"}, Experiments: fakes(&runs)})
	if !errors.Is(err, ErrUnknownExperiment) || !strings.Contains(err.Error(), "good, bad, panics, later, good2") {
		t.Fatalf("unknown id: %v", err)
	}
	_, err = Run(context.Background(), Options{Out: t.TempDir(), Scale: "huge", Experiments: fakes(&runs)})
	if err == nil {
		t.Fatal("bad scale accepted")
	}
	if runs != 0 {
		t.Fatalf("%d experiments ran despite bad input", runs)
	}
}

func TestRunContinuesAfterFailures(t *testing.T) {
	runs := 0
	out := t.TempDir()
	var log bytes.Buffer
	sum, err := Run(context.Background(), Options{Out: out, Experiments: fakes(&runs), Progress: &log, Command: "manta bench --test"})
	if !errors.Is(err, ErrFailed) || !strings.Contains(err.Error(), "bad, panics") {
		t.Fatalf("Run: %v", err)
	}
	if runs != 4 || len(sum.Results) != 5 || strings.Join(sum.Failed, ",") != "bad,panics" {
		t.Fatalf("runs %d, results %d, failed %v", runs, len(sum.Results), sum.Failed)
	}
	for _, id := range []string{"good", "bad", "panics", "later", "good2"} {
		b, err := os.ReadFile(filepath.Join(out, id+".json"))
		if err != nil {
			t.Fatal(err)
		}
		var r Result
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatal(err)
		}
		if r.Machine.Cores <= 0 || r.Machine.GoVersion == "" || r.Machine.Commit == "" || r.Machine.CPU == "" || r.Scale != Quick {
			t.Errorf("%s: machine or scale missing: %+v", id, r)
		}
		want := map[string]Status{"good": StatusOK, "good2": StatusOK, "bad": StatusFailed, "panics": StatusFailed, "later": StatusNotBuilt}[id]
		if r.Status != want {
			t.Errorf("%s: status %q, want %q (%s)", id, r.Status, want, r.Error)
		}
	}
	var good Result
	b, _ := os.ReadFile(filepath.Join(out, "good.json"))
	json.Unmarshal(b, &good)
	if m := good.Metrics[0]; m.Paper == nil || *m.Paper != 22600 || m.Ratio == nil || *m.Ratio != 44600.0/22600 {
		t.Errorf("claim not resolved: %+v", m)
	}
	if len(good.Files) != 2 {
		t.Errorf("files %v", good.Files)
	}
	f, err := os.Open(filepath.Join(out, "okfig.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := png.Decode(f); err != nil {
		t.Fatal(err)
	}
	report, err := os.ReadFile(sum.Report)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"manta bench --test", "the store exploded", "panic: boom", "not yet reproduced", "## good: Good",
		"![ok](okfig.png)", "a note", "**Failed in this run**: bad, panics", "1.97×", "What is missing:** needs rl"} {
		if !strings.Contains(string(report), want) {
			t.Errorf("REPORT.md lacks %q", want)
		}
	}
	for _, want := range []string{"[1/5] good: start", "[1/5] good: ok in", "[2/5] bad: failed", "the store exploded", "[4/5] later: not built", "[1/5] good:  50% half"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("progress lacks %q:\n%s", want, log.String())
		}
	}
	if strings.Contains(log.String(), "\r") {
		t.Error("plain progress redraws lines")
	}
}

func TestTerminalProgress(t *testing.T) {
	var b bytes.Buffer
	p := newProgress(&b, true, 2)
	e := Experiment{ID: "table4", Title: "t", QuickEstimate: 10 * time.Second, Run: func(context.Context, *Env) (*Outcome, error) { return nil, nil }}
	p.begin(1, &e, Quick, 5*time.Second)
	p.lastDraw = time.Time{}
	p.update(0.5, "n=2 rep 3/20")
	p.end(&Result{ID: "table4", Status: StatusOK, Duration: time.Second})
	s := b.String()
	for _, want := range []string{"\r\033[K[1/2] table4", "50%", "n=2 rep 3/20", "left (all ~", "[1/2] table4: ok in 1s\n"} {
		if !strings.Contains(s, want) {
			t.Errorf("terminal progress lacks %q: %q", want, s)
		}
	}
	if IsTerminal(&b) {
		t.Error("a buffer is not a terminal")
	}
	t.Setenv("CI", "true")
	if IsTerminal(os.Stdout) {
		t.Error("CI=true must give plain lines")
	}
}

func TestNumberFormat(t *testing.T) {
	for v, want := range map[float64]string{22300: "22.3K", 4.03e6: "4.03M", 6200: "6200", 1.39: "1.39", 0.00435: "0.00435", 2.5e9: "2.5G"} {
		if got := num(v); got != want {
			t.Errorf("num(%v) = %q, want %q", v, got, want)
		}
	}
	if a := anchor("table4: Simulation: Pendulum timesteps/s"); a != "table4-simulation-pendulum-timestepss" {
		t.Errorf("anchor %q", a)
	}
}
