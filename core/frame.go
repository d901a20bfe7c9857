package core

import (
	"context"
	"fmt"
	"unsafe"

	"manta/rpc/wire"
)

// frame is one call being run in a worker: a task, an actor's constructor
// or a method. Parameters are decoded from it in order; a context.Context
// parameter takes the call's context and no argument.
type frame struct {
	name  []byte // valid during the call
	args  []wire.Arg
	next  int // the next argument to decode
	err   error
	run   *running
	objs  *objectStore
	views []func() error // argument views, released when the call returns
}

// arg decodes the next parameter, of type A; the first failure sticks in
// f.err, so a call decodes all its parameters and checks once.
func arg[A any](f *frame, c *codec[A]) (v A) {
	if f.err != nil {
		return v
	}
	if c.context {
		*(*context.Context)(unsafe.Pointer(&v)) = f.run.context()
		return v
	}
	if f.next >= len(f.args) {
		f.err = fmt.Errorf("%w: %s takes more arguments than the %d it got", ErrBadArguments, f.name, len(f.args))
		return v
	}
	i := f.next
	f.next++
	a := &f.args[i]
	var err error
	if c.decArg != nil {
		err = c.decArg(f, a, &v)
	} else {
		err = c.dec(a.Data, &v)
	}
	if err != nil {
		f.err = fmt.Errorf("%w: %s argument %d: %v", ErrBadArguments, f.name, i, err)
	}
	return v
}

// done checks that every argument was used, and gives the error to
// return if decoding failed.
func (f *frame) done() error {
	if f.err == nil && f.next != len(f.args) {
		f.err = fmt.Errorf("%w: %s takes %d arguments, got %d", ErrBadArguments, f.name, f.next, len(f.args))
	}
	return f.err
}

// releaseViews ends the views made for the call's arguments.
func (f *frame) releaseViews() {
	for _, release := range f.views {
		release()
	}
	clear(f.views)
	f.views = f.views[:0]
}

// output is what a call returned, encoded: one value, or one per part of a
// Pair or Triple.
type output struct {
	data      []byte
	contained []wire.ObjectID
	parts     []part
	// held are the handles of the references inside the value, kept
	// reachable until the reply naming their objects is sent (see refsIn).
	held []*refHandle
}

// part is one of several return values.
type part struct {
	data      []byte
	contained []wire.ObjectID
}

// encodeReturn encodes r into out, or passes err through.
func encodeReturn[R any](c *codec[R], r *R, err error, out *output) error {
	if err != nil {
		return err
	}
	if c.encParts != nil {
		return c.encParts(r, out)
	}
	if out.data, err = c.enc(out.data[:0], r); err != nil {
		return err
	}
	if c.refs {
		out.held = refsIn(out.held, *r)
		out.contained = idsOf(nil, out.held)
	}
	return nil
}

// appendPart encodes one part of a multiple return.
func appendPart[T any](out *output, v *T) error {
	c := codecFor[T]()
	var p part
	var err error
	if p.data, err = c.enc(nil, v); err != nil {
		return err
	}
	if c.refs {
		n := len(out.held)
		out.held = refsIn(out.held, *v)
		p.contained = idsOf(nil, out.held[n:])
	}
	out.parts = append(out.parts, p)
	return nil
}
