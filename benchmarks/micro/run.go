package micro

import (
	"context"
	"fmt"
	"time"
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
		value, base, err := alternate(r, r.measured(ctx), baseF, nil, d)
		if err != nil {
			return err
		}
		res := Result{Name: r.Name, Value: value.perSecond(), Unit: r.Unit, Baseline: base.perSecond()}
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
	Off  float64 `json:"off"`
	On   float64 `json:"on"`
	// Ratio is On ÷ Off: 1 means recording costs nothing.
	Ratio float64 `json:"ratio"`
}

// RunEventsOverhead measures each row (those in only, when it is not
// empty) for about d with events off and d with them on, record turning
// recording on and off (core.Cluster.RecordEvents).
func RunEventsOverhead(ctx context.Context, rows []Row, d time.Duration, only map[string]bool, record func(on bool), report func(Overhead)) error {
	defer record(false)
	for _, r := range rows {
		if len(only) > 0 && !only[r.Name] {
			continue
		}
		f := r.measured(ctx)
		off, on, err := alternate(r, f, f, record, d)
		if err != nil {
			return err
		}
		res := Overhead{Name: r.Name, Unit: r.Unit, Off: off.perSecond(), On: on.perSecond()}
		if r.perSecond != 0 {
			res.Off, res.On = res.Off*r.perSecond, res.On*r.perSecond
		}
		res.Ratio = res.On / res.Off
		report(res)
	}
	return nil
}

// measured is what Run times of the row in manta.
func (r Row) measured(ctx context.Context) func(int) (int, time.Duration, error) {
	if r.timed != nil {
		return func(b int) (int, time.Duration, error) { return r.timed(ctx, b) }
	}
	return timed(func(b int) (int, error) { return r.manta(ctx, b) })
}

// alternate warms a up, then measures a and b in alternating slices of
// about d each in all, calling turn(false) before a's and turn(true)
// before b's when turn is set. The order flips every pair (a b, b a,
// a b, ...), so that neither pays more often for what the other left
// behind (a flush, a collection).
func alternate(r Row, a, b func(int) (int, time.Duration, error), turn func(bool), d time.Duration) (ra, rb rate, err error) {
	if turn != nil {
		turn(false)
	}
	// A warm-up starts the workers and actors the row needs.
	var warm rate
	if err := warm.add(a, r.batch, d/10); err != nil {
		return ra, rb, fmt.Errorf("%s: %w", r.Name, err)
	}
	measure := func(second bool) error {
		if turn != nil {
			turn(second)
		}
		into, f := &ra, a
		if second {
			into, f = &rb, b
		}
		if err := into.add(f, r.batch, d/slices); err != nil {
			return fmt.Errorf("%s: %w", r.Name, err)
		}
		return nil
	}
	for i := range slices {
		flip := i%2 == 1
		if err := measure(flip); err != nil {
			return ra, rb, err
		}
		if err := measure(!flip); err != nil {
			return ra, rb, err
		}
	}
	return ra, rb, nil
}

// slices is how many turns manta and the baseline take within a row.
const slices = 5

// rate sums operations and time over a row's slices.
type rate struct {
	ops     int
	elapsed time.Duration
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

func (r *rate) perSecond() float64 { return float64(r.ops) / r.elapsed.Seconds() }

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
