package benchmarks

import (
	"strings"
	"testing"
)

// Figure 13's outcome: a throughput per replica count beside the one
// process, the allreduce's share, and OpenMPI's time or why it is
// missing.
func TestFig13Outcome(t *testing.T) {
	d := fig13Data{Steps: 10, Batch: 512, Params: 1000, Local: 100,
		Rows: []fig13Row{{Workers: 1, SamplesPerSec: 95}, {Workers: 2, SamplesPerSec: 150, AllreduceS: 0.2, ComputeS: 0.8, MPIStepS: 0.01}}}
	out := fig13Outcome(d)
	if len(out.Figures) != 1 || len(out.Figures[0].Series) != 2 {
		t.Fatalf("figures %+v", out.Figures)
	}
	var speedup, mpi bool
	for _, m := range out.Metrics {
		speedup = speedup || m.Name == "2 replicas / one process" && m.Value == 1.5 && m.Headline
		mpi = mpi || strings.HasPrefix(m.Name, "2 ranks: OpenMPI") && m.Value == 10
	}
	if !speedup || !mpi {
		t.Fatalf("metrics %+v", out.Metrics)
	}
	d.MPIError = "peers: OpenMPI is not available"
	if out := fig13Outcome(d); !strings.Contains(strings.Join(out.Notes, " "), "OpenMPI was not measured") {
		t.Fatalf("notes %q", out.Notes)
	}
}
