package core

import (
	"context"
	"fmt"
	"runtime"

	"manta/node"
	"manta/rpc/wire"
)

// submission is what a backend needs of a call. It is passed by value so
// the call itself never escapes to the heap.
type submission struct {
	kind      wire.SubmitKind
	wireName  []byte // the name as sent, made once per function
	actor     wire.TaskID
	args      []wire.Arg
	contained []wire.ObjectID
	// ctx is the caller's context, for a function that takes one: the call
	// is cancelled with it, and a task's own context makes the call its
	// child. Nil otherwise.
	ctx     context.Context
	opts    *callOptions // nil: the registered ones
	nopts   *node.Options
	returns int // separate return values, or 0
}

// call gathers one remote call's arguments before it is submitted. Values
// are encoded back to back into buf; refs become dependencies.
type call struct {
	submission
	name  string
	buf   []byte
	ends  []int        // end offset in buf of each inline argument
	holds []*refHandle // keeps argument refs (and refs inside arguments) reachable until submitted
	err   error
}

func (c *call) begin(kind wire.SubmitKind, name string, wireName []byte, nargs int) {
	c.kind, c.name, c.wireName = kind, name, wireName
	c.args = make([]wire.Arg, 0, nargs)
	c.ends = make([]int, 0, nargs)
}

// addArg adds argument i, which must be an A or a Ref[A] (or, for a
// context.Context parameter, the caller's context).
func addArg[A any](c *call, i int, a any) {
	if c.err != nil {
		return
	}
	cd := codecFor[A]()
	if cd.context {
		c.addContext(i, a)
		return
	}
	if r, ok := a.(Ref[A]); ok {
		c.addRef(i, r.h)
		return
	}
	if cd.argFrom != nil && cd.argFrom(c, i, a) {
		return
	}
	x, ok := a.(A)
	if !ok {
		c.err = fmt.Errorf("%w: %s argument %d is %T, want %T or core.Ref[%T]", ErrBadArguments, c.name, i, a, x, x)
		return
	}
	var err error
	buf := c.buf
	if buf, err = cd.enc(buf, &x); err != nil {
		c.err = fmt.Errorf("%w: %s argument %d: %v", ErrBadArguments, c.name, i, err)
		return
	}
	if cd.refs {
		c.addContained(x)
	}
	c.addEncoded(buf)
}

// addEncoded records the inline argument just appended to c.buf, which
// is now buf.
func (c *call) addEncoded(buf []byte) {
	c.buf = buf
	c.args = append(c.args, wire.Arg{})
	c.ends = append(c.ends, len(c.buf))
}

// addContext takes the caller's context, passed where the function takes
// its own.
func (c *call) addContext(i int, a any) {
	ctx, ok := a.(context.Context)
	switch {
	case a == nil:
		ctx = context.Background()
	case !ok:
		c.err = fmt.Errorf("%w: %s argument %d is %T, want the caller's context.Context", ErrBadArguments, c.name, i, a)
		return
	}
	if c.ctx != nil {
		c.err = fmt.Errorf("%w: %s takes two contexts", ErrBadArguments, c.name)
		return
	}
	c.ctx = ctx
}

// addAny adds an argument whose expected type is not known here (calls by
// name): refs become dependencies, a context is the caller's, anything else
// is encoded as it is.
func (c *call) addAny(i int, a any) {
	if c.err != nil {
		return
	}
	switch x := a.(type) {
	case AnyRef:
		c.addRef(i, x.handle())
		return
	case context.Context:
		c.addContext(i, x)
		return
	}
	buf, err := encodeAny(c.buf, a)
	if err != nil {
		c.err = fmt.Errorf("%w: %s argument %d: %v", ErrBadArguments, c.name, i, err)
		return
	}
	c.addContained(a)
	c.addEncoded(buf)
}

// addContained records the references inside argument v: the task holds
// their objects, and c.holds keeps them reachable until it is submitted.
func (c *call) addContained(v any) {
	n := len(c.holds)
	c.holds = refsIn(c.holds, v)
	c.contained = idsOf(c.contained, c.holds[n:])
}

func (c *call) addRef(i int, h *refHandle) {
	if h == nil {
		c.err = fmt.Errorf("%w: %s argument %d is the zero Ref", ErrBadArguments, c.name, i)
		return
	}
	if err := h.usable(); err != nil {
		c.err = fmt.Errorf("%s argument %d: %w", c.name, i, err)
		return
	}
	c.args = append(c.args, wire.Arg{IsRef: true, Ref: h.ID})
	c.ends = append(c.ends, -1)
	c.holds = append(c.holds, h)
}

// finish points each inline argument at its bytes, now that buf no longer
// moves.
func (c *call) finish() {
	start := 0
	for i, end := range c.ends {
		if end < 0 {
			continue
		}
		c.args[i].Data = c.buf[start:end:end]
		start = end
	}
}

// submit hands the call to this process's runtime and returns the typed
// reference to its result.
func submit[R any](c *call) Ref[R] {
	if c.err != nil {
		return failedRef[R](c.err)
	}
	rt := current.Load()
	if rt == nil {
		return failedRef[R](ErrNotInitialized)
	}
	for _, h := range c.holds {
		if h.rt != rt {
			return failedRef[R](fmt.Errorf("%s: an argument belongs to a runtime that has shut down: %w", c.name, ErrShutdown))
		}
	}
	if c.ctx != nil && c.ctx.Err() != nil {
		return failedRef[R](fmt.Errorf("%s: %w: %w", c.name, ErrCancelled, context.Cause(c.ctx)))
	}
	c.finish()
	task := rt.nextTaskID(c.ctx)
	// Large arguments go through the object store: each becomes an object
	// of its own, held by the task alone once it is submitted.
	var implicit []hold
	defer func() {
		for _, h := range implicit {
			rt.backend.release(h)
		}
	}()
	for i := range c.args {
		if a := &c.args[i]; !a.IsRef && len(a.Data) > rt.inline {
			h, err := rt.backend.put(wire.ObjectID{Task: task, Index: wire.PutIndexBase + uint32(i)}, encoded{data: a.Data}, nil)
			if err != nil {
				return failedRef[R](fmt.Errorf("%s argument %d: %w", c.name, i, err))
			}
			implicit = append(implicit, h)
			*a = wire.Arg{IsRef: true, Ref: h.ID}
		}
	}
	h, err := rt.backend.submit(task, c.submission)
	runtime.KeepAlive(c.holds) // the node holds their objects for the task now
	if err != nil {
		return failedRef[R](err)
	}
	return Ref[R]{h: newHandle(rt, h)}
}
