package core

import (
	"manta/rpc/wire"
)

// Remote functions of up to six parameters. A parameter of type
// context.Context (first, by convention) is not an argument: the caller
// passes its own context in that place, and the function gets the call's
// task context (see TaskFromContext). A parameter of type *View[E] takes a
// large []E argument without copying it (see View).

// Func0 is a registered remote function without parameters.
type Func0[R any] struct{ fnRef }

// Func1 is a registered remote function of one parameter.
type Func1[A, R any] struct{ fnRef }

// Func2 is a registered remote function of two parameters.
type Func2[A, B, R any] struct{ fnRef }

// Func3 is a registered remote function of three parameters.
type Func3[A, B, C, R any] struct{ fnRef }

// Func4 is a registered remote function of four parameters.
type Func4[A, B, C, D, R any] struct{ fnRef }

// Func5 is a registered remote function of five parameters.
type Func5[A, B, C, D, E, R any] struct{ fnRef }

// Func6 is a registered remote function of six parameters: a context and
// five arguments.
type Func6[A, B, C, D, E, F, R any] struct{ fnRef }

// fnRef is what every FuncN holds: the registered function and the
// options its calls get.
type fnRef struct {
	info *funcInfo
	opts *callOptions // nil: those given at registration
}

// begin starts a call of n arguments.
func (f *fnRef) begin(c *call, n int) {
	c.begin(wire.SubmitTask, f.info.name, f.info.wire, n)
	c.opts, c.nopts, c.returns = f.opts, f.info.node, f.info.returns
	if f.opts != nil {
		c.nopts = f.opts.node
	}
}

// with returns the function with opts applied over its current options.
func (f *fnRef) with(opts []Option) fnRef {
	return fnRef{info: f.info, opts: applyOptions(f.info.opts, f.opts, (*callOptions).task, opts, taskOptions)}
}

// register records a function; run decodes a call's arguments and runs it.
func register[R any](name string, opts []Option, run func(f *frame) (R, error)) fnRef {
	cr := codecFor[R]()
	fi := &funcInfo{name: name, opts: buildOptions(opts), returns: cr.returns, invoke: func(f *frame, out *output) error {
		r, err := run(f)
		return encodeReturn(cr, &r, err, out)
	}}
	registerFunc(fi)
	return fnRef{info: fi}
}

// failed is the zero result with err, for a call whose arguments did not
// decode.
func failed[R any](err error) (R, error) {
	var r R
	return r, err
}

// Register0 registers fn under name; call it at package level (or in an
// init function) so worker processes, which run the same binary, register
// it too.
func Register0[R any](name string, fn func() (R, error), opts ...Option) *Func0[R] {
	return &Func0[R]{register(name, opts, func(f *frame) (R, error) {
		if err := f.done(); err != nil {
			return failed[R](err)
		}
		return fn()
	})}
}

// Register1 registers a one-parameter function; see Register0.
func Register1[A, R any](name string, fn func(A) (R, error), opts ...Option) *Func1[A, R] {
	ca := codecFor[A]()
	return &Func1[A, R]{register(name, opts, func(f *frame) (R, error) {
		a := arg(f, ca)
		if err := f.done(); err != nil {
			return failed[R](err)
		}
		return fn(a)
	})}
}

// Register2 registers a two-parameter function; see Register0.
func Register2[A, B, R any](name string, fn func(A, B) (R, error), opts ...Option) *Func2[A, B, R] {
	ca, cb := codecFor[A](), codecFor[B]()
	return &Func2[A, B, R]{register(name, opts, func(f *frame) (R, error) {
		a, b := arg(f, ca), arg(f, cb)
		if err := f.done(); err != nil {
			return failed[R](err)
		}
		return fn(a, b)
	})}
}

// Register3 registers a three-parameter function; see Register0.
func Register3[A, B, C, R any](name string, fn func(A, B, C) (R, error), opts ...Option) *Func3[A, B, C, R] {
	ca, cb, cc := codecFor[A](), codecFor[B](), codecFor[C]()
	return &Func3[A, B, C, R]{register(name, opts, func(f *frame) (R, error) {
		a, b, c := arg(f, ca), arg(f, cb), arg(f, cc)
		if err := f.done(); err != nil {
			return failed[R](err)
		}
		return fn(a, b, c)
	})}
}

// Register4 registers a four-parameter function; see Register0.
func Register4[A, B, C, D, R any](name string, fn func(A, B, C, D) (R, error), opts ...Option) *Func4[A, B, C, D, R] {
	ca, cb, cc, cd := codecFor[A](), codecFor[B](), codecFor[C](), codecFor[D]()
	return &Func4[A, B, C, D, R]{register(name, opts, func(f *frame) (R, error) {
		a, b, c, d := arg(f, ca), arg(f, cb), arg(f, cc), arg(f, cd)
		if err := f.done(); err != nil {
			return failed[R](err)
		}
		return fn(a, b, c, d)
	})}
}

// Register5 registers a five-parameter function; see Register0.
func Register5[A, B, C, D, E, R any](name string, fn func(A, B, C, D, E) (R, error), opts ...Option) *Func5[A, B, C, D, E, R] {
	ca, cb, cc, cd, ce := codecFor[A](), codecFor[B](), codecFor[C](), codecFor[D](), codecFor[E]()
	return &Func5[A, B, C, D, E, R]{register(name, opts, func(f *frame) (R, error) {
		a, b, c, d, e := arg(f, ca), arg(f, cb), arg(f, cc), arg(f, cd), arg(f, ce)
		if err := f.done(); err != nil {
			return failed[R](err)
		}
		return fn(a, b, c, d, e)
	})}
}

// Register6 registers a six-parameter function, such as a context and five
// arguments; see Register0.
func Register6[A, B, C, D, E, F, R any](name string, fn func(A, B, C, D, E, F) (R, error), opts ...Option) *Func6[A, B, C, D, E, F, R] {
	ca, cb, cc, cd, ce, cf := codecFor[A](), codecFor[B](), codecFor[C](), codecFor[D](), codecFor[E](), codecFor[F]()
	return &Func6[A, B, C, D, E, F, R]{register(name, opts, func(fr *frame) (R, error) {
		a, b, c, d, e, f := arg(fr, ca), arg(fr, cb), arg(fr, cc), arg(fr, cd), arg(fr, ce), arg(fr, cf)
		if err := fr.done(); err != nil {
			return failed[R](err)
		}
		return fn(a, b, c, d, e, f)
	})}
}

// Remote submits a call and returns the reference to its result at once.
func (f *Func0[R]) Remote() Ref[R] {
	var c call
	f.begin(&c, 0)
	return submit[R](&c)
}

// Remote submits a call; each argument is an A or a Ref[A] (a dependency,
// resolved before the call runs). For a context.Context parameter pass the
// caller's context: the call is then cancelled with it, and from inside a
// task it becomes that task's child. Arguments of the wrong type make a
// reference whose Get fails with ErrBadArguments.
func (f *Func1[A, R]) Remote(a any) Ref[R] {
	var c call
	f.begin(&c, 1)
	addArg[A](&c, 0, a)
	return submit[R](&c)
}

// Remote submits a call; see Func1.Remote.
func (f *Func2[A, B, R]) Remote(a, b any) Ref[R] {
	var c call
	f.begin(&c, 2)
	addArg[A](&c, 0, a)
	addArg[B](&c, 1, b)
	return submit[R](&c)
}

// Remote submits a call; see Func1.Remote.
func (f *Func3[A, B, C, R]) Remote(a, b, c any) Ref[R] {
	var cl call
	f.begin(&cl, 3)
	addArg[A](&cl, 0, a)
	addArg[B](&cl, 1, b)
	addArg[C](&cl, 2, c)
	return submit[R](&cl)
}

// Remote submits a call; see Func1.Remote.
func (f *Func4[A, B, C, D, R]) Remote(a, b, c, d any) Ref[R] {
	var cl call
	f.begin(&cl, 4)
	addArg[A](&cl, 0, a)
	addArg[B](&cl, 1, b)
	addArg[C](&cl, 2, c)
	addArg[D](&cl, 3, d)
	return submit[R](&cl)
}

// Remote submits a call; see Func1.Remote.
func (f *Func5[A, B, C, D, E, R]) Remote(a, b, c, d, e any) Ref[R] {
	var cl call
	f.begin(&cl, 5)
	addArg[A](&cl, 0, a)
	addArg[B](&cl, 1, b)
	addArg[C](&cl, 2, c)
	addArg[D](&cl, 3, d)
	addArg[E](&cl, 4, e)
	return submit[R](&cl)
}

// Remote submits a call; see Func1.Remote.
func (f *Func6[A, B, C, D, E, F, R]) Remote(a, b, c, d, e, g any) Ref[R] {
	var cl call
	f.begin(&cl, 6)
	addArg[A](&cl, 0, a)
	addArg[B](&cl, 1, b)
	addArg[C](&cl, 2, c)
	addArg[D](&cl, 3, d)
	addArg[E](&cl, 4, e)
	addArg[F](&cl, 5, g)
	return submit[R](&cl)
}

// Options returns the function with opts applied to its calls, over the
// options it was registered with, as Ray's f.options(...): the function
// is not registered again.
func (f *Func0[R]) Options(opts ...Option) *Func0[R] { return &Func0[R]{f.with(opts)} }

// Options returns the function with opts applied; see Func0.Options.
func (f *Func1[A, R]) Options(opts ...Option) *Func1[A, R] { return &Func1[A, R]{f.with(opts)} }

// Options returns the function with opts applied; see Func0.Options.
func (f *Func2[A, B, R]) Options(opts ...Option) *Func2[A, B, R] {
	return &Func2[A, B, R]{f.with(opts)}
}

// Options returns the function with opts applied; see Func0.Options.
func (f *Func3[A, B, C, R]) Options(opts ...Option) *Func3[A, B, C, R] {
	return &Func3[A, B, C, R]{f.with(opts)}
}

// Options returns the function with opts applied; see Func0.Options.
func (f *Func4[A, B, C, D, R]) Options(opts ...Option) *Func4[A, B, C, D, R] {
	return &Func4[A, B, C, D, R]{f.with(opts)}
}

// Options returns the function with opts applied; see Func0.Options.
func (f *Func5[A, B, C, D, E, R]) Options(opts ...Option) *Func5[A, B, C, D, E, R] {
	return &Func5[A, B, C, D, E, R]{f.with(opts)}
}

// Options returns the function with opts applied; see Func0.Options.
func (f *Func6[A, B, C, D, E, F, R]) Options(opts ...Option) *Func6[A, B, C, D, E, F, R] {
	return &Func6[A, B, C, D, E, F, R]{f.with(opts)}
}

// Call submits a call to a function by name, for callers that do not hold
// its typed handle. Arguments are checked where the function runs; a name
// that process does not know fails at Get with ErrUnknownFunction. A
// context.Context argument is the caller's context, as in Remote.
func Call[R any](name string, args ...any) Ref[R] {
	var c call
	c.begin(wire.SubmitTask, name, []byte(name), len(args))
	c.returns = codecFor[R]().returns
	if fi := lookupFunc(c.wireName); fi != nil {
		c.nopts = fi.node
	}
	for i, a := range args {
		c.addAny(i, a)
	}
	return submit[R](&c)
}
