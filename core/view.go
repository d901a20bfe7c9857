package core

import (
	"context"
	"fmt"
	"reflect"
	"runtime"
	"sync"

	"manta/node"
	"manta/rpc/wire"
	"manta/shm"
)

// Elem is an element type of slices that GetView can show in place: they
// travel as raw little-endian memory.
type Elem interface {
	~byte | ~float32 | ~float64
}

// View is zero-copy access to a stored slice: its elements are the object
// store's pages, mapped into this process, not a copy. Make one with
// GetView, or declare a task parameter as *View[E] to get one for a large
// argument without copying it into the worker.
//
// Writes to Data are allowed and stay private to this View (the pages are
// copy-on-write): the stored object never changes.
//
// A View has an explicit lifetime. It keeps its object pinned in memory
// until Release; after Release, Data's memory is unmapped for good, so a
// slice kept past it faults on its next use (a crash naming the address,
// or a panic under runtime/debug.SetPanicOnFault) rather than showing
// another object's bytes. A View that becomes unreachable is released by
// the garbage collector, so keep the View itself, not just Data, while you
// use the data. A View passed to a task as an argument is released when
// the task returns.
type View[E Elem] struct {
	data    []E
	state   *viewState
	cleanup runtime.Cleanup
}

// viewState is what a View gives back, apart from the View itself so the
// garbage collector can release it.
type viewState struct {
	mu      sync.Mutex
	win     *shm.Window
	release func() // the object's hold and pin; nil for a View of a copy
}

func (s *viewState) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.win == nil {
		return nil
	}
	if err := s.win.Revoke(); err != nil {
		// Still mapped: keep the object pinned, so the mapping can never
		// show other bytes.
		return fmt.Errorf("manta: cannot release view: %w", err)
	}
	s.win = nil
	if s.release != nil {
		s.release()
		s.release = nil
	}
	return nil
}

// GetView waits for r like Get and returns its elements in place. For an
// object in the store that costs no copy; a small value (InlineBytes or
// less) is copied into memory of the View's own, with the same lifetime
// rules, so code does not depend on the size.
func GetView[S ~[]E, E Elem](ctx context.Context, r Ref[S]) (*View[E], error) {
	var out [1]result
	if err := getResults(ctx, []*refHandle{r.h}, out[:]); err != nil {
		return nil, err
	}
	rt := r.h.rt
	defer rt.backend.doneReading(out[:])
	res := out[0]
	if res.Err != nil {
		return nil, res.Err
	}
	var hold func() func()
	if res.Stored {
		hold = func() func() { return rt.backend.holdForView(res.ID) }
	}
	v, err := newView[E](rt.storeSegment(), res, hold)
	if err != nil {
		return nil, fmt.Errorf("cannot view %v: %w", r.h.ID, err)
	}
	return v, nil
}

// newView makes a View of res's bytes: mapped from the store segment seg
// if they are stored, copied otherwise. hold, if set, is called once the
// mapping is made; what it returns is called at Release.
func newView[E Elem](seg *shm.Segment, res result, hold func() func()) (*View[E], error) {
	if _, ok := rawBytes[E](res.Data); !ok {
		return nil, formatError(res.Data, "[]"+reflect.TypeFor[E]().String())
	}
	var win *shm.Window
	var err error
	if res.Stored {
		win, err = seg.MapWindow(int(res.Slot.Offset), int(res.Slot.Size))
	} else if win, err = shm.NewWindow(len(res.Data)); err == nil {
		copy(win.Bytes(), res.Data)
	}
	if err != nil {
		return nil, err
	}
	st := &viewState{win: win}
	if hold != nil {
		st.release = hold()
	}
	data, ok := viewRawSlice[E](win.Bytes())
	if !ok {
		st.close()
		return nil, formatError(res.Data, "[]"+reflect.TypeFor[E]().String())
	}
	v := &View[E]{data: data, state: st}
	v.cleanup = runtime.AddCleanup(v, func(s *viewState) { s.close() }, st)
	return v, nil
}

// viewParam is implemented by *View[E], whose codec as a task parameter
// maps stored arguments in place.
type viewParam interface{ paramCodec() any }

// paramCodec is the codec of *View[E] parameters: at the call site they
// take a Ref to a slice of E, a []E or a *View[E]; in the worker a stored
// argument is mapped, not copied, and the View is released when the call
// returns.
func (*View[E]) paramCodec() any {
	c := &codec[*View[E]]{}
	c.enc = func(dst []byte, v **View[E]) ([]byte, error) {
		if *v == nil {
			return appendRawSlice[E](dst, nil), nil
		}
		return appendRawSlice(dst, (*v).data), nil
	}
	c.size = func(v **View[E]) int {
		n := 0
		if *v != nil {
			n = len((*v).data)
		}
		return rawEncodedLen[E](n)
	}
	c.dec = func(src []byte, v **View[E]) error {
		view, err := newView[E](nil, result{Data: src}, nil)
		*v = view
		return err
	}
	c.decArg = func(f *frame, a *wire.Arg, v **View[E]) error {
		view, err := newView[E](f.objs.seg, result{Data: a.Data, Stored: a.Stored, Slot: node.FromSlot(a.Slot)}, nil)
		if err != nil {
			return err
		}
		f.views = append(f.views, view.Release)
		*v = view
		return nil
	}
	c.argFrom = func(cl *call, i int, a any) bool {
		switch x := a.(type) {
		case Ref[[]E]:
			cl.addRef(i, x.h)
		case []E:
			cl.addEncoded(appendRawSlice(cl.buf, x))
		default:
			return false
		}
		return true
	}
	return c
}

// Data returns the elements; valid until Release.
func (v *View[E]) Data() []E { return v.data }

// Len is len(v.Data()).
func (v *View[E]) Len() int { return len(v.data) }

// Release unmaps the data and gives its object back to the store. It is
// idempotent; an error means the memory could not be unmapped, in which
// case it stays mapped and the object stays pinned, so nothing is lost or
// reused under the View.
func (v *View[E]) Release() error {
	v.cleanup.Stop()
	return v.state.close()
}
