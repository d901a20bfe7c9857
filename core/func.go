package core

import (
	"fmt"

	"manta/rpc/wire"
)

// Func0 is a registered remote function without arguments.
type Func0[R any] struct{ info *funcInfo }

// Func1 is a registered remote function of one argument.
type Func1[A, R any] struct{ info *funcInfo }

// Func2 is a registered remote function of two arguments.
type Func2[A, B, R any] struct{ info *funcInfo }

// Func3 is a registered remote function of three arguments.
type Func3[A, B, C, R any] struct{ info *funcInfo }

// Register0 registers fn under name; call it at package level so worker
// processes (the same binary) register it too.
func Register0[R any](name string, fn func() (R, error), opts ...Option) *Func0[R] {
	cr := codecFor[R]()
	fi := &funcInfo{name: name, opts: buildOptions(opts), invoke: func(args []wire.Arg, dst []byte) ([]byte, []wire.ObjectID, error) {
		if err := wantArgs(name, args, 0); err != nil {
			return dst, nil, err
		}
		r, err := fn()
		return encodeResult(cr, dst, &r, err)
	}}
	registerFunc(fi)
	return &Func0[R]{fi}
}

// Register1 registers a one-argument function; see Register0.
func Register1[A, R any](name string, fn func(A) (R, error), opts ...Option) *Func1[A, R] {
	d, cr := decoder1[A](name), codecFor[R]()
	fi := &funcInfo{name: name, opts: buildOptions(opts), invoke: func(args []wire.Arg, dst []byte) ([]byte, []wire.ObjectID, error) {
		a, err := d(args)
		if err != nil {
			return dst, nil, err
		}
		r, err := fn(a)
		return encodeResult(cr, dst, &r, err)
	}}
	registerFunc(fi)
	return &Func1[A, R]{fi}
}

// Register2 registers a two-argument function; see Register0.
func Register2[A, B, R any](name string, fn func(A, B) (R, error), opts ...Option) *Func2[A, B, R] {
	d, cr := decoder2[A, B](name), codecFor[R]()
	fi := &funcInfo{name: name, opts: buildOptions(opts), invoke: func(args []wire.Arg, dst []byte) ([]byte, []wire.ObjectID, error) {
		a, b, err := d(args)
		if err != nil {
			return dst, nil, err
		}
		r, err := fn(a, b)
		return encodeResult(cr, dst, &r, err)
	}}
	registerFunc(fi)
	return &Func2[A, B, R]{fi}
}

// Register3 registers a three-argument function; see Register0.
func Register3[A, B, C, R any](name string, fn func(A, B, C) (R, error), opts ...Option) *Func3[A, B, C, R] {
	d, cr := decoder3[A, B, C](name), codecFor[R]()
	fi := &funcInfo{name: name, opts: buildOptions(opts), invoke: func(args []wire.Arg, dst []byte) ([]byte, []wire.ObjectID, error) {
		a, b, c, err := d(args)
		if err != nil {
			return dst, nil, err
		}
		r, err := fn(a, b, c)
		return encodeResult(cr, dst, &r, err)
	}}
	registerFunc(fi)
	return &Func3[A, B, C, R]{fi}
}

// Remote submits a call and returns the reference to its result at once.
func (f *Func0[R]) Remote() Ref[R] {
	var c call
	c.begin(wire.SubmitTask, f.info.name, f.info.wire, 0)
	c.fn = f.info
	return submit[R](&c)
}

// Remote submits a call; each argument is an A or a Ref[A] (a dependency).
// Arguments of the wrong type make a reference whose Get fails with
// ErrBadArguments.
func (f *Func1[A, R]) Remote(a any) Ref[R] {
	var c call
	c.begin(wire.SubmitTask, f.info.name, f.info.wire, 1)
	c.fn = f.info
	addArg[A](&c, 0, a)
	return submit[R](&c)
}

// Remote submits a call; see Func1.Remote.
func (f *Func2[A, B, R]) Remote(a, b any) Ref[R] {
	var c call
	c.begin(wire.SubmitTask, f.info.name, f.info.wire, 2)
	c.fn = f.info
	addArg[A](&c, 0, a)
	addArg[B](&c, 1, b)
	return submit[R](&c)
}

// Remote submits a call; see Func1.Remote.
func (f *Func3[A, B, C, R]) Remote(a, b, c any) Ref[R] {
	var cl call
	cl.begin(wire.SubmitTask, f.info.name, f.info.wire, 3)
	cl.fn = f.info
	addArg[A](&cl, 0, a)
	addArg[B](&cl, 1, b)
	addArg[C](&cl, 2, c)
	return submit[R](&cl)
}

// Call submits a call to a function by name, for callers that do not hold
// its typed handle. Arguments are checked where the function runs; a name
// that process does not know fails at Get with ErrUnknownFunction.
func Call[R any](name string, args ...any) Ref[R] {
	var c call
	c.begin(wire.SubmitTask, name, []byte(name), len(args))
	c.fn = lookupFunc(c.wireName)
	for i, a := range args {
		c.addAny(i, a)
	}
	return submit[R](&c)
}

func wantArgs(name string, args []wire.Arg, n int) error {
	if len(args) != n {
		return fmt.Errorf("%w: %s takes %d arguments, got %d", ErrBadArguments, name, n, len(args))
	}
	return nil
}

// decoder1 returns a function that decodes a one-argument call's
// arguments; decoder2 and decoder3 likewise. Functions, actor constructors
// and methods all decode through them.
func decoder1[A any](name string) func([]wire.Arg) (A, error) {
	ca := codecFor[A]()
	return func(args []wire.Arg) (a A, err error) {
		if err = wantArgs(name, args, 1); err == nil {
			err = decodeArg(name, 0, ca, args, &a)
		}
		return a, err
	}
}

func decoder2[A, B any](name string) func([]wire.Arg) (A, B, error) {
	ca, cb := codecFor[A](), codecFor[B]()
	return func(args []wire.Arg) (a A, b B, err error) {
		if err = wantArgs(name, args, 2); err == nil {
			if err = decodeArg(name, 0, ca, args, &a); err == nil {
				err = decodeArg(name, 1, cb, args, &b)
			}
		}
		return a, b, err
	}
}

func decoder3[A, B, C any](name string) func([]wire.Arg) (A, B, C, error) {
	d2, cc := decoder2[A, B](name), codecFor[C]()
	return func(args []wire.Arg) (a A, b B, c C, err error) {
		if err = wantArgs(name, args, 3); err != nil {
			return a, b, c, err
		}
		if a, b, err = d2(args[:2]); err == nil {
			err = decodeArg(name, 2, cc, args, &c)
		}
		return a, b, c, err
	}
}

func decodeArg[A any](name string, i int, c *codec[A], args []wire.Arg, a *A) error {
	if err := c.dec(args[i].Data, a); err != nil {
		return fmt.Errorf("%w: %s argument %d: %v", ErrBadArguments, name, i, err)
	}
	return nil
}

// encodeResult encodes a function's result, or passes its error through.
func encodeResult[R any](c *codec[R], dst []byte, r *R, err error) ([]byte, []wire.ObjectID, error) {
	if err != nil {
		return dst, nil, err
	}
	out, err := c.enc(dst, r)
	if err != nil {
		return dst, nil, err
	}
	var contained []wire.ObjectID
	if c.refs {
		contained = refsIn(nil, *r)
	}
	return out, contained, nil
}
