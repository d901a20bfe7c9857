package benchmarks

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestFig11aTiny runs Figure 11a's jobs on a small local cluster: both
// runs of a size finish every chain with the right value (the job checks
// every byte), the runs' records cover every link, and the outcome has
// its metrics and figures. It checks nothing about speed.
func TestFig11aTiny(t *testing.T) {
	manta := buildManta(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	p := fig11aParams{Manta: manta, Workers: 2, Slots: 2, Links: 20, Task: 20 * time.Millisecond,
		Sizes: []int{1 << 20}, Reps: 1, Bin: 100 * time.Millisecond, Log: testLog{t}}
	d, err := fig11aExperiment(ctx, &Env{Scale: Quick}, p)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Runs) != 2 || d.Runs[0].Failure || !d.Runs[1].Failure {
		t.Fatalf("runs %+v", d.Runs)
	}
	for _, r := range d.Runs {
		if r.Verified != d.Chains || r.Runs < d.Chains*d.Links || len(r.Original) == 0 {
			t.Errorf("run (failure %v): %d of %d chains verified, %d runs, %d bins", r.Failure, r.Verified, d.Chains, r.Runs, len(r.Original))
		}
	}
	k := d.Runs[1]
	if k.KilledNode == 0 || k.JoinedAt < k.KilledAt {
		t.Errorf("kill: node %d at %.2f s, replacement joined at %.2f s", k.KilledNode, k.KilledAt, k.JoinedAt)
	}
	t.Logf("failure-free %.2f s, with the kill %.2f s; %d runs again, %d chains rebuilt", d.Runs[0].Seconds, k.Seconds, k.Reexecuted, k.Rebuilt)
	o := fig11aOutcome(d)
	if len(o.Figures) != 2 || len(o.Metrics) == 0 {
		t.Fatalf("%d figures, %d metrics", len(o.Figures), len(o.Metrics))
	}
}

// read counts a link's first finished run as original and later ones as
// runs again, by when they finished, whatever file they are in.
func TestFig11aRead(t *testing.T) {
	dir := t.TempDir()
	began := time.Unix(100, 0)
	at := func(ms int) int64 { return began.Add(time.Duration(ms) * time.Millisecond).UnixNano() }
	lines := map[string][]string{
		"1.log": {
			fmt.Sprintf("0 0 %d %d 1", at(0), at(50)),
			fmt.Sprintf("0 1 %d %d 1", at(50), at(120)),
			"0 2 12", // cut short
		},
		"2.log": {
			fmt.Sprintf("1 0 %d %d 2", at(0), at(60)),
			fmt.Sprintf("1 1 %d %d 2", at(60), at(110)),
			fmt.Sprintf("0 0 %d %d 2", at(150), at(210)), // chain 0 rebuilt
			fmt.Sprintf("0 1 %d %d 2", at(210), at(260)),
		},
	}
	for name, ls := range lines {
		var b []byte
		for _, l := range ls {
			b = append(b, l+"\n"...)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r := fig11aRun{Seconds: 0.3}
	if err := r.read(dir, began, fig11aParams{Workers: 1, Slots: 2, Links: 2, Bin: 100 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if r.Runs != 6 || r.Reexecuted != 2 || r.Rebuilt != 1 || r.MostRerun != 2 || r.PerNode[1] != 2 || r.PerNode[2] != 4 {
		t.Fatalf("%+v", r)
	}
	if want := []int{2, 2, 0, 0}; fmt.Sprint(r.Original) != fmt.Sprint(want) {
		t.Errorf("original per bin %v, want %v", r.Original, want)
	}
	if want := []int{0, 0, 2, 0}; fmt.Sprint(r.Rerun) != fmt.Sprint(want) {
		t.Errorf("runs again per bin %v, want %v", r.Rerun, want)
	}
	if r.FirstRerunAt != 0.21 {
		t.Errorf("first run again at %v s", r.FirstRerunAt)
	}
	// A link with no record is an error: the job lost track of it.
	r = fig11aRun{Seconds: 0.3}
	if err := r.read(dir, began, fig11aParams{Workers: 1, Slots: 3, Links: 2, Bin: 100 * time.Millisecond}); err == nil {
		t.Error("records of 4 links accepted for 6")
	}
}
