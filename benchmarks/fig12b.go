package benchmarks

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"manta/core"
	"manta/events"
	"manta/plots"
)

// Figure 12b, in part: the paper injects scheduler delay into a 16-node
// ring allreduce and shows it nearly doubling the run time with a few ms
// per round. Allreduce needs actor-to-actor collectives, which have not
// landed, so this measures the quantity the figure is about three ways on
// the embedded node: how long a ready task waits between its submission
// and the start of its execution; where a sync round trip's time goes,
// phase by phase, from the task-life events; and what injected scheduler
// delay (0, 1, 5, 10 ms per task) does to a barrier-synchronised loop of
// 32 rounds of 16 tasks, the shape of the paper's allreduce.

// stampTask returns the wall-clock time (Unix ns) at which it started.
var stampTask = core.Register1("benchmarks.stamp", func(int64) (int64, error) { return time.Now().UnixNano(), nil })

var fig12bExperiment = Experiment{
	ID:    "fig12b",
	Title: "Scheduler latency: submit-to-start, a round trip by phase, and injected delay on a barrier loop",
	Paper: "Figure 12b (§5.1), in part",
	State: Partial,
	Setup: "The paper times a 100 MB ring allreduce on 16 nodes while injecting scheduler delay. Allreduce needs actor-to-actor collectives, " +
		"which have not landed, so on one embedded node (2 CPUs, worker processes fed through shared-memory rings) this measures: submit-to-start " +
		"of empty tasks, one at a time and in rounds of 16 as allreduce submits them; a sync round trip split into phases by the task-life events " +
		"(package events; recording on, which adds its own cost to each phase); and the run time of a barrier-synchronised loop of 32 rounds of " +
		"16 tasks (each 0.7 ms of computation, the rounds of the paper's allreduce) with 0, 1, 5 and 10 ms of delay injected before the scheduler " +
		"sees each task (core.Config.InjectSchedulerDelay). No allreduce is run; the paper's slowdown is compared with the barrier loop's.",
	QuickEstimate: time.Second,
	FullEstimate:  10 * time.Second,
	Run:           runFig12b,
}

// reduceStep stands for one task of an allreduce round: 0.7 ms of
// computation.
var reduceStep = core.Register1("benchmarks.reduceStep", func(int) (int, error) {
	began := time.Now()
	n := 0
	for time.Since(began) < 700*time.Microsecond {
		n++
	}
	return n, nil
})

type fig12bData struct {
	SequentialUS []float64 `json:"sequential_submit_to_start_us"`
	RoundsUS     []float64 `json:"rounds_of_16_submit_to_start_us"`
	RoundTripUS  []float64 `json:"sequential_round_trip_us"`
	// Phases are a sync round trip's, from the events: p50 and p90 in µs.
	Phases []fig12bPhase `json:"phases"`
	// Delays are the barrier loop's run times by injected delay.
	Delays []fig12bDelay `json:"injected_delay"`
}

type fig12bPhase struct {
	Name  string  `json:"name"`
	P50US float64 `json:"p50_us"`
	P90US float64 `json:"p90_us"`
	Tasks int     `json:"tasks"`
}

type fig12bDelay struct {
	DelayMS float64   `json:"delay_ms"`
	RunMS   []float64 `json:"run_ms"` // one per repetition
}

// fig12bDelays are the injected delays, as the paper's x axis.
var fig12bDelays = []time.Duration{0, time.Millisecond, 5 * time.Millisecond, 10 * time.Millisecond}

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
	if err := c.Shutdown(); err != nil {
		return nil, err
	}
	if d.Phases, err = fig12bPhases(ctx, seq); err != nil {
		return nil, err
	}
	reps := 1
	if env.Scale == Full {
		reps = 5
	}
	for i, delay := range fig12bDelays {
		env.Progress(0.9+0.1*float64(i)/float64(len(fig12bDelays)), "barrier loop, %v injected", delay)
		dd := fig12bDelay{DelayMS: float64(delay) / float64(time.Millisecond)}
		for range reps {
			ms, err := fig12bBarrierLoop(ctx, delay)
			if err != nil {
				return nil, err
			}
			dd.RunMS = append(dd.RunMS, ms)
		}
		d.Delays = append(d.Delays, dd)
	}
	return fig12bOutcome(d), nil
}

// fig12bPhases runs n sync round trips with the task-life events on and
// returns their breakdown.
func fig12bPhases(ctx context.Context, n int) ([]fig12bPhase, error) {
	dir, err := os.MkdirTemp("", "manta-fig12b-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	c, err := core.Init(core.Config{EventsDir: dir})
	if err != nil {
		return nil, err
	}
	for range n {
		if _, err := stampTask.Remote(int64(0)).Get(ctx); err != nil {
			c.Shutdown()
			return nil, err
		}
	}
	if err := c.Shutdown(); err != nil {
		return nil, err
	}
	procs, err := events.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []fig12bPhase
	for _, p := range events.Breakdown(procs) {
		out = append(out, fig12bPhase{Name: p.Name, P50US: float64(p.Quantile(0.5)) / 1e3, P90US: float64(p.Quantile(0.9)) / 1e3, Tasks: len(p.Nanos)})
	}
	if out[len(out)-1].Tasks == 0 {
		return nil, errors.New("fig12b: no task recorded its whole life")
	}
	return out, nil
}

// fig12bBarrierLoop runs 32 rounds of 16 reduce steps, each round waiting
// for all of its tasks, with delay injected before the scheduler sees
// each task, and returns the loop's run time in ms (after a warm-up that
// starts the workers).
func fig12bBarrierLoop(ctx context.Context, delay time.Duration) (float64, error) {
	c, err := core.Init(core.Config{InjectSchedulerDelay: delay})
	if err != nil {
		return 0, err
	}
	defer c.Shutdown()
	round := func() error {
		refs := make([]core.Ref[int], 16)
		for i := range refs {
			refs[i] = reduceStep.Remote(i)
		}
		_, err := core.GetAll(ctx, refs)
		return err
	}
	if err := round(); err != nil {
		return 0, err
	}
	began := time.Now()
	for range fig12bRounds {
		if err := round(); err != nil {
			return 0, err
		}
	}
	return float64(time.Since(began).Microseconds()) / 1e3, nil
}

// fig12bRounds is the rounds of the paper's 100 MB allreduce on 16 nodes.
const fig12bRounds = 32

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
	sumP50 := 0.0
	for i, p := range d.Phases {
		if i == len(d.Phases)-1 {
			metrics = append(metrics, Metric{Name: "sync round trip, sum of the phases' p50 (events on)", Value: sumP50, Unit: "µs", N: p.Tasks,
				Note: fmt.Sprintf("against the whole round trip's p50 of %.2f µs", p.P50US)})
		}
		metrics = append(metrics, Metric{Name: "sync round trip phase p50: " + p.Name, Value: p.P50US, Unit: "µs", N: p.Tasks})
		sumP50 += p.P50US
	}
	base := 0.0
	if len(d.Delays) > 0 {
		base, _ = meanStd(d.Delays[0].RunMS)
	}
	for _, dd := range d.Delays {
		runMS, std := meanStd(dd.RunMS)
		metrics = append(metrics, Metric{Name: fmt.Sprintf("barrier loop (32 rounds of 16 tasks), %.0f ms injected", dd.DelayMS), Value: runMS, Err: std, N: len(dd.RunMS), Unit: "ms"})
		if dd.DelayMS > 0 && base > 0 {
			s := Metric{Name: fmt.Sprintf("barrier loop slowdown with %.0f ms injected", dd.DelayMS), Value: runMS / base, Unit: "x", N: len(dd.RunMS)}
			if dd.DelayMS == 5 {
				s.Claim, s.Headline = "fig12b.slowdown", true
				s.Note = "the paper's allreduce slows nearly 2x with a few ms per round"
			}
			metrics = append(metrics, s)
		}
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
	figs := []plots.Figure{fig}
	if len(d.Phases) > 0 {
		ph := plots.Figure{Name: "fig12b_phases", Kind: plots.KindBars, LogY: true,
			Title: "A sync round trip by phase (task-life events, embedded node)", YLabel: "µs",
			Series:  []plots.Series{{Label: "p50"}, {Label: "p90"}},
			Caption: "Each phase between two of a task's events, for empty tasks submitted one at a time and got; the last bar is the whole round trip. Recording adds its own cost to each phase."}
		for _, p := range d.Phases {
			ph.Categories = append(ph.Categories, p.Name)
			ph.Series[0].Y = append(ph.Series[0].Y, max(p.P50US, 0.01))
			ph.Series[1].Y = append(ph.Series[1].Y, max(p.P90US, 0.01))
		}
		figs = append(figs, ph)
	}
	if len(d.Delays) > 0 {
		dl := plots.Figure{Name: "fig12b_delay", Kind: plots.KindLines,
			Title: "Injected scheduler delay on a barrier loop (32 rounds of 16 tasks, embedded node)", XLabel: "injected delay per task (ms)", YLabel: "run time (ms)",
			Caption: "The loop's run time with each task held back before the local scheduler sees it; the paper's ring allreduce nearly doubles with a few ms."}
		var x, y []float64
		for _, dd := range d.Delays {
			runMS, _ := meanStd(dd.RunMS)
			x, y = append(x, dd.DelayMS), append(y, runMS)
		}
		dl.Series = []plots.Series{{Label: "barrier loop", X: x, Y: y, Style: plots.StyleLine}}
		figs = append(figs, dl)
	}
	return &Outcome{Metrics: metrics, Figures: figs, Data: d}
}
