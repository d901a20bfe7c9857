package core

import (
	"context"
	"fmt"
	"reflect"
	"runtime"

	"github.com/fxamacker/cbor/v2"

	"manta/rpc/wire"
)

// Actor is a handle to a live actor of state type S: a stateful object in
// its own worker process whose method calls from one caller run in
// submission order. Handles are values: pass them to tasks and other
// actors as arguments, or inside argument values.
//
// A handle keeps its actor alive, as a Ref keeps its object: an actor
// that is not detached (WithDetached) is killed once no copy of any handle
// to it is reachable in any process and no call to it is pending.
type Actor[S any] struct {
	// ref is the creation's result; holding it is holding the actor.
	ref Ref[struct{}]
}

// ID returns the actor's ID (its creation task's ID); zero for the zero
// handle.
func (a Actor[S]) ID() wire.TaskID {
	if a.ref.h == nil {
		return wire.TaskID{}
	}
	return a.ref.h.ID.Task
}

func (a Actor[S]) handle() *refHandle { return a.ref.h }

// Ready waits until the actor's constructor has run, and returns its
// error if it failed (as Ray's __ray_ready__).
func (a Actor[S]) Ready(ctx context.Context) error {
	_, err := a.ref.Get(ctx)
	return err
}

// Release gives up this handle's hold on the actor now, rather than when
// the garbage collector finds it unreachable: an actor that is not
// detached is killed once no handle to it is left and no call to it is
// pending. Copies of the handle share its hold; handles received in
// values are holds of their own.
func (a Actor[S]) Release() { a.ref.Release() }

// Kill ends the actor's process at once; it is not restarted, and calls
// not yet finished fail with ErrActorDied.
func (a Actor[S]) Kill() error {
	if err := a.usable(); err != nil {
		return err
	}
	return a.ref.h.rt.backend.killActor(a.ID())
}

func (a Actor[S]) usable() error {
	if a.ref.h == nil {
		return fmt.Errorf("%w: the zero actor handle", ErrBadArguments)
	}
	return a.ref.h.usable()
}

// actorTag marks an actor handle nested inside a CBOR-encoded value.
const actorTag = refTag + 1

// MarshalCBOR encodes the handle as a tagged object ID: the receiving
// process takes a hold of its own on the actor.
func (a Actor[S]) MarshalCBOR() ([]byte, error) {
	if err := a.usable(); err != nil {
		return nil, fmt.Errorf("manta: cannot pass this actor handle: %w", err)
	}
	return cbor.Marshal(cbor.Tag{Number: actorTag, Content: wire.AppendObjectID(nil, a.ref.h.ID)})
}

// UnmarshalCBOR decodes a handle made by MarshalCBOR.
func (a *Actor[S]) UnmarshalCBOR(b []byte) error {
	var tag cbor.RawTag
	if err := cbor.Unmarshal(b, &tag); err != nil || tag.Number != actorTag {
		return fmt.Errorf("%w: not a manta actor handle", ErrDecode)
	}
	h, err := adoptTagged(tag.Content)
	a.ref.h = h
	return err
}

// ActorType is a registered actor type with state S; methods are
// registered against it.
type ActorType[S any] interface {
	actorInfo(*S) *actorInfo
}

// ActorType0 is an actor type whose constructor takes no arguments.
type ActorType0[S any] struct{ actorRef }

// ActorType1 is an actor type whose constructor takes one argument.
type ActorType1[S, A any] struct{ actorRef }

// ActorType2 is an actor type whose constructor takes two arguments.
type ActorType2[S, A, B any] struct{ actorRef }

// ActorType3 is an actor type whose constructor takes three arguments.
type ActorType3[S, A, B, C any] struct{ actorRef }

// actorRef is what every ActorTypeN holds: the registered type and the
// options its actors get.
type actorRef struct {
	info *actorInfo
	opts *callOptions // nil: those given at registration
}

func (t *ActorType0[S]) actorInfo(*S) *actorInfo          { return t.info }
func (t *ActorType1[S, A]) actorInfo(*S) *actorInfo       { return t.info }
func (t *ActorType2[S, A, B]) actorInfo(*S) *actorInfo    { return t.info }
func (t *ActorType3[S, A, B, C]) actorInfo(*S) *actorInfo { return t.info }

func registerActorType[S any](name string, opts []ActorOption, construct func(f *frame) (*S, error)) actorRef {
	ai := &actorInfo{name: name, state: reflect.TypeFor[S](), opts: buildActorOptions(opts),
		construct: func(f *frame) (any, error) { return construct(f) }}
	registerActor(ai)
	return actorRef{info: ai}
}

// with returns the type with opts applied over its current options.
func (t *actorRef) with(opts []ActorOption) actorRef {
	return actorRef{info: t.info, opts: applyOptions(t.info.opts, t.opts, (*callOptions).actor, opts, actorOptions)}
}

func (t *actorRef) begin(c *call, n int) {
	c.begin(wire.SubmitActor, t.info.name, t.info.wire, n)
	c.opts, c.nopts = t.opts, t.info.node
	if t.opts != nil {
		c.nopts = t.opts.node
	}
}

// RegisterActor0 registers an actor type under name with its constructor;
// call it at package level.
func RegisterActor0[S any](name string, ctor func() (*S, error), opts ...ActorOption) *ActorType0[S] {
	return &ActorType0[S]{registerActorType(name, opts, func(f *frame) (*S, error) {
		if err := f.done(); err != nil {
			return nil, err
		}
		return ctor()
	})}
}

// RegisterActor1 registers an actor type whose constructor takes one
// argument; see RegisterActor0.
func RegisterActor1[S, A any](name string, ctor func(A) (*S, error), opts ...ActorOption) *ActorType1[S, A] {
	ca := codecFor[A]()
	return &ActorType1[S, A]{registerActorType(name, opts, func(f *frame) (*S, error) {
		a := arg(f, ca)
		if err := f.done(); err != nil {
			return nil, err
		}
		return ctor(a)
	})}
}

// RegisterActor2 registers an actor type whose constructor takes two
// arguments; see RegisterActor0.
func RegisterActor2[S, A, B any](name string, ctor func(A, B) (*S, error), opts ...ActorOption) *ActorType2[S, A, B] {
	ca, cb := codecFor[A](), codecFor[B]()
	return &ActorType2[S, A, B]{registerActorType(name, opts, func(f *frame) (*S, error) {
		a, b := arg(f, ca), arg(f, cb)
		if err := f.done(); err != nil {
			return nil, err
		}
		return ctor(a, b)
	})}
}

// RegisterActor3 registers an actor type whose constructor takes three
// arguments; see RegisterActor0.
func RegisterActor3[S, A, B, C any](name string, ctor func(A, B, C) (*S, error), opts ...ActorOption) *ActorType3[S, A, B, C] {
	ca, cb, cc := codecFor[A](), codecFor[B](), codecFor[C]()
	return &ActorType3[S, A, B, C]{registerActorType(name, opts, func(f *frame) (*S, error) {
		a, b, c := arg(f, ca), arg(f, cb), arg(f, cc)
		if err := f.done(); err != nil {
			return nil, err
		}
		return ctor(a, b, c)
	})}
}

// Remote creates an actor; its constructor runs in a dedicated worker.
func (t *ActorType0[S]) Remote() Actor[S] {
	var c call
	t.begin(&c, 0)
	return createActor[S](&c)
}

// Remote creates an actor; the argument is an A or a Ref[A].
func (t *ActorType1[S, A]) Remote(a any) Actor[S] {
	var c call
	t.begin(&c, 1)
	addArg[A](&c, 0, a)
	return createActor[S](&c)
}

// Remote creates an actor; each argument is a value or a Ref of its type.
func (t *ActorType2[S, A, B]) Remote(a, b any) Actor[S] {
	var c call
	t.begin(&c, 2)
	addArg[A](&c, 0, a)
	addArg[B](&c, 1, b)
	return createActor[S](&c)
}

// Remote creates an actor; each argument is a value or a Ref of its type.
func (t *ActorType3[S, A, B, C]) Remote(a, b, c any) Actor[S] {
	var cl call
	t.begin(&cl, 3)
	addArg[A](&cl, 0, a)
	addArg[B](&cl, 1, b)
	addArg[C](&cl, 2, c)
	return createActor[S](&cl)
}

// Options returns the actor type with opts applied to the actors it
// creates, over the options it was registered with (Ray's
// Actor.options(...)).
func (t *ActorType0[S]) Options(opts ...ActorOption) *ActorType0[S] {
	return &ActorType0[S]{t.with(opts)}
}

// Options returns the actor type with opts applied; see ActorType0.Options.
func (t *ActorType1[S, A]) Options(opts ...ActorOption) *ActorType1[S, A] {
	return &ActorType1[S, A]{t.with(opts)}
}

// Options returns the actor type with opts applied; see ActorType0.Options.
func (t *ActorType2[S, A, B]) Options(opts ...ActorOption) *ActorType2[S, A, B] {
	return &ActorType2[S, A, B]{t.with(opts)}
}

// Options returns the actor type with opts applied; see ActorType0.Options.
func (t *ActorType3[S, A, B, C]) Options(opts ...ActorOption) *ActorType3[S, A, B, C] {
	return &ActorType3[S, A, B, C]{t.with(opts)}
}

func createActor[S any](c *call) Actor[S] {
	return Actor[S]{ref: submit[struct{}](c)}
}

// GetActor returns a handle to the live actor named name (see WithName),
// from the driver or any task. It fails with ErrNotFound if there is none,
// and with ErrInvalidArgument if its state type is not S.
func GetActor[S any](ctx context.Context, name string) (Actor[S], error) {
	rt := current.Load()
	if rt == nil {
		return Actor[S]{}, ErrNotInitialized
	}
	id, typeName, err := rt.backend.lookupActor(ctx, name)
	if err != nil {
		return Actor[S]{}, err
	}
	if ai := lookupActor([]byte(typeName)); ai == nil || ai.state != reflect.TypeFor[S]() {
		return Actor[S]{}, fmt.Errorf("%w: actor %q is a %s, not an actor of %v", ErrInvalidArgument, name, typeName, reflect.TypeFor[S]())
	}
	return Actor[S]{ref: Ref[struct{}]{h: newHandle(rt, rt.backend.adopt(wire.ReturnID(id)))}}, nil
}

// Method0 is a registered actor method without parameters.
type Method0[S, R any] struct{ methodName }

// Method1 is a registered actor method of one parameter.
type Method1[S, A, R any] struct{ methodName }

// Method2 is a registered actor method of two parameters.
type Method2[S, A, B, R any] struct{ methodName }

// Method3 is a registered actor method of three parameters.
type Method3[S, A, B, C, R any] struct{ methodName }

// Method4 is a registered actor method of four parameters.
type Method4[S, A, B, C, D, R any] struct{ methodName }

// Method5 is a registered actor method of five parameters: a context and
// four arguments.
type Method5[S, A, B, C, D, E, R any] struct{ methodName }

// methodName is a method's registry key, "Type.Method", its wire form and
// how many separate values it returns.
type methodName struct {
	key     string
	wire    []byte
	returns int
}

// registerMethodOf registers a method of t; run decodes a call's
// arguments and runs it on the actor's state.
func registerMethodOf[S, R any](t ActorType[S], name string, run func(s *S, f *frame) (R, error)) methodName {
	cr := codecFor[R]()
	key := registerMethod(t.actorInfo(nil).name, name, &methodInfo{returns: cr.returns, invoke: func(inst any, f *frame, out *output) error {
		s, ok := inst.(*S)
		if !ok {
			return fmt.Errorf("%w: %s is not a method of this actor (a %T)", ErrUnknownFunction, f.name, inst)
		}
		r, err := run(s, f)
		return encodeReturn(cr, &r, err, out)
	}})
	return methodName{key, []byte(key), cr.returns}
}

// RegisterMethod0 registers a method of actor type t; call it at package
// level. Like functions, methods may take a context.Context first.
func RegisterMethod0[S, R any](t ActorType[S], name string, fn func(*S) (R, error)) *Method0[S, R] {
	return &Method0[S, R]{registerMethodOf(t, name, func(s *S, f *frame) (R, error) {
		if err := f.done(); err != nil {
			return failed[R](err)
		}
		return fn(s)
	})}
}

// RegisterMethod1 registers a one-parameter method; see RegisterMethod0.
func RegisterMethod1[S, A, R any](t ActorType[S], name string, fn func(*S, A) (R, error)) *Method1[S, A, R] {
	ca := codecFor[A]()
	return &Method1[S, A, R]{registerMethodOf(t, name, func(s *S, f *frame) (R, error) {
		a := arg(f, ca)
		if err := f.done(); err != nil {
			return failed[R](err)
		}
		return fn(s, a)
	})}
}

// RegisterMethod2 registers a two-parameter method; see RegisterMethod0.
func RegisterMethod2[S, A, B, R any](t ActorType[S], name string, fn func(*S, A, B) (R, error)) *Method2[S, A, B, R] {
	ca, cb := codecFor[A](), codecFor[B]()
	return &Method2[S, A, B, R]{registerMethodOf(t, name, func(s *S, f *frame) (R, error) {
		a, b := arg(f, ca), arg(f, cb)
		if err := f.done(); err != nil {
			return failed[R](err)
		}
		return fn(s, a, b)
	})}
}

// RegisterMethod3 registers a three-parameter method; see RegisterMethod0.
func RegisterMethod3[S, A, B, C, R any](t ActorType[S], name string, fn func(*S, A, B, C) (R, error)) *Method3[S, A, B, C, R] {
	ca, cb, cc := codecFor[A](), codecFor[B](), codecFor[C]()
	return &Method3[S, A, B, C, R]{registerMethodOf(t, name, func(s *S, f *frame) (R, error) {
		a, b, c := arg(f, ca), arg(f, cb), arg(f, cc)
		if err := f.done(); err != nil {
			return failed[R](err)
		}
		return fn(s, a, b, c)
	})}
}

// RegisterMethod4 registers a four-parameter method; see RegisterMethod0.
func RegisterMethod4[S, A, B, C, D, R any](t ActorType[S], name string, fn func(*S, A, B, C, D) (R, error)) *Method4[S, A, B, C, D, R] {
	ca, cb, cc, cd := codecFor[A](), codecFor[B](), codecFor[C](), codecFor[D]()
	return &Method4[S, A, B, C, D, R]{registerMethodOf(t, name, func(s *S, f *frame) (R, error) {
		a, b, c, d := arg(f, ca), arg(f, cb), arg(f, cc), arg(f, cd)
		if err := f.done(); err != nil {
			return failed[R](err)
		}
		return fn(s, a, b, c, d)
	})}
}

// RegisterMethod5 registers a five-parameter method, such as a context
// and four arguments; see RegisterMethod0.
func RegisterMethod5[S, A, B, C, D, E, R any](t ActorType[S], name string, fn func(*S, A, B, C, D, E) (R, error)) *Method5[S, A, B, C, D, E, R] {
	ca, cb, cc, cd, ce := codecFor[A](), codecFor[B](), codecFor[C](), codecFor[D](), codecFor[E]()
	return &Method5[S, A, B, C, D, E, R]{registerMethodOf(t, name, func(s *S, f *frame) (R, error) {
		a, b, c, d, e := arg(f, ca), arg(f, cb), arg(f, cc), arg(f, cd), arg(f, ce)
		if err := f.done(); err != nil {
			return failed[R](err)
		}
		return fn(s, a, b, c, d, e)
	})}
}

func beginMethod[S any](c *call, m methodName, h Actor[S], nargs int) {
	c.begin(wire.SubmitActorCall, m.key, m.wire, nargs)
	c.actor, c.returns = h.ID(), m.returns
	if err := h.usable(); err != nil {
		c.err = fmt.Errorf("%s: %w", m.key, err)
	}
}

// submitMethod submits a method call; h stays reachable (and so its actor
// alive) until the node has the call, which then holds the actor itself.
func submitMethod[S, R any](c *call, h Actor[S]) Ref[R] {
	r := submit[R](c)
	runtime.KeepAlive(h.ref.h)
	return r
}

// Remote calls the method on actor h; calls from one caller run in the
// order they were made.
func (m *Method0[S, R]) Remote(h Actor[S]) Ref[R] {
	var c call
	beginMethod(&c, m.methodName, h, 0)
	return submitMethod[S, R](&c, h)
}

// Remote calls the method on actor h; the argument is an A or a Ref[A]
// (or, for a context.Context parameter, the caller's context).
func (m *Method1[S, A, R]) Remote(h Actor[S], a any) Ref[R] {
	var c call
	beginMethod(&c, m.methodName, h, 1)
	addArg[A](&c, 0, a)
	return submitMethod[S, R](&c, h)
}

// Remote calls the method on actor h; see Method1.Remote.
func (m *Method2[S, A, B, R]) Remote(h Actor[S], a, b any) Ref[R] {
	var c call
	beginMethod(&c, m.methodName, h, 2)
	addArg[A](&c, 0, a)
	addArg[B](&c, 1, b)
	return submitMethod[S, R](&c, h)
}

// Remote calls the method on actor h; see Method1.Remote.
func (m *Method3[S, A, B, C, R]) Remote(h Actor[S], a, b, c any) Ref[R] {
	var cl call
	beginMethod(&cl, m.methodName, h, 3)
	addArg[A](&cl, 0, a)
	addArg[B](&cl, 1, b)
	addArg[C](&cl, 2, c)
	return submitMethod[S, R](&cl, h)
}

// Remote calls the method on actor h; see Method1.Remote.
func (m *Method4[S, A, B, C, D, R]) Remote(h Actor[S], a, b, c, d any) Ref[R] {
	var cl call
	beginMethod(&cl, m.methodName, h, 4)
	addArg[A](&cl, 0, a)
	addArg[B](&cl, 1, b)
	addArg[C](&cl, 2, c)
	addArg[D](&cl, 3, d)
	return submitMethod[S, R](&cl, h)
}

// Remote calls the method on actor h; see Method1.Remote.
func (m *Method5[S, A, B, C, D, E, R]) Remote(h Actor[S], a, b, c, d, e any) Ref[R] {
	var cl call
	beginMethod(&cl, m.methodName, h, 5)
	addArg[A](&cl, 0, a)
	addArg[B](&cl, 1, b)
	addArg[C](&cl, 2, c)
	addArg[D](&cl, 3, d)
	addArg[E](&cl, 4, e)
	return submitMethod[S, R](&cl, h)
}
