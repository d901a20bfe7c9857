package benchmarks

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"manta/benchmarks/peers"
	"manta/collective"
	"manta/core"
	"manta/plots"
)

// Figure 12a of the paper: ring allreduce on Ray against OpenMPI. Here
// manta's collective library (package collective: a ring over actors,
// chunks through the object store) and OpenMPI's MPI_Allreduce run with
// the same number of processes on this machine, over buffer sizes from
// 1 MB up.

var fig12a = Experiment{
	ID:    "fig12a",
	Title: "Ring allreduce against OpenMPI",
	Paper: "Figure 12a (§5.1)",
	State: Reproduced,
	Setup: "The paper runs a ring allreduce of 100 MB and 1 GB across 16 nodes and compares it with OpenMPI 1.10. Here both run on one " +
		"2-core machine with the same number of processes (2 at quick scale; 2 and 4, the latter oversubscribed, at full): manta's " +
		"`collective.Allreduce` among actors (a ring in reduce-scatter and allgather phases, 8 MiB chunks pipelined, each chunk an " +
		"object of the node's shared-memory store read in place by the next member, messages as actor calls through the node manager in " +
		"the driver's process, a third process), and OpenMPI 4.1 (Debian's openmpi-bin, installed by the bench) through mpi4py's " +
		"`Allreduce` under `mpirun --oversubscribe`, over shared memory (its default here) and over loopback TCP (`--mca btl self,tcp`, as between nodes). Float32 " +
		"sums; each repetition is a barrier then one allreduce, its time the slowest rank's; manta reduces in place, MPI from a send " +
		"buffer into a receive buffer. Sizes 1, 10, 100 MiB (quick) and 1 GiB (full). With 2 processes manta also runs across " +
		"two node processes of a local cluster (`manta start`, one member on each, the driver's node with no CPU), its chunks pulled " +
		"through the transfer path over loopback TCP, to compare with OpenMPI over TCP.",
	QuickEstimate: 45 * time.Second, // and a minute to install OpenMPI the first time
	FullEstimate:  3 * time.Minute,
	Run:           runFig12a,
}

// arMember is fig12a's (and fig12b's) member of an allreduce group.
type arMember struct{}

var (
	arMemberType = core.RegisterActor0("benchmarks.allreduceMember", func() (*arMember, error) { return &arMember{}, nil },
		core.WithMaxConcurrency(collective.MinConcurrency))
	arMembers = collective.Enable(arMemberType)

	// arTime times reps allreduces of a float32 buffer of the given
	// bytes, each after a barrier, and returns each one's time in seconds,
	// the slowest member's.
	arTime = core.RegisterMethod4(arMemberType, "time", func(_ *arMember, ctx context.Context, group string, bytes, reps int) ([]float64, error) {
		g, err := collective.GetGroup(group)
		if err != nil {
			return nil, err
		}
		buf := make([]float32, bytes/4)
		barrier := []float64{0}
		out := make([]float64, 0, reps)
		for i := range reps + 1 { // the first warms up
			for k := range buf {
				buf[k] = 1
			}
			if err := collective.Allreduce(ctx, g, barrier, collective.Sum); err != nil {
				return nil, err
			}
			began := time.Now()
			if err := collective.Allreduce(ctx, g, buf, collective.Sum); err != nil {
				return nil, err
			}
			took := []float64{time.Since(began).Seconds()}
			if err := collective.Allreduce(ctx, g, took, collective.Max); err != nil {
				return nil, err
			}
			if want := float32(g.Size()); len(buf) > 0 && (buf[0] != want || buf[len(buf)-1] != want) {
				return nil, fmt.Errorf("allreduce summed %v and %v, want %v", buf[0], buf[len(buf)-1], want)
			}
			if i > 0 {
				out = append(out, took[0])
			}
		}
		return out, nil
	})
)

// fig12aRow is one buffer size's times, in seconds.
type fig12aRow struct {
	Bytes int64     `json:"bytes"`
	Manta []float64 `json:"manta_s"`
	// MPI and MPITCP are OpenMPI's over shared memory and over TCP.
	MPI    []float64 `json:"openmpi_shm_s,omitempty"`
	MPITCP []float64 `json:"openmpi_tcp_s,omitempty"`
	// Nodes is manta's with each member on a node process of its own
	// (2 members only): chunks through the transfer path over loopback.
	Nodes []float64 `json:"manta_nodes_s,omitempty"`
}

type fig12aRun struct {
	Ranks int         `json:"ranks"`
	Rows  []fig12aRow `json:"rows"`
}

type fig12aData struct {
	Library string      `json:"openmpi_library,omitempty"`
	Runs    []fig12aRun `json:"runs"`
	// NodesError says why manta across node processes was not measured.
	NodesError string `json:"nodes_error,omitempty"`
	// MPIError says why OpenMPI was not measured.
	MPIError string `json:"openmpi_error,omitempty"`
	// Load is /proc/loadavg before and after: the machine is shared.
	Load [2]string `json:"loadavg"`
}

func runFig12a(ctx context.Context, env *Env) (*Outcome, error) {
	mb := int64(1 << 20)
	sizes, reps := []int64{mb, 10 * mb, 100 * mb}, []int{30, 20, 10}
	ranksList := []int{2}
	if env.Scale == Full {
		sizes, reps = append(sizes, 1000*mb), []int{50, 30, 10, 3}
		ranksList = []int{2, 4}
	}
	var d fig12aData
	d.Load[0] = loadAvg()
	steps, step := float64(len(ranksList)*len(sizes)), 0
	for _, ranks := range ranksList {
		run := fig12aRun{Ranks: ranks}
		g, err := startARGroup(ctx, ranks)
		if err != nil {
			return nil, err
		}
		// Size by size, manta then OpenMPI, so that both see about the
		// same load from whatever else runs on the machine.
		for i, size := range sizes {
			env.Progress(float64(step)/steps, "%s, %d processes: manta", sizeLabel(size), ranks)
			step++
			row := fig12aRow{Bytes: size}
			if row.Manta, err = g.time(ctx, size, reps[i]); err != nil {
				g.close(ctx)
				return nil, err
			}
			for _, tr := range []peers.MPITransport{peers.MPISharedMemory, peers.MPITCP} {
				if d.MPIError != "" {
					break
				}
				env.Progress(float64(step-1)/steps, "%s, %d processes: OpenMPI over %s (installed first if missing)", sizeLabel(size), ranks, tr)
				var log tailWriter
				r, err := peers.RunMPIAllreduce(ctx, peers.MPIOptions{Log: &log, Ranks: ranks, Sizes: []int64{size}, Reps: []int{reps[i]}, Transport: tr})
				if err != nil {
					if ctx.Err() != nil {
						g.close(ctx)
						return nil, ctx.Err()
					}
					d.MPIError = fmt.Sprintf("%v; the output's end: %q", err, log.b)
					break
				}
				d.Library = r.Library
				if tr == peers.MPITCP {
					row.MPITCP = r.Rows[0].Seconds
				} else {
					row.MPI = r.Rows[0].Seconds
				}
			}
			run.Rows = append(run.Rows, row)
		}
		g.close(ctx)
		if ranks == 2 {
			env.Progress(float64(step)/steps, "manta across two node processes")
			if err := fig12aAcrossNodes(ctx, env, sizes, reps, run.Rows); err != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				d.NodesError = err.Error()
			}
		}
		d.Runs = append(d.Runs, run)
	}
	d.Load[1] = loadAvg()
	return fig12aOutcome(d), nil
}

// arGroup is a node with a group of allreduce members.
type arGroup struct {
	c      *core.Cluster
	actors []core.Actor[arMember]
}

// startARGroup starts an embedded node with a group of ranks members.
func startARGroup(ctx context.Context, ranks int) (*arGroup, error) {
	c, err := core.Init(core.Config{Resources: map[string]float64{"CPU": float64(ranks)}})
	if err != nil {
		return nil, err
	}
	g := &arGroup{c: c, actors: make([]core.Actor[arMember], ranks)}
	for i := range g.actors {
		g.actors[i] = arMemberType.Remote()
	}
	if err := arMembers.CreateGroup(ctx, "bench", g.actors, collective.Options{}); err != nil {
		c.Shutdown()
		return nil, err
	}
	return g, nil
}

// time runs reps allreduces of bytes and returns each one's time in
// seconds, the slowest member's.
func (g *arGroup) time(ctx context.Context, bytes int64, reps int) ([]float64, error) {
	refs := make([]core.Ref[[]float64], len(g.actors))
	for k, a := range g.actors {
		refs[k] = arTime.Remote(a, ctx, "bench", int(bytes), reps)
	}
	times, err := core.GetAll(ctx, refs)
	if err != nil {
		return nil, fmt.Errorf("allreduce of %d bytes among %d members: %w", bytes, len(g.actors), err)
	}
	return times[0], nil // every member has the slowest's times
}

func (g *arGroup) close(ctx context.Context) {
	arMembers.Destroy(ctx, "bench", g.actors)
	g.c.Shutdown()
}

// fig12aAcrossNodes times the allreduce of each size between two members
// on two node processes of a local cluster (a head and a node, a CPU
// each; the driver has none) into rows[i].Nodes.
func fig12aAcrossNodes(ctx context.Context, env *Env, sizes []int64, reps []int, rows []fig12aRow) error {
	manta, err := mantaBinary(env)
	if err != nil {
		return err
	}
	c, err := startLocalCluster(ctx, localClusterConfig{Manta: manta, Nodes: []map[string]float64{{"CPU": 1}, {"CPU": 1}}})
	if err != nil {
		return err
	}
	defer c.Stop()
	driver, err := c.Driver(core.Config{Resources: map[string]float64{"CPU": 0}})
	if err != nil {
		return err
	}
	defer driver.Shutdown()
	g := &arGroup{c: driver, actors: make([]core.Actor[arMember], 2)}
	for i := range g.actors {
		g.actors[i] = arMemberType.Options(core.WithActorResources(onNode(i, 1))).Remote()
	}
	if err := arMembers.CreateGroup(ctx, "bench", g.actors, collective.Options{}); err != nil {
		return err
	}
	defer arMembers.Destroy(ctx, "bench", g.actors)
	for i, size := range sizes {
		if rows[i].Nodes, err = g.time(ctx, size, reps[i]); err != nil {
			return err
		}
	}
	return nil
}

// tailWriter keeps the last tailBytes written to it.
type tailWriter struct{ b []byte }

const tailBytes = 600

func (w *tailWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	if len(w.b) > tailBytes {
		w.b = append(w.b[:0], w.b[len(w.b)-tailBytes:]...)
	}
	return len(p), nil
}

// loadAvg is /proc/loadavg's three averages, or why not.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return err.Error()
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return strings.TrimSpace(string(b))
	}
	return strings.Join(f[:3], " ")
}

// medianMS is the median of seconds, in ms.
func medianMS(seconds []float64) float64 {
	s := slices.Clone(seconds)
	slices.Sort(s)
	return median(s) * 1e3
}

func sizeLabel(b int64) string {
	if b >= 1000<<20 {
		return fmt.Sprintf("%.0f GiB", float64(b)/(1<<30))
	}
	return fmt.Sprintf("%d MiB", b>>20)
}

func fig12aOutcome(d fig12aData) *Outcome {
	var metrics []Metric
	var figs []plots.Figure
	var notes []string
	if d.NodesError != "" {
		notes = append(notes, "manta across two node processes was not measured: "+d.NodesError)
	}
	if d.MPIError != "" {
		notes = append(notes, "OpenMPI was not measured: "+d.MPIError)
	} else if d.Library != "" {
		notes = append(notes, "OpenMPI measured here: "+d.Library+", through mpi4py 4.1.2 in a virtual environment in manta's cache directory.")
	}
	notes = append(notes, fmt.Sprintf("Load average (1, 5, 15 min) before the runs: %s; after: %s. Both sides ran at the same priority, size by "+
		"size (manta, then OpenMPI over shared memory, then over TCP); OpenMPI's ranks poll while they wait (with --oversubscribe they yield between polls), so other work on the machine "+
		"costs them more than it costs manta's members, which sleep on futexes.", d.Load[0], d.Load[1]))
	for _, run := range d.Runs {
		fig := plots.Figure{
			Name: fmt.Sprintf("fig12a_%dranks", run.Ranks), Kind: plots.KindLines, LogX: true, LogY: true,
			Title:  fmt.Sprintf("Figure 12a: allreduce of float32s, %d processes on one machine", run.Ranks),
			XLabel: "buffer size (MiB)", YLabel: "time per allreduce (ms, median)",
			Caption: "manta's ring allreduce among actors (chunks through the shared-memory store) against OpenMPI's MPI_Allreduce with as many " +
				"processes, over shared memory and over loopback TCP; each time is the slowest rank's, after a barrier.",
		}
		var x, ym, ys, yt, yn []float64
		for _, row := range run.Rows {
			label := fmt.Sprintf("%s, %d processes", sizeLabel(row.Bytes), run.Ranks)
			m := medianMS(row.Manta)
			x, ym = append(x, float64(row.Bytes)/(1<<20)), append(ym, m)
			head := row.Bytes == 100<<20 && run.Ranks == 2
			metrics = append(metrics, Metric{Name: "manta allreduce, " + label, Value: m, Unit: "ms", N: len(row.Manta), Headline: head,
				Note: fmt.Sprintf("median; %.2f GB/s of buffer", float64(row.Bytes)/(m/1e3)/1e9)})
			if len(row.MPI) > 0 {
				s := medianMS(row.MPI)
				ys = append(ys, s)
				metrics = append(metrics, Metric{Name: "OpenMPI MPI_Allreduce over shared memory, " + label, Value: s, Unit: "ms", N: len(row.MPI)})
				sp := Metric{Name: "OpenMPI (shared memory) time / manta time, " + label, Value: s / m, Unit: "x", Headline: head,
					Note: "above 1: manta is faster"}
				if row.Bytes == 100<<20 {
					sp.Claim = "fig12a.speedup_100mb"
				} else if row.Bytes == 1000<<20 {
					sp.Claim = "fig12a.speedup_1gb"
				}
				metrics = append(metrics, sp)
			}
			if len(row.MPITCP) > 0 {
				t := medianMS(row.MPITCP)
				yt = append(yt, t)
				metrics = append(metrics, Metric{Name: "OpenMPI MPI_Allreduce over TCP, " + label, Value: t, Unit: "ms", N: len(row.MPITCP)})
				metrics = append(metrics, Metric{Name: "OpenMPI (TCP) time / manta time, " + label, Value: t / m, Unit: "x"})
			}
			if len(row.Nodes) > 0 {
				n := medianMS(row.Nodes)
				yn = append(yn, n)
				metrics = append(metrics, Metric{Name: "manta allreduce across two node processes, " + sizeLabel(row.Bytes), Value: n, Unit: "ms", N: len(row.Nodes),
					Note: "each member on a node process of its own; chunks pulled over loopback TCP"})
				if len(row.MPITCP) > 0 {
					metrics = append(metrics, Metric{Name: "OpenMPI (TCP) time / manta across nodes time, " + sizeLabel(row.Bytes), Value: medianMS(row.MPITCP) / n, Unit: "x",
						Note: "above 1: manta is faster"})
				}
			}
		}
		fig.Series = append(fig.Series, plots.Series{Label: "manta (collective.Allreduce)", X: x, Y: ym, Style: plots.StyleLine})
		if len(ys) == len(x) {
			fig.Series = append(fig.Series, plots.Series{Label: "OpenMPI, shared memory", X: x, Y: ys, Style: plots.StyleLine})
		}
		if len(yt) == len(x) {
			fig.Series = append(fig.Series, plots.Series{Label: "OpenMPI, TCP", X: x, Y: yt, Style: plots.StyleLine})
		}
		if len(yn) == len(x) {
			fig.Series = append(fig.Series, plots.Series{Label: "manta, two node processes (transfer over loopback)", X: x, Y: yn, Style: plots.StyleLine})
		}
		figs = append(figs, fig)
	}
	return &Outcome{Metrics: metrics, Figures: figs, Notes: notes, Data: d}
}
