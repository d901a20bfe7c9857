package host

import (
	"context"
	"fmt"
	"time"

	"manta/events"
	"manta/node"
	"manta/rpc/wire"
	"manta/shm/store"
)

// Hold is one hold of a process on an object: its ID, and in the driver
// the node's record of it, so that the hot paths skip the object table.
type Hold struct {
	ID  wire.ObjectID
	Obj *node.Object
}

// Read is the outcome of reading one object: its bytes (Data), or where
// they lie in the object store (Stored, Slot; pinned for this read until
// DoneReading when Pinned), or the error reading it gives.
type Read struct {
	ID     wire.ObjectID
	Data   []byte
	Err    error
	Stored bool
	Slot   store.Slot
	Pinned bool
	guard  bool // Shutdown waits for DoneReading
}

// Get waits until the objects of hs are done (or ctx ends) and fills out
// with their outcomes; stored values are pinned, and the caller owes
// DoneReading(out) if Get returns nil. Holds without Obj are looked up.
func (h *Host) Get(ctx context.Context, hs []Hold, out []Read) error {
	h.lock()
	if h.closed {
		h.unlock()
		return node.ErrShutdown
	}
	var w *node.Waiter
	for i := range hs {
		if hs[i].Obj == nil {
			hs[i].Obj = h.n.Lookup(hs[i].ID)
		}
		if o := hs[i].Obj; o != nil && o.Pending() {
			if w == nil {
				w = &node.Waiter{Ch: make(chan struct{}), Yield: len(hs) == 1}
			}
			h.n.Await(w, o)
		}
	}
	if w != nil {
		h.unlock()
		if err := h.awaitGet(ctx, w); err != nil {
			return err
		}
		h.lock()
		if h.closed {
			h.unlock()
			return node.ErrShutdown
		}
		if events.On() {
			now := events.Now() // they all return now
			for _, hd := range hs {
				events.RecordAt(events.Got, hd.ID.Task, 0, now)
			}
		}
	}
	stored := h.resultsLocked(hs, out)
	h.unlock()
	if stored {
		return h.pinReads(ctx, out)
	}
	return nil
}

// resultsLocked fills out with the outcomes of hs, all done, and reports
// whether any is stored (its bytes still to pin); under mu.
func (h *Host) resultsLocked(hs []Hold, out []Read) (stored bool) {
	for i, hd := range hs {
		r := h.n.Result(hd.Obj)
		out[i] = Read{ID: hd.ID, Data: r.Data, Err: r.Err, Stored: r.Stored}
		if r.Stored && !stored {
			h.storeCalls.Add(1) // the store stays mapped until DoneReading
			out[i].guard, stored = true, true
		}
	}
	return stored
}

// pinReads pins the stored values among out, off the lock: a pin may read
// a spill file, or pull the bytes from another node. A value whose bytes
// are lost is made again (node.Remake) while its task can run again, and
// read once it is; only ctx ending stops the wait (pinReads then gives
// back what out took, and returns the error).
func (h *Host) pinReads(ctx context.Context, out []Read) error {
	for i := range out {
		r := &out[i]
		for r.Stored {
			slot, err := h.pinObject(ctx, r.ID, true)
			if err == nil {
				r.Pinned, r.Slot = true, slot
				break
			}
			h.lock()
			w, err := h.n.Remake(r.ID, err)
			h.unlock()
			if err != nil {
				r.Stored, r.Err = false, err
				break
			}
			if err := h.awaitGet(ctx, w); err != nil {
				h.DoneReading(out)
				return err
			}
			h.lock()
			res := h.n.Result(h.n.Lookup(r.ID))
			h.unlock()
			r.Data, r.Err, r.Stored = res.Data, res.Err, res.Stored // a run again may return it inline
		}
	}
	return nil
}

// awaitGet waits, off the lock, until w is woken or ctx ends; then the
// node stops waking w and a Get returns the error.
func (h *Host) awaitGet(ctx context.Context, w *node.Waiter) error {
	select {
	case <-w.Ch:
		return nil
	case <-ctx.Done():
		h.lock()
		h.n.Abandon(w)
		h.unlock()
		return fmt.Errorf("manta: get: %w", ctx.Err())
	}
}

// DoneReading gives back what a Get took for out.
func (h *Host) DoneReading(out []Read) {
	for i := range out {
		r := &out[i]
		if r.Pinned {
			r.Pinned = false
			h.st.Unpin(StoreID(r.ID))
		}
		if r.guard {
			r.guard = false
			h.storeCalls.Done()
		}
	}
}

// PinForView pins id's stored bytes and takes a hold on it, until the
// returned release: the lifetime of a view into the store handed to user
// code.
func (h *Host) PinForView(id wire.ObjectID) (release func()) {
	o := h.Hold(id)
	_, err := h.pinObject(context.Background(), id, true)
	return func() {
		if err == nil {
			h.st.Unpin(StoreID(id))
		}
		if o != nil {
			h.Release(o)
		}
	}
}

// FirstDone returns the indexes of the first k of n holds that are done
// (hold(i) is the i-th; zero IDs count as done, as in Wait), under one
// hold of the lock and looking no further than the k-th: a driver's Wait
// that objects done already satisfy costs the holds up to the k-th done,
// not all. ok is false when fewer than k are done.
func (h *Host) FirstDone(n int, hold func(i int) Hold, k int) (idx []int, ok bool) {
	h.lock()
	defer h.unlock()
	for i := 0; i < n && len(idx) < k; i++ {
		hd := hold(i)
		if hd.Obj == nil && !hd.ID.IsZero() {
			hd.Obj = h.n.Lookup(hd.ID)
		}
		if o := hd.Obj; o == nil || !o.Pending() {
			if idx == nil {
				idx = make([]int, 0, k)
			}
			idx = append(idx, i)
		}
	}
	return idx, len(idx) == k
}

// Wait waits until k of hs are done, the timeout passes (0: none) or ctx
// ends, and returns the indexes of the first k done (all done by the
// timeout, when fewer); zero IDs count as done.
func (h *Host) Wait(ctx context.Context, hs []Hold, k int, timeout time.Duration) ([]int, error) {
	h.lock()
	if h.closed {
		h.unlock()
		return nil, node.ErrShutdown
	}
	ready := 0
	for i := range hs {
		if hs[i].Obj == nil && !hs[i].ID.IsZero() {
			hs[i].Obj = h.n.Lookup(hs[i].ID)
		}
		if o := hs[i].Obj; o == nil || !o.Pending() {
			ready++
		}
	}
	var w *node.Waiter
	if ready < k {
		w = &node.Waiter{Ch: make(chan struct{})}
		for _, hd := range hs {
			h.n.Await(w, hd.Obj)
		}
		h.n.Need(w, k-ready)
	}
	h.unlock()
	if w != nil {
		var timeoutC <-chan time.Time
		if timeout > 0 {
			t := h.clock.NewTimer(timeout)
			defer t.Stop()
			timeoutC = t.Chan()
		}
		select {
		case <-w.Ch:
		case <-timeoutC:
		case <-ctx.Done():
			h.lock()
			h.n.Abandon(w)
			h.unlock()
			return nil, fmt.Errorf("manta: wait: %w", ctx.Err())
		}
	}
	h.lock()
	defer h.unlock()
	if w != nil {
		h.n.Abandon(w)
	}
	out := make([]int, 0, k)
	for i, hd := range hs {
		if len(out) == k {
			break
		}
		if hd.Obj == nil || !hd.Obj.Pending() {
			out = append(out, i)
		}
	}
	return out, nil
}
