package benchmarks

import (
	"context"
	"encoding/binary"
	"os"
	"time"

	"manta/shm/store"
)

// storeFigure9 is Figure 9 on the bare store, without the runtime: a put
// is Create, a copy from the goroutine's buffer into the object, Seal and
// Delete, in the process that owns the store. It uses a store of its own,
// sized so that no run spills, and prefaulted so that no run pays for
// first touches.
func storeFigure9(ctx context.Context, sizes []int64, threads []int, d time.Duration) ([]fig9Point, error) {
	maxSize, maxThreads, err := fig9Bounds(sizes, threads)
	if err != nil {
		return nil, err
	}
	// Room for every goroutine's object (with its header and padding)
	// three times over, so fragmentation never makes a put wait.
	capacity := max(16<<20, 3*int64(max(1, maxThreads))*(store.HeaderSize+maxSize+store.Align))
	s, err := store.New(store.Config{Capacity: capacity, PutTimeout: -1})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	v, err := store.NewView(s.Segment())
	if err != nil {
		return nil, err
	}
	prefault(s.Segment().Bytes())
	return fig9Sweep(ctx, sizes, threads, d, func(g int, n int64, src []byte) error {
		var id store.ID
		id[0] = byte(g)
		binary.LittleEndian.PutUint64(id[8:], uint64(n))
		sl, err := s.Create(ctx, id, int64(len(src)))
		if err != nil {
			return err
		}
		w, err := v.Writable(sl)
		if err != nil {
			return err
		}
		copy(w, src)
		if err := s.Seal(id); err != nil {
			return err
		}
		s.Delete(id)
		return nil
	})
}

// prefault writes every page of mem, a store's segment before its first
// object, so that measurements do not include the kernel zeroing fresh
// pages.
func prefault(mem []byte) {
	for i := 0; i < len(mem); i += os.Getpagesize() {
		mem[i] = 0
	}
}
