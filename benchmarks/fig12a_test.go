package benchmarks

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestFig12aManta times manta's side briefly: every repetition's time,
// the members agreeing on the sums they check.
func TestFig12aManta(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	times, err := fig12aManta(ctx, 2, []int64{4 << 10, 3 << 20}, []int{3, 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(times) != 2 || len(times[0]) != 3 || len(times[1]) != 2 {
		t.Fatalf("times %v", times)
	}
	for _, ts := range times {
		for _, s := range ts {
			if !(s > 0) {
				t.Fatalf("a time of %v s", s)
			}
		}
	}
}

// The outcome compares with OpenMPI where it ran, and says why where it
// did not.
func TestFig12aOutcome(t *testing.T) {
	rows := []fig12aRow{
		{Bytes: 1 << 20, Manta: []float64{0.002, 0.003}, MPI: []float64{0.001}, MPITCP: []float64{0.002}},
		{Bytes: 100 << 20, Manta: []float64{0.1}, MPI: []float64{0.2}, MPITCP: []float64{0.3}},
	}
	out := fig12aOutcome(fig12aData{Library: "Open MPI v4.1.4", Runs: []fig12aRun{{Ranks: 2, Rows: rows}}})
	if err := resolve(out.Metrics, Paper()); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, m := range out.Metrics {
		if m.Claim == "fig12a.speedup_100mb" {
			found = m.Value == 2 && m.Ratio != nil
		}
	}
	if !found || len(out.Figures) != 1 || len(out.Figures[0].Series) != 3 {
		t.Fatalf("metrics %+v, figures %d", out.Metrics, len(out.Figures))
	}
	if err := out.Figures[0].Validate(); err != nil {
		t.Fatal(err)
	}
	for i := range rows {
		rows[i].MPI, rows[i].MPITCP = nil, nil
	}
	out = fig12aOutcome(fig12aData{MPIError: "peers: OpenMPI is not available: no apt-get", Runs: []fig12aRun{{Ranks: 2, Rows: rows}}})
	if !strings.Contains(strings.Join(out.Notes, " "), "OpenMPI was not measured: peers: OpenMPI is not available") || len(out.Figures[0].Series) != 1 {
		t.Fatalf("without OpenMPI: notes %q, series %d", out.Notes, len(out.Figures[0].Series))
	}
	if err := out.Figures[0].Validate(); err != nil {
		t.Fatal(err)
	}
}
