package benchmarks

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"time"

	"manta/plots"
)

// Figures 10a and 10b of the paper: the GCS's latency across a chain
// reconfiguration, and its memory with and without flushing. The
// measurements are in fig10_gcs.go (figure10a, figure10b).

var fig10a = Experiment{
	ID:    "fig10a",
	Title: "GCS fault tolerance: latency across chain reconfiguration",
	Paper: "Figure 10a (§5.1)",
	State: Reproduced,
	Setup: "As in the paper, one client issues reads and writes of 25-byte keys and 512-byte values, one request in flight, against a " +
		"chain of 2 replicas; one member is killed with SIGKILL partway through and a new one joins by state transfer. Here the replicas " +
		"are `manta gcs` processes on loopback of one 2-core machine (the paper: separate EC2 instances), the monitor runs in the " +
		"harness, and the run is seconds long rather than the paper's minutes, so the state transferred to the joiner is a few MB.",
	QuickEstimate: 6 * time.Second,
	FullEstimate:  15 * time.Second,
	Run:           runFig10a,
}

var fig10b = Experiment{
	ID:    "fig10b",
	Title: "GCS flushing: memory with and without flushing",
	Paper: "Figure 10b (§5.1)",
	State: Reproduced,
	Setup: "The paper records 50M empty tasks in its GCS and tracks memory with and without periodic flushing to disk. Here one embedded " +
		"GCS shard records 1M (quick) or 5M (full) tasks with 64-byte specifications, flushing task and lineage entries beyond a " +
		"32 MiB cap to checksummed disk segments, and samples of flushed tasks are read back to check they survive.",
	QuickEstimate: 20 * time.Second,
	FullEstimate:  90 * time.Second,
	Run:           runFig10b,
}

func runFig10a(ctx context.Context, env *Env) (*Outcome, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	d := 3 * time.Second
	if env.Scale == Full {
		d = 10 * time.Second
	}
	env.Progress(0, "chain of 2 on loopback for %v", d)
	res, err := figure10a(ctx, fig10aConfig{Duration: d, Command: func() *exec.Cmd { return exec.Command(exe, "gcs") }})
	if err != nil {
		return nil, err
	}
	var reads, writes plots.Series
	reads.Label, writes.Label = "reads", "writes"
	for _, s := range res.Samples {
		pt := &reads
		if s.Write {
			pt = &writes
		}
		pt.X = append(pt.X, s.At.Seconds())
		pt.Y = append(pt.Y, float64(s.Latency)/float64(time.Millisecond))
	}
	reads.Style, writes.Style = plots.StylePoints, plots.StylePoints
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	marker := func(label string, at time.Duration) plots.Series {
		return plots.Series{Label: label, X: []float64{at.Seconds(), at.Seconds()}, Y: []float64{0.01, ms(res.MaxLatency)}, Style: plots.StyleLine}
	}
	return &Outcome{
		Metrics: []Metric{
			{Name: "maximum client-observed latency", Value: ms(res.MaxLatency), Unit: "ms", Claim: "fig10a.max_latency", Headline: true},
			{Name: "p50 latency", Value: ms(res.P50), Unit: "ms"},
			{Name: "p99 latency", Value: ms(res.P99), Unit: "ms"},
			{Name: "kill to removal from the chain", Value: ms(res.RemovedAt - res.KilledAt), Unit: "ms"},
			{Name: "join started to new member in the chain", Value: ms(res.RejoinedAt - res.JoinedAt), Unit: "ms"},
			{Name: "acknowledged writes read back at the end", Value: float64(res.ReadBack), Unit: fmt.Sprintf("of %d", res.Acknowledged)},
			{Name: "failed operations", Value: float64(res.Failed), Unit: fmt.Sprintf("of %d", res.Reads+res.Writes)},
		},
		Figures: []plots.Figure{{Name: "fig10a", Kind: plots.KindLines, LogY: true, Title: "Figure 10a: GCS latency across a chain reconfiguration",
			XLabel: "time (s)", YLabel: "latency (ms)",
			Series:  []plots.Series{reads, writes, marker(res.Victim+" killed", res.KilledAt), marker("new member joins", res.JoinedAt)},
			Caption: fmt.Sprintf("%d reads and %d writes, one in flight; %d of %d acknowledged writes read back.", res.Reads, res.Writes, res.ReadBack, res.Acknowledged)}},
		Data: res,
	}, nil
}

func runFig10b(ctx context.Context, env *Env) (*Outcome, error) {
	tasks := 1_000_000
	if env.Scale == Full {
		tasks = 5_000_000
	}
	dir, err := os.MkdirTemp("", "manta-fig10b-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	env.Progress(0, "%d tasks, with and without flushing", tasks)
	res, err := figure10b(ctx, fig10bConfig{Tasks: tasks, MemoryCap: 32 << 20, Dir: dir})
	if err != nil {
		return nil, err
	}
	series := func(label string, samples []fig10bSample) plots.Series {
		s := plots.Series{Label: label}
		for _, p := range samples {
			s.X = append(s.X, float64(p.Tasks)/1e6)
			s.Y = append(s.Y, float64(p.StoreBytes)/(1<<20))
		}
		return s
	}
	last := func(samples []fig10bSample) float64 {
		if len(samples) == 0 {
			return 0
		}
		return float64(samples[len(samples)-1].StoreBytes) / (1 << 20)
	}
	capMiB := float64(res.MemoryCap) / (1 << 20)
	return &Outcome{
		Metrics: []Metric{
			{Name: fmt.Sprintf("GCS memory after %d tasks, flushing", res.Tasks), Value: last(res.WithFlush), Unit: "MiB", Headline: true,
				Note: fmt.Sprintf("cap %.0f MiB; %d segments, %.0f MiB flushed", capMiB, res.Segments, float64(res.FlushedBytes)/(1<<20))},
			{Name: fmt.Sprintf("GCS memory after %d tasks, no flushing", res.Tasks), Value: last(res.WithoutFlush), Unit: "MiB", Headline: true},
			{Name: "tasks recorded", Value: float64(res.Tasks), Unit: "tasks", Claim: "fig10b.tasks"},
			{Name: "flushed tasks read back correctly", Value: float64(res.ReadBack), Unit: fmt.Sprintf("of %d sampled", res.ReadChecked)},
		},
		Figures: []plots.Figure{{Name: "fig10b", Kind: plots.KindLines, Title: "Figure 10b: GCS memory while tasks are recorded",
			XLabel: "tasks recorded (millions)", YLabel: "GCS table memory (MiB)",
			Series: []plots.Series{series("no flushing", res.WithoutFlush), series("flushing to disk", res.WithFlush),
				{Label: "memory cap", X: []float64{0, float64(res.Tasks) / 1e6}, Y: []float64{capMiB, capMiB}, Style: plots.StyleLine}},
			Caption: "Memory held by the shard's tables (entries, index and Bloom filters of flushed segments)."}},
		Data: res,
	}, nil
}
