package probe

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"manta/plots"
)

// Report is what a Tally measured, ready to print (WriteText), save as
// JSON (encoding/json) or draw (Figure). Durations are in microseconds.
type Report struct {
	PID     int     `json:"pid"`     // the driver
	Workers []int   `json:"workers"` // the worker processes watched at the end
	Seconds float64 `json:"seconds"` // the stretch of time covered
	// Stages has one row per stage in path order: the time from the entry
	// into the stage before to the entry into this one. The row of stage 0
	// (back in the driver, up to its next submission) comes last.
	Stages    []Row `json:"stages"`
	RoundTrip Row   `json:"round_trip"` // submission to next submission
	// SumOfMediansUS adds up the stages' medians, to set beside the
	// round trip's median: a median of a sum is not the sum of medians,
	// but on a serial path with narrow distributions they are close.
	SumOfMediansUS float64 `json:"sum_of_medians_us"`
	// Kernel has the scheduler's view of the target's threads, driver and
	// workers apart: run-queue delay (woken, waiting for a CPU), and time
	// off CPU per switch-out, blocked (a voluntary switch) or runnable
	// (preempted or yielding: all of it a wait in the run queue).
	Kernel []Row `json:"kernel"`
	// ProbeCostUS is what one probe hit costs, measured at Attach on the
	// probe's own process (0 when it could not be). Every stage's time
	// holds about one hit and the round trip one per stage: uprobes trap
	// into the kernel, which a short path feels.
	ProbeCostUS float64 `json:"probe_cost_us"`
	// Counters of the chain and the ring buffer; see Chain.
	Broken   uint64            `json:"broken"`
	BrokenAt map[string]uint64 `json:"broken_at,omitempty"` // by first stage missing
	Gaps     uint64            `json:"gaps"`
	Skipped  uint64            `json:"skipped"`
	Lost     uint64            `json:"lost"` // events dropped by a full ring buffer
}

// Row summarizes one histogram: what it measures, how many durations, their
// exact mean and maximum, quantiles read from the buckets (within 3.2%),
// and the non-empty buckets themselves, in nanoseconds.
type Row struct {
	Name    string   `json:"name"`
	Count   uint64   `json:"count"`
	MeanUS  float64  `json:"mean_us"`
	P50US   float64  `json:"p50_us"`
	P90US   float64  `json:"p90_us"`
	P99US   float64  `json:"p99_us"`
	MaxUS   float64  `json:"max_us"`
	Buckets []Bucket `json:"buckets"`
}

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

func rowOf(name string, h *Histogram) Row {
	return Row{Name: name, Count: h.Count(), MeanUS: micros(h.Mean()), P50US: micros(h.Quantile(0.5)),
		P90US: micros(h.Quantile(0.9)), P99US: micros(h.Quantile(0.99)), MaxUS: micros(h.Max()), Buckets: h.Buckets()}
}

// Report summarizes t; the caller fills in the process, time and counters.
func (t *Tally) Report() Report {
	var r Report
	n := len(t.stages)
	for k := 1; k <= n; k++ {
		i := k % n
		row := rowOf(SegmentName(t.stages, i), &t.segments[i])
		r.Stages = append(r.Stages, row)
		r.SumOfMediansUS += row.P50US
	}
	r.RoundTrip = rowOf("round trip (submit → next submit)", &t.roundTrip)
	for w, who := range []string{"driver", "workers"} {
		r.Kernel = append(r.Kernel,
			rowOf(who+" run queue after wakeup", &t.sched[w][waitRunQueue]),
			rowOf(who+" off CPU, blocked", &t.sched[w][waitBlocked]),
			rowOf(who+" off CPU, runnable (preempted/yield)", &t.sched[w][waitRunnable]))
	}
	return r
}

// MedianGap is how far the sum of the stages' medians is from the median
// round trip, as a fraction of the latter (0.05 is 5% more); NaN without
// round trips.
func (r *Report) MedianGap() float64 {
	if r.RoundTrip.P50US == 0 {
		return math.NaN()
	}
	return r.SumOfMediansUS/r.RoundTrip.P50US - 1
}

// coarseBounds are the upper bounds, in µs, of the histogram columns of
// WriteText; a last column holds the rest.
var coarseBounds = []float64{1, 2, 4, 8, 16, 32, 64, 128, 256}

// Coarse counts the row's durations in the µs columns of WriteText
// (below 1, 1-2, 2-4, ... 128-256, 256 and more), placing each bucket by
// its middle.
func (row *Row) Coarse() []uint64 {
	out := make([]uint64, len(coarseBounds)+1)
	for _, b := range row.Buckets {
		mid := (float64(b.LoNS) + float64(b.HiNS)) / 2 / 1e3
		i := 0
		for i < len(coarseBounds) && mid >= coarseBounds[i] {
			i++
		}
		out[i] += b.Count
	}
	return out
}

// WriteText prints the report as tables: the stages with the round trip
// and the sum of medians, then the kernel view. Each row has its count,
// mean, p50, p90, p99 and max, and its histogram in µs columns; with the
// probe's cost known, the stages also their median less the probe hits
// they hold (p50-hits), an estimate of the time they take unprobed.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "pid %d, workers %v, %.1f s: %d round trips (%.0f/s); dropped: %d broken%s, %d gaps; %d events skipped, %d lost\n",
		r.PID, r.Workers, r.Seconds, r.RoundTrip.Count, float64(r.RoundTrip.Count)/max(r.Seconds, 1e-9), r.Broken, brokenAt(r.BrokenAt), r.Gaps, r.Skipped, r.Lost)
	width := utf8.RuneCountInString(r.RoundTrip.Name)
	for _, row := range append(append([]Row{}, r.Stages...), r.Kernel...) {
		width = max(width, utf8.RuneCountInString(row.Name))
	}
	// The stage table has one more column when the probe's cost is known:
	// the median less the hits the row holds, an estimate of the unprobed time.
	hits := r.ProbeCostUS > 0
	header := func(title string, hitColumn bool) {
		fmt.Fprintf(&b, "%s%s %9s %8s %8s %8s %8s %8s", title, pad(title, width), "count", "mean", "p50", "p90", "p99", "max")
		if hitColumn {
			fmt.Fprintf(&b, " %8s", "p50-hits")
		}
		b.WriteString(" |")
		prev := "<"
		for i, hi := range coarseBounds {
			if i > 0 {
				prev = fmt.Sprintf("%g-", coarseBounds[i-1])
			}
			fmt.Fprintf(&b, " %7s", fmt.Sprintf("%s%g", prev, hi))
		}
		fmt.Fprintf(&b, " %7s  (µs)\n", fmt.Sprintf("≥%g", coarseBounds[len(coarseBounds)-1]))
	}
	line := func(row Row, hitColumn bool, hitsIn int) {
		fmt.Fprintf(&b, "%s%s %9d %8.2f %8.2f %8.2f %8.2f %8.1f", row.Name, pad(row.Name, width), row.Count, row.MeanUS, row.P50US, row.P90US, row.P99US, row.MaxUS)
		if hitColumn {
			fmt.Fprintf(&b, " %8.2f", max(0, row.P50US-float64(hitsIn)*r.ProbeCostUS))
		}
		b.WriteString(" |")
		for _, c := range row.Coarse() {
			fmt.Fprintf(&b, " %7d", c)
		}
		b.WriteByte('\n')
	}
	switch {
	case len(r.Stages) == 0:
		b.WriteString("stages not probed: the scheduler's view only\n")
	case r.RoundTrip.Count == 0:
		b.WriteString("no complete round trips\n")
	default:
		header("stage (entry of the one before → entry of this one)", hits)
		for _, row := range r.Stages {
			line(row, hits, 1)
		}
		line(r.RoundTrip, hits, len(r.Stages))
		fmt.Fprintf(&b, "sum of stage medians %.2f µs, median round trip %.2f µs: %+.1f%%\n", r.SumOfMediansUS, r.RoundTrip.P50US, 100*r.MedianGap())
		if hits {
			fmt.Fprintf(&b, "one probe hit costs about %.2f µs (measured at attach, on the probe's own process); each stage holds one, the round trip %d: p50-hits takes them out\n",
				r.ProbeCostUS, len(r.Stages))
		}
	}
	header("kernel view (scheduler, target threads)", false)
	for _, row := range r.Kernel {
		line(row, false, 0)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// brokenAt lists the broken round trips' first missing stages.
func brokenAt(m map[string]uint64) string {
	if len(m) == 0 {
		return ""
	}
	var parts []string
	for name, n := range m {
		parts = append(parts, fmt.Sprintf("%d without %s", n, name))
	}
	slices.Sort(parts)
	return " (" + strings.Join(parts, ", ") + ")"
}

func pad(s string, width int) string {
	return strings.Repeat(" ", max(0, width-utf8.RuneCountInString(s)))
}

// Figure draws the stages' and the round trip's p50, p90 and p99 as
// grouped bars on a logarithmic µs axis; name is the file name
// plots.Render gives it.
func (r *Report) Figure(name string) plots.Figure {
	f := plots.Figure{Name: name, Kind: plots.KindBars, LogY: true, YLabel: "µs",
		Title: fmt.Sprintf("where a round trip spends its time (pid %d, %d round trips)", r.PID, r.RoundTrip.Count), Legend: "top-left"}
	quantiles := []struct {
		label string
		of    func(Row) float64
	}{
		{"p50", func(row Row) float64 { return row.P50US }},
		{"p90", func(row Row) float64 { return row.P90US }},
		{"p99", func(row Row) float64 { return row.P99US }},
	}
	rows := append(append([]Row{}, r.Stages...), r.RoundTrip)
	for _, row := range rows {
		category := "round trip"
		if _, to, ok := strings.Cut(row.Name, " → "); ok && row.Name != r.RoundTrip.Name {
			category = "→" + to
		}
		f.Categories = append(f.Categories, category)
	}
	for _, q := range quantiles {
		s := plots.Series{Label: q.label}
		for _, row := range rows {
			s.Y = append(s.Y, q.of(row))
		}
		f.Series = append(f.Series, s)
	}
	return f
}
