package benchmarks

import (
	"context"
	"testing"
	"time"
)

// TestFig11bTiny runs Figure 11b's jobs on a small local cluster: in
// both modes every call returns the right sum and every actor ends with
// the right one (the job checks them), the kills take the actors of two
// nodes, and the outcome has its metrics and figures. It checks nothing
// about speed, nor how many calls ran again.
func TestFig11bTiny(t *testing.T) {
	manta := buildManta(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	p := fig11bParams{Manta: manta, Workers: 2, Slots: 2, Calls: 100, Task: 5 * time.Millisecond, CheckpointEvery: 10,
		Reps: 1, Bin: 100 * time.Millisecond, Log: testLog{t}}
	d, err := fig11bExperiment(ctx, &Env{Scale: Quick}, p)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Runs) != 4 {
		t.Fatalf("%d runs, want 4", len(d.Runs))
	}
	for _, r := range d.Runs {
		if r.Verified != d.Actors || r.Runs < d.Actors*d.Calls || len(r.Original) == 0 {
			t.Errorf("run (checkpoint every %d, failure %v): %d of %d actors verified, %d runs, %d bins", r.CheckpointEvery, r.Failure, r.Verified, d.Actors, r.Runs, len(r.Original))
		}
		if !r.Failure {
			continue
		}
		if len(r.Kills) != 2 || r.Killed != 2*p.Slots {
			t.Errorf("run (checkpoint every %d): kills %+v, %d actors on the killed nodes", r.CheckpointEvery, r.Kills, r.Killed)
		}
		t.Logf("checkpoint every %d: %.2f s, %d calls re-executed, %d replayed by the driver, %d run by the killed actors before the kills",
			r.CheckpointEvery, r.Seconds, r.Reexecuted, r.Replayed, r.RunBeforeKills)
	}
	o := fig11bOutcome(d)
	if len(o.Figures) != 3 || len(o.Metrics) == 0 {
		t.Fatalf("%d figures, %d metrics", len(o.Figures), len(o.Metrics))
	}
}

// runOnNode finds the actors whose last run before the kill was on the
// killed node, and counts the calls they had run, once each.
func TestFig11bRunOnNode(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	records := []runRecord{
		{item: 0, step: 1, node: 1, end: ms(10)},
		{item: 1, step: 1, node: 1, end: ms(10)},
		{item: 2, step: 1, node: 2, end: ms(10)},
		{item: 0, step: 2, node: 1, end: ms(20)},
		{item: 1, step: 1, node: 3, end: ms(30)}, // actor 1 restarted on node 3
		{item: 0, step: 3, node: 1, end: ms(40)},
		{item: 0, step: 4, node: 1, end: ms(60)}, // after the kill
	}
	if actors, calls := runOnNode(records, 1, ms(50)); actors != 1 || calls != 3 {
		t.Errorf("node 1 killed at 50 ms: %d actors, %d calls; want 1 (actor 0) and 3", actors, calls)
	}
	if actors, calls := runOnNode(records, 1, ms(25)); actors != 2 || calls != 3 {
		t.Errorf("node 1 killed at 25 ms: %d actors, %d calls; want 2 and 3", actors, calls)
	}
	if actors, calls := runOnNode(records, 4, ms(50)); actors != 0 || calls != 0 {
		t.Errorf("node 4: %d actors, %d calls; want none", actors, calls)
	}
}
