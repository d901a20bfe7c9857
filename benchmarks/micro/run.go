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
// rows whose names are in only run, when only is not empty.
func Run(ctx context.Context, rows []Row, d time.Duration, only map[string]bool, report func(Result)) error {
	for _, r := range rows {
		if len(only) > 0 && !only[r.Name] {
			continue
		}
		// A warm-up starts the workers and actors the row needs.
		warm := func() error {
			_, err := measure(func(b int) (int, error) { return r.manta(ctx, b) }, r.batch, d/10)
			return err
		}
		if r.warmBatches > 0 {
			warm = func() error {
				start := time.Now()
				for i := 0; i < r.warmBatches && time.Since(start) < 5*d; i++ {
					if _, err := r.manta(ctx, r.batch); err != nil {
						return err
					}
				}
				return nil
			}
		}
		if err := warm(); err != nil {
			return fmt.Errorf("%s: %w", r.Name, err)
		}
		value, err := measure(func(b int) (int, error) { return r.manta(ctx, b) }, r.batch, d)
		if err != nil {
			return fmt.Errorf("%s: %w", r.Name, err)
		}
		base, _ := measure(func(b int) (int, error) { return r.baseline(b), nil }, r.batch, d)
		if r.perSecond != 0 {
			value, base = value*r.perSecond, base*r.perSecond
		}
		res := Result{Name: r.Name, Value: value, Unit: r.Unit, Baseline: base}
		if r.Ray != 0 {
			ray := r.Ray
			res.Ray = &ray
		}
		report(res)
	}
	return nil
}

// measure repeats f until d has passed and returns operations per second.
func measure(f func(batch int) (int, error), batch int, d time.Duration) (float64, error) {
	start := time.Now()
	ops := 0
	for {
		n, err := f(batch)
		if err != nil {
			return 0, err
		}
		ops += n
		if el := time.Since(start); el >= d {
			return float64(ops) / el.Seconds(), nil
		}
	}
}

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
