package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"math/rand/v2"
	"path/filepath"
	"testing"
)

// testStore is a Store with a View and a spill directory that the test
// removes; Close runs at cleanup.
type testStore struct {
	*Store
	v *View
}

func newTestStore(t testing.TB, cfg Config) *testStore {
	t.Helper()
	if cfg.SpillDir == "" {
		cfg.SpillDir = filepath.Join(t.TempDir(), "spill")
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	v, err := NewView(s.Segment())
	if err != nil {
		t.Fatal(err)
	}
	return &testStore{s, v}
}

func idOf(n uint64) ID {
	var id ID
	binary.LittleEndian.PutUint64(id[:], n)
	id[19] = 0xAB
	return id
}

// content returns deterministic pseudo-random bytes for object n.
func content(n uint64, size int) []byte {
	var seed [32]byte
	binary.LittleEndian.PutUint64(seed[:], n)
	binary.LittleEndian.PutUint64(seed[8:], uint64(size))
	b := make([]byte, size)
	rand.NewChaCha8(seed).Read(b)
	return b
}

// put creates, fills and seals an object.
func (s *testStore) put(t testing.TB, id ID, data []byte) Slot {
	t.Helper()
	sl, err := s.Create(context.Background(), id, int64(len(data)))
	if err != nil {
		t.Fatalf("create %v (%d bytes): %v", id, len(data), err)
	}
	w, err := s.v.Writable(sl)
	if err != nil {
		t.Fatalf("writable %v: %v", id, err)
	}
	copy(w, data)
	if err := s.Seal(id); err != nil {
		t.Fatalf("seal %v: %v", id, err)
	}
	return sl
}

// check pins the object, compares its bytes with want and unpins it.
func (s *testStore) check(t testing.TB, id ID, want []byte) {
	t.Helper()
	sl, err := s.Pin(context.Background(), id)
	if err != nil {
		t.Fatalf("pin %v: %v", id, err)
	}
	defer s.Unpin(id)
	got, err := s.v.BytesOf(id, sl)
	if err != nil {
		t.Fatalf("bytes %v: %v", id, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("object %v: %d bytes differ from the %d written", id, len(got), len(want))
	}
}

// checkInvariants verifies the allocator and the accounting against the
// object records.
func (s *testStore) checkInvariants(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.alloc.check(s.capacity); err != nil {
		t.Fatal(err)
	}
	var used, pinned, unsealed, inMem, lru, spilled, objects int64
	for i := range s.objs {
		o := &s.objs[i]
		if !o.live {
			continue
		}
		objects++
		if j, ok := s.index.get(s.objs, &o.id); !ok || j != int32(i) {
			t.Fatalf("object %v: index says %d, %v; record is %d", o.id, j, ok, i)
		}
		n := allocSize(o.size)
		if o.inMemory() {
			used += n
			if o.state == stWriting {
				unsealed += n
			} else {
				inMem++
			}
			if o.pins > 0 {
				pinned += n
			}
		}
		if o.inLRU {
			lru += n
			if o.pins > 0 || !o.inMemory() || o.state != stSealed {
				t.Fatalf("object %v in the LRU list: pins %d, in memory %v, state %d", o.id, o.pins, o.inMemory(), o.state)
			}
		}
		if o.onDisk {
			spilled++
		}
	}
	st := s.st
	if st.Used != used || st.Pinned != pinned || st.Unsealed != unsealed || st.InMemory != inMem ||
		s.lruBytes != lru || st.Spilled != spilled || st.Objects != objects || int64(s.index.n) != objects {
		t.Fatalf("accounting: stats %+v, lru %d; records: used %d pinned %d unsealed %d in memory %d lru %d spilled %d objects %d (index %d)",
			st, s.lruBytes, used, pinned, unsealed, inMem, lru, spilled, objects, s.index.n)
	}
	if st.Used+s.alloc.free != s.capacity {
		t.Fatalf("used %d + free %d != capacity %d", st.Used, s.alloc.free, s.capacity)
	}
}
