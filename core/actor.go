package core

import (
	"fmt"

	"github.com/fxamacker/cbor/v2"

	"manta/rpc/wire"
)

// Actor is a handle to a live actor of state type S: a stateful object in
// its own worker process whose method calls from one caller run in
// submission order. Handles are plain data: pass them to tasks and other
// actors as arguments.
type Actor[S any] struct {
	id  wire.TaskID
	err error // set when the actor could not even be submitted
}

// ID returns the actor's ID (its creation task's ID).
func (a Actor[S]) ID() wire.TaskID { return a.id }

// Kill ends the actor's process at once; it is not restarted, and calls
// not yet finished fail with ErrActorDied.
func (a Actor[S]) Kill() error {
	if a.err != nil {
		return a.err
	}
	rt := current.Load()
	if rt == nil {
		return ErrNotInitialized
	}
	return rt.backend.killActor(a.id)
}

// actorTag marks an actor handle nested inside a CBOR-encoded value.
const actorTag = refTag + 1

// MarshalCBOR encodes the handle as a tagged actor ID.
func (a Actor[S]) MarshalCBOR() ([]byte, error) {
	if a.err != nil {
		return nil, fmt.Errorf("manta: cannot pass a failed actor handle: %w", a.err)
	}
	return cbor.Marshal(cbor.Tag{Number: actorTag, Content: []uint64{a.id.Hi, a.id.Lo}})
}

// UnmarshalCBOR decodes a handle made by MarshalCBOR.
func (a *Actor[S]) UnmarshalCBOR(b []byte) error {
	var tag cbor.RawTag
	if err := cbor.Unmarshal(b, &tag); err != nil || tag.Number != actorTag {
		return fmt.Errorf("%w: not a manta actor handle", ErrDecode)
	}
	var words []uint64
	if err := cbor.Unmarshal(tag.Content, &words); err != nil || len(words) != 2 {
		return fmt.Errorf("%w: bad actor handle", ErrDecode)
	}
	a.id = wire.TaskID{Hi: words[0], Lo: words[1]}
	return nil
}

// ActorType is a registered actor type with state S; methods are
// registered against it.
type ActorType[S any] interface {
	actorInfo(*S) *actorInfo
}

// ActorType0 is an actor type whose constructor takes no arguments.
type ActorType0[S any] struct{ info *actorInfo }

// ActorType1 is an actor type whose constructor takes one argument.
type ActorType1[S, A any] struct{ info *actorInfo }

// ActorType2 is an actor type whose constructor takes two arguments.
type ActorType2[S, A, B any] struct{ info *actorInfo }

func (t *ActorType0[S]) actorInfo(*S) *actorInfo    { return t.info }
func (t *ActorType1[S, A]) actorInfo(*S) *actorInfo { return t.info }
func (t *ActorType2[S, A, B]) actorInfo(*S) *actorInfo {
	return t.info
}

// RegisterActor0 registers an actor type under name with its constructor;
// call it at package level.
func RegisterActor0[S any](name string, ctor func() (*S, error), opts ...ActorOption) *ActorType0[S] {
	ai := &actorInfo{name: name, opts: buildActorOptions(opts), construct: func(args []wire.Arg) (any, error) {
		if err := wantArgs(name, args, 0); err != nil {
			return nil, err
		}
		return ctor()
	}}
	registerActor(ai)
	return &ActorType0[S]{ai}
}

// RegisterActor1 registers an actor type whose constructor takes one
// argument; see RegisterActor0.
func RegisterActor1[S, A any](name string, ctor func(A) (*S, error), opts ...ActorOption) *ActorType1[S, A] {
	d := decoder1[A](name)
	ai := &actorInfo{name: name, opts: buildActorOptions(opts), construct: func(args []wire.Arg) (any, error) {
		a, err := d(args)
		if err != nil {
			return nil, err
		}
		return ctor(a)
	}}
	registerActor(ai)
	return &ActorType1[S, A]{ai}
}

// RegisterActor2 registers an actor type whose constructor takes two
// arguments; see RegisterActor0.
func RegisterActor2[S, A, B any](name string, ctor func(A, B) (*S, error), opts ...ActorOption) *ActorType2[S, A, B] {
	d := decoder2[A, B](name)
	ai := &actorInfo{name: name, opts: buildActorOptions(opts), construct: func(args []wire.Arg) (any, error) {
		a, b, err := d(args)
		if err != nil {
			return nil, err
		}
		return ctor(a, b)
	}}
	registerActor(ai)
	return &ActorType2[S, A, B]{ai}
}

// Remote creates an actor; its constructor runs in a dedicated worker.
func (t *ActorType0[S]) Remote() Actor[S] {
	var c call
	c.begin(wire.SubmitActor, t.info.name, t.info.wire, 0)
	return createActor[S](&c)
}

// Remote creates an actor; the argument is an A or a Ref[A].
func (t *ActorType1[S, A]) Remote(a any) Actor[S] {
	var c call
	c.begin(wire.SubmitActor, t.info.name, t.info.wire, 1)
	addArg[A](&c, 0, a)
	return createActor[S](&c)
}

// Remote creates an actor; each argument is a value or a Ref of its type.
func (t *ActorType2[S, A, B]) Remote(a, b any) Actor[S] {
	var c call
	c.begin(wire.SubmitActor, t.info.name, t.info.wire, 2)
	addArg[A](&c, 0, a)
	addArg[B](&c, 1, b)
	return createActor[S](&c)
}

func createActor[S any](c *call) Actor[S] {
	ref := submit[struct{}](c)
	if ref.h.err != nil {
		return Actor[S]{err: ref.h.err}
	}
	return Actor[S]{id: ref.h.id.Task}
}

// Method0 is a registered actor method without arguments.
type Method0[S, R any] struct{ methodName }

// Method1 is a registered actor method of one argument.
type Method1[S, A, R any] struct{ methodName }

// Method2 is a registered actor method of two arguments.
type Method2[S, A, B, R any] struct{ methodName }

// methodName is a method's registry key, "Type.Method", and its wire form.
type methodName struct {
	key  string
	wire []byte
}

func newMethodName(key string) methodName { return methodName{key, []byte(key)} }

// RegisterMethod0 registers a method of actor type t; call it at package
// level.
func RegisterMethod0[S, R any](t ActorType[S], name string, fn func(*S) (R, error)) *Method0[S, R] {
	cr := codecFor[R]()
	key := registerMethod(t.actorInfo(nil).name, name, func(inst any, args []wire.Arg, dst []byte) ([]byte, []wire.ObjectID, error) {
		if err := wantArgs(name, args, 0); err != nil {
			return dst, nil, err
		}
		r, err := fn(inst.(*S))
		return encodeResult(cr, dst, &r, err)
	})
	return &Method0[S, R]{newMethodName(key)}
}

// RegisterMethod1 registers a one-argument method; see RegisterMethod0.
func RegisterMethod1[S, A, R any](t ActorType[S], name string, fn func(*S, A) (R, error)) *Method1[S, A, R] {
	d, cr := decoder1[A](name), codecFor[R]()
	key := registerMethod(t.actorInfo(nil).name, name, func(inst any, args []wire.Arg, dst []byte) ([]byte, []wire.ObjectID, error) {
		a, err := d(args)
		if err != nil {
			return dst, nil, err
		}
		r, err := fn(inst.(*S), a)
		return encodeResult(cr, dst, &r, err)
	})
	return &Method1[S, A, R]{newMethodName(key)}
}

// RegisterMethod2 registers a two-argument method; see RegisterMethod0.
func RegisterMethod2[S, A, B, R any](t ActorType[S], name string, fn func(*S, A, B) (R, error)) *Method2[S, A, B, R] {
	d, cr := decoder2[A, B](name), codecFor[R]()
	key := registerMethod(t.actorInfo(nil).name, name, func(inst any, args []wire.Arg, dst []byte) ([]byte, []wire.ObjectID, error) {
		a, b, err := d(args)
		if err != nil {
			return dst, nil, err
		}
		r, err := fn(inst.(*S), a, b)
		return encodeResult(cr, dst, &r, err)
	})
	return &Method2[S, A, B, R]{newMethodName(key)}
}

func beginMethod[S any](c *call, m methodName, h Actor[S], nargs int) {
	c.begin(wire.SubmitActorCall, m.key, m.wire, nargs)
	c.actor = h.id
	if h.err != nil {
		c.err = h.err
	} else if h.id.IsZero() {
		c.err = fmt.Errorf("%w: %s called on the zero actor handle", ErrBadArguments, m.key)
	}
}

// Remote calls the method on actor h; calls from one caller run in the
// order they were made.
func (m *Method0[S, R]) Remote(h Actor[S]) Ref[R] {
	var c call
	beginMethod(&c, m.methodName, h, 0)
	return submit[R](&c)
}

// Remote calls the method on actor h; the argument is an A or a Ref[A].
func (m *Method1[S, A, R]) Remote(h Actor[S], a any) Ref[R] {
	var c call
	beginMethod(&c, m.methodName, h, 1)
	addArg[A](&c, 0, a)
	return submit[R](&c)
}

// Remote calls the method on actor h; see Method1.Remote.
func (m *Method2[S, A, B, R]) Remote(h Actor[S], a, b any) Ref[R] {
	var c call
	beginMethod(&c, m.methodName, h, 2)
	addArg[A](&c, 0, a)
	addArg[B](&c, 1, b)
	return submit[R](&c)
}
