package core

import (
	"context"
	"fmt"
	"time"
)

// Wait blocks until k of refs are ready (their calls finished, successfully
// or not), the timeout passes (timeout <= 0: none) or ctx is done, and
// returns the refs split into ready and not ready, each in the order of
// refs, as Ray's wait does: ready holds the first k found ready (fewer
// at a timeout, which is not an error), and any others ready are among
// notReady, for the next Wait. Asking for more refs than given, or fewer
// than none, fails with an error wrapping ErrInvalidArgument.
//
// In the driver, a Wait that refs done already satisfy costs the refs up
// to the k-th done.
//
// A typical loop takes results as they come:
//
//	for len(pending) > 0 {
//		var ready []core.Ref[T]
//		ready, pending, err = core.Wait(ctx, pending, 1, 0)
//		...
//	}
func Wait[T any](ctx context.Context, refs []Ref[T], k int, timeout time.Duration) (ready, notReady []Ref[T], err error) {
	idx, err := waitIndexes(ctx, refs, k, timeout)
	if err != nil {
		return nil, nil, err
	}
	ready = make([]Ref[T], 0, len(idx))
	notReady = make([]Ref[T], 0, len(refs)-len(idx))
	j := 0
	for i, r := range refs {
		if j < len(idx) && idx[j] == i {
			ready = append(ready, r)
			j++
		} else {
			notReady = append(notReady, r)
		}
	}
	return ready, notReady, nil
}

// WaitAny is Wait for references of different types: it returns the
// indexes of the ready ones, in the order of refs.
func WaitAny(ctx context.Context, refs []AnyRef, k int, timeout time.Duration) ([]int, error) {
	return waitIndexes(ctx, refs, k, timeout)
}

func waitIndexes[R refCarrier](ctx context.Context, refs []R, k int, timeout time.Duration) ([]int, error) {
	if k < 0 || k > len(refs) {
		return nil, fmt.Errorf("%w: Wait for %d of %d references", ErrInvalidArgument, k, len(refs))
	}
	if k == 0 {
		return []int{}, nil
	}
	if idx, ok := readyAtOnce(refs, k); ok {
		return idx, nil
	}
	holds := make([]hold, len(refs))
	var rt *runtimeState
	for i, r := range refs {
		h := r.handle()
		if h.usable() != nil {
			// Ready at once: its Get returns the error.
			continue
		}
		if rt != nil && h.rt != rt {
			return nil, fmt.Errorf("manta: Wait across two runtimes: %w", ErrShutdown)
		}
		rt, holds[i] = h.rt, h.hold
	}
	if rt == nil {
		return allIndexes(k), nil
	}
	idx, err := rt.backend.wait(ctx, holds, k, timeout)
	if len(idx) > k {
		idx = idx[:k]
	}
	return idx, err
}

// readyAtOnce answers, in the driver, a Wait that refs done already
// satisfy: under one hold of the node's lock it looks no further than the
// k-th done, so that a loop taking results as they come, which calls Wait
// once a result over every ref still pending, pays for the refs up to the
// first done, not for all. ok is false when fewer than k are done, in a
// worker (its node answers), or when the refs come from two runtimes
// (the full path says so).
func readyAtOnce[R refCarrier](refs []R, k int) (idx []int, ok bool) {
	var rt *runtimeState
	for _, r := range refs {
		if h := r.handle(); !h.unusable() {
			rt = h.rt
			break
		}
	}
	if rt == nil {
		return nil, false
	}
	d, isDriver := rt.backend.(*driver)
	if !isDriver {
		return nil, false
	}
	mixed := false
	idx, ok = d.h.FirstDone(len(refs), func(i int) hold {
		h := refs[i].handle()
		if h.unusable() {
			return hold{} // done: its Get returns the error
		}
		mixed = mixed || h.rt != rt
		return h.hold
	}, k)
	return idx, ok && !mixed
}

func allIndexes(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}
