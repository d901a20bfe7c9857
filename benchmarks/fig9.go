package benchmarks

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"time"

	"manta/core"
	"manta/plots"
)

// Figure 9 of the paper: object store write throughput (large objects)
// and IOPS (small objects) from a single client, by object size and
// client threads. Measured through core.Put on an embedded cluster (what
// a user's put costs), with the bare store beside it (storeFigure9:
// Create, copy, Seal, Delete in the owning process) and a memcpy baseline
// alternating with both.

var fig9 = Experiment{
	ID:    "fig9",
	Title: "Object store write throughput and IOPS",
	Paper: "Figure 9 (§5.1)",
	State: Reproduced,
	Setup: "The paper's client is a process putting serialized objects into Plasma over IPC on a 16-core m4.4xlarge, with 1 to 16 copy " +
		"threads. Here the client is the driver of an embedded cluster on a 2-core machine calling core.Put from 1 and 2 goroutines: " +
		"values above 100 KiB are encoded straight into the shared-memory store (the node owns the store, so the driver needs no IPC; " +
		"a worker's put adds one round trip over its ring), smaller ones are kept in the node's memory as Ray 2.x keeps small objects " +
		"in its in-process store. Large puts are bounded by this machine's memory bandwidth, shown by a same-run memcpy baseline; " +
		"the bare store (shm/store without the runtime) is drawn beside the runtime's puts.",
	QuickEstimate: 15 * time.Second,
	FullEstimate:  2 * time.Minute,
	Run:           runFig9,
}

type fig9Data struct {
	Reps        int           `json:"reps"`
	Sizes       []int64       `json:"sizes_bytes"`
	Points      [][]fig9Point `json:"points"`       // core.Put, one list per repetition
	StorePoints [][]fig9Point `json:"store_points"` // the bare store, likewise
}

func runFig9(ctx context.Context, env *Env) (*Outcome, error) {
	sizes := []int64{1e3, 1e4, 1e5, 1e6, 1e7, 3e7}
	threads := []int{1, min(2, runtime.NumCPU())}
	reps, d := 2, 100*time.Millisecond
	if env.Scale == Full {
		sizes = append(sizes, 1e8)
		threads = nil
		for n := 1; n <= runtime.NumCPU(); n *= 2 {
			threads = append(threads, n)
		}
		reps, d = 5, 500*time.Millisecond
	}
	return fig9Run(ctx, env, sizes, slices.Compact(threads), reps, d)
}

// fig9Run measures every size (ascending) with every thread count reps
// times for about d each.
func fig9Run(ctx context.Context, env *Env, sizes []int64, threads []int, reps int, d time.Duration) (*Outcome, error) {
	data := fig9Data{Reps: reps, Sizes: sizes}
	c, err := core.Init(core.Config{})
	if err != nil {
		return nil, err
	}
	defer c.Shutdown()
	for rep := range reps {
		env.Progress(float64(rep)/float64(reps), "repetition %d/%d", rep+1, reps)
		pts, err := putFigure9(ctx, sizes, threads, d)
		if err != nil {
			return nil, err
		}
		data.Points = append(data.Points, pts)
		if pts, err = storeFigure9(ctx, sizes, threads, d); err != nil {
			return nil, err
		}
		data.StorePoints = append(data.StorePoints, pts)
	}
	return fig9Outcome(data, threads), nil
}

func fig9Outcome(d fig9Data, threads []int) *Outcome {
	type key struct {
		size    int64
		threads int
	}
	gbps, iops, memcpy := map[key][]float64{}, map[key][]float64{}, map[key][]float64{}
	storeGBps, storeIOPS := map[key][]float64{}, map[key][]float64{}
	for _, pts := range d.Points {
		for _, p := range pts {
			k := key{p.Size, p.Threads}
			gbps[k] = append(gbps[k], p.GBps)
			iops[k] = append(iops[k], p.IOPS)
			memcpy[k] = append(memcpy[k], p.MemcpyGBps)
		}
	}
	for _, pts := range d.StorePoints {
		for _, p := range pts {
			k := key{p.Size, p.Threads}
			storeGBps[k] = append(storeGBps[k], p.GBps)
			storeIOPS[k] = append(storeIOPS[k], p.IOPS)
		}
	}
	xs := make([]float64, len(d.Sizes))
	for i, s := range d.Sizes {
		xs[i] = float64(s)
	}
	line := func(label string, vals map[key][]float64, th int) plots.Series {
		s := plots.Series{Label: label, X: xs}
		for _, size := range d.Sizes {
			m, e := meanStd(vals[key{size, th}])
			s.Y, s.Err = append(s.Y, m), append(s.Err, e)
		}
		return s
	}
	var thrSeries, iopsSeries []plots.Series
	for _, th := range threads {
		thrSeries = append(thrSeries, line(fmt.Sprintf("manta Put, %d thread%s", th, plural(th)), gbps, th))
		iopsSeries = append(iopsSeries, line(fmt.Sprintf("manta Put, %d thread%s", th, plural(th)), iops, th))
	}
	if len(d.StorePoints) > 0 {
		thrSeries = append(thrSeries, withStyle(line("bare store, 1 thread", storeGBps, 1), plots.StylePoints))
		iopsSeries = append(iopsSeries, withStyle(line("bare store, 1 thread", storeIOPS, 1), plots.StylePoints))
	}
	thrSeries = append(thrSeries, withStyle(line("memcpy, 1 thread (bound)", memcpy, 1), plots.StylePoints))

	paper := Paper()
	wt, _ := paper.Claim("fig9.write_throughput")
	io, _ := paper.Claim("fig9.iops")
	// The paper's numbers as horizontal lines over the sizes they are
	// about: large objects (1 MB and up), small ones (up to 100 KB).
	large, small := xs[len(xs)-1], xs[0]
	for _, x := range xs {
		if x >= 1e6 {
			large = min(large, x)
		}
		if x <= 1e5 {
			small = max(small, x)
		}
	}
	thrSeries = append(thrSeries, plots.Series{Label: "paper: > 15 GB/s, large objects (16 cores)", X: []float64{large, xs[len(xs)-1]},
		Y: []float64{wt.Value, wt.Value}, Paper: true, Style: plots.StyleLine})
	iopsSeries = append(iopsSeries, plots.Series{Label: "paper: 18K IOPS, small objects (1 thread)", X: []float64{xs[0], small},
		Y: []float64{io.Value, io.Value}, Paper: true, Style: plots.StyleLine})

	// Headlines: the best throughput at the largest size, IOPS of the
	// smallest objects from one thread.
	last := d.Sizes[len(d.Sizes)-1]
	bestTh, best, bestErr := 0, 0.0, 0.0
	for _, th := range threads {
		if m, e := meanStd(gbps[key{last, th}]); m > best {
			bestTh, best, bestErr = th, m, e
		}
	}
	smallM, smallE := meanStd(iops[key{d.Sizes[0], 1}])
	mcM, mcE := meanStd(memcpy[key{last, bestTh}])
	metrics := []Metric{
		{Name: fmt.Sprintf("write throughput, %s objects, %d thread%s", num(float64(last))+"B", bestTh, plural(bestTh)), Value: best, Err: bestErr, N: d.Reps,
			Unit: "GB/s", Claim: "fig9.write_throughput", Headline: true},
		{Name: fmt.Sprintf("IOPS, %s objects, 1 thread", num(float64(d.Sizes[0]))+"B"), Value: smallM, Err: smallE, N: d.Reps, Unit: "IOPS",
			Claim: "fig9.iops", Headline: true, Note: "core.Put from the driver; small values stay in the node's memory"},
		{Name: fmt.Sprintf("memcpy, %s, %d thread%s", num(float64(last))+"B", bestTh, plural(bestTh)), Value: mcM, Err: mcE, N: d.Reps, Unit: "GB/s",
			Note: "this machine's bound on large puts"},
	}
	for _, th := range threads {
		for _, size := range d.Sizes {
			m, e := meanStd(gbps[key{size, th}])
			im, ie := meanStd(iops[key{size, th}])
			metrics = append(metrics, Metric{Name: fmt.Sprintf("put %sB, %d thread%s", num(float64(size)), th, plural(th)), Value: m, Err: e, N: d.Reps, Unit: "GB/s",
				Note: fmt.Sprintf("%s ± %s IOPS", num(im), num(ie))})
		}
	}
	caption := fmt.Sprintf("Mean ± one standard deviation over %d repetitions; each point alternates ten rounds of puts and memcpy so load from elsewhere weighs on both.", d.Reps)
	return &Outcome{
		Metrics: metrics,
		Figures: []plots.Figure{
			{Name: "fig9", Kind: plots.KindLines, LogX: true, LogY: true, Title: "Figure 9: object store write throughput (single client)",
				XLabel: "object size (bytes)", YLabel: "throughput (GB/s)", Series: thrSeries, Caption: caption},
			{Name: "fig9_iops", Kind: plots.KindLines, LogX: true, LogY: true, Title: "Figure 9: object store IOPS (single client)",
				XLabel: "object size (bytes)", YLabel: "puts per second (IOPS)", Series: iopsSeries, Caption: caption, Legend: "bottom-left"},
		},
		Data: d,
	}
}
