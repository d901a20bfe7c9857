package core

import (
	"context"
	"fmt"
	"reflect"
	"runtime"
	"sync"

	"github.com/fxamacker/cbor/v2"

	"manta/rpc/wire"
)

// refHandle is one process's hold on an object. Every copy of a Ref shares
// its handle; when the last copy becomes unreachable the garbage collector
// runs the handle's cleanup, which releases this process's hold, so an
// object lives exactly as long as someone can still name it.
type refHandle struct {
	hold
	rt  *runtimeState
	err error // set instead of id when the reference could not be made
}

// Ref is a typed future: the reference to the value a remote call will
// produce (or a value stored with Put). Pass it to other remote calls as an
// argument (it becomes a dependency, resolved before that call runs), nest
// it inside argument values (it stays a reference), or Get it.
type Ref[T any] struct{ h *refHandle }

// AnyRef is a reference of any value type, for Wait.
type AnyRef interface {
	ID() wire.ObjectID
	handle() *refHandle
}

// ID returns the object's ID (zero for a reference that failed to be made).
func (r Ref[T]) ID() wire.ObjectID {
	if r.h == nil {
		return wire.ObjectID{}
	}
	return r.h.id
}

func (r Ref[T]) handle() *refHandle { return r.h }

// Get blocks until the value is ready, ctx is done, or its task fails, and
// returns the value or the task's error (a *TaskError for remote failures).
func (r Ref[T]) Get(ctx context.Context) (T, error) {
	var v T
	res, err := getOne(ctx, r.h)
	if err != nil {
		return v, err
	}
	if err := codecFor[T]().decodeResult(res, &v); err != nil {
		return v, fmt.Errorf("cannot get %v: %w", r.h.id, err)
	}
	return v, nil
}

// GetAll gets several references of one type, in order. It fails with the
// first error in that order.
func GetAll[T any](ctx context.Context, refs []Ref[T]) ([]T, error) {
	hs := make([]*refHandle, len(refs))
	for i, r := range refs {
		hs[i] = r.h
	}
	results, err := getMany(ctx, hs)
	if err != nil {
		return nil, err
	}
	out := make([]T, len(refs))
	c := codecFor[T]()
	for i, res := range results {
		if err := c.decodeResult(res, &out[i]); err != nil {
			return nil, fmt.Errorf("cannot get %v: %w", refs[i].h.id, err)
		}
	}
	return out, nil
}

func getOne(ctx context.Context, h *refHandle) (result, error) {
	if h == nil {
		return result{}, fmt.Errorf("cannot get the zero Ref: %w", ErrObjectFreed)
	}
	if h.err != nil {
		return result{}, h.err
	}
	var out [1]result
	hs := [1]hold{h.hold}
	if err := h.rt.backend.get(ctx, hs[:], out[:]); err != nil {
		return result{}, err
	}
	runtime.KeepAlive(h) // hold the object until its bytes are in hand
	return out[0], out[0].err
}

func getMany(ctx context.Context, hs []*refHandle) ([]result, error) {
	if len(hs) == 0 {
		return nil, nil
	}
	holds := make([]hold, len(hs))
	var rt *runtimeState
	for i, h := range hs {
		if h == nil {
			return nil, fmt.Errorf("cannot get the zero Ref: %w", ErrObjectFreed)
		}
		if h.err != nil {
			return nil, h.err
		}
		if rt != nil && h.rt != rt {
			return nil, fmt.Errorf("cannot get references of two runtimes at once: %w", ErrShutdown)
		}
		rt, holds[i] = h.rt, h.hold
	}
	out := make([]result, len(holds))
	if err := rt.backend.get(ctx, holds, out); err != nil {
		return nil, err
	}
	runtime.KeepAlive(hs)
	for _, r := range out {
		if r.err != nil {
			return nil, r.err
		}
	}
	return out, nil
}

// result is one object's outcome as a backend reports it.
type result struct {
	data   []byte
	stored bool // data is a read-only view into the object store
	err    error
}

// failedRef makes a reference whose Get returns err at once: how calls that
// cannot even be submitted (bad arguments, infeasible resources) report.
func failedRef[T any](err error) Ref[T] { return Ref[T]{h: &refHandle{err: err}} }

// newHandle wraps a hold this process already has (the backend counted
// it) and arranges for it to be released with the handle.
func newHandle(rt *runtimeState, hd hold) *refHandle {
	h := &refHandle{hold: hd, rt: rt}
	runtime.AddCleanup(h, rt.release, hd)
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
	if r.h.err != nil {
		return nil, fmt.Errorf("manta: cannot pass a failed Ref inside a value: %w", r.h.err)
	}
	return cbor.Marshal(cbor.Tag{Number: refTag, Content: wire.AppendObjectID(nil, r.h.id)})
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
	var raw []byte
	if err := cbor.Unmarshal(tag.Content, &raw); err != nil {
		return fmt.Errorf("%w: bad reference: %v", ErrDecode, err)
	}
	id, ok := wire.ObjectIDFromBytes(raw)
	if !ok {
		return fmt.Errorf("%w: reference of %d bytes", ErrDecode, len(raw))
	}
	rt := current.Load()
	if rt == nil {
		r.h = &refHandle{hold: hold{id: id}, err: ErrNotInitialized}
		return nil
	}
	r.h = newHandle(rt, rt.backend.adopt(id))
	return nil
}

var refValueType = reflect.TypeFor[AnyRef]()

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

// refsIn appends the IDs of the references inside v, so the node can hold
// them for as long as the value that carries them. Like CBOR, it looks only
// at exported fields: unexported ones never travel.
func refsIn(dst []wire.ObjectID, v any) []wire.ObjectID {
	rv := reflect.ValueOf(v)
	if !rv.IsValid() || !mayHoldRefs(rv.Type()) {
		return dst
	}
	return walkRefs(dst, rv, map[uintptr]bool{})
}

func walkRefs(dst []wire.ObjectID, v reflect.Value, seen map[uintptr]bool) []wire.ObjectID {
	t := v.Type()
	if t.Kind() != reflect.Interface && t.Implements(refValueType) {
		if h := v.Interface().(AnyRef).handle(); h != nil && h.err == nil {
			dst = append(dst, h.id)
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
