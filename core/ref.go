package core

import (
	"context"
	"fmt"
	"reflect"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/fxamacker/cbor/v2"

	"manta/node/host"
	"manta/rpc/wire"
)

// refHandle is one process's hold on an object. Every copy of a Ref shares
// its handle; the hold is given up by Release, or else by the handle's
// cleanup when the last copy becomes unreachable, so an object lives
// exactly as long as someone can still name it.
type refHandle struct {
	hold
	rt       *runtimeState
	err      error // set instead of id when the reference could not be made
	released atomic.Bool
	cleanup  runtime.Cleanup
}

// usable returns why the reference cannot be used, or nil.
func (h *refHandle) usable() error {
	switch {
	case h == nil:
		return fmt.Errorf("the zero Ref: %w", ErrObjectFreed)
	case h.err != nil:
		return h.err
	case h.released.Load():
		return fmt.Errorf("%v was released: %w", h.ID, ErrObjectFreed)
	}
	return nil
}

// unusable reports, without making the error, whether usable returns
// one.
func (h *refHandle) unusable() bool { return h == nil || h.err != nil || h.released.Load() }

// release gives the hold up now, once, whichever copy asks.
func (h *refHandle) release() {
	if h == nil || h.err != nil || !h.released.CompareAndSwap(false, true) {
		return
	}
	h.cleanup.Stop()
	h.rt.backend.release(h.hold)
}

// Ref is a typed future: the reference to the value a remote call will
// produce (or a value stored with Put). Pass it to other remote calls as an
// argument (it becomes a dependency, resolved before that call runs), nest
// it inside argument values (it stays a reference), or Get it.
//
// A Ref keeps its object alive. Release gives it up at once; otherwise that
// happens when the garbage collector finds every copy of the Ref
// unreachable, which for large objects may be much later than you would
// like: release what you no longer need.
type Ref[T any] struct{ h *refHandle }

// AnyRef is a reference of any value type, for WaitAny and Cancel.
type AnyRef interface {
	ID() wire.ObjectID
	Release()
	handle() *refHandle
}

// Release gives up this reference's hold on its object: the object is
// freed as soon as nothing else holds it. Tasks already submitted with the
// Ref as an argument keep the object until they have run, so releasing
// right after submitting frees an intermediate value the moment its last
// consumer is done. Every copy of the Ref is released with it (they share
// one hold); Get on any of them then fails with ErrObjectFreed. Release is
// idempotent and safe to call from several goroutines. References found
// inside values (a Ref field of a struct you got) are separate holds,
// released separately.
func (r Ref[T]) Release() { r.h.release() }

// ReleaseAll releases every reference in refs; see Ref.Release.
func ReleaseAll[T any](refs []Ref[T]) {
	for _, r := range refs {
		r.h.release()
	}
}

// ID returns the object's ID (zero for a reference that failed to be made).
func (r Ref[T]) ID() wire.ObjectID {
	if r.h == nil {
		return wire.ObjectID{}
	}
	return r.h.ID
}

func (r Ref[T]) handle() *refHandle { return r.h }

// Get blocks until the value is ready, ctx is done, or its task fails, and
// returns the value or the task's error (a *TaskError for remote failures).
//
// The value is the caller's own: decoded into ordinary Go memory, however
// large, so it may be written and kept for as long as you like, and it
// does not change when the object is released. For large slices that are
// only read, GetView avoids the copy.
func (r Ref[T]) Get(ctx context.Context) (T, error) {
	var v T
	if c := codecFor[T](); c.returns > 0 {
		err := getParts(ctx, r.h, c, &v)
		return v, err
	}
	var out [1]result
	if err := getResults(ctx, []*refHandle{r.h}, out[:]); err != nil {
		return v, err
	}
	rt := r.h.rt
	defer rt.backend.doneReading(out[:])
	if out[0].Err != nil {
		return v, out[0].Err
	}
	if err := codecFor[T]().dec(out[0].Data, &v); err != nil {
		return v, fmt.Errorf("cannot get %v: %w", r.h.ID, err)
	}
	return v, nil
}

// GetAll gets several references of one type, in order. It fails with the
// first error in that order. Like Get, it returns values of the caller's
// own.
func GetAll[T any](ctx context.Context, refs []Ref[T]) ([]T, error) {
	if len(refs) == 0 {
		return []T{}, nil
	}
	hs := make([]*refHandle, len(refs))
	for i, r := range refs {
		hs[i] = r.h
	}
	results := make([]result, len(refs))
	if err := getResults(ctx, hs, results); err != nil {
		return nil, err
	}
	defer hs[0].rt.backend.doneReading(results)
	out := make([]T, len(refs))
	c := codecFor[T]()
	if c.returns > 0 {
		for i, r := range refs {
			if err := getParts(ctx, r.h, c, &out[i]); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	for i, res := range results {
		if res.Err != nil {
			return nil, res.Err
		}
		if err := c.dec(res.Data, &out[i]); err != nil {
			return nil, fmt.Errorf("cannot get %v: %w", refs[i].h.ID, err)
		}
	}
	return out, nil
}

// getParts reads the values of a result made of several objects (a Pair):
// the task's own object says whether it succeeded, its parts hold the
// values.
func getParts[T any](ctx context.Context, h *refHandle, c *codec[T], v *T) error {
	var out [1]result
	if err := getResults(ctx, []*refHandle{h}, out[:]); err != nil {
		return err
	}
	h.rt.backend.doneReading(out[:])
	if out[0].Err != nil {
		return out[0].Err
	}
	holds := make([]hold, c.returns)
	for i := range holds {
		holds[i].ID = partID(h.ID, i)
	}
	parts := make([]result, c.returns)
	if err := h.rt.backend.get(ctx, holds, parts); err != nil {
		return err
	}
	defer h.rt.backend.doneReading(parts)
	err := c.decParts(parts, v)
	runtime.KeepAlive(h) // its object holds the parts
	return err
}

// getResults waits for the objects of hs and fills out with their bytes;
// stored bytes stay valid until the backend's doneReading(out), which the
// caller owes once this returns nil.
func getResults(ctx context.Context, hs []*refHandle, out []result) error {
	var rt *runtimeState
	var one [1]hold
	holds := one[:0]
	if len(hs) > 1 {
		holds = make([]hold, 0, len(hs))
	}
	for _, h := range hs {
		if err := h.usable(); err != nil {
			return fmt.Errorf("cannot get: %w", err)
		}
		if rt != nil && h.rt != rt {
			return fmt.Errorf("cannot get references of two runtimes at once: %w", ErrShutdown)
		}
		rt = h.rt
		holds = append(holds, h.hold)
	}
	err := rt.backend.get(ctx, holds, out)
	runtime.KeepAlive(hs) // hold the objects until their bytes are in hand
	return err
}

// result is one object's outcome as a backend reports it: its bytes, or
// its error. Stored bytes (Stored) lie in the object store, valid until
// the backend's doneReading.
type result = host.Read

// failedRef makes a reference whose Get returns err at once: how calls that
// cannot even be submitted (bad arguments, infeasible resources) report.
func failedRef[T any](err error) Ref[T] { return Ref[T]{h: &refHandle{err: err}} }

// newHandle wraps a hold this process already has (the backend counted
// it) and arranges for it to be released with the handle.
func newHandle(rt *runtimeState, hd hold) *refHandle {
	h := &refHandle{hold: hd, rt: rt}
	h.cleanup = runtime.AddCleanup(h, rt.release, hd)
	return h
}

// refTag marks a reference nested inside a CBOR-encoded value.
const refTag = 55799 + 1000

// MarshalCBOR encodes a nested reference as a tagged object ID, and the
// zero Ref as null.
func (r Ref[T]) MarshalCBOR() ([]byte, error) {
	if r.h == nil {
		return []byte{0xf6}, nil
	}
	if err := r.h.usable(); err != nil {
		return nil, fmt.Errorf("manta: cannot pass this Ref inside a value: %w", err)
	}
	return cbor.Marshal(cbor.Tag{Number: refTag, Content: wire.AppendObjectID(nil, r.h.ID)})
}

// UnmarshalCBOR decodes a nested reference and takes this process's hold on
// the object, so the reference is usable here like any other.
func (r *Ref[T]) UnmarshalCBOR(b []byte) error {
	if len(b) == 1 && b[0] == 0xf6 {
		*r = Ref[T]{}
		return nil
	}
	var tag cbor.RawTag
	if err := cbor.Unmarshal(b, &tag); err != nil || tag.Number != refTag {
		return fmt.Errorf("%w: not a manta reference", ErrDecode)
	}
	h, err := adoptTagged(tag.Content)
	r.h = h
	return err
}

// adoptTagged decodes the object ID inside a reference's or actor
// handle's tag and takes this process's hold on the object.
func adoptTagged(content []byte) (*refHandle, error) {
	var raw []byte
	if err := cbor.Unmarshal(content, &raw); err != nil {
		return nil, fmt.Errorf("%w: bad reference: %v", ErrDecode, err)
	}
	id, ok := wire.ObjectIDFromBytes(raw)
	if !ok {
		return nil, fmt.Errorf("%w: reference of %d bytes", ErrDecode, len(raw))
	}
	rt := current.Load()
	if rt == nil {
		return &refHandle{hold: hold{ID: id}, err: ErrNotInitialized}, nil
	}
	return newHandle(rt, rt.backend.adopt(id)), nil
}

// refCarrier is a value that holds an object: a Ref, or an actor handle.
type refCarrier interface{ handle() *refHandle }

var refValueType = reflect.TypeFor[refCarrier]()

var holdsRefs sync.Map // reflect.Type -> bool

// mayHoldRefs reports whether a value of type t can contain a reference;
// interfaces may hold anything, so they count.
func mayHoldRefs(t reflect.Type) bool {
	if v, ok := holdsRefs.Load(t); ok {
		return v.(bool)
	}
	v := typeHoldsRefs(t, map[reflect.Type]bool{})
	holdsRefs.Store(t, v)
	return v
}

func typeHoldsRefs(t reflect.Type, seen map[reflect.Type]bool) bool {
	if t.Implements(refValueType) || t.Kind() == reflect.Interface {
		return true
	}
	if seen[t] {
		return false
	}
	seen[t] = true
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return typeHoldsRefs(t.Elem(), seen)
	case reflect.Map:
		return typeHoldsRefs(t.Key(), seen) || typeHoldsRefs(t.Elem(), seen)
	case reflect.Struct:
		for i := range t.NumField() {
			if f := t.Field(i); f.IsExported() && typeHoldsRefs(f.Type, seen) {
				return true
			}
		}
	}
	return false
}

// refsIn appends the handles of the references inside v, whose objects
// the node holds for as long as the value that carries them (idsOf names
// them). Like CBOR, it looks only at exported fields: unexported ones never
// travel.
//
// The caller keeps the handles reachable until the message naming their
// objects is sent: a handle collected before that releases its object,
// which the node may free before it learns that v holds it (a task's
// result often holds the only handles to its children's objects).
func refsIn(dst []*refHandle, v any) []*refHandle {
	rv := reflect.ValueOf(v)
	if !rv.IsValid() || !mayHoldRefs(rv.Type()) {
		return dst
	}
	return walkRefs(dst, rv, map[uintptr]bool{})
}

func walkRefs(dst []*refHandle, v reflect.Value, seen map[uintptr]bool) []*refHandle {
	t := v.Type()
	if t.Kind() != reflect.Interface && t.Implements(refValueType) {
		if h := v.Interface().(refCarrier).handle(); h.usable() == nil {
			dst = append(dst, h)
		}
		return dst
	}
	if !mayHoldRefs(t) {
		return dst
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() || seen[v.Pointer()] {
			return dst
		}
		seen[v.Pointer()] = true
		return walkRefs(dst, v.Elem(), seen)
	case reflect.Interface:
		if v.IsNil() {
			return dst
		}
		return walkRefs(dst, v.Elem(), seen)
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			dst = walkRefs(dst, v.Index(i), seen)
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			dst = walkRefs(walkRefs(dst, it.Key(), seen), it.Value(), seen)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if t.Field(i).IsExported() {
				dst = walkRefs(dst, v.Field(i), seen)
			}
		}
	}
	return dst
}

// idsOf appends the objects of hs to dst.
func idsOf(dst []wire.ObjectID, hs []*refHandle) []wire.ObjectID {
	for _, h := range hs {
		dst = append(dst, h.ID)
	}
	return dst
}
