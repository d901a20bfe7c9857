package store

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"time"
)

// Fig9Point is one measurement of the paper's Figure 9 (object store
// write throughput and IOPS by object size).
type Fig9Point struct {
	Size    int64 // object bytes
	Threads int   // client goroutines putting at once
	Puts    int64 // objects written in the run
	Seconds float64
	GBps    float64 // put throughput, 1e9 bytes per second
	IOPS    float64 // puts per second
	// MemcpyGBps is the same number of goroutines copying Size bytes
	// between two preallocated buffers: the bound a put can approach.
	MemcpyGBps float64
}

// Figure9 measures, for every size and thread count, puts (Create, copy
// from a private buffer into the object, Seal, then Delete) of objects of
// that size by that many goroutines for about d, and the memcpy baseline
// under the same conditions. It uses a Store of its own, sized so that
// no run spills, and prefaulted so that no run pays for first touches.
func Figure9(ctx context.Context, sizes []int64, threads []int, d time.Duration) ([]Fig9Point, error) {
	var maxSize int64
	maxThreads := 1
	for _, sz := range sizes {
		if sz < 0 {
			return nil, fmt.Errorf("store: figure 9: negative object size %d", sz)
		}
		maxSize = max(maxSize, sz)
	}
	for _, th := range threads {
		if th < 1 {
			return nil, fmt.Errorf("store: figure 9: %d threads", th)
		}
		maxThreads = max(maxThreads, th)
	}
	// Room for every goroutine's object twice over, so fragmentation never
	// makes a put wait.
	capacity := max(16<<20, 3*int64(maxThreads)*allocSize(maxSize))
	s, err := New(Config{Capacity: capacity, PutTimeout: -1})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	v, err := NewView(s.Segment())
	if err != nil {
		return nil, err
	}
	s.prefault()

	var out []Fig9Point
	for _, size := range sizes {
		for _, th := range threads {
			if err := ctx.Err(); err != nil {
				return out, err
			}
			// Puts and copies alternate in short rounds, so that load from
			// elsewhere on the machine weighs on both alike.
			p := Fig9Point{Size: size, Threads: th}
			var putTime, copyTime time.Duration
			var copies int64
			for range fig9Rounds {
				n, el, err := fig9Puts(ctx, s, v, size, th, d/fig9Rounds)
				if err != nil {
					return out, err
				}
				p.Puts += n
				putTime += el
				n, el = fig9Memcpy(ctx, size, th, d/fig9Rounds)
				copies += n
				copyTime += el
			}
			p.Seconds = putTime.Seconds()
			p.IOPS = float64(p.Puts) / p.Seconds
			p.GBps = p.IOPS * float64(size) / 1e9
			p.MemcpyGBps = float64(copies) * float64(size) / copyTime.Seconds() / 1e9
			out = append(out, p)
		}
	}
	return out, nil
}

// prefault touches every page of the segment so that measurements do
// not include the kernel zeroing fresh pages.
func (s *Store) prefault() {
	for i := 0; i < len(s.mem); i += 4096 {
		s.mem[i] = 0
	}
}

// runClients starts n goroutines running body together and returns the
// wall time from their common start to the last one's end.
func runClients(n int, body func(g int)) time.Duration {
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	for g := range n {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			body(g)
		}()
	}
	ready.Wait()
	t0 := time.Now()
	close(start)
	done.Wait()
	return time.Since(t0)
}

// every is how many operations of size bytes run between clock reads.
func every(size int64) int {
	if size >= 64<<10 {
		return 1
	}
	return 256
}

// fig9Rounds is how many alternating put and copy runs make a point.
const fig9Rounds = 10

// fig9Puts runs threads goroutines putting size-byte objects for about d
// and returns the number of puts and the wall time.
func fig9Puts(ctx context.Context, s *Store, v *View, size int64, threads int, d time.Duration) (int64, time.Duration, error) {
	counts := make([]int64, threads)
	errs := make([]error, threads)
	srcs := make([][]byte, threads)
	for g := range srcs {
		srcs[g] = pattern(size, g)
	}
	check := every(size)
	elapsed := runClients(threads, func(g int) {
		var id ID
		id[0] = byte(g)
		src := srcs[g]
		deadline := time.Now().Add(d)
		for n := int64(0); ; n++ {
			binary.LittleEndian.PutUint64(id[8:], uint64(n))
			sl, err := s.Create(ctx, id, size)
			if err != nil {
				errs[g] = err
				return
			}
			w, err := v.Writable(sl)
			if err != nil {
				errs[g] = err
				return
			}
			copy(w, src)
			if err := s.Seal(id); err != nil {
				errs[g] = err
				return
			}
			s.Delete(id)
			if int(n+1)%check == 0 && (time.Now().After(deadline) || ctx.Err() != nil) {
				counts[g] = n + 1
				return
			}
		}
	})
	var puts int64
	for g := range counts {
		if errs[g] != nil {
			return 0, 0, fmt.Errorf("store: figure 9: %d-byte puts: %w", size, errs[g])
		}
		puts += counts[g]
	}
	return puts, elapsed, nil
}

// fig9Memcpy runs threads goroutines copying size bytes between two
// buffers of their own for about d and returns the number of copies and
// the wall time.
func fig9Memcpy(ctx context.Context, size int64, threads int, d time.Duration) (int64, time.Duration) {
	counts := make([]int64, threads)
	bufs := make([][2][]byte, threads)
	for g := range bufs {
		bufs[g] = [2][]byte{pattern(size, g), make([]byte, size)}
		copy(bufs[g][1], bufs[g][0]) // touch both before the clock starts
	}
	check := every(size)
	elapsed := runClients(threads, func(g int) {
		src, dst := bufs[g][0], bufs[g][1]
		deadline := time.Now().Add(d)
		for n := int64(1); ; n++ {
			copy(dst, src)
			if int(n)%check == 0 && (time.Now().After(deadline) || ctx.Err() != nil) {
				counts[g] = n
				return
			}
		}
	})
	var total int64
	for _, c := range counts {
		total += c
	}
	return total, elapsed
}

// pattern returns size bytes that are written, not fresh zero pages (a
// never-written buffer reads from one shared zero page, faster than any
// real source).
func pattern(size int64, g int) []byte {
	b := make([]byte, size)
	for i := range b {
		b[i] = byte(i*(g+1) + 1)
	}
	return b
}
