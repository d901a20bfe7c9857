package benchmarks

import (
	"context"
	"fmt"
	"slices"
	"time"

	"manta/core"
	"manta/plots"
)

// Figure 12b, in part: the paper injects scheduler delay into a 16-node
// ring allreduce and shows it nearly doubling the run time with a few ms
// per round. Without the object store allreduce cannot run yet, so this
// measures the quantity the figure is about: how long a ready task waits
// between its submission and the start of its execution on the embedded
// node.

// stampTask returns the wall-clock time (Unix ns) at which it started.
var stampTask = core.Register1("benchmarks.stamp", func(int64) (int64, error) { return time.Now().UnixNano(), nil })

var fig12bExperiment = Experiment{
	ID:    "fig12b",
	Title: "Scheduler latency: task submit-to-start on the embedded node",
	Paper: "Figure 12b (§5.1), in part",
	State: Partial,
	Setup: "The paper times a 100 MB ring allreduce on 16 nodes while injecting scheduler delay. Allreduce needs the object store and " +
		"actor-to-actor transfer, which have not landed, so only the scheduler's own latency is measured: submit-to-start of empty tasks on one " +
		"embedded node (2 CPUs, worker processes fed through shared-memory rings), one at a time and in rounds of 16 as allreduce submits them. " +
		"No delay is injected and no allreduce time is reported.",
	QuickEstimate: time.Second,
	FullEstimate:  10 * time.Second,
	Run:           runFig12b,
}

type fig12bData struct {
	SequentialUS []float64 `json:"sequential_submit_to_start_us"`
	RoundsUS     []float64 `json:"rounds_of_16_submit_to_start_us"`
	RoundTripUS  []float64 `json:"sequential_round_trip_us"`
}

func runFig12b(ctx context.Context, env *Env) (*Outcome, error) {
	seq, rounds := 2000, 150
	if env.Scale == Full {
		seq, rounds = 20000, 1500
	}
	c, err := core.Init(core.Config{})
	if err != nil {
		return nil, err
	}
	defer c.Shutdown()
	// Warm-up: start the workers.
	warm := make([]core.Ref[int64], 64)
	for i := range warm {
		warm[i] = stampTask.Remote(time.Now().UnixNano())
	}
	if _, err := core.GetAll(ctx, warm); err != nil {
		return nil, err
	}
	var d fig12bData
	total := float64(seq + rounds*16)
	for i := range seq {
		sent := time.Now()
		started, err := stampTask.Remote(sent.UnixNano()).Get(ctx)
		if err != nil {
			return nil, err
		}
		d.RoundTripUS = append(d.RoundTripUS, float64(time.Since(sent).Nanoseconds())/1e3)
		d.SequentialUS = append(d.SequentialUS, float64(started-sent.UnixNano())/1e3)
		if i%200 == 0 {
			env.Progress(float64(i)/total, "one at a time %d/%d", i, seq)
		}
	}
	for r := range rounds {
		refs := make([]core.Ref[int64], 16)
		sent := make([]int64, 16)
		for i := range refs {
			sent[i] = time.Now().UnixNano()
			refs[i] = stampTask.Remote(sent[i])
		}
		starts, err := core.GetAll(ctx, refs)
		if err != nil {
			return nil, err
		}
		for i, s := range starts {
			d.RoundsUS = append(d.RoundsUS, float64(s-sent[i])/1e3)
		}
		if r%20 == 0 {
			env.Progress(float64(seq+r*16)/total, "rounds of 16: %d/%d", r, rounds)
		}
	}
	return fig12bOutcome(d), nil
}

func fig12bOutcome(d fig12bData) *Outcome {
	pct := func(xs []float64, p float64) float64 {
		s := slices.Clone(xs)
		slices.Sort(s)
		return s[min(len(s)-1, int(p*float64(len(s))))]
	}
	paper := Paper()
	delay, _ := paper.Claim("fig12b.round_delay")
	rounds, _ := paper.Claim("fig12b.rounds")
	p50, p99 := pct(d.SequentialUS, 0.5), pct(d.SequentialUS, 0.99)
	r50, r99 := pct(d.RoundsUS, 0.5), pct(d.RoundsUS, 0.99)
	metrics := []Metric{
		{Name: "submit-to-start p50, one task at a time", Value: p50 / 1e3, Unit: "ms", N: len(d.SequentialUS), Claim: "fig12b.round_delay", Headline: true,
			Note: "compared with the per-round delay that doubles the paper's allreduce time"},
		{Name: "submit-to-start p99, one task at a time", Value: p99 / 1e3, Unit: "ms", N: len(d.SequentialUS), Claim: "fig12b.round_delay"},
		{Name: "submit-to-start p50, rounds of 16", Value: r50 / 1e3, Unit: "ms", N: len(d.RoundsUS), Claim: "fig12b.round_delay", Headline: true,
			Note: "16 tasks on 2 CPUs: includes queueing behind the round's other tasks"},
		{Name: "submit-to-start p99, rounds of 16", Value: r99 / 1e3, Unit: "ms", N: len(d.RoundsUS), Claim: "fig12b.round_delay"},
		{Name: "round trip (submit to Get returning) p50, one task at a time", Value: pct(d.RoundTripUS, 0.5) / 1e3, Unit: "ms", N: len(d.RoundTripUS)},
		{Name: fmt.Sprintf("scheduling delay over the paper's %.0f rounds at the rounds-of-16 p50", rounds.Value), Value: rounds.Value * r50 / 1e3, Unit: "ms",
			Note: "against the 200 ms the paper's 100 MB allreduce takes on 16 nodes"},
	}
	sx, sy := plots.CDF(d.SequentialUS, 300)
	rx, ry := plots.CDF(d.RoundsUS, 300)
	fig := plots.Figure{
		Name: "fig12b", Kind: plots.KindLines, LogX: true,
		Title:  "Figure 12b (part): task submit-to-start latency, embedded node",
		XLabel: "submit-to-start latency (µs)", YLabel: "fraction of tasks",
		Series: []plots.Series{
			{Label: "one task at a time", X: sx, Y: sy, Style: plots.StyleLine},
			{Label: "rounds of 16 tasks", X: rx, Y: ry, Style: plots.StyleLine},
			{Label: fmt.Sprintf("paper: ~%.0f ms per round makes allreduce up to 2x slower", delay.Value), X: []float64{delay.Value * 1e3, delay.Value * 1e3}, Y: []float64{0, 1}, Paper: true, Style: plots.StyleLine},
		},
		Caption: "Cumulative distribution of the time from Remote in the driver to the task's first instruction in a worker process (same machine, wall clock).",
	}
	return &Outcome{Metrics: metrics, Figures: []plots.Figure{fig}, Data: d}
}
