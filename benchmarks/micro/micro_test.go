package micro

import (
	"context"
	"os"
	"testing"
	"time"

	"manta/core"
)

func TestMain(m *testing.M) {
	core.WorkerMain()
	os.Exit(m.Run())
}

// TestEveryRowRuns runs each row briefly: each must complete its work and
// report a positive rate for manta and its baseline, and Ray's figure
// where Ray publishes one.
func TestEveryRowRuns(t *testing.T) {
	c, err := core.Init(core.Config{Resources: map[string]float64{"CPU": 2}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Shutdown()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	seen := map[string]bool{}
	publishes := map[string]bool{}
	for _, r := range Rows(2) {
		publishes[r.Name] = r.Ray != 0
	}
	err = Run(ctx, Rows(2), 20*time.Millisecond, nil, func(r Result) {
		seen[r.Name] = true
		if r.Value <= 0 || r.Baseline <= 0 || (r.Ray != nil) != publishes[r.Name] {
			t.Errorf("%s: %+v", r.Name, r)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != len(Rows(2)) {
		t.Fatalf("reported %d rows, want %d", len(seen), len(Rows(2)))
	}
	err = RunQueued(ctx, 20000, func(r Result) {
		if r.Name != QueuedRow || r.Value <= 0 || r.Ray != nil {
			t.Errorf("queued row: %+v", r)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
}
