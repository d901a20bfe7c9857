package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"unsafe"
)

func TestRoundTripRandomSizes(t *testing.T) {
	s := newTestStore(t, Config{Capacity: 32 << 20})
	rng := rand.New(rand.NewPCG(3, 4))
	sizes := map[uint64]int{}
	for n := uint64(0); n < 600; n++ {
		size := rng.IntN(1 << uint(rng.IntN(17)))
		if n%100 == 0 {
			size = 0
		}
		sizes[n] = size
		sl := s.put(t, idOf(n), content(n, size))
		if sl.Offset%Align != 0 || sl.Size != int64(size) {
			t.Fatalf("object %d: slot %+v", n, sl)
		}
		b, err := s.v.Bytes(sl)
		if err != nil {
			t.Fatal(err)
		}
		if size > 0 && uintptr(unsafe.Pointer(&b[0]))%Align != 0 {
			t.Fatalf("object %d: data at %p is not %d-byte aligned", n, &b[0], Align)
		}
	}
	s.checkInvariants(t)
	for n, size := range sizes {
		s.check(t, idOf(n), content(n, size))
	}
	st := s.Stats()
	if st.Objects != 600 || st.InMemory != 600 || st.Pins != 600 || st.HitRate() != 1 || st.Spilled != 0 {
		t.Fatalf("stats %+v", st)
	}
	for n := range sizes {
		s.Delete(idOf(n))
	}
	s.checkInvariants(t)
	if st := s.Stats(); st.Used != 0 || st.Objects != 0 {
		t.Fatalf("after deleting everything: %+v", st)
	}
}

func TestImmutability(t *testing.T) {
	s := newTestStore(t, Config{Capacity: 1 << 20})
	ctx := context.Background()
	id := idOf(1)
	sl, err := s.Create(ctx, id, 100)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, id, 100); !errors.Is(err, ErrExists) {
		t.Fatalf("duplicate create: %v", err)
	}
	if _, err := s.v.Bytes(sl); !errors.Is(err, ErrNotSealed) {
		t.Fatalf("Bytes before Seal: %v", err)
	}
	if _, err := s.Pin(ctx, id); !errors.Is(err, ErrNotSealed) {
		t.Fatalf("Pin before Seal: %v", err)
	}
	if err := s.Seal(id); err != nil {
		t.Fatal(err)
	}
	if err := s.Seal(id); !errors.Is(err, ErrSealed) {
		t.Fatalf("second Seal: %v", err)
	}
	if _, err := s.v.Writable(sl); !errors.Is(err, ErrSealed) {
		t.Fatalf("Writable after Seal: %v", err)
	}
	if err := s.Seal(idOf(2)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Seal of an unknown object: %v", err)
	}
	if _, err := s.Pin(ctx, idOf(2)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Pin of an unknown object: %v", err)
	}
	if _, err := s.Create(ctx, id, 100); !errors.Is(err, ErrExists) {
		t.Fatalf("create of a sealed object: %v", err)
	}
	if _, err := s.v.BytesOf(idOf(2), sl); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("BytesOf with the wrong ID: %v", err)
	}
	if _, err := s.Create(ctx, idOf(3), -1); err == nil {
		t.Fatal("negative size accepted")
	}
	s.Abort(id) // sealed: nothing happens
	s.check(t, id, make([]byte, 100))
}

func TestTooLarge(t *testing.T) {
	s := newTestStore(t, Config{Capacity: 1 << 20})
	_, err := s.Create(context.Background(), idOf(1), 1<<20)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("got %v", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "1048576 bytes") || !strings.Contains(msg, fmt.Sprint(1<<20+HeaderSize)) {
		t.Fatalf("message does not name the sizes: %s", msg)
	}
	// The largest object that fits does fit.
	s.put(t, idOf(2), content(2, 1<<20-HeaderSize))
	s.check(t, idOf(2), content(2, 1<<20-HeaderSize))
}

func TestAbortReclaims(t *testing.T) {
	s := newTestStore(t, Config{Capacity: 1 << 20})
	ctx := context.Background()
	sl, err := s.Create(ctx, idOf(1), 1<<19)
	if err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Unsealed != allocSize(1<<19) || st.Used != st.Unsealed {
		t.Fatalf("while writing: %+v", st)
	}
	s.Abort(idOf(1))
	s.checkInvariants(t)
	if st := s.Stats(); st.Used != 0 || st.Objects != 0 || st.Unsealed != 0 {
		t.Fatalf("after Abort: %+v", st)
	}
	if _, err := s.v.Writable(sl); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Writable of an aborted object: %v", err)
	}
	// The whole store is free again, and the ID can be reused.
	s.put(t, idOf(1), content(1, 1<<20-HeaderSize))
	s.checkInvariants(t)
}

func TestDeleteWhilePinnedOrWriting(t *testing.T) {
	s := newTestStore(t, Config{Capacity: 1 << 20})
	ctx := context.Background()
	s.put(t, idOf(1), content(1, 1000))
	sl, err := s.Pin(ctx, idOf(1))
	if err != nil {
		t.Fatal(err)
	}
	s.Delete(idOf(1))
	if _, err := s.Pin(ctx, idOf(1)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Pin after Delete: %v", err)
	}
	if b, err := s.v.Bytes(sl); err != nil || string(b) != string(content(1, 1000)) {
		t.Fatalf("a pinned, deleted object must stay readable: %v", err)
	}
	if st := s.Stats(); st.Used == 0 {
		t.Fatal("memory freed under a pin")
	}
	s.Unpin(idOf(1))
	s.checkInvariants(t)
	if st := s.Stats(); st.Used != 0 || st.Objects != 0 {
		t.Fatalf("after the last Unpin: %+v", st)
	}
	if _, err := s.v.Bytes(sl); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Bytes of a freed object: %v", err)
	}

	// Deleted while written: freed at Seal.
	if _, err := s.Create(ctx, idOf(2), 10); err != nil {
		t.Fatal(err)
	}
	s.Delete(idOf(2))
	if err := s.Seal(idOf(2)); err != nil {
		t.Fatal(err)
	}
	s.checkInvariants(t)
	if st := s.Stats(); st.Used != 0 || st.Objects != 0 {
		t.Fatalf("after sealing a deleted object: %+v", st)
	}
	s.Unpin(idOf(2)) // not pinned: nothing happens
	s.Delete(idOf(2))
}

func TestPinsNest(t *testing.T) {
	s := newTestStore(t, Config{Capacity: 1 << 20})
	ctx := context.Background()
	s.put(t, idOf(1), content(1, 5000))
	for range 3 {
		if _, err := s.Pin(ctx, idOf(1)); err != nil {
			t.Fatal(err)
		}
	}
	for k := 0; k < 3; k++ {
		if st := s.Stats(); st.Pinned != allocSize(5000) {
			t.Fatalf("after %d unpins: pinned %d", k, st.Pinned)
		}
		s.Unpin(idOf(1))
	}
	s.checkInvariants(t)
	if st := s.Stats(); st.Pinned != 0 {
		t.Fatalf("pinned %d", st.Pinned)
	}
}

func TestClosedStore(t *testing.T) {
	s := newTestStore(t, Config{Capacity: 1 << 20})
	s.put(t, idOf(1), content(1, 10))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := s.Create(ctx, idOf(2), 1); !errors.Is(err, ErrClosed) {
		t.Fatalf("Create: %v", err)
	}
	if _, err := s.Pin(ctx, idOf(1)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Pin: %v", err)
	}
	if err := s.Seal(idOf(1)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Seal: %v", err)
	}
	s.Unpin(idOf(1))
	s.Delete(idOf(1))
	s.Abort(idOf(1))
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := NewView(s.Segment()); !errors.Is(err, ErrClosed) {
		t.Fatalf("NewView of a closed segment: %v", err)
	}
}

func TestNewConfig(t *testing.T) {
	if _, err := New(Config{Capacity: 100}); err == nil {
		t.Fatal("a 100-byte store was created")
	}
	c, err := DefaultCapacity()
	if err != nil {
		t.Fatal(err)
	}
	if c%Align != 0 || c < minCapacity {
		t.Fatalf("default capacity %d", c)
	}
	s, err := New(Config{}) // default capacity: pages are only committed when written
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if st := s.Stats(); st.Capacity != c || len(s.Segment().Bytes()) != int(c) {
		t.Fatalf("capacity %d, segment %d, want %d", st.Capacity, len(s.Segment().Bytes()), c)
	}
}

// A cached copy stays readable after its last reference, and is dropped,
// not spilled, when memory runs short; a Pin makes it ordinary again.
func TestCachedCopyIsDroppedNotSpilled(t *testing.T) {
	s := newTestStore(t, Config{Capacity: 8 << 10})
	ctx := context.Background()
	cached, kept := idOf(1), idOf(2)
	s.put(t, cached, content(1, 3<<10))
	s.Cache(cached)
	if _, err := s.Pin(ctx, cached); err != nil {
		t.Fatalf("a cached copy: %v", err)
	}
	s.Unpin(cached)
	s.Cache(cached)                   // pinned and unpinned: cached anew
	s.put(t, kept, content(2, 5<<10)) // no room for both: the cached copy goes
	if _, err := s.Pin(ctx, cached); !errors.Is(err, ErrNotFound) {
		t.Fatalf("the cached copy after memory ran short: %v; want ErrNotFound", err)
	}
	if st := s.Stats(); st.CachedDropped != 1 || st.SpillWrites != 0 {
		t.Fatalf("cached copies dropped %d, spill writes %d; want 1 and 0", st.CachedDropped, st.SpillWrites)
	}
	// A task run again where a cached copy of its result lies stores the
	// result anew.
	s.Delete(kept)
	s.put(t, cached, content(1, 3<<10))
	s.Cache(cached)
	s.put(t, cached, content(3, 3<<10))
	if sl, err := s.Pin(ctx, cached); err != nil {
		t.Fatalf("a cached copy written again: %v", err)
	} else if b, _ := s.v.Bytes(sl); !bytes.Equal(b, content(3, 3<<10)) {
		t.Fatal("a cached copy written again reads the old bytes")
	}
}

// A peer's read (PinForPeer) leaves a cached copy cached: nobody here
// holds it afterwards. A local Pin still makes it ordinary.
func TestPeerPinLeavesCachedCopyCached(t *testing.T) {
	ctx := context.Background()
	for _, local := range []bool{false, true} {
		s := newTestStore(t, Config{Capacity: 8 << 10})
		cached, kept := idOf(1), idOf(2)
		s.put(t, cached, content(1, 3<<10))
		s.Cache(cached)
		for range 2 { // nested
			if _, err := s.PinForPeer(ctx, cached); err != nil {
				t.Fatalf("a cached copy: %v", err)
			}
		}
		if local {
			if _, err := s.Pin(ctx, cached); err != nil {
				t.Fatal(err)
			}
			s.Unpin(cached)
		}
		s.Unpin(cached)
		s.Unpin(cached)
		s.put(t, kept, content(2, 5<<10)) // no room for both
		s.checkInvariants(t)
		want := Stats{CachedDropped: 1}
		if local {
			want = Stats{SpillWrites: 1, Spilled: 1} // ordinary: spilled, its node deletes it
		}
		if st := s.Stats(); st.CachedDropped != want.CachedDropped || st.SpillWrites != want.SpillWrites || st.Spilled != want.Spilled {
			t.Fatalf("local pin %v: cached copies dropped %d, spill writes %d, spilled %d; want %d, %d and %d",
				local, st.CachedDropped, st.SpillWrites, st.Spilled, want.CachedDropped, want.SpillWrites, want.Spilled)
		}
	}
}

// A node that lets go of its copy while a peer reads it (Cache while
// pinned) keeps it cached: the peer's next chunk still finds it, and
// once unpinned it is dropped, not spilled, when memory runs short.
func TestCacheWhilePeerReads(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t, Config{Capacity: 8 << 10})
	cached, kept := idOf(1), idOf(2)
	s.put(t, cached, content(1, 3<<10))
	if _, err := s.PinForPeer(ctx, cached); err != nil {
		t.Fatal(err)
	}
	s.Cache(cached)
	if _, err := s.PinForPeer(ctx, cached); err != nil {
		t.Fatalf("the next chunk's pin after Cache: %v", err)
	}
	s.Unpin(cached)
	s.Unpin(cached)
	s.put(t, kept, content(2, 5<<10)) // no room for both
	s.checkInvariants(t)
	if st := s.Stats(); st.CachedDropped != 1 || st.SpillWrites != 0 || st.Objects != 1 {
		t.Fatalf("cached copies dropped %d, spill writes %d, objects %d; want 1, 0 and 1", st.CachedDropped, st.SpillWrites, st.Objects)
	}
}
