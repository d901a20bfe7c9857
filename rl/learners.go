package rl

import (
	"context"
	"fmt"

	"manta/collective"
	"manta/core"
)

// learnerPart is a learner's share of each minibatch when several
// learner actors compute its gradient together (PPOConfig.Learners):
// the index-th of parts contiguous runs of its rows, and reduce, which
// sums a buffer across the learners. The zero value is the whole
// minibatch, alone.
type learnerPart struct {
	index, parts int
	reduce       func(buf []float64) error
	buf          []float64 // the gradient, then the loss
}

// rows is the part's run [lo, hi) of a minibatch of mb rows.
func (p learnerPart) rows(mb int) (lo, hi int) {
	if p.parts <= 1 {
		return 0, mb
	}
	return p.index * mb / p.parts, (p.index + 1) * mb / p.parts
}

// sum replaces grad and loss, this learner's, by every learner's sums.
func (p *learnerPart) sum(grad []float64, loss float64) (float64, error) {
	p.buf = append(append(p.buf[:0], grad...), loss)
	if err := p.reduce(p.buf); err != nil {
		return 0, err
	}
	copy(grad, p.buf)
	return p.buf[len(grad)], nil
}

// learnerActor is one of PPOConfig.Learners learner actors: a learner
// whose every minibatch gradient is summed with the others' before the
// same Adam step, so that all of them keep the weights the driver's own
// learner would have (to rounding: the parts are summed in another
// order).
type learnerActor struct{ L *ppoLearner }

// learnerSpec makes a learner actor.
type learnerSpec struct {
	Cfg         PPOConfig
	Rank, Count int
}

// learnerGroup is the learners' collective group (each actor has a
// process of its own, so one name serves every run).
const learnerGroup = "rl.ppo.learners"

var (
	learnerType = core.RegisterActor1("rl.ppoLearner", newLearnerActor, core.WithMaxConcurrency(collective.MinConcurrency))
	learners    = collective.Enable(learnerType)
	// learnerUpdate runs one iteration's update with the learning rate
	// given; rank 0 returns the new weights.
	learnerUpdate = core.RegisterMethod3(learnerType, "update", (*learnerActor).update)
)

func newLearnerActor(s learnerSpec) (*learnerActor, error) {
	pol, err := policyOf(s.Cfg)
	if err != nil {
		return nil, err
	}
	L := newPPOLearner(s.Cfg, pol)
	L.part = learnerPart{index: s.Rank, parts: s.Count}
	return &learnerActor{L: L}, nil
}

func (a *learnerActor) update(ctx context.Context, batches []*rolloutBatch, lr float64) ([]float64, error) {
	g, err := collective.GetGroup(learnerGroup)
	if err != nil {
		return nil, err
	}
	a.L.part.reduce = func(buf []float64) error { return collective.Allreduce(ctx, g, buf, collective.Sum) }
	a.L.adam.LR = lr
	if err := a.L.update(batches); err != nil {
		a.L.restore()
		return nil, err
	}
	if g.Rank() != 0 {
		return nil, nil
	}
	return a.L.params, nil
}

// learnerGroupOf starts cfg.Learners learner actors in a group.
func learnerGroupOf(ctx context.Context, cfg PPOConfig) ([]core.Actor[learnerActor], error) {
	actors := make([]core.Actor[learnerActor], cfg.Learners)
	for i := range actors {
		actors[i] = learnerType.Remote(learnerSpec{Cfg: cfg, Rank: i, Count: cfg.Learners})
	}
	if err := learners.CreateGroup(ctx, learnerGroup, actors, collective.Options{}); err != nil {
		for _, a := range actors {
			_ = a.Kill()
		}
		return nil, fmt.Errorf("rl: learners: %w", err)
	}
	return actors, nil
}

// updateOn runs an iteration's update on the learner actors and returns
// the new weights.
func updateOn(ctx context.Context, actors []core.Actor[learnerActor], batches []*rolloutBatch, lr float64) ([]float64, error) {
	ref, err := core.Put(batches) // once, for every learner
	if err != nil {
		return nil, err
	}
	refs := make([]core.Ref[[]float64], len(actors))
	for i, a := range actors {
		refs[i] = learnerUpdate.Remote(a, ctx, ref, lr)
	}
	params, err := core.GetAll(ctx, refs)
	if err != nil {
		return nil, err
	}
	return params[0], nil
}
