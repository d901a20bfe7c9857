package core

import (
	"context"
	"fmt"
	"time"
)

// Wait blocks until k of refs are ready (their calls finished, successfully
// or not), the timeout passes (timeout <= 0: none) or ctx is done, and
// returns the refs split into ready and not ready, each in the order of
// refs, as Ray's wait does. A timeout is not an error: what is ready by
// then is returned. Asking for more refs than given, or fewer than none,
// fails with an error wrapping ErrInvalidArgument.
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
	if len(refs) == 0 {
		return []int{}, nil
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
		return allIndexes(len(refs)), nil
	}
	return rt.backend.wait(ctx, holds, k, timeout)
}

func allIndexes(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}
