package micro

import (
	"context"
	"fmt"
	"time"
)

// Result is one measured row, in the JSON shape `manta microbenchmark
// --json` prints.
type Result struct {
	Name     string  `json:"name"`
	Value    float64 `json:"value"`
	Unit     string  `json:"unit"`
	Baseline float64 `json:"baseline"`
	Ray      float64 `json:"ray"`
}

// Run measures each row for about d in manta and d in its baseline. Only
// rows whose names are in only run, when only is not empty.
func Run(ctx context.Context, rows []Row, d time.Duration, only map[string]bool, report func(Result)) error {
	for _, r := range rows {
		if len(only) > 0 && !only[r.Name] {
			continue
		}
		// A short warm-up starts the workers and actors the row needs.
		if _, err := measure(func(b int) (int, error) { return r.manta(ctx, b) }, r.batch, d/10); err != nil {
			return fmt.Errorf("%s: %w", r.Name, err)
		}
		value, err := measure(func(b int) (int, error) { return r.manta(ctx, b) }, r.batch, d)
		if err != nil {
			return fmt.Errorf("%s: %w", r.Name, err)
		}
		base, _ := measure(func(b int) (int, error) { return r.baseline(b), nil }, r.batch, d)
		report(Result{Name: r.Name, Value: value, Unit: r.Unit, Baseline: base, Ray: r.Ray})
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
