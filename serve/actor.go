package serve

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"manta/core"
)

// Replica is the state of a model actor: the model, loaded in the actor's
// process, behind a Batcher. Its Infer method calls run concurrently (the
// actor's MaxConcurrency), and each waits in the batcher until its batch
// has been evaluated, so calls made at about the same time by different
// clients are evaluated together.
type Replica struct {
	batcher *Batcher
}

// Deployment is a model registered for serving by actors: Register it at
// package level (as core's functions and actors are), Deploy replicas from
// the driver or any task, and call Infer from any task or actor.
type Deployment struct {
	name     string
	replicas *core.ActorType1[Replica, Policy]
	infer    *core.Method2[Replica, context.Context, []float32, []float32]
}

// Register registers a deployment under name, whose replicas load their
// model with load in their own process. Call it at package level, so that
// worker processes register it too.
func Register(name string, load func() (Model, error)) *Deployment {
	d := &Deployment{name: name}
	d.replicas = core.RegisterActor1(name, func(p Policy) (*Replica, error) {
		m, err := load()
		if err != nil {
			return nil, fmt.Errorf("cannot load the model of %s: %w", name, err)
		}
		b, err := NewBatcher(m, p, nil)
		if err != nil {
			return nil, err
		}
		return &Replica{batcher: b}, nil
	})
	d.infer = core.RegisterMethod2(d.replicas, "Infer", func(r *Replica, ctx context.Context, states []float32) ([]float32, error) {
		return r.batcher.Do(ctx, states)
	})
	return d
}

// Deploy starts a replica (a model actor) batching under p and waits
// until its model is loaded. The actor takes up to 2 × p.MaxBatch calls
// at once, so one batch fills while the one before is evaluated; opts
// apply over that (resources, a name, restarts).
func (d *Deployment) Deploy(ctx context.Context, p Policy, opts ...core.ActorOption) (core.Actor[Replica], error) {
	if err := p.validate(); err != nil {
		return core.Actor[Replica]{}, err
	}
	opts = append([]core.ActorOption{core.WithMaxConcurrency(2 * p.MaxBatch)}, opts...)
	replica := d.replicas.Options(opts...).Remote(p)
	if err := replica.Ready(ctx); err != nil {
		replica.Release()
		return core.Actor[Replica]{}, fmt.Errorf("cannot deploy %s: %w", d.name, err)
	}
	return replica, nil
}

// Infer evaluates states (one or more of the model's inputs, end to end)
// on replica and returns their outputs, end to end. Errors wrap
// ErrTimeout when ctx's deadline passed first (the request leaves its
// batch; the batch's other requests are answered), ErrCancelled, ErrBadInput,
// ErrModel, or else core's errors (ErrActorDied, ...).
func (d *Deployment) Infer(ctx context.Context, replica core.Actor[Replica], states []float32) ([]float32, error) {
	ref := d.infer.Remote(replica, ctx, states)
	defer ref.Release()
	out, err := ref.Get(ctx)
	if err != nil {
		return nil, replicaError(err)
	}
	return out, nil
}

// replicaError restores serve's sentinels on an error from a replica:
// a deadline arrives as core's cancellation with DeadlineExceeded, and the
// replica's own errors as a *core.TaskError carrying their text only.
func replicaError(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: %w", ErrTimeout, err)
	}
	if errors.Is(err, core.ErrCancelled) {
		return fmt.Errorf("%w: %w", ErrCancelled, err)
	}
	var te *core.TaskError
	if errors.As(err, &te) && errors.Is(err, core.ErrTaskFailed) {
		for _, sentinel := range []error{ErrBadInput, ErrModel, ErrTimeout, ErrCancelled, ErrClosed} {
			if strings.HasPrefix(te.Message, sentinel.Error()) {
				return fmt.Errorf("%w: %w", sentinel, err)
			}
		}
	}
	return err
}
