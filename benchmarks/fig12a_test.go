package benchmarks

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"manta/collective"
	"manta/core"
)

// TestFig12aManta times manta's side briefly: every repetition's time,
// the members agreeing on the sums they check.
func TestFig12aManta(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	g, err := startARGroup(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer g.close(ctx)
	var times [][]float64
	for _, s := range []struct {
		bytes int64
		reps  int
	}{{4 << 10, 3}, {3 << 20, 2}} {
		ts, err := g.time(ctx, s.bytes, s.reps)
		if err != nil {
			t.Fatal(err)
		}
		times = append(times, ts)
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
		{Bytes: 100 << 20, Manta: []float64{0.1}, MPI: []float64{0.2}, MPITCP: []float64{0.3}, Nodes: []float64{0.15}},
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
	if !found || len(out.Figures) != 1 || len(out.Figures[0].Series) != 3 { // one size across nodes: no line
		t.Fatalf("metrics %+v, figures %d", out.Metrics, len(out.Figures))
	}
	if err := out.Figures[0].Validate(); err != nil {
		t.Fatal(err)
	}
	rows[0].Nodes = []float64{0.004}
	out = fig12aOutcome(fig12aData{Library: "Open MPI v4.1.4", Runs: []fig12aRun{{Ranks: 2, Rows: rows}}})
	if len(out.Figures[0].Series) != 4 {
		t.Fatalf("across nodes: %d series", len(out.Figures[0].Series))
	}
	for i := range rows {
		rows[i].MPI, rows[i].MPITCP, rows[i].Nodes = nil, nil, nil
	}
	out = fig12aOutcome(fig12aData{MPIError: "peers: OpenMPI is not available: no apt-get", Runs: []fig12aRun{{Ranks: 2, Rows: rows}}})
	if !strings.Contains(strings.Join(out.Notes, " "), "OpenMPI was not measured: peers: OpenMPI is not available") || len(out.Figures[0].Series) != 1 {
		t.Fatalf("without OpenMPI: notes %q, series %d", out.Notes, len(out.Figures[0].Series))
	}
	if err := out.Figures[0].Validate(); err != nil {
		t.Fatal(err)
	}
}

// arCheck runs an allreduce of n float32s, rank r's all r+1, and says how
// it ended: "ok" with the right sums, else why not.
var arCheck = core.RegisterMethod3(arMemberType, "test.check", func(_ *arMember, ctx context.Context, group string, n int) (string, error) {
	g, err := collective.GetGroup(group)
	if err != nil {
		return "", err
	}
	buf := make([]float32, n)
	for i := range buf {
		buf[i] = float32(g.Rank() + 1)
	}
	switch err := collective.Allreduce(ctx, g, buf, collective.Sum); {
	case errors.Is(err, collective.ErrMemberLost):
		return "lost", nil
	case err != nil:
		return err.Error(), nil
	}
	want := float32(g.Size() * (g.Size() + 1) / 2)
	for i, v := range buf {
		if v != want {
			return fmt.Sprintf("element %d is %v, want %v", i, v, want), nil
		}
	}
	return "ok", nil
})

// The collective across two node processes: chunks go through the
// transfer path, and a member's node killed mid-group fails the other
// member with ErrMemberLost.
func TestCollectiveAcrossNodes(t *testing.T) {
	manta := buildManta(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := startLocalCluster(ctx, localClusterConfig{Manta: manta, Nodes: []map[string]float64{{"CPU": 1}, {"CPU": 1}},
		NodeTimeout: time.Second, StoreBytes: 256 << 20, Log: testLog{t}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	driver, err := c.Driver(core.Config{Resources: map[string]float64{"CPU": 0}})
	if err != nil {
		t.Fatal(err)
	}
	defer driver.Shutdown()
	actors := make([]core.Actor[arMember], 2)
	for i := range actors {
		actors[i] = arMemberType.Options(core.WithActorResources(onNode(i, 1))).Remote()
	}
	if err := arMembers.CreateGroup(ctx, "x", actors, collective.Options{ChunkBytes: 1 << 20}); err != nil {
		t.Fatal(err)
	}
	const n = 3<<20 + 5 // 12 MB: chunks of 1 MiB, pulled from the other node
	refs := []core.Ref[string]{arCheck.Remote(actors[0], ctx, "x", n), arCheck.Remote(actors[1], ctx, "x", n)}
	got, err := core.GetAll(ctx, refs)
	if err != nil || got[0] != "ok" || got[1] != "ok" {
		t.Fatalf("allreduce across nodes: %v, %v", got, err)
	}
	waiting := arCheck.Remote(actors[0], ctx, "x", n)
	if err := c.procs[1].cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	if o, err := waiting.Get(ctx); err != nil || o != "lost" {
		t.Fatalf("the member whose peer's node died: %q, %v", o, err)
	}
}

// What OpenMPI's install or run printed last goes into the note of a
// failed run.
func TestTailWriter(t *testing.T) {
	var w tailWriter
	for i := range 100 {
		fmt.Fprintf(&w, "line %03d\n", i)
	}
	if len(w.b) != tailBytes || !strings.HasSuffix(string(w.b), "line 099\n") {
		t.Fatalf("kept %d bytes ending %q", len(w.b), w.b[len(w.b)-9:])
	}
}
