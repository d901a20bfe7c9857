package benchmarks

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// fig9Point is one measurement of Figure 9 (object store write throughput
// and IOPS by object size). The field names are the results JSON's.
type fig9Point struct {
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

// fig9Op is one operation of a Figure 9 round: goroutine g puts (or
// copies) src, a buffer of its own, for the n-th time.
type fig9Op func(g int, n int64, src []byte) error

// fig9Rounds is how many alternating put and copy runs make a point.
const fig9Rounds = 10

// fig9Sweep measures, for every size and thread count, that many
// goroutines putting objects of that size with put for about d, and the
// memcpy baseline under the same conditions: puts and copies alternate in
// fig9Rounds short rounds, so that load from elsewhere on the machine
// weighs on both alike.
func fig9Sweep(ctx context.Context, sizes []int64, threads []int, d time.Duration, put fig9Op) ([]fig9Point, error) {
	if _, _, err := fig9Bounds(sizes, threads); err != nil {
		return nil, err
	}
	var out []fig9Point
	for _, size := range sizes {
		for _, th := range threads {
			if err := ctx.Err(); err != nil {
				return out, err
			}
			srcs, dsts := make([][]byte, th), make([][]byte, th)
			for g := range th {
				srcs[g], dsts[g] = pattern(size, g), make([]byte, size)
				copy(dsts[g], srcs[g]) // touch both before the clock starts
			}
			memcpy := func(g int, _ int64, src []byte) error {
				copy(dsts[g], src)
				return nil
			}
			p := fig9Point{Size: size, Threads: th}
			var putTime, copyTime time.Duration
			var copies int64
			for range fig9Rounds {
				n, el, err := fig9Round(ctx, srcs, d/fig9Rounds, put)
				if err != nil {
					return out, fmt.Errorf("figure 9: %d-byte puts: %w", size, err)
				}
				p.Puts += n
				putTime += el
				n, el, _ = fig9Round(ctx, srcs, d/fig9Rounds, memcpy)
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

// fig9Bounds checks Figure 9's sizes and thread counts and returns the
// largest of each.
func fig9Bounds(sizes []int64, threads []int) (maxSize int64, maxThreads int, err error) {
	for _, sz := range sizes {
		if sz < 0 {
			return 0, 0, fmt.Errorf("figure 9: negative object size %d", sz)
		}
		maxSize = max(maxSize, sz)
	}
	for _, th := range threads {
		if th < 1 {
			return 0, 0, fmt.Errorf("figure 9: %d threads", th)
		}
		maxThreads = max(maxThreads, th)
	}
	return maxSize, maxThreads, nil
}

// fig9Round runs one goroutine per source, each doing op on it for about
// d, and returns the operations done and the wall time.
func fig9Round(ctx context.Context, srcs [][]byte, d time.Duration, op fig9Op) (int64, time.Duration, error) {
	counts := make([]int64, len(srcs))
	errs := make([]error, len(srcs))
	check := every(len(srcs[0]))
	elapsed := runClients(len(srcs), func(g int) {
		deadline := time.Now().Add(d)
		for n := int64(1); ; n++ {
			if err := op(g, n, srcs[g]); err != nil {
				errs[g] = err
				return
			}
			if n%check == 0 && (time.Now().After(deadline) || ctx.Err() != nil) {
				counts[g] = n
				return
			}
		}
	})
	if err := errors.Join(errs...); err != nil {
		return 0, 0, err
	}
	var total int64
	for _, c := range counts {
		total += c
	}
	return total, elapsed, nil
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

// every is how many operations on size bytes run between clock reads.
func every(size int) int64 {
	if size >= 64<<10 {
		return 1
	}
	return 256
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
