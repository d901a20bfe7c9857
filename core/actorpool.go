package core

import (
	"context"
	"iter"
)

// ActorPool spreads calls over a fixed set of actors, one call per actor at
// a time, as Ray's ActorPool: Map and MapUnordered give each value to the
// next free actor. Maps running at once on one pool share its actors.
type ActorPool[S any] struct {
	idle chan Actor[S]
}

// NewActorPool returns a pool of actors; it keeps their handles (and so
// the actors) alive while the pool is reachable.
func NewActorPool[S any](actors []Actor[S]) *ActorPool[S] {
	p := &ActorPool[S]{idle: make(chan Actor[S], len(actors))}
	for _, a := range actors {
		p.idle <- a
	}
	return p
}

// poolCall is a call a Map has in flight, and the actor it holds.
type poolCall[S, R any] struct {
	ref   Ref[R]
	actor Actor[S]
}

// Map calls fn(actor, v) for each of values on the pool's free actors and
// yields the results in the order of values. A failed call yields its
// error and the others go on; if ctx ends, Map yields ctx's error and
// stops. Stopping the iteration early cancels the calls still in flight.
//
//	for sum, err := range core.Map(ctx, pool, batches, func(a core.Actor[Summer], b []float64) core.Ref[float64] {
//		return sumMethod.Remote(a, b)
//	}) { ... }
func Map[S, V, R any](ctx context.Context, p *ActorPool[S], values []V, fn func(Actor[S], V) Ref[R]) iter.Seq2[R, error] {
	return runPool(ctx, p, values, fn, func(context.Context, []poolCall[S, R]) (int, error) { return 0, nil })
}

// MapUnordered is Map yielding each result as soon as it is ready, so a
// slow call does not hold back the others.
func MapUnordered[S, V, R any](ctx context.Context, p *ActorPool[S], values []V, fn func(Actor[S], V) Ref[R]) iter.Seq2[R, error] {
	return runPool(ctx, p, values, fn, func(ctx context.Context, calls []poolCall[S, R]) (int, error) {
		refs := make([]AnyRef, len(calls))
		for i, c := range calls {
			refs[i] = c.ref
		}
		ready, err := WaitAny(ctx, refs, 1, 0)
		if err != nil {
			return 0, err
		}
		return ready[0], nil
	})
}

// runPool is Map and MapUnordered: next picks which call in flight to
// yield.
func runPool[S, V, R any](ctx context.Context, p *ActorPool[S], values []V, fn func(Actor[S], V) Ref[R],
	next func(context.Context, []poolCall[S, R]) (int, error)) iter.Seq2[R, error] {
	return func(yield func(R, error) bool) {
		var calls []poolCall[S, R]
		defer func() {
			for _, c := range calls {
				Cancel(c.ref)
				p.idle <- c.actor
			}
		}()
		var zero R
		for i := 0; i < len(values) || len(calls) > 0; {
			// Give values to every free actor; with none free and nothing in
			// flight (other Maps have them all), wait for one.
			for i < len(values) {
				var a Actor[S]
				if len(calls) == 0 {
					select {
					case a = <-p.idle:
					case <-ctx.Done():
						yield(zero, ctx.Err())
						return
					}
				} else {
					select {
					case a = <-p.idle:
					default:
					}
					if a.handle() == nil {
						break
					}
				}
				calls = append(calls, poolCall[S, R]{fn(a, values[i]), a})
				i++
			}
			j, err := next(ctx, calls)
			if err != nil {
				yield(zero, err)
				return
			}
			c := calls[j]
			calls = append(calls[:j], calls[j+1:]...)
			v, err := c.ref.Get(ctx)
			p.idle <- c.actor
			if ctx.Err() != nil {
				yield(zero, ctx.Err())
				return
			}
			if !yield(v, err) {
				return
			}
		}
	}
}
