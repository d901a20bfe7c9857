package benchmarks

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"manta/benchmarks/micro"
	"manta/core"
	"manta/plots"
)

// The microbenchmark table (`manta microbenchmark`), repeated for error
// bars and drawn against Ray's published figures.

var microExperiment = Experiment{
	ID:    "micro",
	Title: "Microbenchmark table (Ray's `ray microbenchmark` rows)",
	Paper: "not in the paper: Ray 2.48's published microbenchmark",
	State: Reproduced,
	Setup: "Not a figure of the OSDI paper: the rows of Ray's own `ray microbenchmark`, compared with the numbers Ray 2.48 publishes " +
		"(an m5.16xlarge, 64 vCPUs), measured here on one embedded node of this machine with the multi-client rows using one client per core. " +
		"Each row also runs a same-run baseline: the same work as goroutines and channels in one process, the limit for a runtime here.",
	QuickEstimate: 20 * time.Second,
	FullEstimate:  4 * time.Minute,
	Run:           runMicro,
}

type microData struct {
	Reps     int                  `json:"reps"`
	Duration string               `json:"duration_per_row"`
	Rows     map[string][]float64 `json:"manta"`
	Baseline map[string][]float64 `json:"baseline"`
	Units    map[string]string    `json:"units"`
	Queued   *micro.Result        `json:"queued,omitempty"`
}

func runMicro(ctx context.Context, env *Env) (*Outcome, error) {
	reps, d, queued := 3, 200*time.Millisecond, 100000
	if env.Scale == Full {
		reps, d, queued = 5, 2*time.Second, 1000000
	}
	return microTable(ctx, env, micro.Rows(runtime.NumCPU()), reps, d, queued)
}

// microTable runs the rows reps times for d each (and again d for each
// baseline), then the memory row with queued tasks.
func microTable(ctx context.Context, env *Env, rows []micro.Row, reps int, d time.Duration, queued int) (*Outcome, error) {
	c, err := core.Init(core.Config{})
	if err != nil {
		return nil, err
	}
	defer c.Shutdown()

	data := microData{Reps: reps, Duration: d.String(), Rows: map[string][]float64{}, Baseline: map[string][]float64{}, Units: map[string]string{}}
	ray := map[string]float64{}
	total, done := float64(reps*len(rows)+1), 0.0
	for rep := range reps {
		err := micro.Run(ctx, rows, d, nil, func(r micro.Result) {
			data.Rows[r.Name] = append(data.Rows[r.Name], r.Value)
			data.Baseline[r.Name] = append(data.Baseline[r.Name], r.Baseline)
			data.Units[r.Name] = r.Unit
			if r.Ray != nil {
				ray[r.Name] = *r.Ray
			}
			done++
			env.Progress(done/total, "rep %d/%d %s", rep+1, reps, r.Name)
		})
		if err != nil {
			return nil, err
		}
	}
	err = micro.RunQueued(ctx, queued, func(r micro.Result) { data.Queued = &r })
	if err != nil {
		return nil, err
	}
	env.Progress(1, "done")

	var metrics []Metric
	fig := plots.Figure{
		Name: "micro", Kind: plots.KindBars, LogY: true,
		Title:  fmt.Sprintf("Microbenchmark on %d cores: manta, goroutine baseline, Ray 2.48", runtime.NumCPU()),
		YLabel: "operations/s (row's unit)",
		Caption: fmt.Sprintf("Mean ± one standard deviation over %d runs of %v per row. Ray 2.48's numbers are its published ones "+
			"on a 64-vCPU machine, not measured here.", reps, d),
	}
	mantaS := plots.Series{Label: "manta"}
	baseS := plots.Series{Label: "goroutines + channels, same run"}
	rayS := plots.Series{Label: "Ray 2.48 (published)", Paper: true}
	for _, r := range rows {
		m, s := meanStd(data.Rows[r.Name])
		bm, bs := meanStd(data.Baseline[r.Name])
		var paper *float64
		source := ""
		if v, ok := ray[r.Name]; ok {
			paper, source = &v, "Ray 2.48 microbenchmark"
		}
		metrics = append(metrics, Metric{
			Name: r.Name, Value: m, Err: s, N: len(data.Rows[r.Name]), Unit: r.Unit,
			Paper: paper, Source: source,
			Headline: r.Name == "single_client_tasks_async" || r.Name == "1_1_actor_calls_async",
			Note:     fmt.Sprintf("goroutine baseline %s (manta at %.0f%% of it)", num(bm), 100*m/bm),
		})
		fig.Categories = append(fig.Categories, r.Name)
		mantaS.Y, mantaS.Err = append(mantaS.Y, m), append(mantaS.Err, s)
		baseS.Y, baseS.Err = append(baseS.Y, bm), append(baseS.Err, bs)
		rayS.Y = append(rayS.Y, ray[r.Name]) // 0: no published figure, no bar
	}
	if q := data.Queued; q != nil {
		metrics = append(metrics, Metric{Name: q.Name, Value: q.Value, Unit: q.Unit,
			Note: fmt.Sprintf("a Go channel of the same calls takes %.1f MiB; Ray documents 1M+ queued tasks without a memory figure", q.Baseline)})
	}
	fig.Series = []plots.Series{mantaS, baseS, rayS}
	return &Outcome{Metrics: metrics, Figures: []plots.Figure{fig}, Data: data}, nil
}
