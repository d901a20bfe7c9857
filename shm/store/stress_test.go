package store

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
)

// Goroutines create, abort, read and delete objects in a store a few
// times smaller than the data, so spills and restores run concurrently
// with everything else. Every read is checked byte for byte.
func TestConcurrentStress(t *testing.T) {
	const (
		goroutines = 4
		ops        = 600
	)
	s := newTestStore(t, Config{Capacity: 256 << 10})
	sizeOf := func(n uint64) int { return int(n*7919) % (16 << 10) }
	var (
		next   atomic.Uint64
		mu     sync.Mutex
		sealed []uint64
	)
	pick := func(rng *rand.Rand) (uint64, bool) {
		mu.Lock()
		defer mu.Unlock()
		if len(sealed) == 0 {
			return 0, false
		}
		return sealed[rng.IntN(len(sealed))], true
	}
	errs := make(chan error, goroutines)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 9))
			ctx := context.Background()
			for range ops {
				switch p := rng.IntN(10); {
				case p < 4: // put (sometimes abandoned)
					n := next.Add(1)
					id, data := idOf(n), content(n, sizeOf(n))
					sl, err := s.Create(ctx, id, int64(len(data)))
					if err != nil {
						errs <- err
						return
					}
					w, err := s.v.Writable(sl)
					if err != nil {
						errs <- err
						return
					}
					copy(w, data)
					if p == 0 && rng.IntN(4) == 0 {
						s.Abort(id)
						continue
					}
					if err := s.Seal(id); err != nil {
						errs <- err
						return
					}
					mu.Lock()
					sealed = append(sealed, n)
					mu.Unlock()
				case p < 9: // read
					n, ok := pick(rng)
					if !ok {
						continue
					}
					id := idOf(n)
					sl, err := s.Pin(ctx, id)
					if errors.Is(err, ErrNotFound) {
						continue // deleted by another goroutine
					}
					if err != nil {
						errs <- err
						return
					}
					b, err := s.v.BytesOf(id, sl)
					if err == nil && !bytes.Equal(b, content(n, sizeOf(n))) {
						err = errors.New("object " + id.String() + " read back wrong")
					}
					s.Unpin(id)
					if err != nil {
						errs <- err
						return
					}
				default:
					if n, ok := pick(rng); ok {
						s.Delete(idOf(n))
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	s.checkInvariants(t)
	st := s.Stats()
	t.Logf("%+v, hit rate %.2f", st, st.HitRate())
	if st.SpillWrites == 0 || st.Restores == 0 || st.Lost != 0 || st.SpillErrors != 0 {
		t.Fatalf("the stress did not exercise spilling: %+v", st)
	}
	for n := uint64(1); n <= next.Load(); n++ {
		s.Delete(idOf(n))
	}
	s.checkInvariants(t)
	if st := s.Stats(); st.Objects != 0 || st.Used != 0 || st.Spilled != 0 {
		t.Fatalf("after deleting everything: %+v", st)
	}
	if files := dirFiles(t, s.spillDir); len(files) != 0 {
		t.Fatalf("spill files left: %v", files)
	}
}
