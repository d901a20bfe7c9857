package benchmarks

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"manta/collective"
	"manta/core"
	"manta/events"
	"manta/plots"
)

// Figure 12b: the paper injects scheduler delay into a 16-node ring
// allreduce and shows it nearly doubling the run time with a few ms per
// round. Here a ring allreduce whose every step is a task (the paper's
// rounds of tasks) runs with 0, 1, 5 and 10 ms injected before the
// scheduler sees each ready task, beside the collective library's
// allreduce, whose messages are actor calls that no scheduler holds; and,
// for what that delay is compared with, how long a ready task waits
// between its submission and the start of its execution, and where a sync
// round trip's time goes, phase by phase, from the task-life events.

// stampTask returns the wall-clock time (Unix ns) at which it started.
var stampTask = core.Register1("benchmarks.stamp", func(int64) (int64, error) { return time.Now().UnixNano(), nil })

var fig12bExperiment = Experiment{
	ID:    "fig12b",
	Title: "Allreduce against injected scheduler latency; submit-to-start and a round trip by phase",
	Paper: "Figure 12b (§5.1)",
	State: Reproduced,
	Setup: "The paper times a 100 MB ring allreduce on 16 nodes while injecting scheduler delay. Here, on one embedded node (2 CPUs, " +
		"worker processes fed through shared-memory rings), a ring allreduce of float32s among R ranks (8 ranks and 8 MiB at quick " +
		"scale, the paper's 16 ranks and 16 MiB at full: 2 cores do the work of all ranks, so the buffer is scaled down until a round " +
		"takes a few ms, as the paper's 200 ms over 32 rounds did, rather than being bound by the 2 cores' throughput) runs as the paper's does, in 2(R-1) rounds of R tasks: the driver Puts each " +
		"rank's buffer as R segments and submits every task at once, each depending on the step before; a reduce-scatter step is a task " +
		"adding two segments read in place from the store, an allgather step a task copying one (the copy a transfer to another node " +
		"makes). 0, 1, 5 and 10 ms are injected before the local scheduler sees each ready task (core.Config.InjectSchedulerDelay), so " +
		"each round's tasks are held that long; each delay has a node of its own, and the delays take turns (5 turns of 2 allreduces " +
		"at quick scale, of 4 at full, after a warm-up in each), medians reported. Beside it, the collective library's allreduce (package collective: actors exchanging " +
		"chunks by actor calls, which the injected delay does not hold) on the same ranks and buffer. Also measured: submit-to-start " +
		"of empty tasks, one at a time and in rounds of 16, and a sync round trip split into phases by the task-life events (recording " +
		"on, which adds its own cost to each phase).",
	QuickEstimate: 20 * time.Second,
	FullEstimate:  2 * time.Minute,
	Run:           runFig12b,
}

type fig12bData struct {
	SequentialUS []float64 `json:"sequential_submit_to_start_us"`
	RoundsUS     []float64 `json:"rounds_of_16_submit_to_start_us"`
	RoundTripUS  []float64 `json:"sequential_round_trip_us"`
	// Phases are a sync round trip's, from the events: p50 and p90 in µs.
	Phases []fig12bPhase `json:"phases"`
	// Ranks and Bytes are the allreduce's; Delays its run times by
	// injected delay.
	Ranks  int           `json:"ranks"`
	Bytes  int64         `json:"bytes"`
	Delays []fig12bDelay `json:"injected_delay"`
	// Collective is the collective library's allreduce of the same
	// buffer among as many actors, in ms, one per repetition.
	Collective []float64 `json:"collective_ms"`
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

// fig12bParams sizes a run: Seq submit-to-start samples one task at a
// time and Rounds rounds of 16; the task ring allreduce of Bytes among
// Ranks, Turns turns of PerTurn allreduces at every delay.
type fig12bParams struct {
	Seq, Rounds    int
	Ranks          int
	Bytes          int64
	Turns, PerTurn int
}

func runFig12b(ctx context.Context, env *Env) (*Outcome, error) {
	p := fig12bParams{Seq: 2000, Rounds: 150, Ranks: 8, Bytes: 8 << 20, Turns: 5, PerTurn: 2}
	if env.Scale == Full {
		p = fig12bParams{Seq: 20000, Rounds: 1500, Ranks: 16, Bytes: 16 << 20, Turns: 5, PerTurn: 4}
	}
	return fig12bRun(ctx, env, p)
}

func fig12bRun(ctx context.Context, env *Env, p fig12bParams) (*Outcome, error) {
	seq, rounds := p.Seq, p.Rounds
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
	// Each delay needs a node of its own; the delays take turns, a few
	// allreduces each, so that all see about the same load from whatever
	// else runs on the machine.
	turns, perTurn := p.Turns, p.PerTurn
	d.Ranks, d.Bytes = p.Ranks, p.Bytes
	reps := turns * perTurn
	d.Delays = make([]fig12bDelay, len(fig12bDelays))
	for turn := range turns {
		for i, delay := range fig12bDelays {
			env.Progress(0.8+0.15*float64(turn*len(fig12bDelays)+i)/float64(turns*len(fig12bDelays)), "task ring allreduce, %v injected", delay)
			ms, err := fig12bTaskRing(ctx, delay, d.Ranks, int(d.Bytes), perTurn)
			if err != nil {
				return nil, err
			}
			d.Delays[i].DelayMS = float64(delay) / float64(time.Millisecond)
			d.Delays[i].RunMS = append(d.Delays[i].RunMS, ms...)
		}
	}
	env.Progress(0.95, "the collective library's allreduce, %d actors", d.Ranks)
	g, err := startARGroup(ctx, d.Ranks)
	if err != nil {
		return nil, err
	}
	times, err := g.time(ctx, d.Bytes, reps)
	g.close(ctx)
	if err != nil {
		return nil, err
	}
	for _, t := range times {
		d.Collective = append(d.Collective, t*1e3)
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

// The tasks of the task ring: a reduce-scatter step adds two segments,
// an allgather step copies one.
var (
	ringAdd = core.Register2("benchmarks.ringAdd", func(a, b *core.View[float32]) ([]float32, error) {
		x, y := a.Data(), b.Data()
		if len(x) != len(y) {
			return nil, fmt.Errorf("segments of %d and %d elements", len(x), len(y))
		}
		out := make([]float32, len(x))
		for i := range out {
			out[i] = x[i] + y[i]
		}
		return out, nil
	})
	ringCopy = core.Register1("benchmarks.ringCopy", func(a *core.View[float32]) ([]float32, error) {
		return slices.Clone(a.Data()), nil
	})
)

// fig12bTaskRing runs reps ring allreduces of bytes of float32s among
// ranks, every step a task, on a node that holds each ready task back by
// delay, and returns each one's time in ms: from the first submission to
// the last step's result.
func fig12bTaskRing(ctx context.Context, delay time.Duration, ranks, bytes, reps int) ([]float64, error) {
	c, err := core.Init(core.Config{InjectSchedulerDelay: delay})
	if err != nil {
		return nil, err
	}
	defer c.Shutdown()
	n := bytes / 4
	seg := func(i int) (int, int) { return collective.Segment(n, ranks, i) }
	mod := func(a int) int { return ((a % ranks) + ranks) % ranks }
	var out []float64
	for rep := range reps + 1 { // the first warms up
		// buf[r][i] is rank r's segment i: rank r's buffer holds r+1.
		buf := make([][]core.Ref[[]float32], ranks)
		var made []core.Ref[[]float32]
		for r := range buf {
			buf[r] = make([]core.Ref[[]float32], ranks)
			for i := range buf[r] {
				lo, hi := seg(i)
				vals := make([]float32, hi-lo)
				for k := range vals {
					vals[k] = float32(r + 1)
				}
				if buf[r][i], err = core.Put(vals); err != nil {
					return nil, err
				}
				made = append(made, buf[r][i])
			}
		}
		began := time.Now()
		step := func(r, i int, ref core.Ref[[]float32]) {
			buf[mod(r+1)][i] = ref
			made = append(made, ref)
		}
		for s := range ranks - 1 { // reduce-scatter: rank r sends segment r-1-s on
			next := make([]core.Ref[[]float32], ranks)
			for r := range ranks {
				i := mod(r - 1 - s)
				next[r] = ringAdd.Remote(buf[r][i], buf[mod(r+1)][i])
			}
			for r := range ranks {
				step(r, mod(r-1-s), next[r])
			}
		}
		for t := range ranks - 1 { // allgather: rank r sends its complete segment r-t on
			next := make([]core.Ref[[]float32], ranks)
			for r := range ranks {
				next[r] = ringCopy.Remote(buf[r][mod(r-t)])
			}
			for r := range ranks {
				step(r, mod(r-t), next[r])
			}
		}
		var final []core.Ref[[]float32]
		for r := range buf {
			final = append(final, buf[r]...)
		}
		if _, _, err := core.Wait(ctx, final, len(final), 0); err != nil {
			return nil, err
		}
		took := float64(time.Since(began).Microseconds()) / 1e3
		want := float32(ranks * (ranks + 1) / 2)
		for _, f := range final {
			v, err := core.GetView(ctx, f)
			if err != nil {
				return nil, err
			}
			if x := v.Data(); len(x) > 0 && (x[0] != want || x[len(x)-1] != want) {
				v.Release()
				return nil, fmt.Errorf("fig12b: the task ring summed %v, want %v", x[0], want)
			}
			v.Release()
		}
		core.ReleaseAll(made)
		if rep > 0 {
			out = append(out, took)
		}
	}
	return out, nil
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
	sumP50 := 0.0
	for i, p := range d.Phases {
		if i == len(d.Phases)-1 {
			metrics = append(metrics, Metric{Name: "sync round trip, sum of the phases' p50 (events on)", Value: sumP50, Unit: "µs", N: p.Tasks,
				Note: fmt.Sprintf("against the whole round trip's p50 of %.2f µs", p.P50US)})
		}
		metrics = append(metrics, Metric{Name: "sync round trip phase p50: " + p.Name, Value: p.P50US, Unit: "µs", N: p.Tasks})
		sumP50 += p.P50US
	}
	var ar []Metric
	base := 0.0
	if len(d.Delays) > 0 {
		base = medianOf(d.Delays[0].RunMS)
	}
	what := fmt.Sprintf("%d MiB among %d ranks, 2×%d rounds of %d tasks", d.Bytes>>20, d.Ranks, d.Ranks-1, d.Ranks)
	for _, dd := range d.Delays {
		runMS := medianOf(dd.RunMS)
		ar = append(ar, Metric{Name: fmt.Sprintf("task ring allreduce (%s), %.0f ms injected, median", what, dd.DelayMS), Value: runMS, N: len(dd.RunMS), Unit: "ms",
			Headline: dd.DelayMS == 0})
		if dd.DelayMS > 0 && base > 0 {
			s := Metric{Name: fmt.Sprintf("task ring allreduce slowdown with %.0f ms injected (medians)", dd.DelayMS), Value: runMS / base, Unit: "x", N: len(dd.RunMS)}
			if dd.DelayMS == 5 {
				s.Claim, s.Headline = "fig12b.slowdown", true
				s.Note = "the paper's allreduce slows nearly 2x with a few ms per round"
			}
			ar = append(ar, s)
		}
	}
	if len(d.Collective) > 0 {
		ar = append(ar, Metric{Name: fmt.Sprintf("collective library allreduce (%d MiB among %d actors; no injected delay holds its actor calls), median", d.Bytes>>20, d.Ranks),
			Value: medianOf(d.Collective), N: len(d.Collective), Unit: "ms", Headline: true})
	}
	metrics = append(ar, metrics...)
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
			Title:  fmt.Sprintf("Figure 12b: ring allreduce (%d MiB, %d ranks) against injected scheduler delay, embedded node", d.Bytes>>20, d.Ranks),
			XLabel: "injected delay per ready task (ms)", YLabel: "allreduce time (ms, median)",
			Caption: "The task ring's time with each ready task held back before the local scheduler sees it (every round pays it), and the " +
				"collective library's allreduce on as many actors, whose actor calls the delay does not hold (measured once, drawn flat)."}
		var x, y, yc []float64
		c := medianOf(d.Collective)
		for _, dd := range d.Delays {
			runMS := medianOf(dd.RunMS)
			x, y, yc = append(x, dd.DelayMS), append(y, runMS), append(yc, c)
		}
		dl.Series = []plots.Series{{Label: "ring allreduce, a task per step", X: x, Y: y, Style: plots.StyleLine}}
		if len(d.Collective) > 0 {
			dl.Series = append(dl.Series, plots.Series{Label: "collective.Allreduce (actors)", X: x, Y: yc, Style: plots.StyleLine})
		}
		figs = append(figs, dl)
	}
	return &Outcome{Metrics: metrics, Figures: figs, Data: d}
}
