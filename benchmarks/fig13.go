package benchmarks

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"time"

	"manta/benchmarks/peers"
	"manta/core"
	"manta/plots"
	"manta/sgd"
)

// Figure 13 of the paper: data-parallel training throughput of
// ResNet-101 on GPUs, Ray against Horovod and distributed TensorFlow.
// Here: the same synchronous data-parallel SGD (package sgd) of an MLP
// on CPUs, replicas as actors summing gradients with the collective
// library's ring allreduce, against one process doing the same
// arithmetic, and the allreduce of the same gradient by OpenMPI.
var fig13 = Experiment{
	ID: "fig13", Title: "Data-parallel training throughput", Paper: "Figure 13 (§5.2.1)", State: Reproduced,
	Setup: "The paper trains ResNet-101 on 8×8 V100 GPUs with Ray, Horovod and distributed TensorFlow (images/s). Here: synchronous " +
		"data-parallel SGD (package sgd) of a 784-256-256-10 tanh MLP on gonum (268k weights, float64) on a synthetic MNIST-shaped task, " +
		"a global batch of 512 split among N replica actors on this machine's CPUs (1 and 2 at quick scale; powers of 2 to the cores at " +
		"full), each with its shard, gradients summed by the collective library's ring allreduce; beside one process doing the same " +
		"arithmetic on the whole batch (the baseline), and beside OpenMPI's MPI_Allreduce of a buffer of the gradient's size with as many " +
		"ranks (Horovod's transport), timed alone through mpi4py: Horovod itself and TensorFlow are not run. No GPU.",
	QuickEstimate: 90 * time.Second, FullEstimate: 5 * time.Minute,
	Run: runFig13,
}

// fig13Row is one replica count's measurements.
type fig13Row struct {
	Workers       int     `json:"workers"`
	SamplesPerSec float64 `json:"samples_per_s"`
	// AllreduceS and ComputeS split the slowest replica's time.
	AllreduceS float64 `json:"allreduce_s"`
	ComputeS   float64 `json:"compute_s"`
	WallS      float64 `json:"wall_s"`
	// MPIStepS is OpenMPI's allreduce of the gradient, median seconds.
	MPIStepS float64 `json:"openmpi_allreduce_s,omitempty"`
}

type fig13Data struct {
	Steps, Batch, Params int
	Local                float64    `json:"local_samples_per_s"`
	Rows                 []fig13Row `json:"rows"`
	MPIError             string     `json:"openmpi_error,omitempty"`
}

func fig13Workers(s Scale) []int {
	limit := min(runtime.NumCPU(), 2)
	if s == Full {
		limit = runtime.NumCPU()
	}
	var ws []int
	for n := 1; n <= limit; n *= 2 {
		ws = append(ws, n)
	}
	return ws
}

func runFig13(ctx context.Context, env *Env) (*Outcome, error) {
	cfg := sgd.DefaultConfig()
	cfg.Steps = 30
	if env.Scale == Full {
		cfg.Steps = 100
	}
	workers := fig13Workers(env.Scale)
	d := fig13Data{Steps: cfg.Steps, Batch: cfg.Batch}
	env.Progress(0, "one process, batch %d", cfg.Batch)
	local, err := sgd.TrainLocal(cfg)
	if err != nil {
		return nil, err
	}
	d.Local, d.Params = local.SamplesPerSec, len(local.Params)
	c, err := core.Init(core.Config{Resources: map[string]float64{"CPU": float64(workers[len(workers)-1])}})
	if err != nil {
		return nil, err
	}
	defer c.Shutdown()
	for i, n := range workers {
		env.Progress(float64(i+1)/float64(len(workers)+1), "%d replicas", n)
		run := cfg
		run.Workers = n
		res, err := sgd.Train(ctx, run)
		if err != nil {
			return nil, fmt.Errorf("%d replicas: %w", n, err)
		}
		row := fig13Row{Workers: n, SamplesPerSec: res.SamplesPerSec, AllreduceS: res.AllreduceS, ComputeS: res.ComputeS, WallS: res.WallS}
		if n > 1 && d.MPIError == "" {
			r, err := peers.RunMPIAllreduce(ctx, peers.MPIOptions{Log: io.Discard, Ranks: n, Sizes: []int64{int64(8 * d.Params)}, Reps: []int{cfg.Steps}})
			if err != nil {
				d.MPIError = err.Error()
			} else {
				row.MPIStepS = medianMS(r.Rows[0].Seconds) / 1000
			}
		}
		d.Rows = append(d.Rows, row)
	}
	return fig13Outcome(d), nil
}

func fig13Outcome(d fig13Data) *Outcome {
	out := &Outcome{Data: d}
	fig := plots.Figure{
		Name: "fig13", Kind: plots.KindLines, Title: "Data-parallel SGD of an MLP: throughput against replicas",
		XLabel: "replicas (actors)", YLabel: "samples/s",
		Caption: fmt.Sprintf("Global batch %d, %d steps, %d weights; the flat line is one process on the whole batch.", d.Batch, d.Steps, d.Params),
	}
	dist, base := plots.Series{Label: "manta: replicas + ring allreduce"}, plots.Series{Label: "one process (same arithmetic)"}
	out.Metrics = append(out.Metrics, Metric{Name: "one process, samples/s", Value: d.Local, Unit: "samples/s"})
	for _, r := range d.Rows {
		dist.X, dist.Y = append(dist.X, float64(r.Workers)), append(dist.Y, r.SamplesPerSec)
		base.X, base.Y = append(base.X, float64(r.Workers)), append(base.Y, d.Local)
		last := r.Workers == d.Rows[len(d.Rows)-1].Workers
		out.Metrics = append(out.Metrics,
			Metric{Name: fmt.Sprintf("%d replicas, samples/s", r.Workers), Value: r.SamplesPerSec, Unit: "samples/s", Headline: last},
			Metric{Name: fmt.Sprintf("%d replicas / one process", r.Workers), Value: r.SamplesPerSec / d.Local, Unit: "x", Headline: last})
		if r.Workers > 1 {
			step := r.AllreduceS / float64(d.Steps)
			out.Metrics = append(out.Metrics,
				Metric{Name: fmt.Sprintf("%d replicas: allreduce per step (manta, waiting for the slowest replica included)", r.Workers), Value: 1000 * step, Unit: "ms",
					Note: fmt.Sprintf("%.0f%% of the slowest replica's time", 100*r.AllreduceS/(r.AllreduceS+r.ComputeS))})
			if r.MPIStepS > 0 {
				out.Metrics = append(out.Metrics, Metric{Name: fmt.Sprintf("%d ranks: OpenMPI MPI_Allreduce of the gradient's %d bytes, alone", r.Workers, 8*d.Params),
					Value: 1000 * r.MPIStepS, Unit: "ms"})
			}
		}
	}
	fig.Series, fig.XTicks = []plots.Series{dist, base}, dist.X
	out.Figures = []plots.Figure{fig}
	if d.MPIError != "" {
		out.Notes = append(out.Notes, "OpenMPI was not measured: "+d.MPIError)
	}
	out.Notes = append(out.Notes, "Every replica ends with the same weights as the others and, to rounding, as the one process "+
		"(sgd's tests check it). gonum's matrix multiply already runs on every core in one process, and the replicas share this "+
		"machine's cores with the driver and the node, so on a few cores replicas cannot beat the one process; the allreduce's time per "+
		"step includes waiting for the slowest replica's gradient, OpenMPI's does not (it is timed alone).")
	return out
}
