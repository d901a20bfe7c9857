package micro

import (
	"context"
	"fmt"
	"math"
	"os"
	"slices"
	"time"

	"manta/core"
)

// Result is one measured row, in the JSON shape `manta microbenchmark
// --json` prints.
type Result struct {
	Name     string   `json:"name"`
	Value    float64  `json:"value"`
	Unit     string   `json:"unit"`
	Baseline float64  `json:"baseline"`
	Ray      *float64 `json:"ray"` // null where Ray publishes no figure
}

// Run measures each row for about d in manta and d in its baseline. Only
// rows whose names are in only run, when only is not empty. The two are
// measured in alternating slices of the time, so a machine that speeds up
// or slows down meanwhile (shared hosts do) affects both alike and their
// ratio stays meaningful.
func Run(ctx context.Context, rows []Row, d time.Duration, only map[string]bool, report func(Result)) error {
	for _, r := range rows {
		if len(only) > 0 && !only[r.Name] {
			continue
		}
		baseF := timed(func(b int) (int, error) { return r.baseline(b), nil })
		value, base, err := alternate(r, r.measured(ctx), baseF, nil, d, baselinePairs)
		if err != nil {
			return err
		}
		res := Result{Name: r.Name, Value: total(value).perSecond(), Unit: r.Unit, Baseline: total(base).perSecond()}
		if r.perSecond != 0 {
			res.Value, res.Baseline = res.Value*r.perSecond, res.Baseline*r.perSecond
		}
		if r.Ray != 0 {
			ray := r.Ray
			res.Ray = &ray
		}
		report(res)
	}
	return nil
}

// Overhead is one row measured with task-life events off and on, in
// alternating slices of the same run.
type Overhead struct {
	Name string  `json:"name"`
	Unit string  `json:"unit"`
	Off  float64 `json:"off"` // the row's rate over all the slices with events off
	On   float64 `json:"on"`  // and with them on
	// Ratio is the median, over the pairs of adjacent slices, of on ÷ off
	// within the pair: 1 means recording costs nothing. A pair's two
	// slices share the machine's state of the moment (another tenant's
	// load, a collection), which the totals' ratio would not cancel.
	Ratio float64 `json:"ratio"`
	// Low and High bound Ratio with 95% confidence (the order statistics
	// of the pairs' ratios around their median); Pairs is how many.
	Low   float64 `json:"low"`
	High  float64 `json:"high"`
	Pairs int     `json:"pairs"`
}

// OverheadSlice is how long each slice of RunEventsOverhead lasts, so
// that a longer d buys more pairs rather than longer ones.
const OverheadSlice = 100 * time.Millisecond

// RunEventsOverhead measures each row (those in only, when it is not
// empty) for about d with events off and d with them on, in slices of
// OverheadSlice (at least 5 pairs), record turning recording on and off
// (core.Cluster.RecordEvents).
func RunEventsOverhead(ctx context.Context, rows []Row, d time.Duration, only map[string]bool, record func(on bool), report func(Overhead)) error {
	defer record(false)
	pairs := max(5, int(d/OverheadSlice))
	for _, r := range rows {
		if len(only) > 0 && !only[r.Name] {
			continue
		}
		f := r.measured(ctx)
		off, on, err := alternate(r, f, f, record, d, pairs)
		if err != nil {
			return err
		}
		res := Overhead{Name: r.Name, Unit: r.Unit, Off: total(off).perSecond(), On: total(on).perSecond(), Pairs: pairs}
		if r.perSecond != 0 {
			res.Off, res.On = res.Off*r.perSecond, res.On*r.perSecond
		}
		ratios := make([]float64, pairs)
		for i := range ratios {
			ratios[i] = on[i].perSecond() / off[i].perSecond()
		}
		res.Ratio, res.Low, res.High = medianInterval(ratios)
		report(res)
	}
	return nil
}

// MeasureEventsOverhead starts an embedded node recording the events of
// one task in sample to a temporary directory (removed after), and runs
// RunEventsOverhead on it. The rows must not have run on another node: a
// row keeps the actors it made.
//
// Sample 0 is the control (ControlSample): the same run, recorder and
// switching, with recording off in both slices of every pair, so that
// its ratios show how far the method strays from 1 on this machine when
// nothing differs.
func MeasureEventsOverhead(ctx context.Context, rows []Row, d time.Duration, only map[string]bool, sample int, report func(Overhead)) error {
	if sample < 0 {
		return fmt.Errorf("events sample %d: want 0 (the control) or more", sample)
	}
	dir, err := os.MkdirTemp("", "manta-events-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	c, err := core.Init(core.Config{EventsDir: dir, EventsSample: max(sample, 1)})
	if err != nil {
		return err
	}
	defer c.Shutdown()
	record := c.RecordEvents
	if sample == ControlSample {
		record = func(bool) { c.RecordEvents(false) }
	}
	if err := RunEventsOverhead(ctx, rows, d, only, record, report); err != nil {
		return err
	}
	return c.Shutdown()
}

// ControlSample is the sampling period that makes MeasureEventsOverhead
// an A/A control: no task's events are recorded in either slice.
const ControlSample = 0

// medianInterval returns the median of xs (which it sorts) and a 95%
// confidence interval for it: the order statistics k and n+1-k, with k
// the largest for which a Binomial(n, ½) falls below k with probability
// at most 2.5% (for n < 6 there is none such; the interval is then the
// whole range).
func medianInterval(xs []float64) (median, low, high float64) {
	slices.Sort(xs)
	n := len(xs)
	median = xs[n/2]
	if n%2 == 0 {
		median = (xs[n/2-1] + xs[n/2]) / 2
	}
	k, below, p := 0, 0.0, math.Pow(0.5, float64(n)) // p: P(Bin = k)
	for k < n/2 && below+p <= 0.025 {
		below += p
		k++
		p *= float64(n-k+1) / float64(k)
	}
	// P(Bin < k) <= 2.5%: the k-th smallest (index k-1) and k-th largest.
	k = max(k, 1)
	return median, xs[k-1], xs[n-k]
}

// measured is what Run times of the row in manta.
func (r Row) measured(ctx context.Context) func(int) (int, time.Duration, error) {
	if r.timed != nil {
		return func(b int) (int, time.Duration, error) { return r.timed(ctx, b) }
	}
	return timed(func(b int) (int, error) { return r.manta(ctx, b) })
}

// alternate warms a up, then measures a and b in alternating slices,
// pairs of each, in about d for each in all, calling turn(false) before
// a's and turn(true) before b's when turn is set. It returns each
// slice's rate, by pair. The order flips every pair (a b, b a, a b,
// ...), so that neither pays more often for what the other left behind
// (a flush, a collection).
func alternate(r Row, a, b func(int) (int, time.Duration, error), turn func(bool), d time.Duration, pairs int) (ra, rb []rate, err error) {
	if turn != nil {
		turn(false)
	}
	// A warm-up starts the workers and actors the row needs.
	var warm rate
	if err := warm.add(a, r.batch, d/10); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", r.Name, err)
	}
	ra, rb = make([]rate, pairs), make([]rate, pairs)
	measure := func(i int, second bool) error {
		if turn != nil {
			turn(second)
		}
		into, f := &ra[i], a
		if second {
			into, f = &rb[i], b
		}
		if err := into.add(f, r.batch, d/time.Duration(pairs)); err != nil {
			return fmt.Errorf("%s: %w", r.Name, err)
		}
		return nil
	}
	for i := range pairs {
		flip := i%2 == 1
		if err := measure(i, flip); err != nil {
			return nil, nil, err
		}
		if err := measure(i, !flip); err != nil {
			return nil, nil, err
		}
	}
	return ra, rb, nil
}

// baselinePairs is how many turns manta and the baseline each take within
// a row.
const baselinePairs = 5

// rate sums operations and the time they took, over a slice or more.
type rate struct {
	ops     int
	elapsed time.Duration
}

// total sums the slices' rates.
func total(rs []rate) rate {
	var t rate
	for _, r := range rs {
		t.ops += r.ops
		t.elapsed += r.elapsed
	}
	return t
}

// add repeats f for at least d, counting the operations and the time f
// reports.
func (r *rate) add(f func(batch int) (int, time.Duration, error), batch int, d time.Duration) error {
	start := time.Now()
	for {
		n, took, err := f(batch)
		if err != nil {
			return err
		}
		r.ops += n
		r.elapsed += took
		if time.Since(start) >= d {
			return nil
		}
	}
}

// timed counts all of f's time.
func timed(f func(batch int) (int, error)) func(batch int) (int, time.Duration, error) {
	return func(batch int) (int, time.Duration, error) {
		began := time.Now()
		n, err := f(batch)
		return n, time.Since(began), err
	}
}

func (r rate) perSecond() float64 { return float64(r.ops) / r.elapsed.Seconds() }

// QueuedRow is the name of the memory row RunQueued reports.
const QueuedRow = "1m_queued_tasks_memory"

// RunQueued measures the driver's memory for n queued tasks (see
// QueuedMemory) and reports it in MiB; Ray publishes no such figure (its
// documented envelope is "1M+ queued tasks").
func RunQueued(ctx context.Context, n int, report func(Result)) error {
	m, b, err := QueuedMemory(ctx, n)
	if err != nil {
		return fmt.Errorf("%s: %w", QueuedRow, err)
	}
	const mib = 1 << 20
	report(Result{Name: QueuedRow, Value: m / mib, Unit: fmt.Sprintf("MiB for %d queued tasks", n), Baseline: b / mib})
	return nil
}
