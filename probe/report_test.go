package probe

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"manta/plots"
)

// syntheticReport tallies 1000 round trips whose stage i takes
// (i+1) µs, plus scheduler events of the driver and a worker.
func syntheticReport(t *testing.T) Report {
	t.Helper()
	tally, part := NewTally(SyncRoundTrip), NewTally(SyncRoundTrip)
	segs := make([]uint64, len(SyncRoundTrip))
	for n := range 1000 {
		for i := range segs {
			segs[i] = uint64(i+1) * 1000
		}
		if n%2 == 1 {
			part.AddRoundTrip(segs)
		} else {
			tally.AddRoundTrip(segs)
		}
		part.AddSched(Event{Kind: KindRunQueue, Wait: 1500}, false)
		part.AddSched(Event{Kind: KindOffCPU, Aux: 1, Wait: 50000}, true)
		part.AddSched(Event{Kind: KindOffCPU, Wait: 7000}, true)
		part.AddSched(Event{Kind: KindStage, Aux: 3}, true) // not the scheduler's: ignored
	}
	tally.Merge(part)
	r := tally.Report()
	r.PID, r.Seconds = 42, 2
	return r
}

func TestReportRowsAndMedians(t *testing.T) {
	r := syntheticReport(t)
	if len(r.Stages) != len(SyncRoundTrip) {
		t.Fatalf("%d stage rows, want %d", len(r.Stages), len(SyncRoundTrip))
	}
	// Path order, the way back to the next submission last.
	if r.Stages[0].Name != "driver.submit → Node.Submit" || r.Stages[len(r.Stages)-1].Name != "Host.resultsLocked → driver.submit" {
		t.Errorf("rows from %q to %q", r.Stages[0].Name, r.Stages[len(r.Stages)-1].Name)
	}
	for k, row := range r.Stages {
		want := float64((k+1)%len(SyncRoundTrip) + 1)
		if row.Count != 1000 || math.Abs(row.P50US-want) > want/32 || row.MeanUS != want {
			t.Errorf("%s: count %d, p50 %v, mean %v; want 1000, %v", row.Name, row.Count, row.P50US, row.MeanUS, want)
		}
	}
	if r.RoundTrip.Count != 1000 || r.RoundTrip.MeanUS != 45 {
		t.Errorf("round trip: count %d mean %v, want 1000 and 45 µs", r.RoundTrip.Count, r.RoundTrip.MeanUS)
	}
	if gap := r.MedianGap(); math.Abs(gap) > 1.0/32 {
		t.Errorf("sum of medians %v vs median round trip %v: gap %v", r.SumOfMediansUS, r.RoundTrip.P50US, gap)
	}
	counts := map[string]uint64{}
	for _, row := range r.Kernel {
		counts[row.Name] = row.Count
	}
	if counts["driver run queue after wakeup"] != 1000 || counts["workers off CPU, blocked"] != 1000 ||
		counts["workers off CPU, runnable (preempted/yield)"] != 1000 || counts["driver off CPU, blocked"] != 0 {
		t.Errorf("kernel rows %v", counts)
	}
	var empty Report
	if !math.IsNaN(empty.MedianGap()) {
		t.Errorf("MedianGap without round trips = %v, want NaN", empty.MedianGap())
	}
}

func TestReportJSON(t *testing.T) {
	r := syntheticReport(t)
	r.BrokenAt = map[string]uint64{"effects.Wake": 3}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	again, _ := json.Marshal(back)
	if !bytes.Equal(b, again) {
		t.Errorf("JSON changed on the way back:\n%s\n%s", b, again)
	}
	for _, key := range []string{`"p99_us"`, `"buckets"`, `"lo_ns"`, `"sum_of_medians_us"`, `"kernel"`, `"broken_at":{"effects.Wake":3}`} {
		if !bytes.Contains(b, []byte(key)) {
			t.Errorf("JSON lacks %s", key)
		}
	}
}

func TestReportText(t *testing.T) {
	r := syntheticReport(t)
	r.ProbeCostUS = 2
	var b strings.Builder
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	for _, want := range []string{"pid 42", "1000 round trips (500/s)", "proc.send → worker invoke", "round trip (submit → next submit)",
		"sum of stage medians", "p50-hits", "workers off CPU, blocked", "(µs)"} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
	// Stage "Node.Submit → Node.dispatch" (stage 2) takes 3 µs: 1 less its
	// one hit of 2 µs, in the histogram's 2-4 column; the round trip takes
	// 45 µs, 27 less its 9 hits.
	rows := map[string][]string{}
	for _, line := range strings.Split(text, "\n") {
		for _, name := range []string{"Node.Submit → Node.dispatch", "round trip (submit → next submit)"} {
			if strings.HasPrefix(line, name) {
				rows[name] = strings.Fields(strings.TrimPrefix(line, name))
			}
		}
	}
	if cols := rows["Node.Submit → Node.dispatch"]; len(cols) != 18 || cols[6] != "1.00" || cols[7] != "|" || cols[10] != "1000" {
		t.Errorf("Node.dispatch's columns %q: want p50-hits 1.00 and 1000 in 2-4", cols)
	}
	if cols := rows["round trip (submit → next submit)"]; len(cols) != 18 || cols[6] != "27.00" {
		t.Errorf("the round trip's columns %q: want p50-hits 27.00", cols)
	}
	for want, r := range map[string]Report{
		"no complete round trips":                      NewTally(SyncRoundTrip).Report(),
		"stages not probed: the scheduler's view only": NewTally(nil).Report(),
	} {
		b.Reset()
		if err := r.WriteText(&b); err != nil || !strings.Contains(b.String(), want) {
			t.Errorf("report without round trips: %q, %v; want %q", b.String(), err, want)
		}
	}
}

func TestReportFigure(t *testing.T) {
	r := syntheticReport(t)
	f := r.Figure("probe")
	if err := f.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(f.Categories) != len(SyncRoundTrip)+1 || f.Categories[0] != "→Node.Submit" || f.Categories[len(f.Categories)-1] != "round trip" {
		t.Errorf("categories %q", f.Categories)
	}
	paths, err := plots.Render(f, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range paths {
		if fi, err := os.Stat(path); err != nil || fi.Size() == 0 || !strings.HasPrefix(filepath.Base(path), "probe.") {
			t.Errorf("%s: %v", path, err)
		}
	}
}
