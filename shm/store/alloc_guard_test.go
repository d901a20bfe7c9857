package store

import (
	"context"
	"testing"
)

// The small put and get paths must not allocate (the node does millions
// per second).
func TestHotPathsDoNotAllocate(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counts")
	}
	s := newTestStore(t, Config{Capacity: 16 << 20})
	ctx := context.Background()
	src := content(0, 1024)
	var n uint64
	put := func() {
		id := idOf(n)
		sl, err := s.Create(ctx, id, int64(len(src)))
		if err != nil {
			t.Fatal(err)
		}
		w, err := s.v.Writable(sl)
		if err != nil {
			t.Fatal(err)
		}
		copy(w, src)
		if err := s.Seal(id); err != nil {
			t.Fatal(err)
		}
		if n >= 100 {
			s.Delete(idOf(n - 100))
		}
		n++
	}
	for range 1000 { // grow the tables first
		put()
	}
	if a := testing.AllocsPerRun(1000, put); a != 0 {
		t.Errorf("put: %v allocations", a)
	}
	get := func() {
		id := idOf(n - 1)
		sl, err := s.Pin(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.v.Bytes(sl); err != nil {
			t.Fatal(err)
		}
		s.Unpin(id)
	}
	if a := testing.AllocsPerRun(1000, get); a != 0 {
		t.Errorf("get: %v allocations", a)
	}
}
