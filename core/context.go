package core

import (
	"context"
	"errors"
	"fmt"
	"time"

	"manta/rpc/wire"
)

// TaskInfo identifies the call a task context belongs to.
type TaskInfo struct {
	// ID is the task's ID; the object IDs of its results derive from it.
	// It derives in turn from the ID of the task that made the call and
	// how many calls that task had made before (the driver's calls hang
	// off a random root). So a task run again, which makes the same calls
	// in the same order, gives them the same IDs, and its Puts too: the
	// node then finds the results it still has instead of running them
	// again. A call is numbered from the task whose context it is made
	// with, or else from the only call of the worker not waiting in Get;
	// calls made from several goroutines without the task's context, or
	// in an actor running calls concurrently, get IDs a re-run does not
	// repeat.
	ID wire.TaskID
	// Actor is the actor a method call runs on; zero for a task.
	Actor wire.TaskID
	// Attempt counts runs of the task: 1, then more after its worker died
	// and it was retried.
	Attempt uint32
	// Name is the function's (or "Type.Method") registered name.
	Name string
	// Devices are the GPUs the call holds, by index on its node (nil for
	// none): the process's CUDA_VISIBLE_DEVICES names exactly them, and
	// its threads are bound to the CPUs local to them. Read-only.
	Devices []int
}

// TaskFromContext returns the identity of the task (or actor call) whose
// context ctx is, or derives from: the context a remote function or
// method declared as its first parameter gets. ok is false elsewhere, as
// in the driver.
func TaskFromContext(ctx context.Context) (TaskInfo, bool) {
	if run := runningOf(ctx); run != nil {
		return run.info, true
	}
	return TaskInfo{}, false
}

// running is a call executing in this worker. Records are reused from
// call to call, unless user code kept their context.
type running struct {
	w        *workerProc
	info     TaskInfo  // Name is filled in with the context
	ids      idSource  // the IDs of the calls and Puts it makes
	name     []byte    // the call's name, valid during the call
	load     *slotLoad // the counts of the lease slot it came on
	deadline int64     // unix nanoseconds, 0 for none
	frame    frame
	out      output
	// The fields below are guarded by w.mu.
	live       bool         // executing: user code has not returned
	ctx        *taskContext // made when first asked for
	cancel     context.CancelCauseFunc
	stopTimer  context.CancelFunc // the deadline's, released when the call ends
	cancelled  bool
	blocked    int  // goroutines of the call waiting in Get or Wait
	checkpoint bool // the call asked for a checkpoint (Checkpoint)
}

// taskContext is a call's context: cancelled when the call is, with the
// deadline of the caller's context, and carrying the call's identity.
type taskContext struct {
	context.Context
	run *running
}

type runningKey struct{}

// Value returns the call for runningKey, so that contexts derived from
// this one still name it.
func (c *taskContext) Value(key any) any {
	if key == (runningKey{}) {
		return c.run
	}
	return c.Context.Value(key)
}

// runningOf returns the call ctx belongs to, if any.
func runningOf(ctx context.Context) *running {
	if ctx == nil {
		return nil
	}
	if tc, ok := ctx.(*taskContext); ok {
		return tc.run
	}
	run, _ := ctx.Value(runningKey{}).(*running)
	return run
}

// context returns the call's context, making it on first use.
func (r *running) context() context.Context {
	r.w.mu.Lock()
	defer r.w.mu.Unlock()
	if r.ctx == nil {
		base, cancel := context.WithCancelCause(context.Background())
		if r.deadline != 0 {
			base, r.stopTimer = context.WithDeadline(base, time.Unix(0, r.deadline))
		}
		r.info.Name = string(r.name)
		r.ctx, r.cancel = &taskContext{Context: base, run: r}, cancel
		if r.cancelled {
			cancel(ErrCancelled)
		}
	}
	return r.ctx
}

// cancelLocked cancels the call; under w.mu.
func (r *running) cancelLocked() {
	r.cancelled = true
	if r.cancel != nil {
		r.cancel(ErrCancelled)
	}
}

// cancelError is the error of a call cancelled before it started.
func (r *running) cancelError() error {
	return fmt.Errorf("%s: %w", r.name, ErrCancelled)
}

// classify makes the error of a call that gave up because its context
// ended an ErrCancelled.
func (r *running) classify(err error) error {
	if err == nil || errors.Is(err, ErrCancelled) {
		return err
	}
	r.w.mu.Lock()
	ctx := r.ctx
	r.w.mu.Unlock()
	if ctx == nil || ctx.Err() == nil {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: %w", ErrCancelled, err)
	}
	return err
}

// Cancel cancels the call that makes ref: a call still waiting for its
// arguments or a worker is dropped; a running one sees its context
// cancelled (a task that does not watch ctx.Done() runs to its end, and
// its result is dropped). Calls the task submitted with its context are
// cancelled with it. Get on ref then returns an error wrapping
// ErrCancelled, unless the call had finished already; cancelling a
// finished call does nothing. Actor creations are not cancelled: use
// Actor.Kill.
func Cancel(ref AnyRef) error {
	h := ref.handle()
	if err := h.usable(); err != nil {
		return fmt.Errorf("cannot cancel: %w", err)
	}
	if h.ID.Index >= wire.PutIndexBase {
		return fmt.Errorf("%w: %v was made by Put, not by a call", ErrInvalidArgument, h.ID)
	}
	return h.rt.backend.cancel(h.ID.Task)
}
