package sgd

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"manta/collective"
	"manta/core"
	"manta/rl"
)

// Config describes a training run. Zero fields take DefaultConfig's values.
type Config struct {
	Workers int   // replica actors (Train); TrainLocal ignores it
	Batch   int   // global batch per step, split evenly among the replicas
	Steps   int   // optimiser steps
	Hidden  []int // hidden layer widths
	Inputs  int   // the task's input size
	Classes int   // and its number of classes
	Samples int   // the dataset's size
	LR      float64
	Seed    uint64
	// Group tunes the replicas' collective group (chunk size, timeout).
	Group collective.Options
}

// DefaultConfig is an MNIST-shaped task and network: 784-256-256-10, a
// batch of 512 over 2 replicas, 50 steps of Adam at 1e-3, 16384 samples.
func DefaultConfig() Config {
	return Config{Workers: 2, Batch: 512, Steps: 50, Hidden: []int{256, 256}, Inputs: 784, Classes: 10, Samples: 16384, LR: 1e-3, Seed: 1}
}

// ErrBadConfig is returned for a configuration out of range.
var ErrBadConfig = errors.New("sgd: bad config")

func (c *Config) fill() error {
	d := DefaultConfig()
	for _, f := range []struct{ p, v *int }{{&c.Workers, &d.Workers}, {&c.Batch, &d.Batch}, {&c.Steps, &d.Steps},
		{&c.Inputs, &d.Inputs}, {&c.Classes, &d.Classes}, {&c.Samples, &d.Samples}} {
		if *f.p == 0 {
			*f.p = *f.v
		}
	}
	if c.LR == 0 {
		c.LR = d.LR
	}
	if c.Hidden == nil {
		c.Hidden = d.Hidden
	}
	switch {
	case c.Workers < 1 || c.Batch < 1 || c.Steps < 1 || c.Inputs < 1 || c.Classes < 2:
		return fmt.Errorf("%w: workers %d, batch %d, steps %d, inputs %d, classes %d", ErrBadConfig, c.Workers, c.Batch, c.Steps, c.Inputs, c.Classes)
	case c.Batch%c.Workers != 0:
		return fmt.Errorf("%w: a batch of %d does not split among %d workers", ErrBadConfig, c.Batch, c.Workers)
	case c.Samples < c.Batch:
		return fmt.Errorf("%w: %d samples, fewer than a batch of %d", ErrBadConfig, c.Samples, c.Batch)
	case !(c.LR > 0):
		return fmt.Errorf("%w: learning rate %v", ErrBadConfig, c.LR)
	}
	return nil
}

// Result is a run's outcome.
type Result struct {
	Workers, Batch, Steps int
	// WallS is the training's time (the replicas' start and their data
	// not included); SamplesPerSec is Steps×Batch over it.
	WallS, SamplesPerSec float64
	// ComputeS and AllreduceS split a replica's time (the slowest's):
	// the gradient and the Adam step, and the allreduce of the
	// gradient (waiting for the other replicas included).
	ComputeS, AllreduceS float64
	// Loss is each step's mean cross-entropy over the global batch.
	Loss []float64
	// Params are the final weights (every replica's: they are equal).
	Params []float64
}

// model is the network, its weights and optimiser, and the scratch of
// one step over rows samples: what a replica and TrainLocal each hold.
type model struct {
	net    *rl.MLP
	params []float64
	grad   []float64
	adam   *rl.Adam
	ws     *rl.Workspace
	dout   []float64
}

func newModel(c Config, rows int) (*model, error) {
	sizes := append(append([]int{c.Inputs}, c.Hidden...), c.Classes)
	net, err := rl.NewMLP(sizes...)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadConfig, err)
	}
	m := &model{net: net, params: make([]float64, net.NumParams()), grad: make([]float64, net.NumParams()),
		adam: rl.NewAdam(net.NumParams(), c.LR, 1e-8), ws: net.NewWorkspace(rows), dout: make([]float64, rows*c.Classes)}
	net.InitOrthogonal(m.params, rand.New(rand.NewPCG(c.Seed, 0x5eed)), 0.01)
	return m, nil
}

// gradient computes into m.grad the gradient of the summed
// cross-entropy of the rows of x labelled y, divided by batch (the
// global batch, so that the replicas' sum is the mean's gradient), and
// returns the summed loss.
func (m *model) gradient(x []float64, y []int, batch int) float64 {
	rows, k := len(y), m.net.Out()
	out := m.net.Forward(m.params, x, rows, m.ws)
	var loss float64
	for r := range rows {
		logits, d := out[r*k:(r+1)*k], m.dout[r*k:(r+1)*k]
		top := logits[0]
		for _, v := range logits {
			top = max(top, v)
		}
		var z float64
		for j, v := range logits {
			d[j] = math.Exp(v - top)
			z += d[j]
		}
		loss += math.Log(z) - (logits[y[r]] - top)
		for j := range d {
			d[j] /= z * float64(batch)
		}
		d[y[r]] -= 1 / float64(batch)
	}
	clear(m.grad)
	m.net.Backward(m.params, m.dout[:rows*k], rows, m.ws, m.grad)
	return loss
}

// dataset is the task: sample i's inputs are standard normals drawn
// from a stream seeded by (seed, i), and its label the argmax of a fixed
// random linear teacher of them, so any process makes any sample alike.
type dataset struct {
	inputs, classes int
	seed            uint64
	teacher         []float64 // classes × inputs
}

func newDataset(c Config) *dataset {
	d := &dataset{inputs: c.Inputs, classes: c.Classes, seed: c.Seed, teacher: make([]float64, c.Classes*c.Inputs)}
	r := rand.New(rand.NewPCG(c.Seed, 0x7eac))
	for i := range d.teacher {
		d.teacher[i] = r.NormFloat64()
	}
	return d
}

// sample writes sample i's inputs into x and returns its label.
func (d *dataset) sample(i int, x []float64) int {
	r := rand.New(rand.NewPCG(d.seed, uint64(i)+1))
	for j := range x {
		x[j] = r.NormFloat64()
	}
	best, label := math.Inf(-1), 0
	for k := range d.classes {
		var s float64
		for j, v := range x {
			s += d.teacher[k*d.inputs+j] * v
		}
		if s > best {
			best, label = s, k
		}
	}
	return label
}

// shard is the samples of a part of the dataset, in order.
type shard struct {
	x []float64
	y []int
}

// makeShard makes the samples whose index is rank modulo workers.
func makeShard(d *dataset, samples, rank, workers int) shard {
	n := (samples - rank + workers - 1) / workers
	s := shard{x: make([]float64, n*d.inputs), y: make([]int, n)}
	for k := range n {
		s.y[k] = d.sample(rank+k*workers, s.x[k*d.inputs:(k+1)*d.inputs])
	}
	return s
}

// rows returns step's rows of s, rows at a time, cycling through it.
func (s shard) rows(step, rows, inputs int) ([]float64, []int) {
	n := len(s.y) / rows * rows // whole batches only, so a batch is one slice
	at := step * rows % n
	return s.x[at*inputs : (at+rows)*inputs], s.y[at : at+rows]
}

// TrainLocal trains in this process alone over the whole batch: the
// same samples, steps and arithmetic as Train with any number of
// workers, for a baseline.
func TrainLocal(cfg Config) (*Result, error) {
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	m, err := newModel(cfg, cfg.Batch)
	if err != nil {
		return nil, err
	}
	// The replicas' shards side by side: step t's global batch is every
	// replica's rows of step t.
	d := newDataset(cfg)
	shards := make([]shard, cfg.Workers)
	for r := range shards {
		shards[r] = makeShard(d, cfg.Samples, r, cfg.Workers)
	}
	b := cfg.Batch / cfg.Workers
	x, y := make([]float64, cfg.Batch*cfg.Inputs), make([]int, cfg.Batch)
	res := &Result{Workers: 1, Batch: cfg.Batch, Steps: cfg.Steps}
	start := time.Now()
	for step := range cfg.Steps {
		for r, s := range shards {
			xs, ys := s.rows(step, b, cfg.Inputs)
			copy(x[r*b*cfg.Inputs:], xs)
			copy(y[r*b:], ys)
		}
		loss := m.gradient(x, y, cfg.Batch)
		m.adam.Step(m.params, m.grad)
		res.Loss = append(res.Loss, loss/float64(cfg.Batch))
	}
	res.WallS = time.Since(start).Seconds()
	res.ComputeS = res.WallS
	res.SamplesPerSec = float64(cfg.Steps*cfg.Batch) / res.WallS
	res.Params = m.params
	return res, nil
}

// replica is one data-parallel worker: its shard, its copy of the model.
type replica struct {
	cfg   Config
	rank  int
	model *model
	data  shard
}

type replicaSpec struct {
	Cfg  Config
	Rank int
}

// report is what a replica's run returns (its weights come apart, as a
// raw []float64: a struct's fields are encoded element by element).
type report struct {
	Loss                 []float64 // its rows' summed loss, by step
	ComputeS, AllreduceS float64
}

var (
	replicaType = core.RegisterActor1("sgd.replica", newReplica, core.WithMaxConcurrency(collective.MinConcurrency))
	replicas    = collective.Enable(replicaType)
	run         = core.RegisterMethod2(replicaType, "run", (*replica).run)
	weights     = core.RegisterMethod0(replicaType, "weights", func(w *replica) ([]float64, error) { return w.model.params, nil })
)

func newReplica(s replicaSpec) (*replica, error) {
	m, err := newModel(s.Cfg, s.Cfg.Batch/s.Cfg.Workers)
	if err != nil {
		return nil, err
	}
	return &replica{cfg: s.Cfg, rank: s.Rank, model: m, data: makeShard(newDataset(s.Cfg), s.Cfg.Samples, s.Rank, s.Cfg.Workers)}, nil
}

// groupName is the replicas' collective group.
const groupName = "sgd.replicas"

func (w *replica) run(ctx context.Context, steps int) (*report, error) {
	g, err := collective.GetGroup(groupName)
	if err != nil {
		return nil, err
	}
	c, m := w.cfg, w.model
	b := c.Batch / c.Workers
	rep := &report{}
	for step := range steps {
		t0 := time.Now()
		x, y := w.data.rows(step, b, c.Inputs)
		loss := m.gradient(x, y, c.Batch)
		t1 := time.Now()
		if err := collective.Allreduce(ctx, g, m.grad, collective.Sum); err != nil {
			return nil, fmt.Errorf("sgd: step %d: %w", step, err)
		}
		t2 := time.Now()
		m.adam.Step(m.params, m.grad)
		rep.ComputeS += t1.Sub(t0).Seconds() + time.Since(t2).Seconds()
		rep.AllreduceS += t2.Sub(t1).Seconds()
		rep.Loss = append(rep.Loss, loss)
	}
	return rep, nil
}

// Train runs the replicas on the running manta cluster (core.Init
// first): cfg.Workers actors in a collective group, each training on
// its shard for cfg.Steps steps in one method call. It fails with
// collective.ErrMemberLost if a replica dies.
func Train(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	actors := make([]core.Actor[replica], cfg.Workers)
	for r := range actors {
		actors[r] = replicaType.Remote(replicaSpec{Cfg: cfg, Rank: r})
	}
	defer func() {
		for _, a := range actors {
			_ = a.Kill()
		}
	}()
	if err := replicas.CreateGroup(ctx, groupName, actors, cfg.Group); err != nil {
		return nil, err
	}
	defer replicas.Destroy(ctx, groupName, actors)
	start := time.Now()
	refs := make([]core.Ref[*report], len(actors))
	for r, a := range actors {
		refs[r] = run.Remote(a, ctx, cfg.Steps)
	}
	reps, err := core.GetAll(ctx, refs)
	if err != nil {
		return nil, err
	}
	res := &Result{Workers: cfg.Workers, Batch: cfg.Batch, Steps: cfg.Steps, WallS: time.Since(start).Seconds(), Loss: make([]float64, cfg.Steps)}
	res.SamplesPerSec = float64(cfg.Steps*cfg.Batch) / res.WallS
	for _, rep := range reps {
		for i, l := range rep.Loss {
			res.Loss[i] += l / float64(cfg.Batch)
		}
		res.ComputeS, res.AllreduceS = max(res.ComputeS, rep.ComputeS), max(res.AllreduceS, rep.AllreduceS)
	}
	params := make([]core.Ref[[]float64], len(actors))
	for r, a := range actors {
		params[r] = weights.Remote(a)
	}
	all, err := core.GetAll(ctx, params)
	if err != nil {
		return nil, err
	}
	res.Params = all[0]
	for r, p := range all[1:] {
		if !slices.Equal(p, res.Params) {
			return res, fmt.Errorf("sgd: replica %d's weights differ from replica 0's", r+1)
		}
	}
	return res, nil
}
